//! Reads from the index: leaderboard rows, run lookup by id prefix, a run's
//! items and loss curve, arbitrary read-only SQL, Parquet export.

use std::collections::BTreeMap;
use std::path::Path;

use duckdb::params_from_iter;
use duckdb::types::Value as DbValue;
use serde::Serialize;

use super::{db_error, schema, Store};
use crate::error::{Error, Result};
use crate::runfolder::EvalItemRecord;
use crate::scoring::ExtractRule;

/// One run as the reports see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub run_dir: String,
    pub name: String,
    pub kind: String,
    pub model_id: String,
    pub dataset: Option<String>,
    pub config_hash: String,
    pub labels: BTreeMap<String, String>,
    pub created_at: String,
    pub git_commit: Option<String>,
    pub git_dirty: bool,
    pub evalset_path: Option<String>,
    pub evalset_blake3: Option<String>,
    pub primary_score: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_method: Option<String>,
    pub n_items: i64,
    pub n_scored: i64,
    pub n_skipped: i64,
    pub category_means: BTreeMap<String, Option<f64>>,
    pub tuning_job_id: Option<String>,
    /// The scoring-rules version of the run's eval summary; none when it
    /// records none (or the run was not evaluated).
    pub scoring_rules_version: Option<i64>,
}

/// Leaderboard filters; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub dataset: Option<String>,
    pub model: Option<String>,
    /// A run name, or a prefix of the config hash.
    pub config: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` bounds on created_at (inclusive).
    pub since: Option<String>,
    pub until: Option<String>,
    /// `key=value` pairs.
    pub labels: Vec<(String, String)>,
    pub sweep: Option<String>,
}

const RUN_COLUMNS: &str = "run_id, run_dir, name, kind, coalesce(model_id, ''), dataset_name, config_hash, labels, \
    strftime(created_at, '%Y-%m-%dT%H:%M:%SZ'), git_commit, coalesce(git_dirty, false), evalset_path, evalset_blake3, \
    primary_score, ci_low, ci_high, ci_method, coalesce(n_items, 0), coalesce(n_scored, 0), coalesce(n_skipped, 0), tuning_job_id, scoring_rules_version";

fn run_from_row(row: &duckdb::Row<'_>) -> duckdb::Result<RunRow> {
    let labels: String = row.get(7)?;
    Ok(RunRow {
        run_id: row.get(0)?,
        run_dir: row.get(1)?,
        name: row.get(2)?,
        kind: row.get(3)?,
        model_id: row.get(4)?,
        dataset: row.get(5)?,
        config_hash: row.get(6)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        created_at: row.get::<_, Option<String>>(8)?.unwrap_or_default(),
        git_commit: row.get(9)?,
        git_dirty: row.get(10)?,
        evalset_path: row.get(11)?,
        evalset_blake3: row.get(12)?,
        primary_score: row.get(13)?,
        ci_low: row.get(14)?,
        ci_high: row.get(15)?,
        ci_method: row.get(16)?,
        n_items: row.get(17)?,
        n_scored: row.get(18)?,
        n_skipped: row.get(19)?,
        category_means: BTreeMap::new(),
        tuning_job_id: row.get(20)?,
        scoring_rules_version: row.get(21)?,
    })
}

/// Runs matching `filter`, in run-id order, with their category means.
pub fn runs(store: &Store, filter: &RunFilter) -> Result<Vec<RunRow>> {
    let conn = store.connection();
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut eq = |column: &str, value: &Option<String>, clauses: &mut Vec<String>| {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?"));
            args.push(v.clone());
        }
    };
    eq("dataset_name", &filter.dataset, &mut clauses);
    eq("model_id", &filter.model, &mut clauses);
    eq("tuning_job_id", &filter.sweep, &mut clauses);
    if let Some(c) = &filter.config {
        clauses.push("(name = ? OR starts_with(config_hash, ?))".to_string());
        args.push(c.clone());
        args.push(c.clone());
    }
    if let Some(s) = &filter.since {
        clauses.push("created_at >= CAST(? AS TIMESTAMP)".to_string());
        args.push(timestamp_arg(s, false)?);
    }
    if let Some(u) = &filter.until {
        clauses.push("created_at <= CAST(? AS TIMESTAMP)".to_string());
        args.push(timestamp_arg(u, true)?);
    }
    for (k, v) in &filter.labels {
        clauses.push(
            "run_id IN (SELECT run_id FROM run_labels WHERE key = ? AND value = ?)".to_string(),
        );
        args.push(k.clone());
        args.push(v.clone());
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs{where_sql} ORDER BY run_id");
    let read = || -> duckdb::Result<Vec<RunRow>> {
        let mut stmt = conn.prepare(&sql)?;
        let mut out: Vec<RunRow> = stmt
            .query_map(params_from_iter(args.iter()), run_from_row)?
            .collect::<duckdb::Result<_>>()?;
        let mut cats = conn.prepare("SELECT run_id, category, mean FROM category_scores")?;
        let mut by_run: BTreeMap<String, BTreeMap<String, Option<f64>>> = BTreeMap::new();
        for row in cats.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<f64>>(2)?,
            ))
        })? {
            let (run, cat, mean) = row?;
            by_run.entry(run).or_default().insert(cat, mean);
        }
        for run in &mut out {
            run.category_means = by_run.remove(&run.run_id).unwrap_or_default();
        }
        Ok(out)
    };
    read().map_err(|e| db_error(store.path(), "query", e))
}

/// Accept `YYYY-MM-DD` or an RFC 3339 timestamp; a bare date as an upper
/// bound means the end of that day.
fn timestamp_arg(text: &str, end_of_day: bool) -> Result<String> {
    let t = text.trim();
    let is_date =
        t.len() == 10 && t.as_bytes().get(4) == Some(&b'-') && t.as_bytes().get(7) == Some(&b'-');
    if is_date {
        return Ok(format!(
            "{t} {}",
            if end_of_day {
                "23:59:59.999999"
            } else {
                "00:00:00"
            }
        ));
    }
    humantime::parse_rfc3339_weak(t)
        .map(|_| t.trim_end_matches('Z').replace('T', " "))
        .map_err(|_| {
            Error::bad_input(format!(
                "`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 timestamp"
            ))
        })
}

