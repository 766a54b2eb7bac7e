//! A Hugging Face model folder's tokenizer: `tokenizer.json` run by the
//! `tokenizers` crate (pure Rust: its regexes through fancy-regex), the
//! BOS and EOS tokens named by `tokenizer_config.json`, and the stop ids:
//! the EOS token's id and `generation_config.json`'s `eos_token_id` (a
//! number or a list), in that order, without repeats. Both config files
//! are optional; `tokenizer.json` is not.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::hf::error::HfError;

/// A loaded tokenizer and the special ids generation needs.
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    file: PathBuf,
    bos_id: Option<u32>,
    eos_id: Option<u32>,
    stop_ids: Vec<u32>,
}

impl HfTokenizer {
    /// Load `tokenizer.json`, `tokenizer_config.json` and
    /// `generation_config.json` from a local model folder.
    pub fn load(dir: &Path) -> Result<Self, HfError> {
        let file = dir.join("tokenizer.json");
        let bytes = std::fs::read(&file).map_err(|source| HfError::Io {
            file: file.clone(),
            source,
        })?;
        let inner = tokenizers::Tokenizer::from_bytes(&bytes).map_err(|e| HfError::Tokenizer {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let config_file = dir.join("tokenizer_config.json");
        let config = read_optional_json(&config_file)?;
        let token_id = |key: &str| -> Result<Option<u32>, HfError> {
            let Some(value) = config.as_ref().and_then(|c| c.get(key)) else {
                return Ok(None);
            };
            let content = match value {
                Value::Null => return Ok(None),
                Value::String(s) => s.as_str(),
                Value::Object(o) => match o.get("content") {
                    Some(Value::String(s)) => s.as_str(),
                    _ => return Err(bad(&config_file, format!("`{key}` has no `content`"))),
                },
                _ => return Err(bad(&config_file, format!("`{key}` is not a token"))),
            };
            inner.token_to_id(content).map(Some).ok_or_else(|| {
                bad(
                    &config_file,
                    format!("`{key}` `{content}` is not in tokenizer.json's vocabulary"),
                )
            })
        };
        let bos_id = token_id("bos_token")?;
        let eos_id = token_id("eos_token")?;
        let mut stop_ids: Vec<u32> = eos_id.into_iter().collect();
        let gen_file = dir.join("generation_config.json");
        if let Some(gen) = read_optional_json(&gen_file)? {
            let ids = match gen.get("eos_token_id") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items.iter().collect(),
                Some(one) => vec![one],
            };
            for id in ids {
                let id = id
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|&n| (n as usize) < inner.get_vocab_size(true))
                    .ok_or_else(|| {
                        bad(&gen_file, format!("`eos_token_id` {id} is not a token id"))
                    })?;
                if !stop_ids.contains(&id) {
                    stop_ids.push(id);
                }
            }
        }
        Ok(Self {
            inner,
            file,
            bos_id,
            eos_id,
            stop_ids,
        })
    }

    /// Token ids of `text`; `add_special_tokens` runs the tokenizer's
    /// post-processor (which may add BOS), as `transformers` does by default.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, HfError> {
        let enc = self
            .inner
            .encode(text, add_special_tokens)
            .map_err(|e| self.error(e))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of token ids, special tokens left out when `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, HfError> {
        self.inner
            .decode(ids, skip_special)
            .map_err(|e| self.error(e))
    }

    /// The number of ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id of `tokenizer_config.json`'s `bos_token`, if any.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos_id
    }

    /// The id of `tokenizer_config.json`'s `eos_token`, if any.
    pub fn eos_id(&self) -> Option<u32> {
        self.eos_id
    }

    /// The ids that end a generated sequence.
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    fn error(&self, e: tokenizers::Error) -> HfError {
        bad(&self.file, e.to_string())
    }
}

fn bad(file: &Path, message: String) -> HfError {
    HfError::Tokenizer {
        file: file.to_path_buf(),
        message,
    }
}

/// A JSON object file, `None` when absent.
fn read_optional_json(file: &Path) -> Result<Option<Value>, HfError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(HfError::Io {
                file: file.to_path_buf(),
                source,
            })
        }
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(file, e.to_string()))?;
    if !value.is_object() {
        return Err(bad(file, "not a JSON object".into()));
    }
    Ok(Some(value))
}
