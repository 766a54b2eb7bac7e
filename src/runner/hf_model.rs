//! A pretrained Hugging Face model folder as a run's input: its files by
//! content (config.json, tokenizer.json and every weight file, hashed with
//! blake3), the prompt format its chat template gives, and their record in
//! run_manifest.json's config (`hf_model`, `prompt_format`). A run's
//! identity covers the hashes, and a later evaluation or export of a run
//! fine-tuned from the folder checks the folder against its record, so
//! adapters are never applied to weights other than those they were
//! trained on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::chat_template::{self, ChatTemplate};
use crate::error::{Error, Result};
use crate::fsutil::blake3_file;
use crate::manifest::common::{Decoding, DEFAULT_PROMPT_TEMPLATE};
use crate::workspace::Workspace;

/// The single-file weights of a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The index of sharded weights.
pub const WEIGHTS_INDEX: &str = "model.safetensors.index.json";

/// The key of the folder's record in a run's config.
pub const RECORD_KEY: &str = "hf_model";

/// A model folder and its files by content.
#[derive(Debug, Clone, PartialEq)]
pub struct HfBase {
    /// The folder (absolute).
    pub dir: PathBuf,
    /// `{"file", "blake3"}` per identity file, in [`identity_files`] order.
    pub files: Vec<Value>,
}

