//! Reads from the index: run lookup by id prefix, a run's items, the item
//! values of every run a leaderboard ranks, arbitrary read-only SQL,
//! Parquet export. Runs as reports read them are
//! in `super::runs`.

use std::path::Path;

use duckdb::arrow::array::{Array, AsArray, BooleanArray, Float64Array, StringArray};
use duckdb::arrow::datatypes::Float64Type;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::params_from_iter;
use duckdb::types::Value as DbValue;
use serde::Serialize;

use super::filter::RunFilter;
use super::{db_error, schema, Store};
use crate::error::{Error, Result};
use crate::runfolder::EvalItemRecord;
use crate::scoring::ItemRow;

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

/// An eval item as a comparison reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemScore {
    pub id: String,
    pub category: String,
    pub expected: String,
    pub extracted: Option<String>,
    pub answer_correctness: Option<f64>,
}

impl From<EvalItemRecord> for ItemScore {
    fn from(r: EvalItemRecord) -> ItemScore {
        ItemScore {
            id: r.id,
            category: r.category,
            expected: r.expected,
            extracted: r.extracted,
            answer_correctness: r.answer_correctness,
        }
    }
}

impl ItemScore {
    /// The row the scoring functions take.
    pub fn item_row(&self) -> ItemRow {
        ItemRow {
            id: self.id.clone(),
            category: self.category.clone(),
            answer_correctness: self.answer_correctness,
            score: None,
            tags: Vec::new(),
        }
    }
}

/// The items of runs `a` and `b` (either may be the other), each by item
/// id, in one query, read column by column (Arrow record batches).
pub fn item_scores(store: &Store, a: &str, b: &str) -> Result<(Vec<ItemScore>, Vec<ItemScore>)> {
    let conn = store.connection();
    let db = |e: duckdb::Error| db_error(store.path(), "query", e);
    let mut stmt = conn
        .prepare(
            "SELECT run_id = ?, item_id, category, expected, extracted, answer_correctness \
             FROM eval_items WHERE run_id IN (?, ?) ORDER BY run_id, item_id",
        )
        .map_err(db)?;
    let (mut of_a, mut of_b) = (Vec::new(), Vec::new());
    for batch in stmt.query_arrow([a, a, b]).map_err(db)? {
        let columns = ItemColumns::of(&batch).ok_or_else(|| {
            Error::runtime(format!(
                "the index {} holds eval items of unexpected column types; rebuild it with `tunix-rt db rebuild`",
                store.path().display()
            ))
        })?;
        for row in 0..batch.num_rows() {
            let item = columns.item(row);
            if columns.of_a.value(row) {
                of_a.push(item);
            } else {
                of_b.push(item);
            }
        }
    }
    if a == b {
        of_b.clone_from(&of_a);
    }
    Ok((of_a, of_b))
}

/// The items of many runs: item ids once (sorted), and per run its
/// `(index into ids, answer_correctness)` rows sorted by index (an id a run
/// holds twice appears twice).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemMatrix {
    pub ids: Vec<String>,
    pub runs: std::collections::BTreeMap<String, Vec<(u32, Option<f64>)>>,
}

/// The items of every run matching `filter`, read column by column.
pub fn item_values(store: &Store, filter: &RunFilter) -> Result<ItemMatrix> {
    let (where_sql, args) = filter.where_sql()?;
    let sql = format!(
        "SELECT run_id, item_id, answer_correctness FROM eval_items \
         WHERE run_id IN (SELECT run_id FROM runs{where_sql}) ORDER BY item_id, run_id"
    );
    let conn = store.connection();
    let db = |e: duckdb::Error| db_error(store.path(), "query", e);
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    let mut out = ItemMatrix::default();
    for batch in stmt
        .query_arrow(params_from_iter(args.iter()))
        .map_err(db)?
    {
        let text = |i: usize| batch.column(i).as_string_opt::<i32>();
        let (Some(run), Some(item), Some(value)) = (
            text(0),
            text(1),
            batch.column(2).as_primitive_opt::<Float64Type>(),
        ) else {
            return Err(Error::runtime(format!(
                "the index {} holds eval items of unexpected column types; rebuild it with `tunix-rt db rebuild`",
                store.path().display()
            )));
        };
        for row in 0..batch.num_rows() {
            let id = item.value(row);
            if out.ids.last().map(String::as_str) != Some(id) {
                out.ids.push(id.to_string());
            }
            let index = u32::try_from(out.ids.len() - 1).unwrap_or(u32::MAX);
            let v = (!value.is_null(row)).then(|| value.value(row));
            match out.runs.get_mut(run.value(row)) {
                Some(items) => items.push((index, v)),
                None => {
                    out.runs
                        .insert(run.value(row).to_string(), vec![(index, v)]);
                }
            }
        }
    }
    Ok(out)
}

