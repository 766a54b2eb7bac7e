//! The parameters a Sweep may search or override, and setting them on a
//! Train spec.
//!
//! A bare name is a `training` key (`learning_rate` →
//! `spec.training.learning_rate`); a dotted name reaches the built-in
//! model and its data (`model.n_layer` → `spec.model.n_layer`,
//! `dataset.difficulty.easy` → `spec.dataset.difficulty.easy`) or a
//! pretrained model's adapters (`model.lora.rank`, `model.lora.alpha`,
//! `model.lora.dropout`). Numeric
//! fields can be searched with any distribution; fields that take one of a
//! few names (`model.preset`, `dataset.trace`, `loss_on`, ...) with
//! `choice` or `grid`, so a sweep can choose a recipe, not only its
//! numbers. The names, their types and the allowed names are read from the
//! generated schemas, so they never drift from the Rust types.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::sweep::ParamValue;
use super::train::{
    DatasetConfig, DifficultyMix, LoraConfig, ModelConfig, TrainSpec, TrainingConfig,
};
use crate::schema_check::{generate, CompiledSchema};

/// The type of a sweep parameter, as far as sweeps care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamType {
    Integer,
    Number,
    /// One of a command trainer's own `params`: any scalar.
    Any,
    /// One of these names (a string enum of the manifest, e.g. a preset).
    Named(Vec<String>),
}

impl ParamType {
    pub fn describe(&self) -> String {
        match self {
            ParamType::Integer => "an integer".into(),
            ParamType::Number => "a number".into(),
            ParamType::Any => "a number, a string or a boolean".into(),
            ParamType::Named(names) => format!("one of {}", names.join(", ")),
        }
    }
}

/// A sweep parameter that does not fit its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamMismatch {
    /// The parameter, e.g. `per_device_batch_size` or `model.n_layer`.
    pub name: String,
    pub message: String,
}

/// The spec field a parameter sets: `spec.training.<name>` for a bare
/// name, `spec.<name>` for a dotted one.
pub fn field_of(name: &str) -> String {
    if name.contains('.') {
        format!("spec.{name}")
    } else {
        format!("spec.training.{name}")
    }
}

/// Every parameter a sweep may search or override, with its type.
pub fn sweep_params() -> &'static BTreeMap<String, ParamType> {
    static PARAMS: OnceLock<BTreeMap<String, ParamType>> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let mut out = numeric_properties(&generate::<TrainingConfig>(), "");
        out.extend(numeric_properties(&generate::<ModelConfig>(), "model."));
        out.extend(numeric_properties(&generate::<LoraConfig>(), "model.lora."));
        out.extend(numeric_properties(&generate::<DatasetConfig>(), "dataset."));
        out.extend(numeric_properties(
            &generate::<DifficultyMix>(),
            "dataset.difficulty.",
        ));
        out
    })
}

/// The type of sweep parameter `name`: one of [`sweep_params`], or
/// `params.NAME` (a command trainer's own hyperparameter, any scalar);
/// none for a name a sweep cannot set.
pub fn param_type(name: &str) -> Option<ParamType> {
    if is_user_param(name) {
        return Some(ParamType::Any);
    }
    sweep_params().get(name).cloned()
}