/// The run whose id is `prefix` or starts with it; ambiguous and unknown
/// prefixes are errors that list candidates.
pub fn resolve_run(store: &Store, prefix: &str) -> Result<String> {
    let conn = store.connection();
    let ids = |sql: &str, args: &[&str]| -> duckdb::Result<Vec<String>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    let exact = ids("SELECT run_id FROM runs WHERE run_id = ?", &[prefix])
        .map_err(|e| db_error(store.path(), "query", e))?;
    if exact.len() == 1 {
        return Ok(prefix.to_string());
    }
    let matches = ids(
        "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id",
        &[prefix],
    )
    .map_err(|e| db_error(store.path(), "query", e))?;
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let all = ids("SELECT run_id FROM runs ORDER BY run_id", &[])
                .map_err(|e| db_error(store.path(), "query", e))?;
            let names: Vec<&str> = all.iter().map(String::as_str).collect();
            let hint = crate::suggest::closest(prefix, names.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_else(|| format!("; known runs: {}", preview(&all)));
            Err(Error::bad_input(format!("no run matches `{prefix}`{hint}")))
        }
        many => Err(Error::bad_input(format!(
            "`{prefix}` matches {} runs: {}; give more of the id",
            many.len(),
            preview(many)
        ))),
    }
}

fn preview(ids: &[String]) -> String {
    let shown: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
    let more = if ids.len() > 10 {
        format!(", … ({} more)", ids.len() - 10)
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

/// One run's row.
pub fn run(store: &Store, run_id: &str) -> Result<RunRow> {
    let filter = RunFilter::default();
    runs(store, &filter)?
        .into_iter()
        .find(|r| r.run_id == run_id)
        .ok_or_else(|| Error::bad_input(format!("no run `{run_id}` in the index")))
}

/// A run's per-item records, by item id.
pub fn items(store: &Store, run_id: &str) -> Result<Vec<EvalItemRecord>> {
    let conn = store.connection();
    let read = || -> duckdb::Result<Vec<EvalItemRecord>> {
        let mut stmt = conn.prepare(
            "SELECT item_id, category, expected, output, extracted, extraction_rule, answer_correctness, trace_consistency \
             FROM eval_items WHERE run_id = ? ORDER BY item_id",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            let rule: Option<String> = r.get(5)?;
            Ok(EvalItemRecord {
                id: r.get(0)?,
                category: r.get(1)?,
                expected: r.get(2)?,
                output: r.get(3)?,
                extracted: r.get(4)?,
                extraction_rule: rule.and_then(|s| {
                    serde_json::from_value::<ExtractRule>(serde_json::Value::String(s)).ok()
                }),
                answer_correctness: r.get(6)?,
                trace_consistency: r.get(7)?,
            })
        })?;
        rows.collect()
    };
    read().map_err(|e| db_error(store.path(), "query", e))
}

/// (step, loss) points per run, in one query: of the runs in `only`, or of
/// every run that has any.
pub fn loss_curves(
    store: &Store,
    only: Option<&[&str]>,
) -> Result<BTreeMap<String, Vec<(u64, f64)>>> {
    let conn = store.connection();
    let (filter, args): (String, Vec<&str>) = match only {
        Some([]) => return Ok(BTreeMap::new()),
        Some(ids) => (
            format!(" AND run_id IN ({})", vec!["?"; ids.len()].join(", ")),
            ids.to_vec(),
        ),
        None => (String::new(), Vec::new()),
    };
    let sql = format!("SELECT run_id, step, loss FROM metrics WHERE loss IS NOT NULL{filter} ORDER BY run_id, step");
    let read = || -> duckdb::Result<BTreeMap<String, Vec<(u64, f64)>>> {
        let mut stmt = conn.prepare(&sql)?;
        let mut out: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?.max(0) as u64,
                r.get::<_, f64>(2)?,
            ))
        })?;
        for row in rows {
            let (run, step, loss) = row?;
            out.entry(run).or_default().push((step, loss));
        }
        Ok(out)
    };
    read().map_err(|e| db_error(store.path(), "query", e))
}

