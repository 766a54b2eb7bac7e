//! The index's side of an ingest: runs' rows inserted or deleted on the
//! connection's open transaction. Rows go through one DuckDB appender per
//! table, open for the whole ingest (opening an appender, or running an
//! INSERT, costs far more than appending a row): eval items as one Arrow
//! batch per run, the other tables row by row.

use std::collections::BTreeMap;

use duckdb::{params, Appender, Connection};

use super::folder::RunRecord;
use crate::runfolder::Artifact;
use crate::scoring::CiMethod;
use crate::store::schema;

/// Inserts runs; [`RunWriter::finish`] flushes what the appenders hold.
pub struct RunWriter<'conn> {
    conn: &'conn Connection,
    runs: Appender<'conn>,
    labels: Appender<'conn>,
    categories: Appender<'conn>,
    tags: Appender<'conn>,
    items: Appender<'conn>,
    metrics: Appender<'conn>,
    metric_values: Appender<'conn>,
    artifacts: Appender<'conn>,
}

impl<'conn> RunWriter<'conn> {
    pub fn new(conn: &'conn Connection) -> duckdb::Result<RunWriter<'conn>> {
        Ok(RunWriter {
            conn,
            runs: conn.appender("runs")?,
            labels: conn.appender("run_labels")?,
            categories: conn.appender("category_scores")?,
            tags: conn.appender("tag_scores")?,
            items: conn.appender("eval_items")?,
            metrics: conn.appender("metrics")?,
            metric_values: conn.appender("metric_values")?,
            artifacts: conn.appender("artifacts")?,
        })
    }

    /// Insert every row of `run`.
    pub fn insert(&mut self, run: &RunRecord) -> duckdb::Result<()> {
        insert_run_row(&mut self.runs, run)?;
        self.insert_labels_and_categories(run)?;
        if !run.items.is_empty() {
            self.items
                .append_record_batch(run.items.record_batch().clone())?;
        }
        self.insert_metrics_and_artifacts(run)?;
        insert_trial(self.conn, run)
    }

    /// Delete every row of run `run_id` that is in the index (rows
    /// appended in this ingest are never of a run deleted in it).
    pub fn delete(&mut self, run_id: &str) -> duckdb::Result<()> {
        delete_run(self.conn, run_id)
    }

    /// Write out every appended row.
    pub fn finish(mut self) -> duckdb::Result<()> {
        for appender in [
            &mut self.runs,
            &mut self.labels,
            &mut self.categories,
            &mut self.tags,
            &mut self.items,
            &mut self.metrics,
            &mut self.metric_values,
            &mut self.artifacts,
        ] {
            appender.flush()?;
        }
        Ok(())
    }
}

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

/// The `runs` row; DuckDB casts the timestamps from their RFC 3339 text
/// (without the `Z`), as `CAST(text AS TIMESTAMP)` does.
fn insert_run_row(runs: &mut Appender<'_>, run: &RunRecord) -> duckdb::Result<()> {
    let m = &run.manifest;
    let s = run.summary.as_ref();
    let card = s.map(|s| &s.scorecard);
    let ci = card.and_then(|c| c.ci95.as_ref());
    let labels = serde_json::to_string(&m.labels).unwrap_or_default();
    let config = serde_json::to_string(&m.config).unwrap_or_default();
    let command = m.command.join(" ");
    let scorecard = card.map(|c| serde_json::to_string(c).unwrap_or_default());
    let ci_method = ci.map(|c| method_name(c.method));
    runs.append_row(params![
        m.run_id,
        run.run_dir,
        m.kind.as_str(),
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
        m.calculator_assisted(),
    ])?;
    Ok(())
}

/// The CI method as the run folders and the index spell it.
fn method_name(method: CiMethod) -> &'static str {
    match method {
        CiMethod::Wilson => "wilson",
        CiMethod::Bootstrap => "bootstrap",
    }
}

