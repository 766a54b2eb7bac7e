//! A Hugging Face decoder made trainable, and its trained tensors by name.
//! Full fine-tuning: every weight, bias and norm scale is a leaf that
//! requires grad, named as in the model folder
//! (`model.layers.0.self_attn.q_proj.weight`; `lm_head.weight` only when
//! untied). LoRA: the base weights stay frozen and each target projection of
//! every layer gets an adapter (`crate::hf::linear::Lora`), named as `peft`
//! saves it (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`,
//! `...lora_B.weight`). A checkpoint's tensors are copied back in by name,
//! each name and shape checked.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use tunix_core::manifest::train::{LoraConfig, LoraTarget};
use tunix_core::rng::derive_seed;

use crate::hf::config::{Architecture, HfConfig};
use crate::hf::error::HfError;
use crate::hf::linear::{Linear, Lora};
use crate::hf::llama::LlamaModel;
use crate::hf::weights::Weights;

/// The prefix `peft` puts before a module's name in its adapter files.
pub const PEFT_PREFIX: &str = "base_model.model.";

impl LlamaModel {
    /// Load a model folder for training on `device`, its base weights held
    /// once in `kind` (`Kind::Float` on the CPU, `Kind::BFloat16` on a
    /// GPU). `lora` none: every weight trains. `lora` given: the base is
    /// frozen and each of `lora.target_modules` in every layer gets an
    /// adapter, `A` drawn from a generator seeded with `seed` and the
    /// projection's name and `B` zero, both f32.
    pub fn load_for_training(
        dir: &Path,
        device: Device,
        kind: Kind,
        lora: Option<&LoraConfig>,
        seed: u64,
    ) -> Result<Self, HfError> {
        let config = HfConfig::load(dir)?;
        let mut weights = Weights::load(dir)?;
        Self::from_weights_for_training(config, &mut weights, device, kind, lora, seed)
    }

    /// [`LlamaModel::load_for_training`] from a config and its weights.
    pub fn from_weights_for_training(
        config: HfConfig,
        w: &mut Weights,
        device: Device,
        kind: Kind,
        lora: Option<&LoraConfig>,
        seed: u64,
    ) -> Result<Self, HfError> {
        let mut model = Self::from_weights_as(config, w, device, kind)?;
        match lora {
            None => {
                for (_, t) in &model.trainable {
                    let _ = t.f_set_requires_grad(true)?;
                }
            }
            Some(lora) => model.attach_lora(lora, seed)?,
        }
        Ok(model)
    }

    fn attach_lora(&mut self, cfg: &LoraConfig, seed: u64) -> Result<(), HfError> {
        let linears = self.layers.iter_mut().flat_map(|l| l.linears_mut());
        let arch = self.config.architecture;
        self.trainable = attach_lora(linears, cfg, seed, self.device, arch, &LLAMA_TARGETS)?;
        self.lora = Some(cfg.clone());
        Ok(())
    }

    /// The trained tensors by their checkpoint names, in a fixed order:
    /// every weight by its Hugging Face name, or the LoRA adapters by
    /// `peft`'s. They share storage and grads with the model (for an
    /// optimizer); a model from [`LlamaModel::load`] lists every weight,
    /// none requiring grad.
    pub fn trainable(&self) -> &[(String, Tensor)] {
        &self.trainable
    }

    /// The adapters' config, when the model carries LoRA adapters.
    pub fn lora(&self) -> Option<&LoraConfig> {
        self.lora.as_ref()
    }

    /// Overwrite the trained tensors with a checkpoint's (any device or
    /// floating dtype; copied without grad). Every trained tensor must be
    /// given once, with the model's shape; a name the model does not train
    /// is refused.
    pub fn load_trained(&mut self, tensors: &[(String, Tensor)]) -> Result<(), HfError> {
        load_trained(&self.trainable, self.lora.is_some(), tensors)
    }

