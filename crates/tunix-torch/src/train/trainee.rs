//! What the training loop needs of a model, whatever its kind: the weights
//! the optimizer updates, the loss of a batch, loading weights from a
//! checkpoint, and its outputs on an eval set. The loop (`train_loop.rs`)
//! is written once over [`Trainee`]; the built-in GPT implements it in
//! `gpt_trainee.rs`. Nothing here assumes byte tokens or the GPT's sizes.

use tch::{Device, TchError, Tensor};

use tunix_core::evalset::EvalItem;
use tunix_core::manifest::common::Decoding;
use tunix_core::manifest::train::TrainSpec;
use tunix_core::protocol::FailureClass;

use super::device_batch::BatchTensors;
use super::model_eval::ModelOutputs;
use crate::failure::Failure;
use crate::hf::HfError;
use crate::model::device::is_out_of_memory;
use crate::model::gpt::LoadError;

/// Why a trainee's computation or weight loading failed.
#[derive(Debug, thiserror::Error)]
pub enum TraineeError {
    /// libtorch failed (running out of memory among others).
    #[error(transparent)]
    Torch(#[from] TchError),
    /// Weights that do not fit the built-in GPT.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A pretrained model's failure.
    #[error(transparent)]
    Hf(#[from] HfError),
}

/// A model the training loop can train.
pub trait Trainee {
    /// The model's name in records.
    fn model_id(&self) -> String;

    /// Parameters of the whole model (trained or frozen).
    fn parameter_count(&self) -> u64;

    /// The device the weights live on.
    fn device(&self) -> Device;

    /// How the forward pass computes (e.g. `bf16 mixed precision`).
    fn precision_name(&self) -> &'static str;

    /// The longest row of a batch, in tokens.
    fn context_length(&self) -> usize;

    /// The weights the optimizer updates, named, in a fixed order; a
    /// checkpoint's `model.safetensors` holds exactly these.
    fn params(&self) -> &[(String, Tensor)];

    /// Mean next-token loss of a batch (packed rows attend within their
    /// example only); `train` turns dropout on.
    fn loss(&self, batch: &BatchTensors, train: bool) -> Result<Tensor, TraineeError>;

    /// Write files besides the weights into a checkpoint folder (`dir`)
    /// and return their names: e.g. a LoRA run's PEFT adapter, which
    /// `peft` loads as it is. None by default.
    fn checkpoint_extras(&self, _dir: &std::path::Path) -> Result<Vec<String>, TraineeError> {
        Ok(Vec::new())
    }

    /// Copy checkpointed weights (as [`Trainee::params`] names them) in.
    fn load_weights(&mut self, tensors: &[(String, Tensor)]) -> Result<(), TraineeError>;

    /// Greedy outputs on `items`, each prompt rendered through `template`
    /// (`{prompt}` marking it); `progress` hears how many items each
    /// decoded batch finished.
    fn outputs(
        &self,
        items: &[EvalItem],
        decoding: &Decoding,
        template: &str,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ModelOutputs, TraineeError>;
}

/// A libtorch (or model) failure while doing `what`: out of memory, with
/// the batch size to try, or a crash.
pub fn torch_failure(spec: &TrainSpec, device: &str, what: &str, e: &TraineeError) -> Failure {
    let msg = e.to_string();
    if is_out_of_memory(&msg) {
        let b = spec.training.per_device_batch_size;
        Failure {
            class: FailureClass::OutOfMemory,
            message: format!(
                "out of memory on {device} while {what} with per_device_batch_size {b}; lower training.per_device_batch_size (e.g. to {}) or use a smaller model",
                (b / 2).max(1)
            ),
        }
    } else {
        Failure::crash(format!("libtorch failed while {what}: {msg}"))
    }
}
