//! The regression gate: lock a run as the baseline, then compare candidate
//! runs against it in CI.
//!
//! - [`rules`]: the scoring rules a run was scored under, and the
//!   per-item correctness hash (pure).
//! - [`lock`]: the baseline lock file (`configs/baseline.lock.yaml`): its
//!   type, schema, loading with located diagnostics, YAML output.
//! - [`gate`]: the verdict rule and the paired comparison behind it (pure).
//! - [`evidence`]: reading run folders, locking one, refusing a changed
//!   baseline or an incomparable candidate.
//! - [`report`]: the result as one document, rendered as text or Markdown.

pub mod evidence;
pub mod gate;
pub mod lock;
pub mod report;
pub use tunix_core::formats::scoring_rules as rules;

pub use gate::{gate_verdict, GateOutcome, GateSettings};
pub use lock::{BaselineLock, DEFAULT_LOCK};
pub use report::RegressReport;
pub use rules::{correctness_hash, ScoringRules};
