//! The index's tables and their migrations. Each migration runs once, in
//! order, inside a transaction; `schema_version` records what was applied.
//! No PRIMARY KEY constraints: a run is replaced by delete + insert inside
//! one transaction, and uniqueness of run ids is enforced by ingest.

use std::path::Path;

use duckdb::Connection;

use crate::error::{Error, Result};

/// Migrations, oldest first; the index's version is the number applied.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs and everything recorded about them.
    "
    CREATE TABLE runs (
        run_id VARCHAR NOT NULL,
        run_dir VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        labels VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        created_at TIMESTAMP,
        finished_at TIMESTAMP,
        git_commit VARCHAR,
        git_dirty BOOLEAN,
        tool_version VARCHAR,
        libtorch_version VARCHAR,
        device VARCHAR,
        model_id VARCHAR,
        dataset_name VARCHAR,
        dataset_blake3 VARCHAR,
        evalset_path VARCHAR,
        evalset_blake3 VARCHAR,
        predictions_path VARCHAR,
        predictions_blake3 VARCHAR,
        config VARCHAR NOT NULL,
        config_hash VARCHAR NOT NULL,
        command VARCHAR NOT NULL,
        seed UBIGINT,
        tuning_job_id VARCHAR,
        trial_id VARCHAR,
        primary_score DOUBLE,
        n_items BIGINT,
        n_scored BIGINT,
        n_skipped BIGINT,
        mean DOUBLE,
        stddev DOUBLE,
        ci_low DOUBLE,
        ci_high DOUBLE,
        ci_method VARCHAR,
        trace_consistency DOUBLE,
        scorecard VARCHAR,
        content_hash VARCHAR NOT NULL
    );
    CREATE TABLE run_labels (run_id VARCHAR NOT NULL, key VARCHAR NOT NULL, value VARCHAR NOT NULL);
    CREATE TABLE category_scores (
        run_id VARCHAR NOT NULL, category VARCHAR NOT NULL,
        n_items BIGINT, n_scored BIGINT, n_skipped BIGINT,
        mean DOUBLE, ci_low DOUBLE, ci_high DOUBLE
    );
    CREATE TABLE eval_items (
        run_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, category VARCHAR NOT NULL,
        expected VARCHAR NOT NULL, output VARCHAR, extracted VARCHAR, extraction_rule VARCHAR,
        answer_correctness DOUBLE, trace_consistency DOUBLE
    );
    CREATE TABLE metrics (
        run_id VARCHAR NOT NULL, step BIGINT NOT NULL,
        loss DOUBLE, lr DOUBLE, tokens_per_s DOUBLE, val_loss DOUBLE, primary_score DOUBLE
    );
    CREATE TABLE sweeps (
        sweep_id VARCHAR NOT NULL, name VARCHAR, created_at TIMESTAMP, n_trials BIGINT, best_run_id VARCHAR
    );
    CREATE TABLE trials (
        sweep_id VARCHAR NOT NULL, trial_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
        status VARCHAR, primary_score DOUBLE, config VARCHAR
    );
    CREATE TABLE baselines (
        name VARCHAR NOT NULL, run_id VARCHAR NOT NULL, locked_at TIMESTAMP, note VARCHAR
    );
    CREATE TABLE artifacts (
        run_id VARCHAR NOT NULL, path VARCHAR NOT NULL, blake3 VARCHAR NOT NULL, bytes UBIGINT NOT NULL
    );
    ",
    // 2: the scoring-rules version of a run's eval summary; NULL when the
    // summary does not record one (runs indexed before, or scored before
    // versions were recorded).
    "ALTER TABLE runs ADD COLUMN scoring_rules_version BIGINT;",
    // 3: whether the run decoded with calculator assistance (its config's
    // `decoding.calculator`; NULL for runs indexed before, read as false:
    // the flag did not exist when they ran), and the per-tag figures of
    // its scorecard (none for runs scored before tags were counted).
    "
    ALTER TABLE runs ADD COLUMN calculator BOOLEAN;
    CREATE TABLE tag_scores (
        run_id VARCHAR NOT NULL, tag VARCHAR NOT NULL,
        n_items BIGINT, n_scored BIGINT, n_skipped BIGINT, n_correct BIGINT,
        mean DOUBLE, ci_low DOUBLE, ci_high DOUBLE, ci_method VARCHAR
    );
    ",
    // 4: every metric of every metrics line in long format, one row per
    // (line, metric): the five `metrics` has columns for and any other
    // metric a trainer reports (`grad_norm`, `val/f1`, ...). Runs indexed
    // before get the rows of their `metrics` columns (the only metrics
    // recorded then).
    "
    CREATE TABLE metric_values (
        run_id VARCHAR NOT NULL, step BIGINT NOT NULL, key VARCHAR NOT NULL, value DOUBLE NOT NULL
    );
    INSERT INTO metric_values
        SELECT run_id, step, 'loss', loss FROM metrics WHERE loss IS NOT NULL
        UNION ALL SELECT run_id, step, 'lr', lr FROM metrics WHERE lr IS NOT NULL
        UNION ALL SELECT run_id, step, 'tokens_per_s', tokens_per_s FROM metrics WHERE tokens_per_s IS NOT NULL
        UNION ALL SELECT run_id, step, 'val_loss', val_loss FROM metrics WHERE val_loss IS NOT NULL
        UNION ALL SELECT run_id, step, 'primary_score', primary_score FROM metrics WHERE primary_score IS NOT NULL;
    ",
];

/// Tables that hold per-run rows (deleted when a run is replaced).
pub const RUN_TABLES: &[&str] = &[
    "runs",
    "run_labels",
    "category_scores",
    "tag_scores",
    "eval_items",
    "metrics",
    "metric_values",
    "trials",
    "artifacts",
];

