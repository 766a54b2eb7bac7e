//! Report rendering: leaderboards and run comparisons as self-contained HTML,
//! GitHub-flavoured Markdown and stable JSON.
//!
//! The caller (the store and the CLI) fills the input structs; this module
//! only renders. Rendering is a pure function of its input: no clock, no
//! randomness, no I/O besides reading override templates in
//! [`Templates::with_overrides`].
//!
//! HTML and Markdown come from minijinja templates (`templates/*.j2`,
//! embedded in the binary). Every template is autoescaped: `.md.j2` files
//! with Markdown escaping (HTML entities for `< > &`, backslashes for
//! Markdown punctuation, `<br>` for newlines), every other template with
//! HTML escaping. Text from runs is data and is never rendered as a
//! template. JSON is serialized directly from the documented structs
//! [`LeaderboardDoc`] and [`CompareDoc`] (`schema_version` 2) and [`SweepDoc`]
//! and [`CompareRunsDoc`] (`schema_version` 1).
//!
//! Modules, one job each:
//! - `input`: the input types the caller fills ([`RunSummary`],
//!   [`LeaderboardInput`], [`CompareInput`], ...).
//! - `leaderboard`, `compare`: the documents and template views of each
//!   report; `text`: the comparison as plain text for a terminal; `rank`:
//!   statistical rank groups (paired tests with Holm's correction, CI
//!   overlap across eval sets); `svg`: inline charts; `tags`: per-tag
//!   figures as cells and deltas; `calculator`: the marker and notes for
//!   calculator-assisted runs.
//! - `multi`: the comparison of two or more runs ([`render_runs`]): the
//!   paired report with the runs' curves, final metrics and config
//!   differences added, or the N-run report (every pair tested, Holm's
//!   correction); `curves`: metric charts (one run, or runs overlaid);
//!   `hyper`: recorded configs flattened to dotted keys.
//! - `sweep`: the sweep report (its input is read from a sweep folder by
//!   `crate::report_input::read_sweep_folder`).
//! - `site`: the static site's pages (its input is read by `crate::site`).
//! - `templates`, `env`: the template set and its minijinja environment;
//!   `context`: a run as the templates see it.
//! - `json`: the JSON layout; `num`, `words`: numbers and words as shown.
//! - `format`: the output formats, and how a file name picks one;
//!   `error`: [`ReportError`].

mod calculator;
mod compare;
mod context;
mod curves;
mod env;
mod error;
mod format;
mod hyper;
mod input;
mod json;
mod leaderboard;
mod multi;
mod num;
pub mod rank;
pub mod site;
mod svg;
pub mod sweep;
mod tags;
mod templates;
mod text;
mod words;

#[cfg(test)]
pub(crate) mod fixtures;

pub use compare::{render_compare, CategoryDelta, CompareDoc, ItemDiffDoc};
pub use error::ReportError;
pub use format::{choose_format, CompareFormat, FileFormat, ReportFormat};
pub use input::{
    CompareInput, ComparisonFigures, ItemDiff, ItemTable, LeaderboardInput, RunScore, RunSummary,
};
pub use leaderboard::{
    decision_order, render_leaderboard, FilterDoc, LeaderboardDoc, RankDecisionDoc, RankedRunDoc,
};
pub use multi::{
    label as run_label, render_runs, render_runs_text, series_of, CompareRunsDoc, ConfigDiff,
    FinalMetric, FinalValue, KeyDiff, Metrics, MultiInput, MultiRun, PairRunsDoc, RunItem, RunPair,
    RunsComparison, COMPARE_RUNS_SCHEMA_VERSION,
};
pub use sweep::{render_sweep, SweepDoc, SweepInput};
pub use tags::TagDelta;
pub use templates::Templates;
pub use text::render_compare_text;

/// The version of the sweep report's JSON document; bumped on any
/// incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The version of the leaderboard's JSON document: 2 since it ranks on the
/// full-eval-set score and records coverage, status and the tie rule.
pub const LEADERBOARD_SCHEMA_VERSION: u32 = 2;

/// The version of the comparison's JSON document: 2 since differences are
/// in percentage points (`*_pp`) and items are paired over the union.
pub const COMPARE_SCHEMA_VERSION: u32 = 2;
