//! Which runs a report is about, as SQL: the leaderboard's filters (a
//! WHERE clause with its arguments), and how many runs a page shows.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

use crate::error::{Error, Result};

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
    /// Every run, also runs that are not evaluated or not finished
    /// (`--all`); by default only evaluated runs (with eval items) whose
    /// status is [`FINISHED`].
    pub all_runs: bool,
}

/// The statuses of finished runs, listed by default: `completed`, and
/// `stopped` (ended before max_steps by a scheduler or a time limit, at a
/// checkpoint). `failed`, `running` and `interrupted` runs need `--all`.
pub const FINISHED: [&str; 2] = ["completed", "stopped"];

/// How many runs a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunLimit {
    /// Every matching run.
    All,
    /// The first N in leaderboard order.
    First(NonZeroUsize),
}

/// Runs on a page unless told otherwise.
pub const DEFAULT_PAGE: NonZeroUsize = NonZeroUsize::new(100).expect("a page is not empty");

/// A page of [`DEFAULT_PAGE`] runs.
impl Default for RunLimit {
    fn default() -> RunLimit {
        RunLimit::First(DEFAULT_PAGE)
    }
}

impl RunLimit {
    /// The SQL `LIMIT` clause (empty for all).
    pub fn sql(self) -> String {
        match self {
            RunLimit::All => String::new(),
            RunLimit::First(n) => format!(" LIMIT {n}"),
        }
    }

    /// The SQL `OFFSET` clause skipping this page (empty for all: nothing
    /// is left after it).
    pub fn after_sql(self) -> Option<String> {
        match self {
            RunLimit::All => None,
            RunLimit::First(n) => Some(format!(" OFFSET {n}")),
        }
    }
}

impl FromStr for RunLimit {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<RunLimit, String> {
        if text.eq_ignore_ascii_case("all") {
            return Ok(RunLimit::All);
        }
        text.parse::<NonZeroUsize>()
            .map(RunLimit::First)
            .map_err(|_| format!("`{text}` is not a number of runs (1 or more) or `all`"))
    }
}

impl fmt::Display for RunLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunLimit::All => f.write_str("all"),
            RunLimit::First(n) => write!(f, "{n}"),
        }
    }
}

impl RunFilter {
    /// The filter as ` WHERE ...` (empty when nothing is filtered) over
    /// `runs`, with its arguments in order.
    pub fn where_sql(&self) -> Result<(String, Vec<String>)> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if !self.all_runs {
            clauses.push(format!(
                "coalesce(n_items, 0) > 0 AND status IN ({})",
                FINISHED.map(|s| format!("'{s}'")).join(", ")
            ));
        }
        for (column, value) in [
            ("dataset_name", &self.dataset),
            ("model_id", &self.model),
            ("tuning_job_id", &self.sweep),
        ] {
            if let Some(v) = value {
                clauses.push(format!("{column} = ?"));
                args.push(v.clone());
            }
        }
        if let Some(c) = &self.config {
            clauses.push("(name = ? OR starts_with(config_hash, ?))".to_string());
            args.push(c.clone());
            args.push(c.clone());
        }
        if let Some(s) = &self.since {
            clauses.push("created_at >= CAST(? AS TIMESTAMP)".to_string());
            args.push(timestamp_arg(s, false)?);
        }
        if let Some(u) = &self.until {
            clauses.push("created_at <= CAST(? AS TIMESTAMP)".to_string());
            args.push(timestamp_arg(u, true)?);
        }
        for (k, v) in &self.labels {
            clauses.push(
                "run_id IN (SELECT run_id FROM run_labels WHERE key = ? AND value = ?)".to_string(),
            );
            args.push(k.clone());
            args.push(v.clone());
        }
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        Ok((sql, args))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_from_numbers_and_all() {
        assert_eq!("all".parse::<RunLimit>(), Ok(RunLimit::All));
        assert_eq!(
            "25".parse::<RunLimit>(),
            Ok(RunLimit::First(NonZeroUsize::new(25).expect("non-zero")))
        );
        for bad in ["0", "-3", "ten", ""] {
            let err = bad.parse::<RunLimit>().expect_err(bad);
            assert!(err.contains("or `all`"), "{err}");
        }
        assert_eq!(RunLimit::All.to_string(), "all");
        assert_eq!(RunLimit::All.sql(), "");
        assert_eq!(
            "7".parse::<RunLimit>().map(RunLimit::sql),
            Ok(" LIMIT 7".into())
        );
    }

    #[test]
    fn filters_become_a_where_clause_with_arguments() {
        let every = RunFilter {
            all_runs: true,
            ..RunFilter::default()
        };
        assert_eq!(every.where_sql().expect("sql"), (String::new(), vec![]));
        assert_eq!(
            RunFilter::default().where_sql().expect("sql").0,
            " WHERE coalesce(n_items, 0) > 0 AND status IN ('completed', 'stopped')"
        );
        let filter = RunFilter {
            all_runs: true,
            model: Some("m".into()),
            until: Some("2026-01-02".into()),
            labels: vec![("k".into(), "v".into())],
            ..RunFilter::default()
        };
        let (sql, args) = filter.where_sql().expect("sql");
        assert!(
            sql.starts_with(" WHERE model_id = ? AND created_at <= "),
            "{sql}"
        );
        assert_eq!(args, vec!["m", "2026-01-02 23:59:59.999999", "k", "v"]);
        let bad = RunFilter {
            since: Some("yesterday".into()),
            ..RunFilter::default()
        };
        assert!(bad.where_sql().is_err());
    }
}
