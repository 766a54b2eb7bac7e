//! One run lifecycle for every kind of job: claim the run folder (fixed
//! path for trials, `name-N` for ad-hoc runs), lock it, decide fresh /
//! resume / refuse by config identity, record status transitions, publish
//! files atomically and hash artifacts once.
//!
//! ```text
//! claim(placement, kind, identity) ─▶ Claim { dir, decision, lock }
//! RunRecord::begin(claim, manifest) ─▶ run_manifest.json: running
//!   log / append_metric / publish / files_written
//! RunRecord::finish(status, failure) ─▶ completed | failed | stopped | interrupted
//! ```

pub mod claim;
pub mod identity;
pub mod record;

pub use claim::{claim, Claim, Decision, Existing, Placement};
pub use record::RunRecord;
