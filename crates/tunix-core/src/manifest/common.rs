//! Pieces shared by every manifest kind: the envelope's metadata, run output
//! and decoding settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only manifest API version this tool reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "tunix-rt/v1")]
    V1,
}

/// Name, labels and description of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Job name: lowercase letters, digits, `-`, `_` and `.`; also the default
    /// run-folder name.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$"))]
    pub name: String,
    /// Free-form key/value labels, e.g. `milestone: m34`; reports filter on them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// What this job is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Where a job writes its run folder.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Folder that holds run folders. Default: `submission_runs/` at the
    /// workspace root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    /// Run-folder name. Default: `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"))]
    pub name: Option<String>,
}

/// How a model generates answers during evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Decoding {
    /// Text put in front of the model; `{prompt}` is replaced by the eval
    /// item's prompt.
    pub prompt_template: String,
    /// Most tokens (bytes) generated per item.
    #[schemars(range(min = 1, max = 4096))]
    pub max_new_tokens: u32,
    /// Generation stops at the first of these strings (not included in the output).
    pub stop: Vec<String>,
    /// Items decoded together.
    #[schemars(range(min = 1, max = 4096))]
    pub batch_size: u32,
    /// Calculator-assisted decoding (GSM8K's `<<expr=result>>`
    /// annotations): when the model writes `<<` an arithmetic expression
    /// and `=`, the decoder computes the result and writes it with `>>`,
    /// so the model chooses the operations and the calculator does the
    /// arithmetic. A calculator-assisted score is a different measurement
    /// from a plain one; reports mark it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub calculator: bool,
    /// A Hugging Face model's own chat template (`model: { hf: PATH }`
    /// only): unset, the folder's chat template frames each prompt as a
    /// user turn when it has one, unless `prompt_template` is set to
    /// something other than the default (the manifest's template wins);
    /// `true` requires the folder's chat template (an error when it has
    /// none); `false` always uses `prompt_template`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<bool>,
}

impl Default for Decoding {
    fn default() -> Self {
        Decoding {
            prompt_template: DEFAULT_PROMPT_TEMPLATE.to_string(),
            max_new_tokens: 64,
            stop: vec!["\n".to_string()],
            batch_size: 32,
            calculator: false,
            chat_template: None,
        }
    }
}

/// The prompt format the built-in model trains and is evaluated on.
pub const DEFAULT_PROMPT_TEMPLATE: &str = "Q: {prompt}\nA:";

/// A scalar parameter value: a sweep's searched or overridden value, or
/// one of a command trainer's own `params`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}
