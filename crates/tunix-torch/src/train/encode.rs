//! How a training example's text becomes token ids: an [`Encode`] maps the
//! rendered prompt and the completion to ids, adding whatever framing its
//! model was trained with. The built-in GPT's [`ByteEncoder`] spells the
//! completion as a space, the completion and a newline, one id per byte; a
//! pretrained model's [`TokenizerEncoder`] prepends the tokenizer's BOS and
//! ends the completion with its EOS. An encoder may also say which bytes of
//! the completion's text each completion id spells, which is what leaving
//! the calculator's results out of the loss needs.

use std::ops::Range;

use crate::hf::{HfError, HfTokenizer};

/// One example as ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The prompt's ids (with any BOS).
    pub prompt: Vec<u32>,
    /// The completion's ids (with any separator and stop token).
    pub completion: Vec<u32>,
    /// The text the completion's ids spell and, for each completion id,
    /// the bytes of that text it covers (empty for an added token such as
    /// EOS); `None` when the encoder cannot tell.
    pub spans: Option<(String, Vec<Range<usize>>)>,
}

/// Maps a rendered prompt and a completion to ids.
pub trait Encode {
    /// The ids of one example.
    fn encode(&self, prompt: &str, completion: &str) -> Result<Tokens, HfError>;
}

/// The built-in GPT's encoding: every byte is a token; the completion is
/// preceded by a space and ends with the stop newline.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByteEncoder;

impl Encode for ByteEncoder {
    fn encode(&self, prompt: &str, completion: &str) -> Result<Tokens, HfError> {
        let text = format!(" {completion}\n");
        let spans = (0..text.len()).map(|i| i..i + 1).collect();
        Ok(Tokens {
            prompt: prompt.bytes().map(u32::from).collect(),
            completion: text.bytes().map(u32::from).collect(),
            spans: Some((text, spans)),
        })
    }
}

/// A pretrained model's encoding through its tokenizer: BOS (when the
/// tokenizer has one) and the prompt, then the completion as the tokenizer
/// splits it, ended by EOS (when it has one). The tokenizer gives no
/// offsets here, so the completion's spans are unknown.
pub struct TokenizerEncoder<'a> {
    pub tokenizer: &'a HfTokenizer,
}

impl Encode for TokenizerEncoder<'_> {
    fn encode(&self, prompt: &str, completion: &str) -> Result<Tokens, HfError> {
        let mut prompt_ids: Vec<u32> = self.tokenizer.bos_id().into_iter().collect();
        prompt_ids.extend(self.tokenizer.encode(prompt, false)?);
        let mut completion_ids = self.tokenizer.encode(completion, false)?;
        completion_ids.extend(self.tokenizer.eos_id());
        Ok(Tokens {
            prompt: prompt_ids,
            completion: completion_ids,
            spans: None,
        })
    }
}

/// The bytes of `text` from `from` on that the calculator writes: after an
/// annotation's `<<` and its `=`, the result through the closing `>>`.
pub fn calculator_results(text: &[u8], from: usize) -> Vec<bool> {
    let mut result = vec![false; text.len()];
    let mut open = false;
    let mut in_result = false;
    for t in from..text.len() {
        let after = |c: u8| t > from && text[t - 1] == c;
        if in_result {
            result[t] = true;
            if text[t] == b'>' && after(b'>') {
                in_result = false;
                open = false;
            }
        } else if text[t] == b'<' && after(b'<') {
            open = true;
        } else if open && text[t] == b'=' {
            in_result = true;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_frame_the_completion_with_a_space_and_a_newline() {
        let t = ByteEncoder.encode("Q: x\nA:", "y").expect("bytes");
        assert_eq!(t.prompt, b"Q: x\nA:".map(u32::from).to_vec());
        assert_eq!(t.completion, b" y\n".map(u32::from).to_vec());
        let (text, spans) = t.spans.expect("byte spans");
        assert_eq!(text, " y\n");
        assert_eq!(spans, vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn calculator_results_run_from_the_equals_sign_through_the_close() {
        let text = b" <<12*3=36>> so <<1+1=2>>";
        let marks: String = calculator_results(text, 0)
            .iter()
            .zip(text)
            .map(|(&r, &c)| if r { '_' } else { c as char })
            .collect();
        assert_eq!(marks, " <<12*3=____ so <<1+1=___");
        // Scanning from inside an annotation does not see its opening.
        assert!(calculator_results(text, 4).iter().take(12).all(|&r| !r));
    }

    #[test]
    fn a_tokenizer_adds_its_bos_and_eos() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf/llama-gqa");
        let tokenizer = HfTokenizer::load(&dir).expect("fixture tokenizer");
        let t = TokenizerEncoder {
            tokenizer: &tokenizer,
        }
        .encode("What is 2+3?", "5")
        .expect("encodes");
        let bos = tokenizer.bos_id().expect("the fixture has a BOS");
        let eos = tokenizer.eos_id().expect("the fixture has an EOS");
        let mut prompt = vec![bos];
        prompt.extend(tokenizer.encode("What is 2+3?", false).expect("prompt"));
        assert_eq!(t.prompt, prompt);
        let mut completion = tokenizer.encode("5", false).expect("completion");
        completion.push(eos);
        assert_eq!(t.completion, completion);
        assert!(t.spans.is_none());
    }
}