/// The columns of one batch of [`item_scores`]' query.
struct ItemColumns<'a> {
    of_a: &'a BooleanArray,
    id: &'a StringArray,
    category: &'a StringArray,
    expected: &'a StringArray,
    extracted: &'a StringArray,
    answer_correctness: &'a Float64Array,
}

impl<'a> ItemColumns<'a> {
    /// The columns of `batch`; `None` when one has another type.
    fn of(batch: &'a RecordBatch) -> Option<ItemColumns<'a>> {
        let text = |i: usize| batch.column(i).as_string_opt::<i32>();
        Some(ItemColumns {
            of_a: batch.column(0).as_boolean_opt()?,
            id: text(1)?,
            category: text(2)?,
            expected: text(3)?,
            extracted: text(4)?,
            answer_correctness: batch.column(5).as_primitive_opt::<Float64Type>()?,
        })
    }

    fn item(&self, row: usize) -> ItemScore {
        ItemScore {
            id: self.id.value(row).to_string(),
            category: self.category.value(row).to_string(),
            expected: self.expected.value(row).to_string(),
            extracted: (!self.extracted.is_null(row))
                .then(|| self.extracted.value(row).to_string()),
            answer_correctness: (!self.answer_correctness.is_null(row))
                .then(|| self.answer_correctness.value(row)),
        }
    }
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
        DbValue::Timestamp(unit, v) => J::String(super::datetime::timestamp(unit, v)),
        DbValue::Date32(days) => J::String(super::datetime::date(i64::from(days))),
        DbValue::Time64(unit, v) => J::String(super::datetime::time_of_day(unit, v)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ingest::{ingest, Scope};
    use crate::store::Wait;

    #[test]
    fn dates_and_times_come_back_as_iso_8601_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_write(&dir.path().join("t.duckdb"), Wait::No).expect("open");
        let r = sql(
            &store,
            "SELECT TIMESTAMP '2026-12-06 02:32:13' AS at, TIMESTAMP '2026-12-06 02:32:13.25' AS frac, \
             DATE '2000-02-29' AS day, TIME '12:34:56' AS t, NULL::TIMESTAMP AS none",
        )
        .expect("query");
        assert_eq!(
            r.rows,
            vec![vec![
                serde_json::json!("2026-12-06T02:32:13Z"),
                serde_json::json!("2026-12-06T02:32:13.250000Z"),
                serde_json::json!("2000-02-29"),
                serde_json::json!("12:34:56"),
                serde_json::Value::Null,
            ]]
        );
    }

    #[test]
    fn item_scores_are_each_runs_items_by_id_as_its_folder_holds_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("runs");
        let folder = |id: &str| {
            let mut items: Vec<ItemScore> = crate::runfolder::read_eval_items(&root.join(id))
                .expect("items")
                .into_iter()
                .map(ItemScore::from)
                .collect();
            items.sort_by(|x, y| x.id.cmp(&y.id));
            items
        };
        tunix_testkit::synthetic::write_run(&root, "weak", 3000, 0.2).expect("run");
        tunix_testkit::synthetic::write_run(&root, "strong", 3000, 0.9).expect("run");
        let db = dir.path().join("t.duckdb");
        let store = Store::open_write(&db, Wait::No).expect("open");
        ingest(&store, dir.path(), Scope::Root(&root)).expect("ingest");
        // 6,000 rows come back in more than one Arrow batch.
        let (a, b) = item_scores(&store, "weak", "strong").expect("items");
        assert_eq!(a, folder("weak"));
        assert_eq!(b, folder("strong"));
        assert_ne!(a, b);
        let (b_first, a_second) = item_scores(&store, "strong", "weak").expect("items");
        assert_eq!((b_first, a_second), (b.clone(), a));
        let (same, again) = item_scores(&store, "strong", "strong").expect("items");
        assert_eq!((&same, &again), (&b, &b));
        let (none, other) = item_scores(&store, "missing", "weak").expect("items");
        assert!(none.is_empty());
        assert_eq!(other.len(), 3000);
    }
}
