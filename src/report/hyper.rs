//! Recorded configs flattened to dotted keys: a run's hyperparameters (the
//! settings that shape the model and its training: `spec.model`,
//! `spec.dataset`, `spec.training`, the decoding) for the static site's run
//! pages, and every setting of a config for the comparison of runs.

use serde_json::Value;

/// The sections of a manifest's `spec` that hold hyperparameters, with
/// the prefix their keys are shown under.
const SECTIONS: [(&str, &str); 5] = [
    ("/spec/model", "model"),
    ("/spec/dataset", "dataset"),
    ("/spec/training", "training"),
    ("/spec/eval/decoding", "decoding"),
    ("/spec/decoding", "decoding"),
];

/// The top-level keys of a recorded manifest that describe it rather
/// than set anything.
const ENVELOPE: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// The hyperparameters of recorded config `config`, as `(dotted key,
/// value text)` in recorded order: the settings under the sections of
/// [`SECTIONS`] when the config has any of them, else every setting of the
/// config outside its envelope (`apiVersion`, `kind`, `metadata`).
pub fn hyperparameters(config: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (pointer, prefix) in SECTIONS {
        if let Some(section) = config.pointer(pointer) {
            flatten(prefix, section, &mut out);
        }
    }
    if out.is_empty() {
        if let Value::Object(map) = config {
            for (key, value) in map.iter().filter(|(k, _)| !ENVELOPE.contains(&k.as_str())) {
                flatten(key, value, &mut out);
            }
        } else if !config.is_null() {
            flatten("config", config, &mut out);
        }
    }
    out
}

/// Every setting of recorded config `config` as `(dotted key, value)`,
/// in recorded order: an object's fields as `key.field`, anything else
/// (arrays and empty objects included) as one row; a config that is not
/// an object is one row `config`, a null config none. [`text`] shows a
/// value.
pub fn flatten_config(config: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    match config {
        Value::Object(map) => {
            for (key, value) in map {
                leaves(key, value, &mut out);
            }
        }
        Value::Null => {}
        other => leaves("config", other, &mut out),
    }
    out
}

/// `value` under `key` as leaves: an object's fields as `key.field`,
/// anything else as one leaf.
fn leaves<'a>(key: &str, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                leaves(&format!("{key}.{k}"), v, out);
            }
        }
        other => out.push((key.to_string(), other)),
    }
}

/// `value` under `key` as `(dotted key, value text)` rows.
fn flatten(key: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let mut found = Vec::new();
    leaves(key, value, &mut found);
    out.extend(found.into_iter().map(|(k, v)| (k, text(v))));
}

/// A value as shown: strings without quotes, everything else as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_train_config_gives_its_model_data_training_and_decoding_settings() {
        let config = json!({
            "apiVersion": "tunix-rt/v1",
            "kind": "Train",
            "metadata": { "name": "m" },
            "spec": {
                "model": { "preset": "gpt-nano", "init": { "run": "quickstart" } },
                "dataset": { "name": "dev-reasoning-v3", "difficulty": { "easy": 0.5 } },
                "training": { "learning_rate": 2.5e-5, "max_steps": 50 },
                "device": "auto",
                "eval": { "evalset": "e.jsonl", "decoding": { "stop": ["\n"], "calculator": true } }
            }
        });
        let rows = hyperparameters(&config);
        let keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "model.preset",
                "model.init.run",
                "dataset.name",
                "dataset.difficulty.easy",
                "training.learning_rate",
                "training.max_steps",
                "decoding.stop",
                "decoding.calculator"
            ]
        );
        assert_eq!(rows[0].1, "gpt-nano");
        assert_eq!(rows[4].1, "0.000025");
        assert_eq!(rows[6].1, "[\"\\n\"]");
        assert_eq!(rows[7].1, "true");
    }

    #[test]
    fn other_configs_give_every_setting_outside_the_envelope() {
        let rows = hyperparameters(&json!({ "kind": "Eval", "skill": 0.4, "x": { "y": null } }));
        assert_eq!(
            rows,
            [
                ("skill".to_string(), "0.4".to_string()),
                ("x.y".to_string(), "null".to_string())
            ]
        );
        assert!(hyperparameters(&Value::Null).is_empty());
        assert_eq!(hyperparameters(&json!(3)), [("config".into(), "3".into())]);
    }

    #[test]
    fn a_whole_config_flattens_to_dotted_keys_in_recorded_order() {
        let config = json!({
            "kind": "Train",
            "metadata": { "name": "m", "labels": {} },
            "spec": { "training": { "lr": 0.5, "stop": ["a", "b"] }, "seed": 3 }
        });
        let rows: Vec<(String, String)> = flatten_config(&config)
            .into_iter()
            .map(|(k, v)| (k, text(v)))
            .collect();
        let pairs: Vec<(&str, &str)> = rows.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("kind", "Train"),
                ("metadata.name", "m"),
                ("metadata.labels", "{}"),
                ("spec.training.lr", "0.5"),
                ("spec.training.stop", "[\"a\",\"b\"]"),
                ("spec.seed", "3")
            ]
        );
        assert!(flatten_config(&Value::Null).is_empty());
        assert_eq!(
            flatten_config(&json!([1])),
            [("config".into(), &json!([1]))]
        );
    }
}
