//! `tunix-rt db ...`: ingest, rebuild, query and export; printing the
//! library's results (and an ingest's progress, `progress`) is the only
//! thing done here.

mod progress;

use std::path::Path;

use crate::cli::{DbExportArgs, DbIngestArgs, DbQueryArgs, Format, QueryFormat};
use tunix_rt::error::{Error, Result};
use tunix_rt::store::ingest::{ingest, ingest_observed, IngestReport, Scope};
use tunix_rt::store::query::{self, QueryResult};
use tunix_rt::store::{Store, Wait};
use tunix_rt::workspace::Workspace;

pub fn ingest_cmd(ws: &Workspace, db: &Path, args: &DbIngestArgs, rebuild: bool) -> Result<()> {
    let runs = args
        .runs
        .clone()
        .unwrap_or_else(|| ws.root().join("submission_runs"));
    let runs = std::path::absolute(&runs).unwrap_or(runs);
    if !runs.exists() {
        return Err(Error::bad_input(format!(
            "runs folder {} does not exist",
            runs.display()
        )));
    }
    if !runs.is_dir() {
        return Err(Error::bad_input(format!(
            "runs folder {} is a file, not a folder",
            runs.display()
        )));
    }
    let wait = if args.no_wait { Wait::No } else { Wait::Yes };
    let store = Store::open_write(db, wait)?;
    let scope = if rebuild {
        Scope::Rebuild(&runs)
    } else {
        Scope::Root(&runs)
    };
    let report = {
        let mut progress = progress::IngestProgress::default();
        ingest_observed(&store, ws.root(), scope, &mut progress)?
    };
    if args.format == Format::Json {
        super::print_json(&report)?;
    } else {
        print_report(&report, &ws.display_path(db).display().to_string())?;
    }
    if report.skipped.is_empty() {
        Ok(())
    } else {
        Err(Error::bad_input(format!(
            "{} run folder(s) skipped; the others were ingested",
            report.skipped.len()
        )))
    }
}

fn print_report(r: &IngestReport, db: &str) -> Result<()> {
    for id in &r.new {
        outln!("new       {id}")?;
    }
    for id in &r.updated {
        outln!("updated   {id} (its files changed)")?;
    }
    for id in &r.removed {
        outln!("removed   {id} (its folder is gone)")?;
    }
    for (dir, reason) in &r.skipped {
        eprintln!("skipped   {dir}: {reason}");
    }
    outln!(
        "{db}: {} new, {} updated, {} unchanged, {} removed, {} skipped ({} item rows written)",
        r.new.len(),
        r.updated.len(),
        r.unchanged,
        r.removed.len(),
        r.skipped.len(),
        r.item_rows
    )?;
    Ok(())
}

/// Index a run folder a job just wrote. An index that stays busy past the
/// wait bound is not a failure of the job (see [`indexed_later`]).
pub fn record_run(ws: &Workspace, db: &Path, run_dir: &Path) -> Result<()> {
    let result = Store::open_write(db, Wait::Yes)
        .and_then(|store| ingest(&store, ws.root(), Scope::Folder(run_dir)));
    match result {
        Ok(report) if report.skipped.is_empty() => Ok(()),
        Ok(report) => Err(Error::runtime(format!(
            "the run was written to {} but could not be indexed: {}",
            run_dir.display(),
            report.skipped.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ")
        ))),
        Err(e) if tunix_rt::store::is_busy(&e) => {
            indexed_later(&e, &ws.display_path(run_dir).display().to_string());
            Ok(())
        }
        Err(e) => Err(Error::runtime(format!(
            "the run was written to {} but could not be indexed ({e}); run `tunix-rt db ingest` to retry",
            run_dir.display()
        ))),
    }
}

/// A finished job whose index was held by another process for longer than
/// the wait allows: its run folders are the record, so it has succeeded;
/// say so, and how to index it later.
pub fn indexed_later(err: &Error, written: &str) {
    tracing::warn!(
        "{written} is written, but not indexed yet ({err}): indexed later: run `tunix-rt db ingest`"
    );
}

pub fn query_cmd(db: &Path, args: &DbQueryArgs) -> Result<()> {
    let store = Store::open_read(db)?;
    let result = query::sql(&store, &args.sql)?;
    let text = match args.format {
        QueryFormat::Json => json_rows(&result),
        QueryFormat::Csv => csv(&result),
        QueryFormat::Table => table(&result),
    };
    super::output::write_all(text.as_bytes())
}

pub fn export_cmd(ws: &Workspace, db: &Path, args: &DbExportArgs) -> Result<()> {
    let store = Store::open_read(db)?;
    for path in query::export_parquet(&store, &args.parquet)? {
        outln!("wrote {}", ws.display_path(&path).display())?;
    }
    Ok(())
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "NULL".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn table(r: &QueryResult) -> String {
    let cells: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect())
        .collect();
    let widths: Vec<usize> = (0..r.columns.len())
        .map(|i| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain(std::iter::once(r.columns[i].chars().count()))
                .max()
                .unwrap_or(0)
                .min(60)
        })
        .collect();
    let line = |values: &[String]| -> String {
        values
            .iter()
            .zip(&widths)
            .map(|(v, w)| {
                let shown: String = if v.chars().count() > *w {
                    v.chars()
                        .take(w.saturating_sub(1))
                        .chain(std::iter::once('…'))
                        .collect()
                } else {
                    v.clone()
                };
                format!("{shown:<w$}")
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(&r.columns);
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
        out.push('\n');
    }
    out.push_str(&format!(
        "({} row{})\n",
        cells.len(),
        if cells.len() == 1 { "" } else { "s" }
    ));
    out
}

fn csv(r: &QueryResult) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = r
        .columns
        .iter()
        .map(|c| field(c))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for row in &r.rows {
        let values: Vec<String> = row
            .iter()
            .map(|v| match v {
                serde_json::Value::Null => String::new(),
                other => field(&cell(other)),
            })
            .collect();
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

fn json_rows(r: &QueryResult) -> String {
    let objects: Vec<serde_json::Map<String, serde_json::Value>> = r
        .rows
        .iter()
        .map(|row| r.columns.iter().cloned().zip(row.iter().cloned()).collect())
        .collect();
    let mut text = serde_json::to_string_pretty(&objects).unwrap_or_else(|_| "[]".to_string());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result() -> QueryResult {
        QueryResult {
            columns: vec!["id".into(), "note".into()],
            rows: vec![
                vec![json!(1), json!("a, \"b\"")],
                vec![json!(2), json!(null)],
            ],
        }
    }

    #[test]
    fn csv_quotes_fields_that_need_it() {
        assert_eq!(csv(&result()), "id,note\n1,\"a, \"\"b\"\"\"\n2,\n");
    }

    #[test]
    fn table_is_aligned() {
        assert_eq!(
            table(&result()),
            "id  note\n--  ------\n1   a, \"b\"\n2   NULL\n(2 rows)\n"
        );
    }

    #[test]
    fn json_is_an_array_of_objects() {
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json_rows(&result())).expect("json"),
            json!([{"id": 1, "note": "a, \"b\""}, {"id": 2, "note": null}])
        );
    }
}
