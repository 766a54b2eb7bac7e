//! Config identity: the hash that decides whether a run may resume, and
//! that the index groups runs by (`config_hash`).
//!
//! It covers the resolved spec that affects results — model, data,
//! training, evaluation settings, and the *contents* (blake3) of the eval
//! set and predictions — and nothing else: not the run's name, labels or
//! description, not the output folder, not the device or the executor (a run may resume on
//! another machine), not `until_step` (a trial stopped at a rung continues
//! under the same identity). `tunix-rt eval` and `tunix-rt run` of the same
//! evaluation get the same identity. The user's own training data
//! (`dataset.path`, `dataset.val_path`) counts by content too: renaming a
//! file keeps the identity, editing one changes it.

use serde_json::{json, Value};

use crate::dataset::user::DataFiles;
use crate::evaluate::EvalSettings;
use crate::fsutil::canonical_hash;
use crate::manifest::train::TrainSpec;
use crate::runfolder::FileRef;

/// The identity of a Train job: its spec without output and device, the
/// eval set by content. User data files are named by path; a job that has
/// read them uses [`train_with_data`].
pub fn train(spec: &TrainSpec, evalset: Option<&FileRef>) -> String {
    train_with_data(spec, evalset, &DataFiles::default())
}

/// [`train`], with the user's data files (`dataset.path`,
/// `dataset.val_path`) by content: each one given in `data` replaces its
/// path in the hashed spec by its blake3.
pub fn train_with_data(spec: &TrainSpec, evalset: Option<&FileRef>, data: &DataFiles) -> String {
    train_from(spec, evalset, data, None)
}

/// [`train_with_data`] for a run that starts from weights other than its
/// own initialisation, counted by content (`start_weights`), not by name:
/// another run's checkpoint (`{"blake3"}`, replacing `model.init`) or a
/// pretrained model folder's files and prompt format (replacing
/// `model.hf`).
pub fn train_from(
    spec: &TrainSpec,
    evalset: Option<&FileRef>,
    data: &DataFiles,
    start_weights: Option<Value>,
) -> String {
    let mut value = serde_json::to_value(spec).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        if let (Some(Value::Object(model)), Some(weights)) = (map.get_mut("model"), start_weights) {
            let key = if model.contains_key("hf") {
                "hf"
            } else {
                "init"
            };
            model.insert(key.into(), weights);
        }
        map.remove("output");
        map.remove("device");
        map.remove("executor");
        map.remove("slurm");
        if let Some(Value::Object(eval)) = map.get_mut("eval") {
            eval.insert(
                "evalset".into(),
                json!(evalset.map(|e| e.blake3.as_str()).unwrap_or("")),
            );
        }
        if let Some(Value::Object(dataset)) = map.get_mut("dataset") {
            for (key, file) in [("path", &data.path), ("val_path", &data.val_path)] {
                if let (Some(file), Some(slot)) = (file, dataset.get_mut(key)) {
                    *slot = json!({ "blake3": file.blake3 });
                }
            }
        }
    }
    canonical_hash(&json!({ "kind": "Train", "spec": value }))
}

/// The identity of scoring predictions on an eval set.
pub fn eval(evalset: &FileRef, predictions: &FileRef, settings: &EvalSettings) -> String {
    canonical_hash(&json!({
        "kind": "Eval",
        "evalset": evalset.blake3,
        "predictions": predictions.blake3,
        "answer_extraction": settings.extraction,
        "equivalence": settings.equivalence,
        "seed": settings.seed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TrainSpec {
        serde_json::from_value(json!({
            "model": {"preset": "gpt-nano"},
            "dataset": {"name": "dev-reasoning-v2"},
            "training": {"learning_rate": 0.001, "per_device_batch_size": 2, "max_steps": 10},
            "eval": {"evalset": "../evalsets/a.jsonl"},
            "output": {"name": "x"}
        }))
        .expect("spec")
    }

    fn file(hash: &str) -> FileRef {
        FileRef {
            path: "evalsets/a.jsonl".into(),
            blake3: hash.repeat(64),
        }
    }

    #[test]
    fn train_identity_ignores_output_device_and_eval_set_path() {
        let base = train(&spec(), Some(&file("a")));
        let mut other = spec();
        other.output.name = Some("renamed".into());
        other.device = crate::device::DeviceSpec::Cuda(None);
        if let Some(e) = other.eval.as_mut() {
            e.evalset = "elsewhere/a.jsonl".into();
        }
        assert_eq!(train(&other, Some(&file("a"))), base);
    }

    #[test]
    fn train_identity_covers_what_changes_results() {
        let base = train(&spec(), Some(&file("a")));
        assert_ne!(train(&spec(), Some(&file("b"))), base, "eval set contents");
        let mut lr = spec();
        lr.training.learning_rate = 0.002;
        assert_ne!(train(&lr, Some(&file("a"))), base, "learning rate");
        let mut data = spec();
        if let Some(d) = data.dataset.as_mut() {
            d.seed = 7;
        }
        assert_ne!(train(&data, Some(&file("a"))), base, "data seed");
        let mut steps = spec();
        steps.training.max_steps = 11;
        assert_ne!(train(&steps, Some(&file("a"))), base, "max_steps");
    }

    fn user_data_spec(path: &str, val: &str) -> TrainSpec {
        let mut s = spec();
        s.dataset =
            Some(serde_json::from_value(json!({"path": path, "val_path": val})).expect("dataset"));
        s
    }

    fn data(train: &str, val: &str) -> DataFiles {
        DataFiles {
            path: Some(FileRef {
                path: "x".into(),
                blake3: train.repeat(64),
            }),
            val_path: Some(FileRef {
                path: "y".into(),
                blake3: val.repeat(64),
            }),
        }
    }

    #[test]
    fn user_data_counts_by_content_not_by_name() {
        let eval = Some(file("a"));
        let base = train_with_data(
            &user_data_spec("t.jsonl", "v.jsonl"),
            eval.as_ref(),
            &data("1", "2"),
        );
        let renamed = user_data_spec("data/train.jsonl", "data/val.jsonl");
        assert_eq!(
            train_with_data(&renamed, eval.as_ref(), &data("1", "2")),
            base,
            "renaming the files keeps the identity"
        );
        let s = user_data_spec("t.jsonl", "v.jsonl");
        assert_ne!(
            train_with_data(&s, eval.as_ref(), &data("3", "2")),
            base,
            "edited training file"
        );
        assert_ne!(
            train_with_data(&s, eval.as_ref(), &data("1", "3")),
            base,
            "edited validation file"
        );
        assert_ne!(
            train_with_data(&s, eval.as_ref(), &data("2", "1")),
            base,
            "files swapped"
        );
        assert_ne!(
            train(&s, eval.as_ref()),
            base,
            "without contents, paths count"
        );
        assert_eq!(
            train_with_data(&spec(), eval.as_ref(), &DataFiles::default()),
            train(&spec(), eval.as_ref()),
        );
    }

    #[test]
    fn eval_identity_depends_on_contents_and_settings_only() {
        let settings = EvalSettings::default();
        let a = eval(&file("a"), &file("b"), &settings);
        let mut moved = file("a");
        moved.path = "other/place.jsonl".into();
        assert_eq!(eval(&moved, &file("b"), &settings), a);
        assert_ne!(eval(&file("a"), &file("c"), &settings), a);
        let seeded = EvalSettings {
            seed: 99,
            ..EvalSettings::default()
        };
        assert_ne!(eval(&file("a"), &file("b"), &seeded), a);
    }
}
