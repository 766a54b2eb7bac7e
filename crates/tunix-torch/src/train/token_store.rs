//! A split's examples as ids in one buffer, with where each example
//! starts, where its completion starts and which of its ids the loss
//! skips. The ids are kept a byte each while every id fits in one (the
//! built-in GPT's bytes, as the dataset's memory budget assumes), four
//! bytes each otherwise. An example longer than `context + 1` ids keeps
//! its end, the completion.

use std::ops::Range;

use tunix_core::dataset::Example;
use tunix_core::manifest::train::LossOn;

use super::encode::{calculator_results, Encode, Tokens};
use crate::hf::HfError;

/// Why a split's examples cannot be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The tokenizer failed on an example.
    #[error("cannot encode training example {index}: {source}")]
    Tokenizer {
        /// The example's index in its split.
        index: usize,
        /// What the tokenizer said.
        source: HfError,
    },
    /// `completion-except-calculator` with an encoder that cannot say
    /// which text each id spells.
    #[error(
        "training.loss_on: completion-except-calculator needs to know which bytes each token spells, and this model's tokenizer does not say; use loss_on: completion (the calculator's results are learned with the rest of the completion)"
    )]
    NoSpans,
}

/// Ids stored a byte each while they fit, else four bytes each.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ids {
    Bytes(Vec<u8>),
    Wide(Vec<u32>),
}

impl Ids {
    fn len(&self) -> usize {
        match self {
            Ids::Bytes(v) => v.len(),
            Ids::Wide(v) => v.len(),
        }
    }

    fn get(&self, i: usize) -> i64 {
        match self {
            Ids::Bytes(v) => i64::from(v[i]),
            Ids::Wide(v) => i64::from(v[i]),
        }
    }

    fn extend(&mut self, ids: &[u32]) {
        if let Ids::Bytes(v) = self {
            let bytes: Option<Vec<u8>> = ids.iter().map(|&id| u8::try_from(id).ok()).collect();
            match bytes {
                Some(b) => {
                    v.extend_from_slice(&b);
                    return;
                }
                None => *self = Ids::Wide(v.iter().map(|&b| u32::from(b)).collect()),
            }
        }
        if let Ids::Wide(v) = self {
            v.extend_from_slice(ids);
        }
    }
}

/// One example's place in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Placed {
    start: usize,
    len: usize,
    /// Ids before the completion (after any cut).
    prompt_len: usize,
    /// Ids of the completion the loss skips (the calculator's results).
    skipped: Vec<Range<usize>>,
}

/// The encoded examples of one split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStore {
    ids: Ids,
    examples: Vec<Placed>,
    loss_on: LossOn,
}

impl TokenStore {
    /// Encode `examples`, the prompt rendered through `template`
    /// (`{prompt}` marking the prompt).
    pub fn new(
        examples: &[Example],
        template: &str,
        context: usize,
        loss_on: LossOn,
        encoder: &dyn Encode,
    ) -> Result<Self, EncodeError> {
        let mut store = TokenStore {
            ids: Ids::Bytes(Vec::new()),
            examples: Vec::with_capacity(examples.len()),
            loss_on,
        };
        for (index, ex) in examples.iter().enumerate() {
            let prompt = template.replace("{prompt}", &ex.prompt);
            let tokens = encoder
                .encode(&prompt, &ex.completion)
                .map_err(|source| EncodeError::Tokenizer { index, source })?;
            store.push(tokens, context)?;
        }
        Ok(store)
    }

