//! Pure scoring and statistics over eval rows.
//!
//! Nothing in this module touches files, the clock, the database or torch:
//! every function is a deterministic function of its arguments, and results
//! never depend on the order of the input rows.
//!
//! One model output, from raw text to correctness:
//! - [`answer_config`]: the extraction and equivalence settings.
//! - [`number`]: the number grammar, exact decimals, number tokens in text.
//! - [`normalize`](mod@normalize): normalization and equivalence of one answer.
//! - [`extract`]: answer extraction, answer correctness, trace consistency.
//!
//! Rows of a run, and two runs compared:
//! - [`rows`]: the item row, its value and the helpers aggregates share.
//! - [`intervals`]: normal quantile, Wilson and bootstrap intervals.
//! - [`group`]: mean, stddev and 95% CI of one group of rows (a run, a
//!   category, a tag).
//! - [`tags`]: the per-tag figures (an item counts toward each of its tags).
//! - [`coverage`]: the full-eval-set score (a missing item counted as
//!   wrong) and coverage, what decisions use.
//! - [`score`]: the primary score and the scorecard.
//! - [`paired`]: McNemar, Newcombe, the paired bootstrap, the detectable
//!   difference.
//! - [`compare`](mod@compare): pairing by id and the "is B better than A?"
//!   verdict.
//! - [`holm`]: Holm's correction for multiple comparisons.
//!
//! The rules' version:
//! - [`rules_version`]: [`SCORING_RULES_VERSION`], pinned by a hash of test
//!   vectors run through everything above.
//!
//! Bootstraps draw from `crate::rng`, the seeded generator shared with
//! training. Each module uses only modules listed above it, `crate::rng` and the error
//! type ([`ScoringError`]); none uses this file, which only declares and
//! re-exports.

pub mod answer_config;
pub mod compare;
pub mod coverage;
mod error;
pub mod extract;
pub mod group;
pub mod holm;
pub mod intervals;
pub mod normalize;
pub mod number;
pub mod paired;
pub mod rows;
pub mod rules_version;
pub mod score;
#[cfg(test)]
mod stats_reference;
pub mod tags;

pub use answer_config::{AnswerExtraction, Equivalence, ExtractRule};
pub use compare::{
    compare, compare_with, paired_test, CompareConfig, PairedComparison, PairedTest, Pairing,
    Verdict,
};
pub use coverage::{full_set_from_summary, full_set_of_values, full_set_score, FullSetScore};
pub use error::ScoringError;
pub use extract::{answer_correctness, extract_answer, trace_consistency, Extracted};
pub use group::{CategoryStats, CiMethod, ConfidenceInterval, DEFAULT_BOOTSTRAP_RESAMPLES};
pub use holm::holm_adjust;
pub use intervals::DEFAULT_BOOTSTRAP_SEED;
pub use normalize::{answers_match, normalize, Normalized};
pub use rows::ItemRow;
pub use rules_version::{scoring_rules_hash, RULES_HISTORY, SCORING_RULES_VERSION};
pub use score::{build_scorecard, primary_score, PrimaryScore, Scorecard};
pub use tags::TagStats;