/// Whether `name` is `params.NAME` with a valid NAME (1–64 characters of
/// `[A-Za-z0-9_]`, starting with a letter).
pub fn is_user_param(name: &str) -> bool {
    name.strip_prefix("params.").is_some_and(|rest| {
        rest.len() <= 64
            && rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The `training` keys (the bare names of [`sweep_params`]).
pub fn training_params() -> impl Iterator<Item = &'static str> {
    sweep_params()
        .keys()
        .map(String::as_str)
        .filter(|n| !n.contains('.'))
}

/// The searchable properties of `schema`: numbers, integers and string
/// enums (named choices), each under `prefix`.
fn numeric_properties(schema: &Value, prefix: &str) -> BTreeMap<String, ParamType> {
    let mut out = BTreeMap::new();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return out;
    };
    for (name, prop) in props {
        let types: Vec<&str> = match prop.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let ty = if types.contains(&"integer") {
            ParamType::Integer
        } else if types.contains(&"number") {
            ParamType::Number
        } else if let Some(names) = named_choices(schema, prop).filter(|n| !n.is_empty()) {
            ParamType::Named(names)
        } else {
            continue;
        };
        out.insert(format!("{prefix}{name}"), ty);
    }
    out
}

/// The names a string-enum property takes (`"oneOf": [{"const": ...}]` or
/// `"enum": [...]`, through `$ref`s into the root's `$defs` and a nullable
/// `anyOf`); `None` for any other property.
fn named_choices(root: &Value, prop: &Value) -> Option<Vec<String>> {
    if let Some(target) = prop.get("$ref").and_then(Value::as_str) {
        let def = target.strip_prefix("#/$defs/")?;
        return named_choices(root, root.get("$defs")?.get(def)?);
    }
    if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect();
    }
    if let Some(variants) = prop.get("oneOf").and_then(Value::as_array) {
        return variants
            .iter()
            .map(|v| v.get("const").and_then(Value::as_str).map(str::to_string))
            .collect();
    }
    let alternatives = prop.get("anyOf").and_then(Value::as_array)?;
    let mut named = alternatives
        .iter()
        .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"));
    let only = named.next()?;
    match named.next() {
        None => named_choices(root, only),
        Some(_) => None,
    }
}

/// `spec` with each of `params` set on it, in order, through serde and
/// then the [`TrainSpec`] schema (types and ranges), so the result is a
/// valid spec as far as types go (see [`spec_rules`] for the relations).
/// The first parameter that does not fit is the error. Sweeps use it for
/// their overrides and for every trial's values.
pub fn set_params<'a>(
    spec: &TrainSpec,
    params: impl IntoIterator<Item = (&'a String, &'a ParamValue)>,
) -> Result<TrainSpec, ParamMismatch> {
    let mismatch = |name: &str, message: String| ParamMismatch {
        name: name.to_string(),
        message,
    };
    let mut merged = serde_json::to_value(spec).map_err(|e| mismatch("", e.to_string()))?;
    let mut result = spec.clone();
    for (name, value) in params {
        // Only a non-finite float serializes to null.
        let v = serde_json::to_value(value).unwrap_or(Value::Null);
        if let (Value::Null, ParamValue::Float(f)) = (&v, value) {
            return Err(mismatch(name, format!("`{f}` is not a finite number")));
        }
        set_path(&mut merged, &path_of(name), v).map_err(|e| mismatch(name, e.to_string()))?;
        result =
            serde_json::from_value(merged.clone()).map_err(|e| mismatch(name, e.to_string()))?;
    }
    if let Some(issue) = spec_schema().check(&merged).into_iter().next() {
        let name = name_at(&issue.pointer);
        return Err(mismatch(&name, issue.message));
    }
    Ok(result)
}

/// The path of parameter `name` in a Train spec's JSON.
fn path_of(name: &str) -> Vec<&str> {
    if name.contains('.') {
        name.split('.').collect()
    } else {
        vec!["training", name]
    }
}

/// The parameter a schema pointer into a Train spec names.
fn name_at(pointer: &str) -> String {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["training", field, ..] => field.to_string(),
        other => other.join("."),
    }
}

/// Why a parameter's value cannot be set at its path in a spec's JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum SetPathError {
    /// The parameter's name is empty.
    #[error("empty parameter name")]
    EmptyName,
    /// A part of the path names a value that is not an object.
    #[error("`{key}` is not a section")]
    NotASection {
        /// The path part that is not a section.
        key: String,
    },
    /// The last part's parent is not an object.
    #[error("cannot set `{key}` here")]
    CannotSet {
        /// The key that cannot be set.
        key: String,
    },
}