    /// The dtype the base weights are held in.
    pub fn base_kind(&self) -> Kind {
        self.embed.kind()
    }
}

/// The Llama family's LoRA targets.
pub const LLAMA_TARGETS: [LoraTarget; 7] = [
    LoraTarget::QProj,
    LoraTarget::KProj,
    LoraTarget::VProj,
    LoraTarget::OProj,
    LoraTarget::GateProj,
    LoraTarget::UpProj,
    LoraTarget::DownProj,
];

/// Give each of `linears` whose module is one of `cfg.target_modules` an
/// adapter, `A` drawn from a generator seeded with `seed` and the
/// projection's `peft` name, `B` zero; returns the adapters by `peft`'s
/// names. A target outside `allowed` (what `arch` has) is refused.
pub(super) fn attach_lora<'a>(
    linears: impl Iterator<Item = &'a mut Linear>,
    cfg: &LoraConfig,
    seed: u64,
    device: Device,
    arch: Architecture,
    allowed: &[LoraTarget],
) -> Result<Vec<(String, Tensor)>, HfError> {
    if cfg.rank == 0 {
        return Err(HfError::Input("LoRA rank must be at least 1".into()));
    }
    let missing: Vec<&str> = cfg
        .target_modules
        .iter()
        .filter(|t| !allowed.contains(t))
        .map(|t| t.as_str())
        .collect();
    if !missing.is_empty() {
        let allowed: Vec<&str> = allowed.iter().map(|t| t.as_str()).collect();
        return Err(HfError::LoraTarget {
            model: arch.name().into(),
            found: missing.join(", "),
            allowed: allowed.join(", "),
        });
    }
    let rank = i64::from(cfg.rank);
    let mut trainable = Vec::new();
    for lin in linears {
        if !cfg
            .target_modules
            .iter()
            .any(|t| t.as_str() == lin.module())
        {
            continue;
        }
        let (out, inp) = lin.shape();
        let name = format!("{PEFT_PREFIX}{}", lin.name);
        let draw = derive_seed(seed, &format!("lora/{name}"));
        let lora = Lora::init(out, inp, rank, cfg.alpha, cfg.dropout, device, draw)?;
        trainable.push((format!("{name}.lora_A.weight"), lora.a.shallow_clone()));
        trainable.push((format!("{name}.lora_B.weight"), lora.b.shallow_clone()));
        lin.lora = Some(lora);
    }
    Ok(trainable)
}

/// Copy a checkpoint's `tensors` into the model's `trainable` ones by name
/// (any device or floating dtype; without grad): each must be given once,
/// with the model's shape; a name the model does not train is refused
/// (`lora`: it trains adapters, else every weight).
pub(super) fn load_trained(
    trainable: &[(String, Tensor)],
    lora: bool,
    tensors: &[(String, Tensor)],
) -> Result<(), HfError> {
    let ours: BTreeMap<&str, &Tensor> = trainable.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut given: BTreeMap<&str, &Tensor> = BTreeMap::new();
    for (name, t) in tensors {
        let Some(dst) = ours.get(name.as_str()) else {
            let trained = if lora {
                "LoRA adapters, named as peft saves them"
            } else {
                "every weight, by its Hugging Face name"
            };
            return Err(HfError::UnknownTrained {
                name: name.clone(),
                trained: trained.into(),
            });
        };
        if t.size() != dst.size() {
            return Err(HfError::TrainedShape {
                name: name.clone(),
                expected: dst.size(),
                found: t.size(),
            });
        }
        given.insert(name, t);
    }
    if let Some((name, _)) = trainable
        .iter()
        .find(|(n, _)| !given.contains_key(n.as_str()))
    {
        return Err(HfError::MissingTrained { name: name.clone() });
    }
    let _guard = tch::no_grad_guard();
    for (name, dst) in trainable {
        if let Some(src) = given.get(name.as_str()) {
            dst.shallow_clone().f_copy_(src)?;
        }
    }
    Ok(())
}
