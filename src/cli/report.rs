//! `tunix-rt report`: the report commands' arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::PairedArgs;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// One self-contained HTML file.
    Html,
    /// GitHub-flavoured Markdown (fits a pull-request comment).
    Md,
    /// Stable JSON for machines.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Runs ranked by primary score, with statistical ties shown.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Leaderboard(LeaderboardArgs),
    /// Is run B better than run A? Paired comparison of two runs, or of
    /// three or more (every pair tested, with Holm's correction), with
    /// their training curves, final metrics and config differences.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Compare(CompareArgs),
    /// One sweep: its trials (state, parameters, metric, stop rung,
    /// failure), each parameter against the metric, the learning curves
    /// with the scheduler's stops, the failures, the best trial and how
    /// many trials are statistically tied with it. Read from the sweep
    /// folder (no index needed).
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Sweep(SweepReportArgs),
    /// A static site of the runs the leaderboard lists: index.html (the
    /// runs in leaderboard order), a page per run (config,
    /// hyperparameters, metric curves, per-tag and per-item results with
    /// prompts and raw outputs), the leaderboard, each run's comparison
    /// with the leader of its eval set and each sweep's report. Links are
    /// relative: open it from disk or serve it from any static host.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Site(SiteArgs),
}

#[derive(Debug, Args)]
pub struct ReportOutput {
    /// Output format. Default: from the extension of -o FILE (.html/.htm,
    /// .md/.markdown, .json), else md; a --format the extension
    /// contradicts is refused.
    #[arg(long, value_enum)]
    pub format: Option<ReportFormatArg>,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Templates folder overriding the built-in templates/.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LeaderboardArgs {
    #[command(flatten)]
    pub out: ReportOutput,
    #[command(flatten)]
    pub select: RunSelection,
    /// List the best N matching runs, or `all` [default: 100 for HTML and
    /// Markdown, all for JSON] (ranks and ties are always computed over
    /// every matching run; the report says "showing N of M").
    #[arg(long, value_name = "N|all")]
    pub limit: Option<tunix_rt::store::filter::RunLimit>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The runs to compare, two or more: run ids or unique prefixes of
    /// one. With two, the first is the baseline (A) and the second the
    /// candidate (B); runs are labelled A, B, C, ... in the order given.
    #[arg(value_name = "RUN", num_args = 2.., required = true)]
    pub runs: Vec<String>,
    #[command(flatten)]
    pub out: ReportOutput,
    #[command(flatten)]
    pub paired: PairedArgs,
}

#[derive(Debug, Args)]
pub struct SweepReportArgs {
    /// The sweep: its name (the folder under --runs holding sweep.json), or
    /// the path of its folder.
    #[arg(value_name = "SWEEP")]
    pub sweep: String,
    /// Folder of run folders that sweep names are looked up in (default:
    /// submission_runs/ in the workspace).
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// Significance level of the tie test: a trial is tied with the best
    /// when the (1 − alpha) CI of their paired difference includes 0.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    #[command(flatten)]
    pub out: ReportOutput,
}

#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Folder to write the site into. It is replaced as a whole when it
    /// holds an earlier site; any other non-empty folder is refused.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Folder of run and sweep folders: where run folders the index
    /// recorded elsewhere are looked up, and whose sweeps get pages
    /// (default: submission_runs/ in the workspace).
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// Templates folder overriding the built-in templates/.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    #[command(flatten)]
    pub select: RunSelection,
}

/// Which runs a leaderboard or a site is about (the same flags for both).
#[derive(Debug, Args)]
pub struct RunSelection {
    /// Only runs on this data set.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Only runs of this model id.
    #[arg(long)]
    pub model: Option<String>,
    /// Only runs with this name or config-hash prefix.
    #[arg(long)]
    pub config: Option<String>,
    /// Only runs created at or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Only runs created at or before this date (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// Only runs with this label (KEY=VALUE; repeat for several).
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Only trials of this sweep (a site then has only its sweep page).
    #[arg(long)]
    pub sweep: Option<String>,
    /// Rank runs scored under different scoring-rules versions side by
    /// side (the report then says so); without it such a report is
    /// refused.
    #[arg(long)]
    pub allow_mixed_rules: bool,
    /// List every matching run, also runs that are not evaluated or not
    /// finished (failed, running, interrupted); by default only evaluated
    /// runs whose status is completed or stopped. Runs without a score
    /// are listed, never ranked.
    #[arg(long)]
    pub all: bool,
}
