//! The built-in GPT as a [`Trainee`]: byte tokens, the preset's sizes,
//! bf16 mixed precision on CUDA, outputs through its own KV-cache decoder
//! (with the calculator).

use tch::{Device, Tensor};

use tunix_core::evalset::EvalItem;
use tunix_core::manifest::common::Decoding;
use tunix_core::manifest::train::ModelConfig;

use super::device_batch::{batch_loss, BatchTensors};
use super::model_eval::{model_outputs, ModelOutputs};
use super::trainee::{Trainee, TraineeError};
use crate::model::device::Precision;
use crate::model::gpt::Gpt;

/// The model's name in records: the preset, with any size overrides.
pub fn model_id(m: &ModelConfig) -> String {
    let preset = serde_json::to_value(m.preset)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let overrides: Vec<String> = [
        ("n_layer", m.n_layer),
        ("n_head", m.n_head),
        ("n_embd", m.n_embd),
        ("context_length", m.context_length),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
    .collect();
    if overrides.is_empty() {
        preset
    } else {
        format!("{preset}({})", overrides.join(","))
    }
}

/// A built-in GPT being trained, with the config it was built from.
pub struct GptTrainee {
    model: Gpt,
    config: ModelConfig,
}

impl GptTrainee {
    /// A freshly initialised GPT of `config` on `device`, its weights drawn
    /// from `seed`.
    pub fn new(config: &ModelConfig, device: Device, seed: u64) -> Result<Self, TraineeError> {
        let precision = Precision::for_device(device);
        let model = Gpt::new(config.dims(), config.dropout, precision, device, seed)?;
        Ok(GptTrainee {
            model,
            config: config.clone(),
        })
    }
}

impl Trainee for GptTrainee {
    fn model_id(&self) -> String {
        model_id(&self.config)
    }

    fn parameter_count(&self) -> u64 {
        self.model.dims().parameter_count()
    }

    fn device(&self) -> Device {
        self.model.device()
    }

    fn precision_name(&self) -> &'static str {
        self.model.precision().name()
    }

    fn context_length(&self) -> usize {
        self.model.dims().context_length as usize
    }

    fn params(&self) -> &[(String, Tensor)] {
        self.model.named_parameters()
    }

    fn loss(&self, batch: &BatchTensors, train: bool) -> Result<Tensor, TraineeError> {
        Ok(batch_loss(&self.model, batch, train)?)
    }

    fn load_weights(&mut self, tensors: &[(String, Tensor)]) -> Result<(), TraineeError> {
        Ok(self.model.load(tensors)?)
    }

    fn outputs(
        &self,
        items: &[EvalItem],
        decoding: &Decoding,
        template: &str,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ModelOutputs, TraineeError> {
        Ok(model_outputs(
            &self.model,
            items,
            decoding,
            template,
            progress,
        )?)
    }
}