/// The result of an arbitrary query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// Run `sql` on a read-only connection.
pub fn sql(store: &Store, sql: &str) -> Result<QueryResult> {
    let conn = store.connection();
    let mut stmt = conn
        .prepare(sql)
        .map_err(|e| Error::bad_input(format!("query failed: {e}")))?;
    let mut rows_out = Vec::new();
    let mut rows = stmt
        .query([])
        .map_err(|e| Error::bad_input(format!("query failed: {e}")))?;
    let mut columns: Option<Vec<String>> = None;
    while let Some(row) = rows
        .next()
        .map_err(|e| Error::bad_input(format!("query failed: {e}")))?
    {
        let stmt_ref = row.as_ref();
        let names = columns.get_or_insert_with(|| stmt_ref.column_names());
        let mut values = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            let v: DbValue = row
                .get(i)
                .map_err(|e| Error::bad_input(format!("query failed: {e}")))?;
            values.push(to_json(v));
        }
        rows_out.push(values);
    }
    let columns = match columns {
        Some(c) => c,
        None => rows.as_ref().map(|s| s.column_names()).unwrap_or_default(),
    };
    Ok(QueryResult {
        columns,
        rows: rows_out,
    })
}

fn to_json(v: DbValue) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        DbValue::Null => J::Null,
        DbValue::Boolean(b) => J::Bool(b),
        DbValue::TinyInt(x) => J::from(x),
        DbValue::SmallInt(x) => J::from(x),
        DbValue::Int(x) => J::from(x),
        DbValue::BigInt(x) => J::from(x),
        DbValue::UTinyInt(x) => J::from(x),
        DbValue::USmallInt(x) => J::from(x),
        DbValue::UInt(x) => J::from(x),
        DbValue::UBigInt(x) => J::from(x),
        DbValue::Float(x) => J::from(f64::from(x)),
        DbValue::Double(x) => J::from(x),
        DbValue::Text(s) => J::String(s),
        DbValue::List(items) | DbValue::Array(items) => {
            J::Array(items.into_iter().map(to_json).collect())
        }
        other => J::String(format!("{other:?}")),
    }
}

/// Write every table as `DIR/<table>.parquet` (each written to a temporary
/// name, then renamed). `dir` is the user's: an existing file there is bad
/// input; failing to write inside it is a runtime failure.
pub fn export_parquet(store: &Store, dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::bad_input(format!(
            "cannot export into {}: it is a file, not a folder",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::runtime("cannot create the export folder")
            .with_path(dir)
            .with_source(e)
    })?;
    tracing::info!(
        "exporting {} table(s) to {}",
        schema::ALL_TABLES.len(),
        dir.display()
    );
    let mut written = Vec::new();
    for table in schema::ALL_TABLES {
        let target = dir.join(format!("{table}.parquet"));
        let tmp = dir.join(format!(".{table}.parquet.tmp"));
        let sql = format!(
            "COPY (SELECT * FROM {table}) TO '{}' (FORMAT PARQUET)",
            tmp.display().to_string().replace('\'', "''")
        );
        store
            .connection()
            .execute_batch(&sql)
            .map_err(|e| db_error(store.path(), "export", e))?;
        std::fs::rename(&tmp, &target).map_err(|e| {
            Error::runtime(format!("cannot rename {} into place", tmp.display()))
                .with_path(&target)
                .with_source(e)
        })?;
        written.push(target);
    }
    Ok(written)
}
