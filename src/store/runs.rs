//! Runs as the reports read them: one run by id, the runs of a
//! leaderboard's page by id (with their category means and per-tag
//! figures), the scores of every matching run (the leaderboard ranks them
//! all, on the full-eval-set score it computes from their items), the
//! scoring-rules versions of all matching runs, and loss curves. Filters
//! run in SQL; the order and the page are the report's.

use std::collections::BTreeMap;

use duckdb::params_from_iter;
use serde::Serialize;

use super::filter::RunFilter;
use super::{db_error, Store};
use crate::error::{Error, Result};

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
    /// Whether the run decoded with calculator assistance (false for runs
    /// indexed before the flag was).
    pub calculator: bool,
    /// The run's per-tag figures, by tag (`tag_scores`).
    pub tag_scores: BTreeMap<String, TagRow>,
    /// The run's status (`completed`, `stopped`, `failed`, ...).
    pub status: String,
}

/// One row of `tag_scores`: a tag's figures in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagRow {
    pub n_items: i64,
    pub n_scored: i64,
    pub n_skipped: i64,
    pub n_correct: i64,
    pub mean: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// `wilson` or `bootstrap`, as stored.
    pub ci_method: Option<String>,
}

/// What the leaderboard ranks a run on before it reads its items: its
/// primary score and CI, counts, eval set, and whether it was decoded with
/// calculator assistance.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    pub run_id: String,
    pub primary_score: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_method: Option<String>,
    pub n_items: i64,
    pub n_scored: i64,
    pub evalset_blake3: Option<String>,
    pub calculator: bool,
}

const RUN_COLUMNS: &str = "run_id, run_dir, name, kind, coalesce(model_id, ''), dataset_name, config_hash, labels, \
    strftime(created_at, '%Y-%m-%dT%H:%M:%SZ'), git_commit, coalesce(git_dirty, false), evalset_path, evalset_blake3, \
    primary_score, ci_low, ci_high, ci_method, coalesce(n_items, 0), coalesce(n_scored, 0), coalesce(n_skipped, 0), tuning_job_id, scoring_rules_version, \
    coalesce(calculator, false), status";

/// The per-tag columns of `tag_scores`, after `run_id, tag`.
const TAG_COLUMNS: &str =
    "run_id, tag, n_items, n_scored, n_skipped, n_correct, mean, ci_low, ci_high, ci_method";

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
        calculator: row.get(22)?,
        tag_scores: BTreeMap::new(),
        status: row.get(23)?,
    })
}

/// One `tag_scores` row read with [`TAG_COLUMNS`]: (run id, tag, figures).
fn tag_from_row(row: &duckdb::Row<'_>) -> duckdb::Result<(String, String, TagRow)> {
    let count =
        |i: usize| -> duckdb::Result<i64> { Ok(row.get::<_, Option<i64>>(i)?.unwrap_or(0)) };
    Ok((
        row.get(0)?,
        row.get(1)?,
        TagRow {
            n_items: count(2)?,
            n_scored: count(3)?,
            n_skipped: count(4)?,
            n_correct: count(5)?,
            mean: row.get(6)?,
            ci_low: row.get(7)?,
            ci_high: row.get(8)?,
            ci_method: row.get(9)?,
        },
    ))
}

/// The rows of runs `ids` (in any order; unknown ids are left out), with
/// their category means and per-tag figures.
pub fn by_ids(store: &Store, ids: &[&str]) -> Result<Vec<RunRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id IN ({marks}) ORDER BY run_id");
    let breakdowns = Breakdowns {
        categories: format!(
            "SELECT run_id, category, mean FROM category_scores WHERE run_id IN ({marks})"
        ),
        tags: format!("SELECT {TAG_COLUMNS} FROM tag_scores WHERE run_id IN ({marks})"),
    };
    let args: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    with_breakdowns(store, &sql, &breakdowns, &args)
}

/// The rows of every run matching `filter` (a leaderboard that lists them
/// all), with their category means and per-tag figures.
pub fn matching(store: &Store, filter: &RunFilter) -> Result<Vec<RunRow>> {
    let (where_sql, args) = filter.where_sql()?;
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs{where_sql} ORDER BY run_id");
    let ids = format!("SELECT run_id FROM runs{where_sql}");
    let breakdowns = Breakdowns {
        categories: format!(
            "SELECT run_id, category, mean FROM category_scores WHERE run_id IN ({ids})"
        ),
        tags: format!("SELECT {TAG_COLUMNS} FROM tag_scores WHERE run_id IN ({ids})"),
    };
    with_breakdowns(store, &sql, &breakdowns, &args)
}

/// (step, loss) points of every run matching `filter`.
pub fn matching_loss_curves(
    store: &Store,
    filter: &RunFilter,
) -> Result<BTreeMap<String, Vec<(u64, f64)>>> {
    let (where_sql, args) = filter.where_sql()?;
    let sql = format!(
        "SELECT run_id, step, loss FROM metrics WHERE loss IS NOT NULL AND run_id IN (SELECT run_id FROM runs{where_sql}) ORDER BY run_id, step"
    );
    curves(store, &sql, &args)
}

