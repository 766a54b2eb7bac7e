//! The index's side of an ingest: a run's rows inserted (eval items as one
//! Arrow batch through the appender, the small tables row by row) or
//! deleted, on the connection's open transaction.

use std::collections::BTreeMap;

use duckdb::{params, Connection};

use super::folder::RunRecord;
use crate::runfolder::Artifact;
use crate::store::schema;

/// Delete every row of run `run_id`.
pub fn delete_run(conn: &Connection, run_id: &str) -> duckdb::Result<()> {
    for table in schema::RUN_TABLES {
        conn.execute(
            &format!("DELETE FROM {table} WHERE run_id = ?"),
            params![run_id],
        )?;
    }
    Ok(())
}

/// Insert every row of `run`.
pub fn insert_run(conn: &Connection, run: &RunRecord) -> duckdb::Result<()> {
    insert_run_row(conn, run)?;
    insert_labels_and_categories(conn, run)?;
    if !run.items.is_empty() {
        let mut items = conn.appender("eval_items")?;
        items.append_record_batch(run.items.record_batch().clone())?;
        items.flush()?;
    }
    insert_metrics_and_artifacts(conn, run)?;
    insert_trial(conn, run)
}

fn insert_run_row(conn: &Connection, run: &RunRecord) -> duckdb::Result<()> {
    let m = &run.manifest;
    let s = run.summary.as_ref();
    let card = s.map(|s| &s.scorecard);
    let ci = card.and_then(|c| c.ci95.as_ref());
    let labels = serde_json::to_string(&m.labels).unwrap_or_default();
    let config = serde_json::to_string(&m.config).unwrap_or_default();
    let command = m.command.join(" ");
    let scorecard = card.map(|c| serde_json::to_string(c).unwrap_or_default());
    let ci_method = ci.map(|c| {
        serde_json::to_value(c.method)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    });
    conn.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            m.run_id,
            run.run_dir,
            m.kind,
            m.name,
            labels,
            m.status.as_str(),
            m.created_at.trim_end_matches('Z'),
            m.finished_at.as_deref().map(|t| t.trim_end_matches('Z')),
            m.git.as_ref().map(|g| g.commit.clone()),
            m.git.as_ref().map(|g| g.dirty),
            m.tool_version,
            m.libtorch_version,
            m.device,
            m.model_id,
            m.dataset.as_ref().map(|d| d.path.clone()),
            m.dataset.as_ref().map(|d| d.blake3.clone()),
            m.evalset.as_ref().map(|d| d.path.clone()),
            m.evalset.as_ref().map(|d| d.blake3.clone()),
            m.predictions.as_ref().map(|d| d.path.clone()),
            m.predictions.as_ref().map(|d| d.blake3.clone()),
            config,
            m.config_hash
                .clone()
                .unwrap_or_else(|| crate::fsutil::canonical_hash(&m.config)),
            command,
            m.seed,
            m.tuning_job_id,
            m.trial_id,
            s.and_then(|s| s.primary_score),
            s.map(|s| s.n_items as i64),
            s.map(|s| s.n_scored as i64),
            s.map(|s| s.n_skipped as i64),
            card.and_then(|c| c.mean),
            card.and_then(|c| c.stddev),
            ci.map(|c| c.low),
            ci.map(|c| c.high),
            ci_method,
            s.and_then(|s| s.trace_consistency),
            scorecard,
            run.content_hash,
            s.and_then(|s| s.scoring_rules_version),
        ],
    )?;
    Ok(())
}

fn insert_labels_and_categories(conn: &Connection, run: &RunRecord) -> duckdb::Result<()> {
    let m = &run.manifest;
    let mut labels = conn.appender("run_labels")?;
    for (k, v) in &m.labels {
        labels.append_row(params![m.run_id, k, v])?;
    }
    labels.flush()?;
    if let Some(card) = run.summary.as_ref().map(|s| &s.scorecard) {
        let mut app = conn.appender("category_scores")?;
        for (cat, c) in &card.per_category {
            let ci = c.ci95.as_ref();
            app.append_row(params![
                m.run_id,
                cat,
                c.n_items as i64,
                c.n_scored as i64,
                c.n_skipped as i64,
                c.mean,
                ci.map(|c| c.low),
                ci.map(|c| c.high)
            ])?;
        }
        app.flush()?;
    }
    Ok(())
}

fn insert_metrics_and_artifacts(conn: &Connection, run: &RunRecord) -> duckdb::Result<()> {
    let m = &run.manifest;
    let mut metrics = conn.appender("metrics")?;
    for r in &run.metrics {
        metrics.append_row(params![
            m.run_id,
            r.step as i64,
            r.loss,
            r.lr,
            r.tokens_per_s,
            r.val_loss,
            r.primary_score
        ])?;
    }
    metrics.flush()?;
    let mut artifacts = conn.appender("artifacts")?;
    let mut all: BTreeMap<&str, &Artifact> =
        run.files.iter().map(|a| (a.path.as_str(), a)).collect();
    for a in &m.artifacts {
        all.entry(a.path.as_str()).or_insert(a);
    }
    for a in all.values() {
        artifacts.append_row(params![m.run_id, a.path, a.blake3, a.bytes])?;
    }
    artifacts.flush()
}

/// A sweep trial's row; a promoted evidence copy of a trial names the
/// trial but is not one.
fn insert_trial(conn: &Connection, run: &RunRecord) -> duckdb::Result<()> {
    let m = &run.manifest;
    let is_trial = m.promoted_from_trial_id.is_none();
    if let (Some(job), Some(trial), true) = (&m.tuning_job_id, &m.trial_id, is_trial) {
        conn.execute(
            "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)",
            params![
                job,
                trial,
                m.run_id,
                m.status.as_str(),
                run.summary.as_ref().and_then(|s| s.primary_score),
                serde_json::to_string(&m.config).unwrap_or_default()
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ingest::folder::load_run_folder;

    #[test]
    fn a_run_is_inserted_and_deleted_with_all_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = crate::synthetic::write_run(dir.path(), "r1", 30, 0.5).expect("run");
        let run = load_run_folder(&path, "r1").expect("valid");
        let conn = Connection::open_in_memory().expect("open");
        schema::migrate(&conn).expect("migrate");
        insert_run(&conn, &run).expect("insert");
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
        assert_eq!(count("SELECT count(*) FROM eval_items"), 30);
        assert_eq!(
            count("SELECT count(*) FROM eval_items WHERE run_id = 'r1' AND item_id = 'item-000007' AND extraction_rule = 'marker' AND answer_correctness IS NOT NULL"),
            1
        );
        assert_eq!(count("SELECT count(*) FROM runs"), 1);
        assert_eq!(count("SELECT count(*) FROM category_scores"), 3);
        delete_run(&conn, "r1").expect("delete");
        for table in schema::RUN_TABLES {
            assert_eq!(
                count(&format!("SELECT count(*) FROM {table}")),
                0,
                "{table}"
            );
        }
    }
}