/// Set `value` at `path` in `root`, making missing sections on the way.
fn set_path(root: &mut Value, path: &[&str], value: Value) -> Result<(), SetPathError> {
    let Some((last, parents)) = path.split_last() else {
        return Err(SetPathError::EmptyName);
    };
    let mut at = root;
    for key in parents {
        let Value::Object(map) = at else {
            return Err(SetPathError::NotASection {
                key: key.to_string(),
            });
        };
        at = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    match at {
        Value::Object(map) => {
            map.insert(last.to_string(), value);
            Ok(())
        }
        _ => Err(SetPathError::CannotSet {
            key: last.to_string(),
        }),
    }
}

/// The compiled schema of [`TrainSpec`].
fn spec_schema() -> &'static CompiledSchema {
    static SCHEMA: OnceLock<CompiledSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        CompiledSchema::new(generate::<TrainSpec>())
            .unwrap_or_else(|e| panic!("generated schema must compile: {e}"))
    })
}

/// Relations between a Train spec's fields the schema cannot express, as
/// (parameter, message) pairs: `warmup_steps <= max_steps`, `n_embd` a
/// multiple of `n_head`, some positive difficulty weight. Empty when the
/// spec is consistent.
pub fn spec_rules(spec: &TrainSpec) -> Vec<(&'static str, String)> {
    let mut out = training_rules(&spec.training);
    if let Some(model) = spec.builtin_model() {
        let dims = model.dims();
        if dims.n_embd % dims.n_head != 0 {
            out.push((
                "model.n_embd",
                format!(
                    "n_embd ({}) is not a multiple of n_head ({})",
                    dims.n_embd, dims.n_head
                ),
            ));
        }
    }
    if let Some(mix) = spec.dataset.as_ref().map(|d| &d.difficulty) {
        if mix.easy + mix.medium + mix.hard <= 0.0 {
            out.push((
                "dataset.difficulty",
                "difficulty weights are all zero".to_string(),
            ));
        }
    }
    out
}

