//! CLI tests through the real binary: one test binary, one module per
//! subcommand.

mod support;

mod checkpoint_eval;
mod closed_stdout;
mod command_trainer;
mod compare;
mod compare_many;
mod coverage;
mod dataset_size;
mod db;
mod determinism;
mod doctor;
mod eval;
mod evalset;
mod init;
mod interrupt;
mod package;
mod readme_trainer;
mod regress;
mod report;
mod report_sweep;
mod rescore;
mod schema;
mod site;
mod slurm;
mod sweep;
mod sweep_command;
mod sweep_export;
mod sweep_metrics;
mod sweep_params;
mod sweep_search;
mod train;
mod trainer_protocol;
mod user_data;
mod validate;
