//! One function per subcommand: call the library, print the result, return
//! an error whose kind decides the exit code. Stdout is written only
//! through [`output`] (`outln!`, `out!`): a closed pipe is a normal end.

#[macro_use]
mod output;

mod baseline;
mod compare;
mod data;
mod db;
mod determinism;
mod doctor;
mod eval;
mod evalset;
mod export;
mod package;
mod plan;
mod progress;
mod regress;
mod report;
mod rescore;
mod run;
mod schema;
mod sweep;
mod sweep_export;
mod sweep_follow;
mod sweep_progress;
mod sweep_summary;
mod validate;
mod worker;

use clap::CommandFactory;

use crate::cli::{
    BaselineCommand, Cli, Command, DbCommand, EvalsetCommand, ReportCommand, SchemaCommand,
};
use tunix_rt::error::{Error, Result};
use tunix_rt::workspace::Workspace;

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let ws = Workspace::discover(cli.workspace.as_deref())?;
    let db = cli
        .db
        .clone()
        .unwrap_or_else(|| ws.root().join(tunix_rt::store::DEFAULT_DB));
    match cli.command {
        Command::Validate(args) => validate::run(&ws, &args),
        Command::Run(args) => run::run(&ws, &db, &args),
        Command::Worker(args) => worker::run(&ws, &args),
        Command::Sweep(crate::cli::SweepCommand::Status(args)) => sweep_follow::status(&ws, &args),
        Command::Sweep(crate::cli::SweepCommand::Attach(args)) => {
            sweep_follow::attach(&ws, &db, &args)
        }
        Command::Sweep(crate::cli::SweepCommand::Export(args)) => sweep_export::run(&ws, &args),
        Command::TrainerShim(args) => worker::command_trainer(&args),
        Command::Eval(args) => eval::run(&ws, &db, &args),
        Command::Compare(args) => compare::run(&ws, &args),
        Command::Rescore(args) => rescore::run(&ws, &db, &args),
        Command::Baseline(BaselineCommand::Set(args)) => baseline::set(&ws, &args),
        Command::Regress(args) => regress::run(&ws, &args),
        Command::Determinism(args) => determinism::run(&ws, &args),
        Command::Package(args) => package::run(&ws, &args),
        Command::Export(args) => export::run(&ws, &args),
        Command::Db(DbCommand::Ingest(args)) => db::ingest_cmd(&ws, &db, &args, false),
        Command::Db(DbCommand::Rebuild(args)) => db::ingest_cmd(&ws, &db, &args, true),
        Command::Db(DbCommand::Query(args)) => db::query_cmd(&db, &args),
        Command::Db(DbCommand::Export(args)) => db::export_cmd(&ws, &db, &args),
        Command::Report(ReportCommand::Leaderboard(args)) => report::leaderboard(&ws, &db, &args),
        Command::Report(ReportCommand::Compare(args)) => compare::from_index(&ws, &db, &args),
        Command::Report(ReportCommand::Sweep(args)) => report::sweep(&ws, &args),
        Command::Report(ReportCommand::Site(args)) => report::site(&ws, &db, &args),
        Command::Evalset(EvalsetCommand::Validate(args)) => evalset::validate(&ws, &args),
        Command::Schema(SchemaCommand::Export(args)) => schema::export(&ws, &args),
        Command::Data(args) => data::run(&ws, &args),
        Command::Doctor(args) => doctor::run(&ws, &args),
        Command::Completions(args) => {
            let mut cmd = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "tunix-rt", &mut script);
            output::write_all(&script)
        }
    }
}

/// Print `value` as pretty JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::runtime("cannot serialize the output").with_source(e))?;
    outln!("{text}")?;
    Ok(())
}
