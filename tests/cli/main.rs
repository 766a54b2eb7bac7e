//! CLI tests through the real binary: one test binary, one module per
//! subcommand.

mod support;

mod checkpoint_eval;
mod command_trainer;
mod compare;
mod db;
mod determinism;
mod doctor;
mod eval;
mod evalset;
mod init;
mod package;
mod regress;
mod report;
mod report_sweep;
mod rescore;
mod schema;
mod slurm;
mod sweep;
mod sweep_command;
mod train;
mod trainer_protocol;
mod user_data;
mod validate;