impl RunWriter<'_> {
    /// The run's labels, and its scorecard's per-category and per-tag rows.
    fn insert_labels_and_categories(&mut self, run: &RunRecord) -> duckdb::Result<()> {
        let m = &run.manifest;
        for (k, v) in &m.labels {
            self.labels.append_row(params![m.run_id, k, v])?;
        }
        if let Some(card) = run.summary.as_ref().map(|s| &s.scorecard) {
            for (cat, c) in &card.per_category {
                let ci = c.ci95.as_ref();
                self.categories.append_row(params![
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
            for (tag, t) in &card.per_tag {
                let ci = t.ci95.as_ref();
                self.tags.append_row(params![
                    m.run_id,
                    tag,
                    t.n_items as i64,
                    t.n_scored as i64,
                    t.n_skipped as i64,
                    t.n_correct as i64,
                    t.mean,
                    ci.map(|c| c.low),
                    ci.map(|c| c.high),
                    ci.map(|c| method_name(c.method))
                ])?;
            }
        }
        Ok(())
    }

    fn insert_metrics_and_artifacts(&mut self, run: &RunRecord) -> duckdb::Result<()> {
        let m = &run.manifest;
        for r in &run.metrics {
            self.metrics.append_row(params![
                m.run_id,
                r.step as i64,
                r.loss,
                r.lr,
                r.tokens_per_s,
                r.val_loss,
                r.primary_score
            ])?;
            for (key, value) in r.values() {
                self.metric_values
                    .append_row(params![m.run_id, r.step as i64, key, value])?;
            }
        }
        let mut all: BTreeMap<&str, &Artifact> =
            run.files.iter().map(|a| (a.path.as_str(), a)).collect();
        for a in &m.artifacts {
            all.entry(a.path.as_str()).or_insert(a);
        }
        for a in all.values() {
            self.artifacts
                .append_row(params![m.run_id, a.path, a.blake3, a.bytes])?;
        }
        Ok(())
    }
}

/// A sweep trial's row; a promoted evidence copy of a trial names the
/// trial but is not one.
fn insert_trial(conn: &Connection, run: &RunRecord) -> duckdb::Result<()> {
    let m = &run.manifest;
    let is_trial = m.promoted_from_trial_id.is_none();
    if let (Some(job), Some(trial), true) = (&m.tuning_job_id, &m.trial_id, is_trial) {
        conn.prepare_cached("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)")?
            .execute(params![
                job,
                trial,
                m.run_id,
                m.status.as_str(),
                run.summary.as_ref().and_then(|s| s.primary_score),
                serde_json::to_string(&m.config).unwrap_or_default()
            ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ingest::folder::load_run_folder;

    #[test]
    fn the_appender_reads_timestamps_as_sql_casts_them() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (i INTEGER, ts TIMESTAMP)")
            .expect("table");
        let texts = [
            "2026-11-20T10:00:00",
            "2026-11-20 10:00:00.123456",
            "2026-11-20T11:00:00+01:00",
            "2026-02-03",
        ];
        let mut app = conn.appender("t").expect("appender");
        for (i, text) in texts.iter().enumerate() {
            app.append_row(params![i as i32, text]).expect("append");
        }
        app.flush().expect("flush");
        for (i, text) in texts.iter().enumerate() {
            let same: bool = conn
                .query_row(
                    "SELECT ts = CAST(? AS TIMESTAMP) FROM t WHERE i = ?",
                    params![text, i as i32],
                    |r| r.get(0),
                )
                .expect(text);
            assert!(same, "{text}");
        }
    }

    #[test]
    fn method_names_are_the_serialized_names() {
        for method in [CiMethod::Wilson, CiMethod::Bootstrap] {
            assert_eq!(
                serde_json::to_value(method).expect("json"),
                serde_json::Value::String(method_name(method).to_string())
            );
        }
    }

    #[test]
    fn a_run_is_inserted_and_deleted_with_all_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = tunix_testkit::synthetic::write_run(dir.path(), "r1", 30, 0.5).expect("run");
        let run = load_run_folder(&path, "r1").expect("valid");
        let conn = Connection::open_in_memory().expect("open");
        schema::migrate(&conn).expect("migrate");
        let mut writer = RunWriter::new(&conn).expect("writer");
        writer.insert(&run).expect("insert");
        writer.finish().expect("flush");
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
        assert_eq!(count("SELECT count(*) FROM eval_items"), 30);
        assert_eq!(
            count("SELECT count(*) FROM eval_items WHERE run_id = 'r1' AND item_id = 'item-000007' AND extraction_rule = 'marker' AND answer_correctness IS NOT NULL"),
            1
        );
        assert_eq!(count("SELECT count(*) FROM runs"), 1);
        assert_eq!(
            count("SELECT count(*) FROM runs WHERE created_at = TIMESTAMP '2026-11-20 10:00:00' AND finished_at = TIMESTAMP '2026-11-20 10:01:00'"),
            1
        );
        assert_eq!(count("SELECT count(*) FROM category_scores"), 3);
        assert_eq!(count("SELECT count(*) FROM tag_scores"), 0, "untagged");
        assert_eq!(
            count("SELECT count(*) FROM runs WHERE calculator = false"),
            1
        );
        RunWriter::new(&conn)
            .and_then(|mut w| w.delete("r1"))
            .expect("delete");
        for table in schema::RUN_TABLES {
            assert_eq!(
                count(&format!("SELECT count(*) FROM {table}")),
                0,
                "{table}"
            );
        }
    }

    #[test]
    fn every_metric_of_every_line_is_a_metric_values_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = tunix_testkit::synthetic::write_run(dir.path(), "r1", 3, 0.5).expect("run");
        std::fs::write(
            path.join(crate::runfolder::METRICS),
            "{\"step\":2,\"loss\":2.5,\"grad_norm\":0.75,\"val/f1\":0.5}\n{\"step\":4,\"val_loss\":2.25,\"eval/bleu\":12.5}\n",
        )
        .expect("metrics");
        let run = load_run_folder(&path, "r1").expect("valid");
        let conn = Connection::open_in_memory().expect("open");
        schema::migrate(&conn).expect("migrate");
        let mut writer = RunWriter::new(&conn).expect("writer");
        writer.insert(&run).expect("insert");
        writer.finish().expect("flush");
        let rows: Vec<(i64, String, f64)> = conn
            .prepare(
                "SELECT step, key, value FROM metric_values WHERE run_id = 'r1' ORDER BY step, key",
            )
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .expect("rows");
        let expected: Vec<(i64, String, f64)> = [
            (2, "grad_norm", 0.75),
            (2, "loss", 2.5),
            (2, "val/f1", 0.5),
            (4, "eval/bleu", 12.5),
            (4, "val_loss", 2.25),
        ]
        .into_iter()
        .map(|(s, k, v)| (s, k.to_string(), v))
        .collect();
        assert_eq!(rows, expected);
        let wide: i64 = conn
            .query_row(
                "SELECT count(*) FROM metrics WHERE run_id = 'r1'",
                [],
                |r| r.get(0),
            )
            .expect("wide rows");
        assert_eq!(wide, 2, "the wide table keeps one row per line");
    }

    /// A `tag_scores` row as the test reads it: tag, items, fully correct,
    /// mean, lower CI bound.
    type TagLine = (String, i64, i64, Option<f64>, Option<f64>);

    #[test]
    fn tag_scores_and_the_calculator_flag_come_from_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = crate::store::fixtures::tagged_run(dir.path(), "r1", 30, 0.5, true);
        let run = load_run_folder(&path, "r1").expect("valid");
        let card = &run.summary.as_ref().expect("summary").scorecard;
        let conn = Connection::open_in_memory().expect("open");
        schema::migrate(&conn).expect("migrate");
        let mut writer = RunWriter::new(&conn).expect("writer");
        writer.insert(&run).expect("insert");
        writer.finish().expect("flush");
        let calculator: bool = conn
            .query_row("SELECT calculator FROM runs", [], |r| r.get(0))
            .expect("flag");
        assert!(calculator);
        let rows: Vec<TagLine> = conn
            .prepare("SELECT tag, n_items, n_correct, mean, ci_low FROM tag_scores ORDER BY tag")
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
            })
            .expect("tag rows");
        let expected: Vec<TagLine> = card
            .per_tag
            .iter()
            .map(|(tag, t)| {
                (
                    tag.clone(),
                    t.n_items as i64,
                    t.n_correct as i64,
                    t.mean,
                    t.ci95.map(|c| c.low),
                )
            })
            .collect();
        assert_eq!(rows, expected);
        assert_eq!(
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["all", "even"]
        );
        assert_eq!(rows[0].1, 20, "items 2, 5, 8, ... are untagged");
    }
}
