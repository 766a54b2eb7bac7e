//! Reads from the index: run lookup by id prefix, a run's items,
//! arbitrary read-only SQL, Parquet export. Runs as reports read them are
//! in `super::runs`.

use std::path::Path;

use duckdb::params_from_iter;
use duckdb::types::Value as DbValue;
use serde::Serialize;

use super::{db_error, schema, Store};
use crate::error::{Error, Result};
use crate::runfolder::EvalItemRecord;
use crate::scoring::ExtractRule;

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