/// Every table, for export.
pub const ALL_TABLES: &[&str] = &[
    "runs",
    "run_labels",
    "category_scores",
    "tag_scores",
    "eval_items",
    "metrics",
    "metric_values",
    "sweeps",
    "trials",
    "baselines",
    "artifacts",
];

/// The version this tool writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Apply every migration the index does not have yet; returns how many
/// were applied.
pub fn migrate(conn: &Connection) -> duckdb::Result<usize> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL, applied_at TIMESTAMP NOT NULL)",
    )?;
    let applied: i64 = conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let mut count = 0;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        let version = i as i64 + 1;
        tracing::debug!("applying migration {version}");
        conn.execute_batch("BEGIN TRANSACTION")?;
        let result = conn.execute_batch(sql).and_then(|()| {
            conn.execute(
                "INSERT INTO schema_version VALUES (?, current_timestamp)",
                duckdb::params![version],
            )
            .map(|_| ())
        });
        match result {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        count += 1;
    }
    Ok(count)
}

/// Refuse to read an index written by a different schema version.
pub fn check_version(conn: &Connection, path: &Path) -> Result<()> {
    let version: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(|e| super::db_error(path, "read the schema version of", e))?;
    let current = current_version();
    if version < current {
        return Err(Error::bad_input(format!(
            "the index {} has schema version {version}; this tool uses {current}: run `tunix-rt db ingest` (migrates) or `tunix-rt db rebuild`",
            path.display()
        )));
    }
    if version > current {
        return Err(Error::bad_input(format!(
            "the index {} was written by a newer tunix-rt (schema version {version} > {current}); upgrade, or rebuild it with this version",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once() {
        let conn = Connection::open_in_memory().expect("open");
        assert_eq!(migrate(&conn).expect("first"), MIGRATIONS.len());
        assert_eq!(migrate(&conn).expect("second is a no-op"), 0);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, current_version());
        for table in ALL_TABLES {
            conn.execute_batch(&format!("SELECT * FROM {table} LIMIT 0"))
                .expect(table);
        }
    }

    #[test]
    fn an_index_at_version_2_gains_the_calculator_flag_and_tag_scores() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE schema_version (version BIGINT NOT NULL, applied_at TIMESTAMP NOT NULL)",
        )
        .expect("version table");
        for (i, sql) in MIGRATIONS[..2].iter().enumerate() {
            conn.execute_batch(sql).expect("old migration");
            conn.execute(
                "INSERT INTO schema_version VALUES (?, current_timestamp)",
                duckdb::params![i as i64 + 1],
            )
            .expect("record");
        }
        conn.execute_batch(
            "INSERT INTO runs (run_id, run_dir, kind, name, labels, status, config, config_hash, command, content_hash) \
             VALUES ('old', 'd', 'Eval', 'old', '{}', 'completed', '{}', 'h', '', 'c')",
        )
        .expect("an old run");
        assert_eq!(migrate(&conn).expect("migrate"), MIGRATIONS.len() - 2);
        let plain: bool = conn
            .query_row(
                "SELECT coalesce(calculator, false) FROM runs WHERE run_id = 'old'",
                [],
                |r| r.get(0),
            )
            .expect("old run");
        assert!(!plain, "runs indexed before the flag read as plain");
        conn.execute_batch("SELECT run_id, tag, n_correct, ci_low FROM tag_scores")
            .expect("tag_scores");
    }

    #[test]
    fn an_index_at_version_3_gains_metric_values_from_its_metrics() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE schema_version (version BIGINT NOT NULL, applied_at TIMESTAMP NOT NULL)",
        )
        .expect("version table");
        for (i, sql) in MIGRATIONS[..3].iter().enumerate() {
            conn.execute_batch(sql).expect("old migration");
            conn.execute(
                "INSERT INTO schema_version VALUES (?, current_timestamp)",
                duckdb::params![i as i64 + 1],
            )
            .expect("record");
        }
        conn.execute_batch(
            "INSERT INTO metrics VALUES ('old', 10, 2.5, 0.001, NULL, NULL, NULL), ('old', 20, 2.0, 0.0005, 900.0, 2.2, 0.4)",
        )
        .expect("old metrics");
        assert_eq!(migrate(&conn).expect("migrate"), MIGRATIONS.len() - 3);
        let rows: Vec<(i64, String, f64)> = conn
            .prepare("SELECT step, key, value FROM metric_values WHERE run_id = 'old' ORDER BY step, key")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .expect("rows");
        let expected: Vec<(i64, String, f64)> = [
            (10, "loss", 2.5),
            (10, "lr", 0.001),
            (20, "loss", 2.0),
            (20, "lr", 0.0005),
            (20, "primary_score", 0.4),
            (20, "tokens_per_s", 900.0),
            (20, "val_loss", 2.2),
        ]
        .into_iter()
        .map(|(s, k, v)| (s, k.to_string(), v))
        .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn an_index_at_version_1_gains_the_rules_version_column() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE schema_version (version BIGINT NOT NULL, applied_at TIMESTAMP NOT NULL)",
        )
        .expect("version table");
        conn.execute_batch(MIGRATIONS[0]).expect("migration 1");
        conn.execute_batch("INSERT INTO schema_version VALUES (1, current_timestamp)")
            .expect("record 1");
        assert_eq!(migrate(&conn).expect("migrate"), MIGRATIONS.len() - 1);
        let columns: Vec<String> = conn
            .prepare("SELECT column_name FROM information_schema.columns WHERE table_name = 'runs' ORDER BY ordinal_position")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("columns");
        assert!(
            columns.iter().any(|c| c == "scoring_rules_version"),
            "{columns:?}"
        );
    }
}
