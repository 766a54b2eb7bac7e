//! Which keys a query may attend to ([`Attend`]: causal, or an explicit
//! mask), by index in the sequence (the KV
//! cache's slot): causal order, and within Mistral's sliding window when the
//! config sets one, as `transformers`' `sliding_window_overlay` does
//! (`key > query - window`, so a token sees itself and the `window - 1`
//! before it). Left padding and restarting packed segments leave index
//! distance equal to token distance, so the window is the same in tokens.

use tch::{Device, Kind, Tensor};

use crate::hf::error::HfError;

/// Which keys each new token may attend to.
pub(super) enum Attend {
    /// Causal over the new tokens only (no cache): token `i` sees `0..=i`.
    Causal,
    /// An explicit boolean mask `[batch, 1, new, keys]`, true = may attend.
    Mask(Tensor),
}

/// `[total - start, total]` bool: query `start + i` may attend to key `k`
/// when `k <= start + i` and, with a window, `start + i - k < window`.
pub(crate) fn causal(
    start: i64,
    total: i64,
    window: Option<i64>,
    device: Device,
) -> Result<Tensor, HfError> {
    let dev = (Kind::Int64, device);
    let query = Tensor::f_arange_start(start, total, dev)?.f_unsqueeze(1)?;
    let key = Tensor::f_arange(total, dev)?.f_unsqueeze(0)?;
    let allowed = key.f_le_tensor(&query)?;
    match window {
        None => Ok(allowed),
        Some(w) => Ok(allowed.f_logical_and(&key.f_gt_tensor(&query.f_sub_scalar(w)?)?)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &Tensor) -> Vec<Vec<bool>> {
        Vec::<Vec<bool>>::try_from(t).unwrap()
    }

    #[test]
    fn causal_and_windowed() {
        let plain = causal(0, 3, None, Device::Cpu).unwrap();
        assert_eq!(
            rows(&plain),
            [
                [true, false, false],
                [true, true, false],
                [true, true, true]
            ]
        );
        let windowed = causal(2, 4, Some(2), Device::Cpu).unwrap();
        assert_eq!(
            rows(&windowed),
            [[false, true, true, false], [false, false, true, true]]
        );
    }
}
