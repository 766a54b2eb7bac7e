//! `tunix-rt baseline set`: lock an evaluated run as the regression gate's
//! baseline (a small YAML file meant to be reviewed and committed).

use crate::cli::BaselineSetArgs;
use tunix_rt::error::Result;
use tunix_rt::regress::evidence::{lock_run, Stamp};
use tunix_rt::regress::lock::save;
use tunix_rt::regress::DEFAULT_LOCK;
use tunix_rt::runfolder::layout::resolve_run_folder;
use tunix_rt::workspace::Workspace;

pub fn set(ws: &Workspace, args: &BaselineSetArgs) -> Result<()> {
    let runs_root = args
        .runs
        .clone()
        .unwrap_or_else(|| ws.root().join("submission_runs"));
    let dir = resolve_run_folder(&runs_root, &args.run)?;
    let stamp = Stamp {
        who: std::env::var("USER")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "unknown".to_string()),
        when: tunix_rt::probe::now_rfc3339(),
    };
    let lock = lock_run(ws, &dir, args.name.as_deref(), stamp)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| ws.root().join(DEFAULT_LOCK));
    save(ws, &lock, &out)?;
    let ci = lock
        .score
        .ci95
        .map(|c| format!(" [{:.1}%, {:.1}%]", c.low * 100.0, c.high * 100.0))
        .unwrap_or_default();
    outln!(
        "locked baseline `{}`: run {} ({}), primary score {:.1}%{ci} on {} items of {}",
        lock.name,
        lock.run_id,
        lock.run_dir,
        lock.score.primary * 100.0,
        lock.score.n_items,
        lock.evalset.path
    )?;
    outln!("wrote {}", ws.display_path(&out).display())?;
    Ok(())
}
