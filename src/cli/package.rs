//! `tunix-rt package`'s arguments.

use std::path::PathBuf;

use clap::Args;

use super::Format;

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The run to package: its folder (holding run_manifest.json), or its
    /// run id (or a unique prefix of one) under submission_runs/.
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// Folder to write the zip into (created when missing). Default: dist/
    /// at the workspace root.
    #[arg(short = 'o', long = "out-dir", value_name = "OUT_DIR")]
    pub out_dir: Option<PathBuf>,
    /// First part of the zip's name: <prefix>_<run folder>_<short sha>.zip
    /// (letters, digits, `.`, `_`, `-`).
    #[arg(long, value_name = "P", default_value = tunix_rt::package::DEFAULT_PREFIX)]
    pub prefix: String,
    /// Replace a zip of the same name (without it an existing zip is
    /// refused and nothing is written).
    #[arg(long)]
    pub force: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}
