//! The sweep ledger's format (`sweep.json`: the plan's identity, every
//! trial's state, each rung's decision, the best trial) and the pure rules
//! it records: successive halving's ranking and cut (`halving`) and the
//! tie rules that decide equal metrics (`ties`). The engine's `sweep`
//! module plans and runs sweeps on top of these and re-exports them; the
//! reports and the index read the ledger from here.

pub mod halving;
pub mod ledger;
pub mod ties;
