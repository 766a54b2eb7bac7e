//! Batched greedy decoding with a KV cache.
//!
//! Prompts of a batch are left-padded to the same length; padding is masked
//! out of attention and positions count from each prompt's first real
//! token, so an output does not depend on which other prompts share its
//! batch. Batches are formed from prompts sorted by length to keep padding
//! small. Generation stops at a stop string, after `max_new_tokens`, or
//! when the context is full.
//!
//! With the calculator on, a row that writes `<<`, an arithmetic
//! expression and `=` gets the expression's value and `>>` written for it
//! (GSM8K's calculator annotations): those bytes are fed to the model as
//! if it had generated them, and count toward `max_new_tokens`. The
//! expression may name the prompt's numbers (`n1`, `n2`, ...: in the order
//! the prompt text gives them) and earlier results (`r1`, ...); the output
//! is returned with every reference written out as its number
//! ([`calc::render`]).

use std::collections::VecDeque;

use tch::{Device, Kind, TchError, Tensor};
use tunix_core::dataset::calc;

use super::gpt::{Gpt, KvCache};
use super::tokenizer;

/// Decoding settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSettings {
    pub max_new_tokens: usize,
    /// Generation stops at the first of these; it is not part of the output.
    pub stop: Vec<String>,
    pub batch_size: usize,
    /// Compute `<<expr=` annotations (see the module docs).
    pub calculator: bool,
}

/// One prompt's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub text: String,
    /// The prompt was longer than the context allows and lost its start.
    pub prompt_truncated: bool,
}

/// Greedy outputs for `prompts`, in the same order.
pub fn generate(
    model: &Gpt,
    prompts: &[String],
    settings: &GenerateSettings,
    mut on_batch: impl FnMut(usize),
) -> Result<Vec<Generation>, TchError> {
    let _guard = tch::no_grad_guard();
    let context = model.dims().context_length as usize;
    // Leave room to generate: at least half the context, or max_new_tokens.
    let room = settings.max_new_tokens.min(context / 2).max(1);
    let max_prompt = context - room;
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.sort_by_key(|&i| (prompts[i].len(), i));
    let mut out: Vec<Option<Generation>> = vec![None; prompts.len()];
    for chunk in order.chunks(settings.batch_size.max(1)) {
        let numbers: Vec<Vec<String>> = chunk
            .iter()
            .map(|&i| calc::prompt_numbers(&prompts[i]))
            .collect();
        let encoded: Vec<(Vec<i64>, bool)> = chunk
            .iter()
            .map(|&i| {
                let ids = tokenizer::encode(&prompts[i]);
                if ids.len() > max_prompt {
                    (ids[ids.len() - max_prompt..].to_vec(), true)
                } else {
                    (ids, false)
                }
            })
            .collect();
        let texts = decode_batch(model, &encoded, &numbers, settings, context)?;
        for ((&i, (_, truncated)), text) in chunk.iter().zip(&encoded).zip(texts) {
            out[i] = Some(Generation {
                text,
                prompt_truncated: *truncated,
            });
        }
        on_batch(chunk.len());
    }
    Ok(out.into_iter().flatten().collect())
}

