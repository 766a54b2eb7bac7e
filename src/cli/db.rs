//! `tunix-rt db`: the index commands' arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::Format;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Add new and changed run folders to the index (idempotent).
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Ingest(DbIngestArgs),
    /// Recreate the index from the run folders.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Rebuild(DbIngestArgs),
    /// Run a read-only SQL query against the index.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Query(DbQueryArgs),
    /// Export every table of the index.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Export(DbExportArgs),
}

#[derive(Debug, Args)]
pub struct DbIngestArgs {
    /// Folder of run folders (default: submission_runs/ in the workspace).
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// Wait for another process holding the index (the default, up to
    /// TUNIX_RT_INDEX_WAIT_S seconds, 120 unless set); kept for scripts.
    #[arg(long, conflicts_with = "no_wait")]
    pub wait: bool,
    /// Fail at once when another process holds the index.
    #[arg(long)]
    pub no_wait: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Output format of `db query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum QueryFormat {
    /// An aligned text table.
    #[default]
    Table,
    /// A JSON array of objects.
    Json,
    /// CSV with a header row.
    Csv,
}

#[derive(Debug, Args)]
pub struct DbQueryArgs {
    /// The SQL query (read-only).
    #[arg(value_name = "SQL")]
    pub sql: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: QueryFormat,
}

#[derive(Debug, Args)]
pub struct DbExportArgs {
    /// Folder to write <table>.parquet files into.
    #[arg(long, value_name = "DIR")]
    pub parquet: PathBuf,
}