/// Run `run_id`'s row.
pub fn run(store: &Store, run_id: &str) -> Result<RunRow> {
    let (row, _) = run_pair(store, run_id, run_id)?;
    Ok(row)
}

/// The rows of runs `a` and `b` (either may be the other), in one query.
pub fn run_pair(store: &Store, a: &str, b: &str) -> Result<(RunRow, RunRow)> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id IN (?, ?)");
    let breakdowns = Breakdowns {
        categories: "SELECT run_id, category, mean FROM category_scores WHERE run_id IN (?, ?)"
            .to_string(),
        tags: format!("SELECT {TAG_COLUMNS} FROM tag_scores WHERE run_id IN (?, ?)"),
    };
    let rows = with_breakdowns(store, &sql, &breakdowns, &[a.to_string(), b.to_string()])?;
    let find = |id: &str| {
        rows.iter()
            .find(|r| r.run_id == id)
            .cloned()
            .ok_or_else(|| Error::bad_input(format!("no run `{id}` in the index")))
    };
    Ok((find(a)?, find(b)?))
}

/// The queries of the runs' per-category means and per-tag figures; each
/// takes the same arguments as the runs' query.
struct Breakdowns {
    /// `run_id, category, mean` rows.
    categories: String,
    /// [`TAG_COLUMNS`] rows.
    tags: String,
}

/// The rows of `runs_sql`, each with the category means and per-tag
/// figures `breakdowns` give it; every query takes `args`.
fn with_breakdowns(
    store: &Store,
    runs_sql: &str,
    breakdowns: &Breakdowns,
    args: &[String],
) -> Result<Vec<RunRow>> {
    let conn = store.connection();
    let read = || -> duckdb::Result<Vec<RunRow>> {
        let mut stmt = conn.prepare(runs_sql)?;
        let mut out: Vec<RunRow> = stmt
            .query_map(params_from_iter(args.iter()), run_from_row)?
            .collect::<duckdb::Result<_>>()?;
        let mut means: BTreeMap<String, BTreeMap<String, Option<f64>>> = BTreeMap::new();
        let mut cats = conn.prepare(&breakdowns.categories)?;
        for row in cats.query_map(params_from_iter(args.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<f64>>(2)?,
            ))
        })? {
            let (run, cat, mean) = row?;
            means.entry(run).or_default().insert(cat, mean);
        }
        let mut tags: BTreeMap<String, BTreeMap<String, TagRow>> = BTreeMap::new();
        let mut stmt = conn.prepare(&breakdowns.tags)?;
        for row in stmt.query_map(params_from_iter(args.iter()), tag_from_row)? {
            let (run, tag, figures) = row?;
            tags.entry(run).or_default().insert(tag, figures);
        }
        for run in &mut out {
            run.category_means = means.remove(&run.run_id).unwrap_or_default();
            run.tag_scores = tags.remove(&run.run_id).unwrap_or_default();
        }
        Ok(out)
    };
    read().map_err(|e| db_error(store.path(), "query", e))
}

/// The scores of every run matching `filter`, in run-id order.
pub fn scores(store: &Store, filter: &RunFilter) -> Result<Vec<ScoreRow>> {
    let (where_sql, args) = filter.where_sql()?;
    let sql = format!(
        "SELECT run_id, primary_score, ci_low, ci_high, ci_method, coalesce(n_items, 0), coalesce(n_scored, 0), evalset_blake3, coalesce(calculator, false) FROM runs{where_sql} ORDER BY run_id"
    );
    let conn = store.connection();
    let read = || -> duckdb::Result<Vec<ScoreRow>> {
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok(ScoreRow {
                run_id: r.get(0)?,
                primary_score: r.get(1)?,
                ci_low: r.get(2)?,
                ci_high: r.get(3)?,
                ci_method: r.get(4)?,
                n_items: r.get(5)?,
                n_scored: r.get(6)?,
                evalset_blake3: r.get(7)?,
                calculator: r.get(8)?,
            })
        })?;
        rows.collect()
    };
    read().map_err(|e| db_error(store.path(), "query", e))
}

/// The evaluated runs (with items) matching `filter`, by the
/// scoring-rules version they were scored under (none: not recorded),
/// each list in run-id order.
pub fn rules_versions(
    store: &Store,
    filter: &RunFilter,
) -> Result<BTreeMap<Option<i64>, Vec<String>>> {
    let (where_sql, args) = filter.where_sql()?;
    let evaluated = if where_sql.is_empty() {
        " WHERE coalesce(n_items, 0) > 0"
    } else {
        " AND coalesce(n_items, 0) > 0"
    };
    let sql = format!(
        "SELECT scoring_rules_version, run_id FROM runs{where_sql}{evaluated} ORDER BY run_id"
    );
    let conn = store.connection();
    let read = || -> duckdb::Result<BTreeMap<Option<i64>, Vec<String>>> {
        let mut stmt = conn.prepare(&sql)?;
        let mut out: BTreeMap<Option<i64>, Vec<String>> = BTreeMap::new();
        for row in stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, String>(1)?))
        })? {
            let (version, id) = row?;
            out.entry(version).or_default().push(id);
        }
        Ok(out)
    };
    read().map_err(|e| db_error(store.path(), "query", e))
}

