//! The determinism check: run one job twice and compare what the two runs
//! produced.
//!
//! ```text
//! run::plan_check(manifest) ─▶ Job (Train only with --train)
//! run::run_twice(job) ─▶ two run folders in a fresh temp dir (never the
//!                        workspace, never the index), each run its own
//!                        trainer process for Train jobs
//! contents::read(run folder) ─▶ RunContents (summary, items, final
//!                               weights' hash, metrics without throughput)
//! compare::compare(a, b, weight diff) ─▶ DeterminismReport (checks, verdict)
//! render::text(report) ─▶ what the binary prints (JSON: the report itself)
//! rescored::rescore_twice(run folder) ─▶ DeterminismReport of a recorded
//!                        run without a checkpoint: its stored outputs
//!                        re-scored twice, against each other and the record
//! ```
//!
//! On the CPU every check must match bit for bit. Training on CUDA is not
//! bit-exact: cuBLAS and cuDNN pick kernels that accumulate with atomic
//! adds (split-K GEMMs, the backward passes of embeddings and attention),
//! so the order of floating-point sums, and with it the last bits of every
//! update, changes from run to run. For a run recorded on `cuda:*` the
//! check reports the weight and score differences and does not fail.

pub mod compare;
pub mod contents;
pub mod render;
pub mod rescored;
pub mod run;
pub mod weights;

pub use compare::{compare, Check, DeterminismReport, DifferingItem, Method, Tolerance, Verdict};
pub use rescored::rescore_twice;
pub use run::{plan_check, run_twice};
