//! Greedy decoding for the Hugging Face decoder, batched: prompts of
//! different lengths are left-padded into one `[batch, longest]` block, an
//! attention mask keeps every token off the padding and each row's RoPE
//! positions count its own tokens only, so a padded row continues exactly as
//! it would alone. The keys and values live in a [`KvCache`] allocated once
//! for `longest + max_new_tokens` entries and written in place: the prompt
//! block runs once, then one token per row per step. A row stops at its
//! first stop token (kept in its output, as `transformers` keeps EOS) or
//! after `max_new_tokens` or, for a model with learned positions (GPT-2),
//! when its sequence fills them (a longer prompt is refused); the batch
//! stops when every row has. Rows that have stopped are fed padding at
//! position 0.

use tch::{Device, Tensor};

use crate::hf::cache::KvCache;
use crate::hf::error::HfError;
use crate::hf::model::HfModel;

/// How to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// The most tokens to add to each row.
    pub max_new_tokens: usize,
    /// Ids that end a row (e.g. [`crate::hf::HfTokenizer::stop_ids`]).
    pub stop_ids: Vec<i64>,
    /// The id written into padding (left of short prompts, and fed to rows
    /// that have stopped); never attended to, so any valid id does.
    pub pad_id: i64,
}

/// The greedy continuation of each prompt (token ids): per row the new
/// tokens, ending at the first stop token (included) or after
/// `max_new_tokens`.
pub fn generate_greedy(
    model: &HfModel,
    prompts: &[Vec<i64>],
    opts: &GenerateOptions,
) -> Result<Vec<Vec<i64>>, HfError> {
    let _guard = tch::no_grad_guard();
    if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
        return Err(HfError::Input("every prompt needs a token".into()));
    }
    let mut out = vec![Vec::new(); prompts.len()];
    let caps = row_caps(model, prompts, opts.max_new_tokens)?;
    if opts.max_new_tokens == 0 {
        return Ok(out);
    }
    let b = prompts.len() as i64;
    let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let max_len = (width + opts.max_new_tokens) as i64;
    let mut ids = Vec::with_capacity(prompts.len() * width);
    let mut valid = vec![false; prompts.len() * max_len as usize];
    let mut positions = Vec::with_capacity(prompts.len() * width);
    for (r, p) in prompts.iter().enumerate() {
        let pad = width - p.len();
        ids.extend(std::iter::repeat_n(opts.pad_id, pad).chain(p.iter().copied()));
        positions.extend(std::iter::repeat_n(0, pad).chain(0..p.len() as i64));
        let row = r * max_len as usize;
        // The prompt's tokens and every generated one are attended to.
        valid[row + pad..row + max_len as usize].fill(true);
    }
    let device = model.device();
    let key_mask = Tensor::from_slice(&valid)
        .f_view([b, max_len])?
        .f_to_device(device)?;
    let mut cache: KvCache = model.new_cache(b, max_len)?;
    let mut next_pos: Vec<i64> = prompts.iter().map(|p| p.len() as i64).collect();
    let mut input = Tensor::from_slice(&ids).f_view([b, width as i64])?;
    let mut pos = Tensor::from_slice(&positions).f_view([b, width as i64])?;
    let mut done = vec![false; prompts.len()];
    loop {
        let seen = cache.len() + input.size()[1];
        let logits =
            model.forward_cached(&input, &pos, &key_mask.f_narrow(1, 0, seen)?, &mut cache)?;
        let last = logits.f_select(1, -1)?.f_argmax(-1, false)?;
        let next: Vec<i64> = Vec::<i64>::try_from(&last.f_to_device(Device::Cpu)?)?;
        for (r, &tok) in next.iter().enumerate() {
            if done[r] {
                continue;
            }
            out[r].push(tok);
            done[r] = opts.stop_ids.contains(&tok) || out[r].len() >= caps[r];
        }
        if done.iter().all(|&d| d) {
            return Ok(out);
        }
        let feed: Vec<i64> = next
            .iter()
            .zip(&done)
            .map(|(&t, &d)| if d { opts.pad_id } else { t })
            .collect();
        input = Tensor::from_slice(&feed).f_view([b, 1])?;
        let fed: Vec<i64> = next_pos
            .iter()
            .zip(&done)
            .map(|(&p, &d)| if d { 0 } else { p })
            .collect();
        pos = Tensor::from_slice(&fed).f_view([b, 1])?;
        for p in &mut next_pos {
            *p += 1;
        }
    }
}

/// The most new tokens each row may take: `max_new_tokens`, or fewer
/// where the model's position limit ends the sequence first (the last new
/// token is never fed, so a row of `n` prompt tokens under a limit `l`
/// takes up to `l - n + 1`); a prompt longer than the limit is refused.
fn row_caps(
    model: &HfModel,
    prompts: &[Vec<i64>],
    max_new_tokens: usize,
) -> Result<Vec<usize>, HfError> {
    let Some(limit) = model.position_limit() else {
        return Ok(vec![max_new_tokens; prompts.len()]);
    };
    let limit = usize::try_from(limit).unwrap_or(0);
    prompts
        .iter()
        .map(|p| {
            if p.len() > limit {
                return Err(HfError::Input(format!(
                    "a prompt of {} tokens is longer than the model's {limit} positions",
                    p.len()
                )));
            }
            Ok(max_new_tokens.min(limit - p.len() + 1))
        })
        .collect()
}