/// (step, loss) points of each run in `ids`.
pub fn loss_curves(store: &Store, ids: &[&str]) -> Result<BTreeMap<String, Vec<(u64, f64)>>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "SELECT run_id, step, loss FROM metrics WHERE loss IS NOT NULL AND run_id IN ({}) ORDER BY run_id, step",
        vec!["?"; ids.len()].join(", ")
    );
    let args: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    curves(store, &sql, &args)
}

fn curves(store: &Store, sql: &str, args: &[String]) -> Result<BTreeMap<String, Vec<(u64, f64)>>> {
    let conn = store.connection();
    let read = || -> duckdb::Result<BTreeMap<String, Vec<(u64, f64)>>> {
        let mut stmt = conn.prepare(sql)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ingest::{ingest, Scope};
    use crate::store::Wait;

    /// An index of runs `r0`..`r{n-1}`, r{i} answering a fraction
    /// `skills[i]` right.
    fn index(skills: &[f64]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("runs");
        for (i, skill) in skills.iter().enumerate() {
            tunix_testkit::synthetic::write_run(&root, &format!("r{i}"), 40, *skill).expect("run");
        }
        let db = dir.path().join("t.duckdb");
        let store = Store::open_write(&db, Wait::No).expect("open");
        ingest(&store, dir.path(), Scope::Root(&root)).expect("ingest");
        (dir, db)
    }

    fn ids(rows: &[RunRow]) -> Vec<&str> {
        rows.iter().map(|r| r.run_id.as_str()).collect()
    }

    #[test]
    fn runs_are_read_by_id_or_by_filter_with_their_scores() {
        let (_dir, db) = index(&[0.2, 0.9, 0.5, 0.7]);
        let store = Store::open_read(&db).expect("open");
        let all = RunFilter::default();
        let two = by_ids(&store, &["r3", "r1", "nope"]).expect("by id");
        assert_eq!(ids(&two), ["r1", "r3"]);
        assert_eq!(two[0].category_means.len(), 3);
        assert_eq!(two[0].status, "completed");
        assert!(by_ids(&store, &[]).expect("none").is_empty());
        assert_eq!(
            ids(&matching(&store, &all).expect("all")),
            ["r0", "r1", "r2", "r3"]
        );
        let scores = scores(&store, &all).expect("scores");
        assert_eq!(scores.len(), 4);
        assert_eq!((scores[1].n_items, scores[1].n_scored), (40, 40));
        assert_eq!(
            scores[1].evalset_blake3.as_deref(),
            Some("00".repeat(32).as_str())
        );
        let versions = rules_versions(&store, &all).expect("versions");
        assert_eq!(versions.values().map(Vec::len).sum::<usize>(), 4);
        assert_eq!(run(&store, "r2").expect("r2").category_means.len(), 3);
        assert!(run(&store, "nope").is_err());
        assert!(matching_loss_curves(&store, &all)
            .expect("curves")
            .is_empty());
    }

    #[test]
    fn rows_carry_per_tag_figures_and_the_calculator_flag() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("runs");
        crate::store::fixtures::tagged_run(&root, "calc", 30, 0.8, true);
        crate::store::fixtures::tagged_run(&root, "plain", 30, 0.3, false);
        let db = dir.path().join("t.duckdb");
        let store = Store::open_write(&db, Wait::No).expect("open");
        ingest(&store, dir.path(), Scope::Root(&root)).expect("ingest");
        drop(store);
        let store = Store::open_read(&db).expect("open");
        let all = RunFilter::default();
        let rows = matching(&store, &all).expect("rows");
        let flags: Vec<(&str, bool)> = rows
            .iter()
            .map(|r| (r.run_id.as_str(), r.calculator))
            .collect();
        assert_eq!(flags, [("calc", true), ("plain", false)]);
        let tags = &rows[0].tag_scores;
        assert_eq!(tags.keys().collect::<Vec<_>>(), ["all", "even"]);
        let t = &tags["all"];
        assert_eq!((t.n_items, t.n_scored, t.n_skipped), (20, 20, 0));
        assert!(t.n_correct > 0 && t.n_correct <= 20);
        assert_eq!(t.ci_method.as_deref(), Some("wilson"));
        assert!(t.ci_low <= t.mean && t.mean <= t.ci_high);
        let (a, b) = run_pair(&store, "plain", "calc").expect("pair");
        assert_eq!((a.calculator, b.calculator), (false, true));
        assert_eq!(b.tag_scores, rows[0].tag_scores);
        let scores = scores(&store, &all).expect("scores");
        assert_eq!(
            scores
                .iter()
                .map(|r| (r.run_id.as_str(), r.calculator))
                .collect::<Vec<_>>(),
            [("calc", true), ("plain", false)]
        );
    }
}