impl HfBase {
    /// Hash the identity files of the folder `dir`.
    pub fn hash(dir: &Path) -> Result<Self> {
        let mut files = Vec::new();
        for f in identity_files(dir)? {
            let (blake3, _) = blake3_file(&dir.join(&f))?;
            files.push(json!({ "file": f, "blake3": blake3 }));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// The record kept in a run's config under [`RECORD_KEY`].
    pub fn record(&self, ws: &Workspace) -> Value {
        json!({
            "path": ws.display_path(&self.dir).display().to_string(),
            "files": self.files,
        })
    }

    /// The folder a run recorded in its `config` (`run` names the run in
    /// errors), hashed again and checked against the record.
    pub fn recorded(ws: &Workspace, config: &Value, run: &str) -> Result<Self> {
        let now = Self::hash(&Self::recorded_dir(ws, config, run)?)?;
        now.check_record(config, run)?;
        Ok(now)
    }

    /// Where the folder a run recorded in its `config` is, if it is still
    /// there (its files unchecked: see [`HfBase::check_record`]).
    pub fn recorded_dir(ws: &Workspace, config: &Value, run: &str) -> Result<PathBuf> {
        let Some(path) = config[RECORD_KEY]["path"].as_str() else {
            return Err(Error::bad_input(format!(
                "run {run} records no pretrained model folder (`config.{RECORD_KEY}.path`): it did not fine-tune a model: {{ hf }}"
            )));
        };
        let dir = ws.root().join(path);
        if !dir.is_dir() {
            return Err(Error::bad_input(format!(
                "run {run} was fine-tuned from the model folder {path}, which is gone; restore it there (the same files) to use the run"
            ))
            .with_path(&dir));
        }
        Ok(dir)
    }

    /// Whether these are the files run `run` recorded in its `config`;
    /// the error names those that changed.
    pub fn check_record(&self, config: &Value, run: &str) -> Result<()> {
        let record = &config[RECORD_KEY];
        let recorded = record["files"].as_array().cloned().unwrap_or_default();
        if self.files == recorded {
            return Ok(());
        }
        let changed: Vec<String> = recorded
            .iter()
            .filter(|f| !self.files.contains(f))
            .filter_map(|f| f["file"].as_str().map(str::to_string))
            .collect();
        Err(Error::bad_input(format!(
            "the model folder {} is not the one run {run} was fine-tuned from: {} changed since; restore the original files",
            record["path"].as_str().unwrap_or_default(),
            if changed.is_empty() {
                "its list of weight files".to_string()
            } else {
                changed.join(", ")
            }
        ))
        .with_path(&self.dir))
    }

    /// The folder's name, for model ids (`hf:NAME`).
    pub fn name(&self) -> String {
        self.dir.file_name().map_or_else(
            || self.dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// The files that make a model folder's identity, relative to it:
/// config.json, tokenizer.json and the weights (model.safetensors, or the
/// index and every shard it names).
pub fn identity_files(dir: &Path) -> Result<Vec<String>> {
    let mut files = vec!["config.json".to_string(), "tokenizer.json".to_string()];
    let index = dir.join(WEIGHTS_INDEX);
    if dir.join(WEIGHTS_FILE).is_file() {
        files.push(WEIGHTS_FILE.into());
    } else if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| {
            Error::bad_input("cannot read the weights index")
                .with_path(&index)
                .with_source(e)
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Error::bad_input(format!("the weights index is not JSON: {e}")).with_path(&index)
        })?;
        let shards: BTreeSet<String> = value["weight_map"]
            .as_object()
            .ok_or_else(|| {
                Error::bad_input("the weights index has no `weight_map`").with_path(&index)
            })?
            .values()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        files.push(WEIGHTS_INDEX.into());
        files.extend(shards);
    } else {
        return Err(Error::bad_input(format!(
            "no weights: add {WEIGHTS_FILE} or {WEIGHTS_INDEX} (save the model with transformers' save_pretrained)"
        ))
        .with_path(dir));
    }
    Ok(files)
}

/// How the prompts are framed: the folder's chat template (`Some`) or
/// `decoding.prompt_template` (`None`). Unset `decoding.chat_template`
/// uses the chat template when the folder has one and `prompt_template`
/// is the default; `true` requires it; `false` never uses it.
pub fn prompt_format(dir: &Path, decoding: &Decoding) -> Result<Option<ChatTemplate>> {
    match decoding.chat_template {
        Some(false) => Ok(None),
        Some(true) => match chat_template::load(dir)? {
            Some(t) => Ok(Some(t)),
            None => Err(Error::bad_input(
                "`decoding.chat_template: true` but the model folder has no chat template (tokenizer_config.json's `chat_template` or chat_template.jinja); remove it to use `decoding.prompt_template`",
            )
            .with_path(dir)),
        },
        None if decoding.prompt_template != DEFAULT_PROMPT_TEMPLATE => Ok(None),
        None => chat_template::load(dir),
    }
}

/// The record of a prompt format in a run's config (`prompt_format`); a
/// template that reads the date also records the day it was rendered on
/// (`rendered_on`, UTC), which its prompts depend on.
pub fn format_record(chat: Option<&ChatTemplate>) -> Value {
    match chat {
        Some(t) => {
            let mut record = json!({
                "format": "chat_template",
                "file": t.path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "blake3": blake3::hash(t.source.as_bytes()).to_hex().to_string(),
            });
            if t.reads_the_date() {
                record["rendered_on"] = json!(chat_template::today());
            }
            record
        }
        None => json!({ "format": "prompt_template" }),
    }
}

/// Marks the prompt while a chat template is rendered into a frame.
const SLOT: &str = "\u{e000}tunix-rt prompt\u{e000}";

/// The chat template as a `{prompt}` template for training examples: the
/// rendering of one user turn around a placeholder, split at it. Refused
/// when the template does not put the prompt in verbatim (it must render
/// every prompt the same way around it), checked on probe prompts with
/// inner newlines and non-ASCII text; a template that strips the prompt's
/// outer whitespace (Qwen's `.strip()`) is accepted, framing such a prompt
/// with its whitespace kept.
pub fn chat_frame(chat: &ChatTemplate) -> Result<String> {
    let framed = chat.render(SLOT)?;
    let Some((before, after)) = framed.split_once(SLOT) else {
        return Err(not_verbatim(chat));
    };
    if after.contains(SLOT) || before.contains("{prompt}") || after.contains("{prompt}") {
        return Err(not_verbatim(chat));
    }
    for probe in ["What is 2 + 3?", "Tom has 4 apples.\nHe eats one, 7 × 6 ?"] {
        if chat.render(probe)? != format!("{before}{probe}{after}") {
            return Err(not_verbatim(chat));
        }
    }
    Ok(format!("{before}{{prompt}}{after}"))
}

fn not_verbatim(chat: &ChatTemplate) -> Error {
    Error::bad_input(
        "the model's chat template does not put the user's prompt in verbatim, so training examples cannot be framed like the eval prompts; set `decoding.chat_template: false` in `eval` to train and evaluate with `decoding.prompt_template`",
    )
    .with_path(&chat.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(source: &str) -> ChatTemplate {
        ChatTemplate {
            source: source.into(),
            path: PathBuf::from("chat_template.jinja"),
            bos_token: "<s>".into(),
            eos_token: "</s>".into(),
        }
    }

    #[test]
    fn a_chat_template_becomes_a_prompt_frame() {
        let t = chat("{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}");
        let frame = chat_frame(&t).expect("frame");
        assert_eq!(frame, "<s><|user|>\n{prompt}<|end|>\n<|assistant|>\n");
        let prompt = "How many?";
        assert_eq!(
            frame.replace("{prompt}", prompt),
            t.render(prompt).expect("render")
        );
    }

    #[test]
    fn a_template_that_rewrites_the_prompt_is_refused() {
        let t = chat("{% for m in messages %}{{ m.content | trim | upper }}{% endfor %}");
        let e = chat_frame(&t).expect_err("not verbatim").to_string();
        assert!(e.contains("decoding.chat_template: false"), "{e}");
    }

    #[test]
    fn a_template_that_reads_the_date_records_the_day() {
        let dated = chat(
            "{{ strftime_now('%d %b %Y') }}{% for m in messages %}{{ m.content }}{% endfor %}",
        );
        let record = format_record(Some(&dated));
        assert_eq!(record["rendered_on"], json!(chat_template::today()));
        let plain = chat("{% for m in messages %}{{ m.content }}{% endfor %}");
        assert!(format_record(Some(&plain)).get("rendered_on").is_none());
    }
}
