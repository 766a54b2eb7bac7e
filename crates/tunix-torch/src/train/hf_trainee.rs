//! A pretrained Hugging Face decoder as a [`Trainee`]: the folder's model,
//! fine-tuned in full or through LoRA adapters (the base frozen), its own
//! tokenizer (BOS, EOS), f32 on the CPU and a bf16 base on CUDA; its
//! outputs are greedy continuations through the KV cache, exactly as
//! `generate-hf` decodes. A LoRA run also writes its adapter in `peft`'s
//! layout into every checkpoint.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};

use tunix_core::evalset::EvalItem;
use tunix_core::manifest::common::Decoding;
use tunix_core::manifest::train::HfTrainModel;
use tunix_core::protocol::RenderedPrompt;

use super::decode_hf::{decode_texts, DecodeSettings};
use super::device_batch::BatchTensors;
use super::model_eval::ModelOutputs;
use super::trainee::{Trainee, TraineeError};
use crate::hf::{HfModel, HfTokenizer};

/// The longest training row when neither the manifest nor the model's
/// config says less.
pub const DEFAULT_CONTEXT: usize = 1024;

/// A pretrained model being fine-tuned, with its tokenizer.
pub struct HfTrainee {
    model: HfModel,
    tokenizer: HfTokenizer,
    dir: PathBuf,
    context: usize,
    parameters: u64,
}

impl HfTrainee {
    /// Load the folder `dir` for `spec`'s fine-tuning on `device` (LoRA
    /// adapters drawn from `seed`).
    pub fn load(
        dir: &Path,
        spec: &HfTrainModel,
        device: Device,
        seed: u64,
    ) -> Result<Self, TraineeError> {
        let tokenizer = HfTokenizer::load(dir)?;
        let kind = match device {
            Device::Cpu => Kind::Float,
            _ => Kind::BFloat16,
        };
        let model = HfModel::load_for_training(dir, device, kind, spec.lora.as_ref(), seed)?;
        let most = model
            .config()
            .max_position_embeddings
            .map_or(usize::MAX, |n| n as usize);
        let context = spec
            .context_length
            .map_or(DEFAULT_CONTEXT.min(most), |n| n as usize);
        let parameters = model
            .weights()
            .iter()
            .chain(if spec.lora.is_some() {
                model.trainable()
            } else {
                &[]
            })
            .map(|(_, t)| t.numel() as u64)
            .sum();
        Ok(Self {
            model,
            tokenizer,
            dir: dir.to_path_buf(),
            context,
            parameters,
        })
    }

    /// The tokenizer training examples are encoded with.
    pub fn tokenizer(&self) -> &HfTokenizer {
        &self.tokenizer
    }

    fn name(&self) -> String {
        self.dir.file_name().map_or_else(
            || self.dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

impl Trainee for HfTrainee {
    fn model_id(&self) -> String {
        match self.model.lora() {
            Some(l) => format!("hf:{}+lora(r={})", self.name(), l.rank),
            None => format!("hf:{}+full", self.name()),
        }
    }

    fn parameter_count(&self) -> u64 {
        self.parameters
    }

    fn device(&self) -> Device {
        self.model.device()
    }

    fn precision_name(&self) -> &'static str {
        match self.model.base_kind() {
            Kind::BFloat16 => "bf16 base weights, f32 adapters and activations",
            _ => "f32",
        }
    }

    fn context_length(&self) -> usize {
        self.context
    }

    fn params(&self) -> &[(String, Tensor)] {
        self.model.trainable()
    }

    fn loss(&self, batch: &BatchTensors, train: bool) -> Result<Tensor, TraineeError> {
        let packed = batch.packed.as_ref().map(|(p, s)| (p, s));
        Ok(self
            .model
            .loss(&batch.inputs, &batch.targets, packed, train)?)
    }

    fn load_weights(&mut self, tensors: &[(String, Tensor)]) -> Result<(), TraineeError> {
        Ok(self.model.load_trained(tensors)?)
    }

    fn checkpoint_extras(&self, dir: &Path) -> Result<Vec<String>, TraineeError> {
        let Some(lora) = self.model.lora() else {
            return Ok(Vec::new());
        };
        let written = self
            .model
            .save_peft_adapter(dir, lora, &self.dir.display().to_string())?;
        Ok(written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }

    fn outputs(
        &self,
        items: &[EvalItem],
        decoding: &Decoding,
        template: &str,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ModelOutputs, TraineeError> {
        let prompts: Vec<RenderedPrompt> = items
            .iter()
            .map(|item| RenderedPrompt {
                id: item.id.clone(),
                text: template.replace("{prompt}", &item.prompt),
            })
            .collect();
        let settings = DecodeSettings {
            max_new_tokens: decoding.max_new_tokens,
            stop: &decoding.stop,
            batch_size: decoding.batch_size,
        };
        let decoded = decode_texts(&self.model, &self.tokenizer, &prompts, &settings, progress)?;
        Ok(ModelOutputs {
            by_id: decoded.outputs,
            truncated_prompts: decoded.truncated_prompts,
        })
    }
}