fn decode_batch(
    model: &Gpt,
    prompts: &[(Vec<i64>, bool)],
    numbers: &[Vec<String>],
    settings: &GenerateSettings,
    context: usize,
) -> Result<Vec<String>, TchError> {
    let device = model.device();
    let b = prompts.len() as i64;
    let p = prompts
        .iter()
        .map(|(ids, _)| ids.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let pads: Vec<i64> = prompts
        .iter()
        .map(|(ids, _)| (p - ids.len()) as i64)
        .collect();
    let mut flat = Vec::with_capacity(prompts.len() * p);
    for (ids, _) in prompts {
        flat.extend(std::iter::repeat_n(0i64, p - ids.len()));
        flat.extend_from_slice(ids);
    }
    let p = p as i64;
    let ids = Tensor::f_from_slice(&flat)?
        .f_view([b, p])?
        .f_to_device(device)?;
    let pad = Tensor::f_from_slice(&pads)?
        .f_view([b, 1])?
        .f_to_device(device)?;
    let cols = Tensor::f_arange(p, (Kind::Int64, device))?.f_unsqueeze(0)?;
    let pos = cols.f_sub(&pad)?.f_clamp_min(0)?;
    // Keys that are real tokens, per row: [B, keys].
    let mut key_valid = cols.f_ge_tensor(&pad)?;
    let causal = Tensor::f_ones([p, p], (Kind::Bool, device))?.f_tril(0)?;
    let eye = Tensor::f_eye(p, (Kind::Bool, device))?;
    // Padded query rows attend to themselves only, so they stay finite.
    let mask = causal
        .f_unsqueeze(0)?
        .f_logical_and(&key_valid.f_unsqueeze(1)?)?
        .f_logical_or(&eye.f_unsqueeze(0)?)?
        .f_unsqueeze(1)?;
    let mut cache = KvCache::new(model.dims().n_layer as usize);
    let logits = model.forward_cached(&ids, &pos, &mask, &mut cache)?;
    let mut next = logits.f_select(1, p - 1)?.f_argmax(-1, false)?;
    let mut last_pos = pos.f_select(1, p - 1)?;
    let budget = settings.max_new_tokens.min(context - p as usize);
    let mut rows: Vec<Row> = numbers
        .iter()
        .map(|n| Row {
            numbers: n.clone(),
            ..Row::default()
        })
        .collect();
    for step in 0..budget {
        let mut tokens = Vec::<i64>::try_from(&next.f_to_device(Device::Cpu)?)?;
        for (row, tok) in rows.iter_mut().zip(tokens.iter_mut()) {
            *tok = row.accept(*tok, settings);
        }
        if rows.iter().all(|r| r.done) || step + 1 == budget {
            break;
        }
        if settings.calculator {
            next = Tensor::f_from_slice(&tokens)?.f_to_device(device)?;
        }
        let step_ids = next.f_view([b, 1])?;
        last_pos = last_pos.f_add_scalar(1)?;
        let step_pos = last_pos.f_view([b, 1])?;
        key_valid = Tensor::f_cat(
            &[key_valid, Tensor::f_ones([b, 1], (Kind::Bool, device))?],
            1,
        )?;
        let step_mask = key_valid.f_view([b, 1, 1, -1])?;
        let logits = model.forward_cached(&step_ids, &step_pos, &step_mask, &mut cache)?;
        next = logits.f_select(1, 0)?.f_argmax(-1, false)?;
    }
    Ok(rows.iter().map(|r| r.text(settings)).collect())
}

/// One prompt's generation in progress.
#[derive(Debug, Clone, Default)]
struct Row {
    generated: Vec<u8>,
    /// Calculator bytes still to be written, before the model's own.
    forced: VecDeque<u8>,
    done: bool,
    /// The prompt's numbers (`n1`, ...) and the results so far (`r1`, ...).
    numbers: Vec<String>,
    results: Vec<String>,
}

impl Row {
    /// Take the model's next token; returns the token actually written
    /// (and fed back to the model): a calculator byte when one is due.
    fn accept(&mut self, tok: i64, settings: &GenerateSettings) -> i64 {
        if self.done {
            return tok;
        }
        let tok = self.forced.pop_front().map_or(tok, i64::from);
        let byte = tokenizer::token_byte(tok);
        self.generated.push(byte);
        if let Some(cut) = stop_at(&self.generated, &settings.stop) {
            self.generated.truncate(cut);
            self.done = true;
        } else if settings.calculator && byte == b'=' && self.forced.is_empty() {
            if let Some(result) = calculate(&self.generated, &self.numbers, &self.results) {
                self.forced.extend(result.bytes().chain(*b">>"));
                self.results.push(result);
            }
        }
        tok
    }

    /// The output: as generated, or with the calculator's references
    /// written out as numbers.
    fn text(&self, settings: &GenerateSettings) -> String {
        let text = tokenizer::decode(&self.generated);
        if settings.calculator {
            calc::render(&text, &self.numbers)
        } else {
            text
        }
    }
}

/// The result the calculator writes after `bytes`, which end with `=`: the
/// value of the expression since the last unclosed `<<`, if it is one.
fn calculate(bytes: &[u8], numbers: &[String], results: &[String]) -> Option<String> {
    let body = bytes.strip_suffix(b"=")?;
    let open = body.windows(2).rposition(|w| w == b"<<")?;
    let expr = std::str::from_utf8(&body[open + 2..]).ok()?;
    if expr.contains(">>") || expr.contains('=') {
        return None;
    }
    let expr = calc::resolve(expr, numbers, results)?;
    calc::evaluate(&expr).ok().map(calc::format)
}

/// Byte offset where the earliest stop string begins in `bytes`, if any.
fn stop_at(bytes: &[u8], stop: &[String]) -> Option<usize> {
    stop.iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| bytes.windows(s.len()).position(|w| w == s.as_bytes()))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::device::Precision;
    use tunix_core::presets::ModelDims;

    fn model() -> Gpt {
        let dims = ModelDims {
            n_layer: 2,
            n_head: 2,
            n_embd: 32,
            context_length: 48,
            vocab_size: 256,
        };
        Gpt::new(dims, 0.0, Precision::F32, Device::Cpu, 11).unwrap()
    }

    fn settings(batch_size: usize) -> GenerateSettings {
        GenerateSettings {
            max_new_tokens: 12,
            stop: vec![],
            batch_size,
            calculator: false,
        }
    }

    #[test]
    fn the_calculator_answers_open_annotations_only() {
        let c = |b: &[u8]| calculate(b, &[], &[]);
        assert_eq!(c(b" <<4*9="), Some("36".into()));
        assert_eq!(c(b" <<4*9=36>> <<36-7="), Some("29".into()));
        assert_eq!(c(b" <<9/4="), Some("2.25".into()));
        assert_eq!(c(b"4*9="), None);
        assert_eq!(c(b"<<4*9>> 3="), None);
        assert_eq!(c(b"<<a+b="), None);
        assert_eq!(c(b"<<4/0="), None);
        assert_eq!(c(b"<<4*9"), None);
        let numbers = ["4".to_string(), "9".to_string()];
        let results = ["36".to_string()];
        assert_eq!(calculate(b"<<n1*n2=", &numbers, &[]), Some("36".into()));
        assert_eq!(
            calculate(b"<<r1-n1=", &numbers, &results),
            Some("32".into())
        );
        assert_eq!(calculate(b"<<n3+1=", &numbers, &results), None);
    }

    #[test]
    fn calculator_bytes_replace_the_models_own_until_written() {
        let mut s = settings(1);
        s.stop = vec!["\n".into()];
        s.calculator = true;
        let mut row = Row::default();
        // The model writes an annotation, then garbage where the result
        // goes: the calculator's `36>>` is written (and fed back) in place
        // of the model's next four bytes.
        let model_says = b" <<4*9=xxxx <<36-7=???? Answer: 29\n";
        let fed: Vec<u8> = model_says
            .iter()
            .map(|&b| tokenizer::token_byte(row.accept(i64::from(b), &s)))
            .collect();
        assert_eq!(
            tokenizer::decode(&row.generated),
            " <<4*9=36>> <<36-7=29>> Answer: 29"
        );
        assert_eq!(&fed[..fed.len() - 1], row.generated.as_slice());
        assert!(row.done);
        // References name the prompt's numbers and earlier results; the
        // output shows them as numbers.
        let mut refs = Row {
            numbers: vec!["4".into(), "9".into(), "7".into()],
            ..Row::default()
        };
        for &b in b" <<n1*n2=xxxx <<r1-n3=xxxx Answer: r2\n".iter() {
            refs.accept(i64::from(b), &s);
        }
        assert_eq!(refs.text(&s), " <<4*9=36>> <<36-7=29>> Answer: 29");
        // Without the calculator the model's bytes stand.
        s.calculator = false;
        let mut plain = Row::default();
        for &b in model_says {
            plain.accept(i64::from(b), &s);
        }
        assert_eq!(
            tokenizer::decode(&plain.generated),
            " <<4*9=xxxx <<36-7=???? Answer: 29"
        );
    }

    #[test]
    fn stop_strings_cut_at_the_earliest_match() {
        assert_eq!(stop_at(b"12 Answer: 5\nQ:", &["\n".into()]), Some(12));
        assert_eq!(stop_at(b"abcXYdef", &["def".into(), "XY".into()]), Some(3));
        assert_eq!(stop_at(b"abc", &["".into()]), None);
    }

    #[test]
    fn batching_and_padding_do_not_change_outputs() {
        let m = model();
        let prompts: Vec<String> = [
            "Q: 1+1?\nA:",
            "Q: what is 12 times 3?\nA:",
            "x",
            "Q: 7-2?\nA:",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let alone = generate(&m, &prompts, &settings(1), |_| {}).unwrap();
        let together = generate(&m, &prompts, &settings(4), |_| {}).unwrap();
        assert_eq!(alone, together);
        assert!(alone.iter().all(|g| !g.prompt_truncated));
    }

    #[test]
    fn greedy_decoding_matches_repeated_full_forward_passes() {
        let m = model();
        let prompt = "Q: 3+4?\nA:";
        let got = generate(&m, &[prompt.to_string()], &settings(1), |_| {}).unwrap();
        let mut ids = tokenizer::encode(prompt);
        let mut bytes = Vec::new();
        for _ in 0..12 {
            let x = Tensor::from_slice(&ids).unsqueeze(0);
            let logits = m.forward(&x, false).unwrap();
            let next = logits.select(1, ids.len() as i64 - 1).argmax(-1, false);
            let tok = next.int64_value(&[0]);
            bytes.push(tokenizer::token_byte(tok));
            ids.push(tok);
        }
        assert_eq!(got[0].text, tokenizer::decode(&bytes));
    }

    #[test]
    fn long_prompts_keep_their_end_and_are_flagged() {
        let m = model();
        let long = "y".repeat(100);
        let got = generate(&m, &[long], &settings(2), |_| {}).unwrap();
        assert!(got[0].prompt_truncated);
        assert!(got[0].text.len() <= 12 * 3);
    }
}