/// Relations between training fields the schema cannot express.
pub fn training_rules(t: &TrainingConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if t.warmup_steps > t.max_steps {
        out.push((
            "warmup_steps",
            format!(
                "warmup_steps ({}) is larger than max_steps ({})",
                t.warmup_steps, t.max_steps
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TrainSpec {
        serde_json::from_value(serde_json::json!({
            "model": {"preset": "gpt-nano"},
            "dataset": {"name": "dev-reasoning-v2"},
            "training": {"learning_rate": 1e-3, "per_device_batch_size": 8, "max_steps": 100},
        }))
        .expect("spec")
    }

    #[test]
    fn set_path_says_why_a_value_does_not_fit() {
        let mut root = serde_json::json!({"training": 3});
        let err = |path: &[&str], root: &mut Value| {
            set_path(root, path, Value::Null)
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(err(&[], &mut root), "empty parameter name");
        assert_eq!(
            err(&["training", "x", "y"], &mut root),
            "`x` is not a section"
        );
        assert_eq!(err(&["training", "x"], &mut root), "cannot set `x` here");
    }

    fn set(name: &str, v: ParamValue) -> Result<TrainSpec, ParamMismatch> {
        set_params(&base(), &BTreeMap::from([(name.to_string(), v)]))
    }

    #[test]
    fn params_come_from_the_schemas() {
        let p = sweep_params();
        assert_eq!(p.get("learning_rate"), Some(&ParamType::Number));
        assert_eq!(p.get("per_device_batch_size"), Some(&ParamType::Integer));
        assert_eq!(p.get("eval_interval"), Some(&ParamType::Integer));
        assert_eq!(p.get("model.n_layer"), Some(&ParamType::Integer));
        assert_eq!(p.get("model.dropout"), Some(&ParamType::Number));
        assert_eq!(p.get("dataset.train_examples"), Some(&ParamType::Integer));
        assert_eq!(p.get("dataset.difficulty.easy"), Some(&ParamType::Number));
        let Some(ParamType::Named(presets)) = p.get("model.preset") else {
            panic!(
                "model.preset is a named choice: {:?}",
                p.get("model.preset")
            );
        };
        assert!(presets.iter().any(|n| n == "gpt-nano"), "{presets:?}");
        assert!(matches!(p.get("dataset.trace"), Some(ParamType::Named(t)) if t.len() == 2));
        assert!(
            matches!(p.get("dataset.name"), Some(ParamType::Named(_))),
            "nullable enum"
        );
        assert!(matches!(p.get("loss_on"), Some(ParamType::Named(_))));
        assert_eq!(p.get("model.init"), None, "a section, not a value");
        assert!(training_params().any(|n| n == "max_steps"));
        assert!(training_params().all(|n| !n.contains('.')));
        assert_eq!(field_of("model.n_layer"), "spec.model.n_layer");
        assert_eq!(field_of("learning_rate"), "spec.training.learning_rate");
    }

    #[test]
    fn setting_checks_types_and_ranges_and_names_the_parameter() {
        let t = set("warmup_steps", ParamValue::Int(10)).expect("fits");
        assert_eq!(t.training.warmup_steps, 10);
        let m = set("model.n_layer", ParamValue::Int(4)).expect("fits");
        assert_eq!(m.builtin_model().and_then(|m| m.n_layer), Some(4));
        let d = set("dataset.difficulty.easy", ParamValue::Float(0.9)).expect("fits");
        assert_eq!(d.dataset.as_ref().map(|d| d.difficulty.easy), Some(0.9));
        let m = set("model.preset", ParamValue::Text("gpt-micro".into())).expect("fits");
        assert_eq!(
            m.builtin_model().map(|m| m.preset),
            Some(crate::presets::ModelPreset::GptMicro)
        );
        for (name, v) in [
            ("max_steps", ParamValue::Int(0)),
            ("per_device_batch_size", ParamValue::Float(1.5)),
            ("learning_rate", ParamValue::Float(f64::NAN)),
            ("model.n_layer", ParamValue::Int(0)),
            ("dataset.train_examples", ParamValue::Int(0)),
            ("model.preset", ParamValue::Text("gpt-huge".into())),
        ] {
            assert_eq!(set(name, v).map_err(|e| e.name), Err(name.to_string()));
        }
    }

    #[test]
    fn relations_are_checked_after_setting() {
        let s = set("model.n_embd", ParamValue::Int(102)).expect("type fits");
        assert_eq!(spec_rules(&s).first().map(|r| r.0), Some("model.n_embd"));
        let s = set("warmup_steps", ParamValue::Int(500)).expect("type fits");
        assert_eq!(spec_rules(&s).first().map(|r| r.0), Some("warmup_steps"));
        assert!(spec_rules(&base()).is_empty());
    }

    #[test]
    fn a_pretrained_models_adapters_can_be_searched() {
        let p = sweep_params();
        assert_eq!(p.get("model.lora.rank"), Some(&ParamType::Integer));
        assert_eq!(p.get("model.lora.alpha"), Some(&ParamType::Number));
        assert_eq!(p.get("model.lora.dropout"), Some(&ParamType::Number));
        let hf: TrainSpec = serde_json::from_value(serde_json::json!({
            "model": {"hf": "models/qwen", "lora": {"rank": 8}},
            "dataset": {"path": "data.jsonl"},
            "training": {"learning_rate": 1e-3, "per_device_batch_size": 8, "max_steps": 100},
        }))
        .expect("spec");
        let set =
            |name: &str, v: ParamValue| set_params(&hf, &BTreeMap::from([(name.to_string(), v)]));
        let m = set("model.lora.rank", ParamValue::Int(16)).expect("fits");
        let lora = m.pretrained().ok().and_then(|(m, _)| m.lora.clone());
        assert_eq!(lora.map(|l| (l.rank, l.alpha)), Some((16, 16.0)));
        let err = set("model.lora.rank", ParamValue::Int(0)).expect_err("below the range");
        assert_eq!(err.name, "model.lora.rank");
        let err = set("model.n_layer", ParamValue::Int(2)).expect_err("not a pretrained model's");
        assert!(err.message.contains("n_layer"), "{}", err.message);
        let err = set_params(
            &base(),
            &BTreeMap::from([("model.lora.rank".to_string(), ParamValue::Int(4))]),
        )
        .expect_err("the built-in GPT has no adapters");
        assert!(err.message.contains("lora"), "{}", err.message);
    }
}
