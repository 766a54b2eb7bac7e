//! `tunix-rt worker RUN_DIR`: run the job prepared in a run folder, in
//! that folder, and never open the index (the coordinating process ingests).

use crate::cli::{CommandTrainerArgs, WorkerArgs};
use tunix_rt::error::{Error, Result};
use tunix_rt::job::{Existing, Placement};
use tunix_rt::runner::{train::read_job, Job};
use tunix_rt::workspace::Workspace;

pub fn run(ws: &Workspace, args: &WorkerArgs) -> Result<()> {
    let mut job = read_job(&args.run_dir)?;
    let dir = std::path::absolute(&args.run_dir)
        .map_err(|e| Error::io("resolve the run folder", &args.run_dir, e))?;
    job.placement = Placement::Fixed {
        dir,
        existing: Existing::Resume,
    };
    if args.until_step.is_some() {
        job.until_step = args.until_step;
    }
    let outcome = super::run::execute(ws, &Job::Train(Box::new(job)))?;
    super::run::report(ws, &outcome, args.format)
}

/// `tunix-rt command-trainer --request FILE`: run the request's `command`
/// and speak the trainer protocol on stdout. The process holds on to
/// everything the command starts (see `trainer::command::tree`).
pub fn command_trainer(args: &CommandTrainerArgs) -> Result<()> {
    tunix_rt::trainer::command::tree::adopt();
    let bytes = std::fs::read(&args.request).map_err(|e| Error::io("read", &args.request, e))?;
    let request: tunix_rt::trainer::TrainerRequest =
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::bad_input(format!("not a trainer request: {e}")).with_path(&args.request)
        })?;
    let settings = tunix_rt::trainer::command::pace::Settings::from_env();
    let mut out = std::io::stdout().lock();
    tunix_rt::trainer::command::shim::serve(&request, &args.request, &settings, &mut out)
}
