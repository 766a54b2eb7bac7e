//! What a comparison of runs reads beyond their scores: each run's
//! recorded config and every metric of its `metrics.jsonl` (the
//! `metric_values` rows), by run id.

use std::collections::BTreeMap;

use duckdb::params_from_iter;

use super::{db_error, Store};
use crate::error::{Error, Result};

/// A run's metrics: per metric name, `(step, value)` points by step.
pub type Metrics = BTreeMap<String, Vec<(u64, f64)>>;

/// The recorded config of each run in `ids` (unknown ids are left out).
pub fn configs(store: &Store, ids: &[&str]) -> Result<BTreeMap<String, serde_json::Value>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "SELECT run_id, config FROM runs WHERE run_id IN ({})",
        marks(ids.len())
    );
    let conn = store.connection();
    let read = || -> duckdb::Result<Vec<(String, String)>> {
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(ids.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.collect()
    };
    read()
        .map_err(|e| db_error(store.path(), "query", e))?
        .into_iter()
        .map(|(id, text)| {
            let config = serde_json::from_str(&text).map_err(|e| {
                Error::runtime(format!(
                    "the index holds a config of run `{id}` that is not JSON ({e}); rebuild it with `tunix-rt db rebuild`"
                ))
            })?;
            Ok((id, config))
        })
        .collect()
}

/// Every metric of each run in `ids`: per run, per metric name, its
/// `(step, value)` points in step order (one per step: the index keeps the
/// value a step's last line recorded).
pub fn metric_series(store: &Store, ids: &[&str]) -> Result<BTreeMap<String, Metrics>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "SELECT run_id, key, step, value FROM metric_values WHERE run_id IN ({}) ORDER BY run_id, key, step",
        marks(ids.len())
    );
    let conn = store.connection();
    type ByStep = BTreeMap<String, BTreeMap<u64, f64>>;
    let read = || -> duckdb::Result<BTreeMap<String, ByStep>> {
        let mut stmt = conn.prepare(&sql)?;
        let mut out: BTreeMap<String, ByStep> = BTreeMap::new();
        let rows = stmt.query_map(params_from_iter(ids.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?.max(0) as u64,
                r.get::<_, f64>(3)?,
            ))
        })?;
        for row in rows {
            let (run, key, step, value) = row?;
            if value.is_finite() {
                out.entry(run)
                    .or_default()
                    .entry(key)
                    .or_default()
                    .insert(step, value);
            }
        }
        Ok(out)
    };
    let by_run = read().map_err(|e| db_error(store.path(), "query", e))?;
    Ok(by_run
        .into_iter()
        .map(|(run, metrics)| {
            let metrics = metrics
                .into_iter()
                .map(|(key, points)| (key, points.into_iter().collect()))
                .collect();
            (run, metrics)
        })
        .collect())
}

/// `?, ?, ?` for `n` parameters.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ingest::{ingest, Scope};
    use crate::store::Wait;

    #[test]
    fn configs_and_every_metric_come_back_by_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runs = dir.path().join("runs");
        let run = tunix_testkit::synthetic::write_run(&runs, "r1", 6, 0.5).expect("run");
        tunix_testkit::synthetic::write_run(&runs, "r2", 6, 0.5).expect("run");
        std::fs::write(
            run.join(crate::runfolder::METRICS),
            "{\"step\": 2, \"loss\": 1.5, \"grad_norm\": 0.25}\n{\"step\": 1, \"loss\": 2.5}\n",
        )
        .expect("write");
        let db = dir.path().join("tunix.duckdb");
        let store = Store::open_write(&db, Wait::No).expect("open");
        ingest(&store, dir.path(), Scope::Root(&runs)).expect("ingest");
        let found = configs(&store, &["r1", "r2", "nope"]).expect("configs");
        assert_eq!(found.len(), 2);
        assert_eq!(found["r1"], serde_json::json!({ "skill": 0.5 }));
        let metrics = metric_series(&store, &["r1", "r2"]).expect("metrics");
        assert_eq!(metrics["r1"]["loss"], vec![(1, 2.5), (2, 1.5)]);
        assert_eq!(metrics["r1"]["grad_norm"], vec![(2, 0.25)]);
        assert!(!metrics.contains_key("r2"));
        assert!(configs(&store, &[]).expect("none").is_empty());
    }
}
