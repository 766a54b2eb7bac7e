//! `tunix-rt package`: a run folder's evidence as one reproducible zip.

use crate::cli::{Format, PackageArgs};
use crate::error::Result;
use crate::package::{package, PackageOptions};
use crate::runfolder::RunStatus;
use crate::workspace::Workspace;

/// Default output folder, at the workspace root.
const DIST: &str = "dist";

pub fn run(ws: &Workspace, args: &PackageArgs) -> Result<()> {
    let options = PackageOptions {
        out_dir: args.out_dir.clone().unwrap_or_else(|| ws.root().join(DIST)),
        prefix: args.prefix.clone(),
        force: args.force,
    };
    let outcome = package(&args.run_dir, &options)?;
    if args.format == Format::Json {
        return super::print_json(&outcome);
    }
    if outcome.status != RunStatus::Completed {
        println!(
            "note     the run's status is `{}`: its evidence may be incomplete",
            outcome.status.as_str()
        );
    }
    if outcome.git_dirty {
        println!(
            "note     the run was made from commit {} with uncommitted changes",
            outcome.short_sha
        );
    }
    let verb = if outcome.replaced {
        "replaced"
    } else {
        "package"
    };
    println!("{verb:<8} {}", ws.display_path(&outcome.path).display());
    println!("blake3   {}", outcome.blake3);
    println!(
        "files    {} ({} bytes) + MANIFEST.json",
        outcome.files, outcome.total_bytes
    );
    println!("zip      {} bytes", outcome.zip_bytes);
    Ok(())
}
