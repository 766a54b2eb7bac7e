//! The settings in which runs' recorded configs differ: each config
//! flattened to dotted keys ([`flatten_config`]), the keys whose value is
//! not the same in every run (a key a run lacks counts as different), and
//! how many keys are equal. `metadata.name` is left out: it is the run's
//! name, which every report shows anyway. Pure.

use serde::Serialize;
use serde_json::Value;

use std::collections::{HashMap, HashSet};

use super::super::hyper::{flatten_config, text};

/// Keys not compared.
pub const IGNORED: [&str; 1] = ["metadata.name"];

/// How the runs' configs differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigDiff {
    /// Keys in any run's config (the ignored ones excepted).
    pub n_keys: usize,
    /// Keys with the same value in every run.
    pub n_equal: usize,
    /// The other keys, in the order they are first met (run by run, each
    /// config in its recorded order).
    pub differing: Vec<KeyDiff>,
}

/// A key whose value differs between runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyDiff {
    /// The dotted key (`spec.training.learning_rate`).
    pub key: String,
    /// Its value in each run, as text (strings unquoted, anything else as
    /// JSON); null where the run's config lacks it.
    pub values: Vec<Option<String>>,
}

/// The differences between `configs` (one per run). Values are compared
/// as JSON (`1` and `"1"` differ) and shown as [`text`]; where two
/// different values would read the same, that key's values are shown as
/// JSON.
pub fn diff_configs(configs: &[&Value]) -> ConfigDiff {
    let flat: Vec<Vec<(String, &Value)>> = configs.iter().map(|c| flatten_config(c)).collect();
    let mut keys: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for (key, _) in flat.iter().flatten() {
        if !IGNORED.contains(&key.as_str()) && seen.insert(key.as_str()) {
            keys.push(key);
        }
    }
    let lookup: Vec<HashMap<&str, &Value>> = flat
        .iter()
        .map(|rows| rows.iter().map(|(k, v)| (k.as_str(), *v)).collect())
        .collect();
    let differing: Vec<KeyDiff> = keys
        .iter()
        .filter_map(|key| {
            let values: Vec<Option<&Value>> = lookup.iter().map(|m| m.get(key).copied()).collect();
            let equal = values.windows(2).all(|w| w[0] == w[1]);
            (!equal).then(|| KeyDiff {
                key: key.to_string(),
                values: shown(&values),
            })
        })
        .collect();
    ConfigDiff {
        n_keys: keys.len(),
        n_equal: keys.len() - differing.len(),
        differing,
    }
}

/// `values` as text, or as JSON when two different ones would read the
/// same.
fn shown(values: &[Option<&Value>]) -> Vec<Option<String>> {
    let texts: Vec<Option<String>> = values.iter().map(|v| v.map(text)).collect();
    let ambiguous = values.iter().zip(&texts).any(|(v, t)| {
        values
            .iter()
            .zip(&texts)
            .any(|(w, u)| v != w && t.is_some() && t == u)
    });
    if ambiguous {
        values.iter().map(|v| v.map(Value::to_string)).collect()
    } else {
        texts
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_keys_that_differ_are_listed_with_every_runs_value() {
        let a = json!({
            "kind": "Train",
            "metadata": { "name": "a", "labels": { "team": "x" } },
            "spec": { "training": { "learning_rate": 0.001, "max_steps": 100 }, "seed": 1 }
        });
        let b = json!({
            "kind": "Train",
            "metadata": { "name": "b", "labels": { "team": "x" } },
            "spec": { "training": { "learning_rate": 0.003, "max_steps": 100 }, "seed": 1 }
        });
        let c = json!({
            "kind": "Train",
            "metadata": { "name": "c", "labels": { "team": "x" } },
            "spec": { "training": { "learning_rate": 0.001, "max_steps": 100, "warmup": 5 }, "seed": 1 }
        });
        let diff = diff_configs(&[&a, &b, &c]);
        assert_eq!(diff.n_keys, 6, "{diff:?}");
        assert_eq!(diff.n_equal, 4);
        let keys: Vec<&str> = diff.differing.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys,
            ["spec.training.learning_rate", "spec.training.warmup"]
        );
        assert_eq!(
            diff.differing[0].values,
            [
                Some("0.001".into()),
                Some("0.003".into()),
                Some("0.001".into())
            ]
        );
        assert_eq!(diff.differing[1].values, [None, None, Some("5".into())]);
    }

    #[test]
    fn equal_configs_differ_nowhere_and_types_count() {
        let a = json!({ "skill": 0.5, "stop": ["\n"] });
        let diff = diff_configs(&[&a, &a]);
        assert_eq!((diff.n_keys, diff.n_equal), (2, 2));
        assert!(diff.differing.is_empty());
        let b = json!({ "skill": "0.5", "stop": ["\n"] });
        let diff = diff_configs(&[&a, &b]);
        assert_eq!(diff.n_equal, 1, "a string is not a number");
        assert_eq!(
            diff.differing[0].values,
            [Some("0.5".into()), Some("\"0.5\"".into())],
            "shown as JSON where the texts would be the same"
        );
        let c = json!({ "skill": 0.50001, "stop": [] });
        let diff = diff_configs(&[&a, &c]);
        assert_eq!(diff.differing.len(), 2);
        assert_eq!(diff.differing[1].values[1].as_deref(), Some("[]"));
        let none = diff_configs(&[&Value::Null, &json!({ "x": 1 })]);
        assert_eq!((none.n_keys, none.n_equal), (1, 0));
        assert_eq!(none.differing[0].values, [None, Some("1".into())]);
    }
}
