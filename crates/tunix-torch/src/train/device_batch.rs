//! A batch on the device and its loss: the token rows of a [`Batch`] as
//! tensors (with positions and segments for packed rows), and the mean
//! next-token loss the model gives them. The training loop, validation and
//! the device tests all go through here.

use tch::{Device, TchError, Tensor};

use super::batches::Batch;
use crate::model::gpt::Gpt;

/// A batch on the device: inputs, targets, and for packed rows the
/// positions and segments.
pub struct BatchTensors {
    pub inputs: Tensor,
    pub targets: Tensor,
    pub packed: Option<(Tensor, Tensor)>,
}

/// Copy `batch` to `device`.
pub fn to_tensors(batch: &Batch, device: Device) -> Result<BatchTensors, TchError> {
    let shape = [batch.rows as i64, batch.width as i64];
    let tensor = |v: &[i64]| -> Result<Tensor, TchError> {
        Tensor::f_from_slice(v)?.f_view(shape)?.f_to_device(device)
    };
    let packed = match &batch.segments {
        Some(segments) => Some((tensor(&batch.positions)?, tensor(segments)?)),
        None => None,
    };
    Ok(BatchTensors {
        inputs: tensor(&batch.inputs)?,
        targets: tensor(&batch.targets)?,
        packed,
    })
}

/// Mean next-token loss of the batch (packed rows attend within their
/// example only).
pub fn batch_loss(model: &Gpt, b: &BatchTensors, train: bool) -> Result<Tensor, TchError> {
    match &b.packed {
        Some((pos, seg)) => model.loss_packed(&b.inputs, pos, seg, &b.targets, train),
        None => model.loss(&b.inputs, &b.targets, train),
    }
}
