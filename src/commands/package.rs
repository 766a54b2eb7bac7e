//! `tunix-rt package`: a run folder's evidence as one reproducible zip.

use std::path::{Path, PathBuf};

use crate::cli::{Format, PackageArgs};
use tunix_rt::error::Result;
use tunix_rt::package::{package, PackageOptions};
use tunix_rt::runfolder::layout::resolve_run_folder;
use tunix_rt::runfolder::RunStatus;
use tunix_rt::workspace::Workspace;

/// Default output folder, at the workspace root.
const DIST: &str = "dist";

pub fn run(ws: &Workspace, args: &PackageArgs) -> Result<()> {
    let options = PackageOptions {
        out_dir: args.out_dir.clone().unwrap_or_else(|| ws.root().join(DIST)),
        prefix: args.prefix.clone(),
        force: args.force,
    };
    let outcome = package(&run_folder(ws, &args.run_dir)?, &options)?;
    if args.format == Format::Json {
        return super::print_json(&outcome);
    }
    if outcome.status != RunStatus::Completed {
        outln!(
            "note     the run's status is `{}`: its evidence may be incomplete",
            outcome.status.as_str()
        )?;
    }
    if outcome.git_dirty {
        outln!(
            "note     the run was made from commit {} with uncommitted changes",
            outcome.short_sha
        )?;
    }
    let verb = if outcome.replaced {
        "replaced"
    } else {
        "package"
    };
    outln!("{verb:<8} {}", ws.display_path(&outcome.path).display())?;
    outln!("blake3   {}", outcome.blake3)?;
    outln!(
        "files    {} ({} bytes) + MANIFEST.json",
        outcome.files,
        outcome.total_bytes
    )?;
    outln!("zip      {} bytes", outcome.zip_bytes)?;
    Ok(())
}

/// The run `--run-dir` names: a path that exists, as given (the package
/// checks it is a real run folder), else a run id or a unique prefix of one
/// under submission_runs/, as every other command that names a run.
fn run_folder(ws: &Workspace, arg: &Path) -> Result<PathBuf> {
    if std::fs::symlink_metadata(arg).is_ok() {
        return Ok(arg.to_path_buf());
    }
    resolve_run_folder(&ws.root().join("submission_runs"), &arg.to_string_lossy())
}
