//! The training forward pass of the Hugging Face decoder and its loss, with
//! the built-in GPT's batch semantics (`crate::train::batches`): targets are
//! the next tokens already shifted, -100 where no loss is taken. Padded
//! rows attend causally at positions `0..time` (right padding is never seen
//! by the tokens before it); packed rows attend causally within their own
//! segment only, at the positions given (restarting per example), segment
//! -1 being padding; under Mistral's sliding window both attend within it
//! (`crate::hf::mask`). The loss is the mean cross-entropy over the targets
//! that are not -100, as `transformers`' `LlamaForCausalLM` computes it
//! from labels; grads flow to whatever requires them.

use tch::{Device, Kind, Reduction, Tensor};

use crate::hf::error::HfError;
use crate::hf::llama::LlamaModel;
use crate::hf::mask::{self, Attend};

/// The target id that takes no loss.
pub const IGNORE: i64 = -100;

impl LlamaModel {
    /// Logits `[batch, time, vocab]` (f32, with grad) for token ids
    /// `inputs` `[batch, time]`: padded rows when `packed` is none, else
    /// packed rows with their `(positions, segments)` (`[batch, time]`
    /// each). `train` turns on the adapters' dropout.
    pub fn logits_train(
        &self,
        inputs: &Tensor,
        packed: Option<(&Tensor, &Tensor)>,
        train: bool,
    ) -> Result<Tensor, HfError> {
        let ids = self.checked_ids(inputs)?;
        let window = self.config().sliding_window;
        let (positions, attend) = train_attend(&ids, packed, window, self.device())?;
        self.run(&ids, &positions, attend, None, train)
    }
}

/// The positions (`[batch, time]`) and attention of checked token ids
/// `ids` in a training pass: padded rows (`packed` none) at `0..time`,
/// causal; packed rows at their given positions, within their segment;
/// both within `window` when set.
pub(super) fn train_attend(
    ids: &Tensor,
    packed: Option<(&Tensor, &Tensor)>,
    window: Option<i64>,
    dev: Device,
) -> Result<(Tensor, Attend), HfError> {
    let (b, t) = (ids.size()[0], ids.size()[1]);
    match packed {
        None => {
            let pos = Tensor::f_arange(t, (Kind::Int64, dev))?
                .f_unsqueeze(0)?
                .f_expand([b, t], false)?;
            let attend = match window {
                None => Attend::Causal,
                Some(_) => Attend::Mask(mask::causal(0, t, window, dev)?.f_view([1, 1, t, t])?),
            };
            Ok((pos, attend))
        }
        Some((positions, segments)) => {
            if positions.size() != [b, t] || segments.size() != [b, t] {
                return Err(HfError::Input(format!(
                    "positions and segments must be [{b}, {t}], got {:?} and {:?}",
                    positions.size(),
                    segments.size()
                )));
            }
            let seg = segments.f_to_device(dev)?;
            let same = seg.f_unsqueeze(2)?.f_eq_tensor(&seg.f_unsqueeze(1)?)?;
            let causal = mask::causal(0, t, window, dev)?;
            let mask = same.f_logical_and(&causal)?.f_unsqueeze(1)?;
            Ok((positions.f_to_device(dev)?, Attend::Mask(mask)))
        }
    }
}

/// Targets must have the inputs' shape.
pub(super) fn check_targets(inputs: &Tensor, targets: &Tensor) -> Result<(), HfError> {
    if targets.size() != inputs.size() {
        return Err(HfError::Input(format!(
            "targets must have the inputs' shape {:?}, got {:?}",
            inputs.size(),
            targets.size()
        )));
    }
    Ok(())
}

/// Mean cross-entropy of `logits` `[batch, time, vocab]` against `targets`
/// `[batch, time]` over those not [`IGNORE`].
pub(super) fn cross_entropy(
    logits: &Tensor,
    targets: &Tensor,
    vocab: i64,
) -> Result<Tensor, HfError> {
    let targets = targets
        .f_to_kind(Kind::Int64)?
        .f_to_device(logits.device())?
        .f_view([-1])?;
    Ok(logits.f_view([-1, vocab])?.f_cross_entropy_loss::<Tensor>(
        &targets,
        None,
        Reduction::Mean,
        IGNORE,
        0.0,
    )?)
}
