//! CLI tests through the real binary: one test binary, one module per
//! subcommand.

mod support;

mod doctor;
mod eval;
mod evalset;
mod schema;
mod validate;