    fn push(&mut self, tokens: Tokens, context: usize) -> Result<(), EncodeError> {
        let total = tokens.prompt.len() + tokens.completion.len();
        let cut = total.saturating_sub(context + 1);
        let prompt_len = tokens.prompt.len().saturating_sub(cut);
        // Completion ids from `kept` on survive the cut.
        let kept = cut.saturating_sub(tokens.prompt.len());
        let skipped = if self.loss_on == LossOn::CompletionExceptCalculator {
            let (text, spans) = tokens.spans.as_ref().ok_or(EncodeError::NoSpans)?;
            let from = spans.get(kept).map_or(text.len(), |s| s.start);
            let results = calculator_results(text.as_bytes(), from);
            let offset = prompt_len as isize - kept as isize;
            runs(spans.iter().enumerate().skip(kept).filter_map(|(j, s)| {
                results
                    .get(s.clone())
                    .is_some_and(|r| r.contains(&true))
                    .then_some((j as isize + offset) as usize)
            }))
        } else {
            Vec::new()
        };
        let start = self.ids.len();
        if cut < tokens.prompt.len() {
            self.ids.extend(&tokens.prompt[cut..]);
            self.ids.extend(&tokens.completion);
        } else {
            self.ids.extend(&tokens.completion[kept..]);
        }
        self.examples.push(Placed {
            start,
            len: total - cut,
            prompt_len,
            skipped,
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Ids of every example together.
    pub fn tokens(&self) -> usize {
        self.ids.len()
    }

    /// Ids of example `i`.
    pub fn example_len(&self, i: usize) -> usize {
        self.examples[i].len
    }

    /// Input ids and targets of example `i`: `len - 1` of each; a target
    /// the loss skips is `ignore`.
    pub fn pairs(&self, i: usize, ignore: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let e = &self.examples[i];
        let all = self.loss_on == LossOn::All;
        let learned =
            move |t: usize| all || (t >= e.prompt_len && !e.skipped.iter().any(|r| r.contains(&t)));
        // Position t predicts id t + 1.
        (0..e.len.saturating_sub(1)).map(move |t| {
            let target = if learned(t + 1) {
                self.ids.get(e.start + t + 1)
            } else {
                ignore
            };
            (self.ids.get(e.start + t), target)
        })
    }
}

/// Increasing positions as ranges of consecutive ones.
fn runs(positions: impl Iterator<Item = usize>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for p in positions {
        match out.last_mut() {
            Some(r) if r.end == p => r.end = p + 1,
            _ => out.push(p..p + 1),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::encode::ByteEncoder;

    fn ex(prompt: &str, completion: &str) -> Example {
        Example {
            prompt: prompt.to_string(),
            completion: completion.to_string(),
            answer: String::new(),
            steps: 1,
        }
    }

    /// An encoder of whole words, ids above 255, that knows no spans.
    struct Words;

    impl Encode for Words {
        fn encode(&self, prompt: &str, completion: &str) -> Result<Tokens, HfError> {
            let ids = |s: &str| {
                s.split_whitespace()
                    .map(|w| 1000 + w.len() as u32)
                    .collect()
            };
            Ok(Tokens {
                prompt: ids(prompt),
                completion: ids(completion),
                spans: None,
            })
        }
    }

    #[test]
    fn wide_ids_are_kept_whole_and_the_completion_is_learned() {
        let s = TokenStore::new(
            &[ex("a bb", "ccc dddd")],
            "{prompt}",
            16,
            LossOn::Completion,
            &Words,
        )
        .expect("encodes");
        let pairs: Vec<(i64, i64)> = s.pairs(0, -1).collect();
        assert_eq!(pairs, vec![(1001, -1), (1002, 1003), (1003, 1004)]);
    }

    #[test]
    fn byte_examples_switch_to_wide_storage_without_changing_ids() {
        let mut ids = Ids::Bytes(vec![1, 2]);
        ids.extend(&[3, 300]);
        assert_eq!(ids, Ids::Wide(vec![1, 2, 3, 300]));
    }

    #[test]
    fn the_calculator_option_is_refused_for_an_encoder_without_spans() {
        let err = TokenStore::new(
            &[ex("a", "b")],
            "{prompt}",
            16,
            LossOn::CompletionExceptCalculator,
            &Words,
        )
        .expect_err("refused");
        assert!(err.to_string().contains("loss_on: completion"), "{err}");
    }

    #[test]
    fn a_cut_inside_an_annotation_leaves_its_result_learned_as_before() {
        // 12 bytes of context + 1: the cut keeps "*3=36>> A: 36\n".
        let s = TokenStore::new(
            &[ex("p", "<<12*3=36>> A: 36")],
            "{prompt}",
            13,
            LossOn::CompletionExceptCalculator,
            &ByteEncoder,
        )
        .expect("encodes");
        assert_eq!(s.example_len(0), 14);
        assert!(s.pairs(0, -1).all(|(_, t)| t != -1));
    }
}
