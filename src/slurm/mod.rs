//! Slurm: the job scripts tunix-rt submits ([`script`], quoted by
//! [`quote`]), the client commands it runs ([`control`]), what job states
//! mean ([`state`]) and Ctrl-C while it waits ([`interrupt`]). The
//! coordinators that use them are in [`crate::runner`].

pub mod control;
pub mod interrupt;
pub use tunix_core::shell as quote;
pub mod script;
pub mod state;
