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
//! [`LeaderboardDoc`], [`CompareDoc`] and [`SweepDoc`] (`schema_version` 1).
//!
//! Modules, one job each:
//! - `input`: the input types the caller fills ([`RunSummary`],
//!   [`LeaderboardInput`], [`CompareInput`], ...).
//! - `leaderboard`, `compare`: the documents and template views of each
//!   report; `text`: the comparison as plain text for a terminal; `rank`:
//!   statistical rank groups; `svg`: inline charts; `tags`: per-tag
//!   figures as cells and deltas; `calculator`: the marker and notes for
//!   calculator-assisted runs.
//! - `sweep`: the sweep report (its input is read from a sweep folder by
//!   `crate::report_input::read_sweep_folder`).
//! - `templates`, `env`: the template set and its minijinja environment;
//!   `context`: a run as the templates see it.
//! - `json`: the JSON layout; `num`, `words`: numbers and words as shown.
//! - `format`: the output formats, and how a file name picks one;
//!   `error`: [`ReportError`].

mod calculator;
mod compare;
mod context;
mod env;
mod error;
mod format;
mod input;
mod json;
mod leaderboard;
mod num;
pub mod rank;
mod svg;
pub mod sweep;
mod tags;
mod templates;
mod text;
mod words;

#[cfg(test)]
mod fixtures;

pub use compare::{render_compare, CategoryDelta, CompareDoc, ItemDiffDoc};
pub use error::ReportError;
pub use format::{choose_format, CompareFormat, FileFormat, ReportFormat};
pub use input::{
    CompareInput, ComparisonFigures, ItemDiff, LeaderboardInput, RunScore, RunSummary,
};
pub use leaderboard::{render_leaderboard, FilterDoc, LeaderboardDoc, RankedRunDoc};
pub use sweep::{render_sweep, SweepDoc, SweepInput};
pub use tags::TagDelta;
pub use templates::Templates;
pub use text::render_compare_text;

/// The version of the JSON documents; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
