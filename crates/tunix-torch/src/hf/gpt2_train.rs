//! GPT-2 made trainable, through the pieces the Llama decoder uses: full
//! fine-tuning (every weight a leaf requiring grad, named as in the model
//! folder) or LoRA on `c_attn`, `c_proj` (attention's and the MLP's, as
//! `peft` matches both) and `c_fc` with a frozen base; the training
//! forward pass and loss over padded or packed rows
//! (`crate::hf::loss::train_attend`: positions restart per packed
//! example, as `wpe` indexes them); checkpointed tensors restored by name
//! (`crate::hf::trainable::load_trained`); the merged weights in `Conv1D`
//! layout (`crate::hf::export::merge`). The loss, the `peft` folder (with
//! `fan_in_fan_out: true`) and the exported model folder are
//! `crate::hf::HfModel`'s, one for both decoders.

use std::path::Path;

use tch::{Device, Kind, Tensor};
use tunix_core::manifest::train::{LoraConfig, LoraTarget};

use crate::hf::config::HfConfig;
use crate::hf::error::HfError;
use crate::hf::export;
use crate::hf::gpt2::Gpt2Model;
use crate::hf::loss::train_attend;
use crate::hf::trainable::{attach_lora, load_trained};
use crate::hf::weights::Weights;

/// GPT-2's LoRA targets.
pub const GPT2_TARGETS: [LoraTarget; 3] = [LoraTarget::CAttn, LoraTarget::CProj, LoraTarget::CFc];

impl Gpt2Model {
    /// Load a GPT-2 folder for training on `device`, its base weights in
    /// `kind`: every weight trains (`lora` none), or the base is frozen and
    /// each of `lora.target_modules` gets an adapter (see
    /// [`crate::hf::LlamaModel::load_for_training`]).
    pub fn load_for_training(
        dir: &Path,
        device: Device,
        kind: Kind,
        lora: Option<&LoraConfig>,
        seed: u64,
    ) -> Result<Self, HfError> {
        let config = HfConfig::load(dir)?;
        let mut weights = Weights::load(dir)?;
        let mut model = Self::from_weights_as(config, &mut weights, device, kind)?;
        match lora {
            None => {
                for (_, t) in &model.trainable {
                    let _ = t.f_set_requires_grad(true)?;
                }
            }
            Some(cfg) => {
                let linears = model.blocks.iter_mut().flat_map(|b| b.linears_mut());
                let arch = model.config.architecture;
                let dev = model.device;
                model.trainable = attach_lora(linears, cfg, seed, dev, arch, &GPT2_TARGETS)?;
                model.lora = Some(cfg.clone());
            }
        }
        Ok(model)
    }

    /// The trained tensors by checkpoint name (every weight, or the
    /// adapters by `peft`'s names), sharing storage and grads.
    pub fn trainable(&self) -> &[(String, Tensor)] {
        &self.trainable
    }

    /// The adapters' config, when the model carries LoRA adapters.
    pub fn lora(&self) -> Option<&LoraConfig> {
        self.lora.as_ref()
    }

    /// Overwrite the trained tensors with a checkpoint's, names and shapes
    /// checked.
    pub fn load_trained(&mut self, tensors: &[(String, Tensor)]) -> Result<(), HfError> {
        load_trained(&self.trainable, self.lora.is_some(), tensors)
    }

    /// The dtype the base weights are held in.
    pub fn base_kind(&self) -> Kind {
        self.wte.kind()
    }

    /// Training logits `[batch, time, vocab]` (f32, with grad): padded
    /// rows, or packed rows with their `(positions, segments)`.
    pub fn logits_train(
        &self,
        inputs: &Tensor,
        packed: Option<(&Tensor, &Tensor)>,
        train: bool,
    ) -> Result<Tensor, HfError> {
        let ids = self.checked_ids(inputs)?;
        let (positions, attend) = train_attend(&ids, packed, None, self.device)?;
        self.run(&ids, &positions, attend, None, train)
    }

    /// Every weight by name, adapters merged (in `Conv1D` layout), detached.
    pub fn merged_weights(&self) -> Result<Vec<(String, Tensor)>, HfError> {
        let linears = self.blocks.iter().flat_map(|b| b.linears());
        export::merge(linears, self.weights())
    }
}
