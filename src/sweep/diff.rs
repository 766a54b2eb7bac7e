//! The keys in which two JSON documents differ, as readable paths with
//! sweep trials named by their id and repeated per-trial differences
//! folded into one `trials[*]` line.

use std::collections::BTreeSet;

use serde_json::Value;

/// Differing paths between `old` and `new` (sorted; at most `limit`).
pub fn differing_keys(old: &Value, new: &Value, limit: usize) -> Vec<String> {
    let mut out = BTreeSet::new();
    walk(old, new, String::new(), &mut out);
    out.into_iter().take(limit).collect()
}

fn walk(old: &Value, new: &Value, path: String, out: &mut BTreeSet<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(x, y, child, out),
                    _ => {
                        out.insert(child);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if path == "trials" => {
            if a.len() != b.len() {
                out.insert(format!("trials (count {} vs {})", a.len(), b.len()));
            }
            for (x, y) in a.iter().zip(b) {
                walk(x, y, "trials[*]".into(), out);
            }
        }
        (x, y) if x != y => {
            out.insert(path);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_named_and_trials_folded() {
        let old = json!({"metric": "val_loss", "rungs": [5, 10], "trials": [
            {"trial_id": "t0", "params": {"lr": 1}, "spec": {"training": {"max_steps": 10}}},
            {"trial_id": "t1", "params": {"lr": 2}, "spec": {"training": {"max_steps": 10}}}]});
        let new = json!({"metric": "primary_score", "rungs": [5, 10], "trials": [
            {"trial_id": "t0", "params": {"lr": 1}, "spec": {"training": {"max_steps": 20}}},
            {"trial_id": "t1", "params": {"lr": 3}, "spec": {"training": {"max_steps": 20}}}]});
        assert_eq!(
            differing_keys(&old, &new, 10),
            vec![
                "metric".to_string(),
                "trials[*].params.lr".into(),
                "trials[*].spec.training.max_steps".into()
            ]
        );
        assert!(differing_keys(&old, &old, 10).is_empty());
    }
}
