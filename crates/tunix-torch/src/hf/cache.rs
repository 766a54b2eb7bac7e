//! The KV cache both decoders decode through: per layer, keys and values
//! `[batch, kv_heads, max_len, head_dim]` allocated once and written in
//! place as tokens come, and which cached and new entries each new token
//! attends to (the caller's key mask within the causal order,
//! `crate::hf::mask`).

use tch::{Device, Kind, Tensor};

use crate::hf::error::HfError;
use crate::hf::mask::{self, Attend};

/// Per layer, keys and values `[batch, kv_heads, max_len, head_dim]`
/// allocated once ([`LlamaModel::new_cache`]) and written in place as
/// tokens come, the first `len()` entries of each row filled.
pub struct KvCache {
    keys: Vec<Tensor>,
    values: Vec<Tensor>,
    len: i64,
    batch: i64,
    max_len: i64,
}

impl KvCache {
    /// `layers` empty caches of `shape` `[batch, kv_heads, max_len,
    /// head_dim]` (f32).
    pub(super) fn zeros(layers: i64, shape: [i64; 4], device: Device) -> Result<Self, HfError> {
        let opts = (Kind::Float, device);
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for _ in 0..layers {
            keys.push(Tensor::f_zeros(shape, opts)?);
            values.push(Tensor::f_zeros(shape, opts)?);
        }
        Ok(KvCache {
            keys,
            values,
            len: 0,
            batch: shape[0],
            max_len: shape[2],
        })
    }

    /// Layer `i`'s keys and values and the number of entries filled.
    pub(super) fn layer(&self, i: usize) -> (&Tensor, &Tensor, i64) {
        (&self.keys[i], &self.values[i], self.len)
    }

    /// Count `t` more entries as filled.
    pub(super) fn advance(&mut self, t: i64) {
        self.len += t;
    }

    /// Which keys the next checked `ids` (`[batch, time]`) attend to, after
    /// the cached entries: `key_mask` (`[batch, len() + time]`, nonzero =
    /// may attend) within the causal order (and `window`), each token
    /// always to itself; the cache and the shapes of `positions` and
    /// `key_mask` checked, and that the cache has `layers` layers.
    pub(super) fn attend(
        &self,
        ids: &Tensor,
        (positions, key_mask): (&Tensor, &Tensor),
        window: Option<i64>,
        layers: usize,
        device: Device,
    ) -> Result<Attend, HfError> {
        let (b, t) = batch_time(ids)?;
        let (start, total) = (self.len, self.len + t);
        if self.batch != b || total > self.max_len || self.keys.len() != layers {
            return Err(HfError::Input(format!(
                "a cache of {} rows holding {start} of {} tokens cannot take [{b}, {t}] more",
                self.batch, self.max_len
            )));
        }
        if positions.size() != [b, t] || key_mask.size() != [b, total] {
            return Err(HfError::Input(format!(
                "positions must be [{b}, {t}] and the key mask [{b}, {total}], got {:?} and {:?}",
                positions.size(),
                key_mask.size()
            )));
        }
        let dev = (Kind::Int64, device);
        let query = Tensor::f_arange_start(start, total, dev)?.f_unsqueeze(1)?;
        let key = Tensor::f_arange(total, dev)?.f_unsqueeze(0)?;
        let allowed = mask::causal(start, total, window, device)?
            .f_unsqueeze(0)?
            .f_logical_and(&key_mask.f_to_device(device)?.f_ne(0)?.f_unsqueeze(1)?)?
            .f_logical_or(&key.f_eq_tensor(&query)?.f_unsqueeze(0)?)?
            .f_unsqueeze(1)?;
        Ok(Attend::Mask(allowed))
    }

    /// The number of entries filled.
    pub fn len(&self) -> i64 {
        self.len
    }

    /// Whether no entry is filled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of entries allocated.
    pub fn max_len(&self) -> i64 {
        self.max_len
    }

    /// Layer `i`'s key tensor (all `max_len` entries).
    pub fn keys(&self, i: usize) -> Option<&Tensor> {
        self.keys.get(i)
    }
}

/// `[batch, time]` of token ids, `time` at least 1.
pub(super) fn batch_time(ids: &Tensor) -> Result<(i64, i64), HfError> {
    let dims = ids.size();
    let [b, t] = dims[..] else {
        return Err(HfError::Input(format!(
            "token ids must be [batch, time], got {dims:?}"
        )));
    };
    if t == 0 || b == 0 {
        return Err(HfError::Input("no tokens".into()));
    }
    Ok((b, t))
}
