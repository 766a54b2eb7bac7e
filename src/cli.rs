//! Command-line interface: the clap types, one Args struct per subcommand.
//! No logic lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod db;
mod export;
mod package;
mod report;
pub use db::{DbCommand, DbExportArgs, DbIngestArgs, DbQueryArgs, QueryFormat};
pub use export::ExportArgs;
pub use package::PackageArgs;
pub use report::{
    CompareArgs, LeaderboardArgs, ReportCommand, ReportFormatArg, ReportOutput, RunSelection,
    SiteArgs, SweepReportArgs,
};

/// tunix-rt: train, sweep and evaluate small language models from YAML
/// manifests, and record the evidence.
#[derive(Debug, Parser)]
#[command(name = "tunix-rt", version, after_help = tunix_rt::exit_code::help_footer(), propagate_version = true)]
pub struct Cli {
    /// Workspace root (default: the nearest ancestor of the current folder
    /// holding manifests/, submission_runs/, tunix.duckdb or .git).
    #[arg(long, global = true, value_name = "DIR", env = "TUNIX_WORKSPACE")]
    pub workspace: Option<PathBuf>,

    /// The DuckDB index (default: tunix.duckdb at the workspace root).
    #[arg(long, global = true, value_name = "PATH", env = "TUNIX_DB")]
    pub db: Option<PathBuf>,

    /// More log output (repeat for more); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests (files, or folders of *.yaml) against their schemas
    /// and rules; report every problem with file, line, column and key path.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Validate(ValidateArgs),
    /// Run a manifest: validate it, execute the job, write its run folder.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Run(RunArgs),
    /// Run the job prepared in a run folder (by `run`), in that folder:
    /// resume it from its newest checkpoint and train until a step. Never
    /// opens the index. A prepared job runs this way in another process or
    /// on another machine (e.g. a Slurm array element).
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Worker(WorkerArgs),
    /// Follow sweeps: their status, attaching to one whose jobs run on
    /// Slurm without a coordinator, and exporting one for Optuna.
    #[command(subcommand)]
    Sweep(SweepCommand),
    /// The shim that runs a Train spec's own `command` through the trainer
    /// protocol (started by `run`; not for direct use).
    #[command(name = "command-trainer", hide = true)]
    TrainerShim(CommandTrainerArgs),
    /// Score predictions from any model (`{"id", "output"}` per line) on an
    /// eval set and write a run folder.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Eval(EvalArgs),
    /// Is run B better than run A? Paired comparison of two run folders,
    /// or of three or more (every pair tested, with Holm's correction),
    /// with their training curves, final metrics and config differences;
    /// runs without eval results are compared on those alone. Read
    /// directly (no index needed, e.g. in CI); writes nothing unless -o is
    /// given.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Compare(RunCompareArgs),
    /// Re-score the stored raw outputs of evaluated runs under the current
    /// scoring rules (or a rules file's settings), each into a NEW Eval run
    /// folder that names its source (the source is never edited); list
    /// every item whose correctness flipped.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Rescore(RescoreArgs),
    /// Lock a run as the regression gate's baseline.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// The regression gate: compare a candidate run with the locked
    /// baseline; exit 1 only when the whole CI of candidate − baseline
    /// lies below −threshold. Writes nothing.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Regress(RegressArgs),
    /// Run a manifest's job twice in a temporary folder and compare the
    /// runs (scores, per-item correctness, raw outputs; for Train jobs
    /// with --train also the final weights and the metrics), or re-score
    /// a recorded run's stored outputs twice; exit 1 when they differ.
    /// Writes nothing in the workspace.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Determinism(DeterminismArgs),
    /// Package a run folder's evidence into a reproducible zip,
    /// <prefix>_<run folder>_<short sha>.zip: every file but checkpoints and
    /// hidden entries, under <run folder>/, with MANIFEST.json (path, blake3,
    /// size of each). Refuses symbolic links; the same files give the same
    /// bytes.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Package(PackageArgs),
    /// Export a run that fine-tuned a pretrained model (`model: { hf }`)
    /// as a Hugging Face model folder: its checkpoint merged into the base
    /// weights, with the base's config and tokenizer. Writes only the new
    /// folder, complete or not at all.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Export(ExportArgs),
    /// Work with the DuckDB index over the run folders.
    #[command(subcommand)]
    Db(DbCommand),
    /// Render leaderboard, compare and sweep reports (HTML, Markdown, JSON).
    #[command(subcommand)]
    Report(ReportCommand),
    /// Work with eval sets (versioned JSONL files).
    #[command(subcommand)]
    Evalset(EvalsetCommand),
    /// Generate a Train manifest's data set: statistics, a JSONL dump, and
    /// the decontamination report against every eval set.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Data(DataArgs),
    /// Generate the JSON Schemas in schemas/ from the Rust types.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Show the tool, libtorch, CUDA and DuckDB versions and the workspace.
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// Output format for commands a machine may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or folders (folders are searched for *.yaml and *.yml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manifest to run.
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Train jobs: stop after this step (the run is then `stopped`; running
    /// the manifest again continues it). Default: training.max_steps.
    #[arg(long, value_name = "STEP")]
    pub until_step: Option<u32>,
    /// Sweep manifests: print the expanded trial plan (trial ids, every
    /// searched parameter, the overrides, ASHA's rungs) and run and write
    /// nothing.
    #[arg(long, conflicts_with = "until_step")]
    pub plan: bool,
    /// Sweep manifests: run a plan of more trials than the safety cap
    /// (256); without it such a sweep is refused before anything runs.
    #[arg(long)]
    pub yes: bool,
    /// Do not record the run (or the sweep's trials) in the index; the
    /// run folders are the record, `tunix-rt db ingest` indexes them later.
    #[arg(long)]
    pub no_index: bool,
    /// `executor: slurm`: submit the jobs and return without waiting;
    /// follow them later with `tunix-rt sweep status|attach <SWEEP>` (a
    /// Train run: `tunix-rt run` the same manifest again once it ended).
    #[arg(long, conflicts_with = "plan")]
    pub detach: bool,
    /// Sweep manifests: also promote into files git tracks (committed
    /// evidence: `promote.config`, `promote.params`, the evidence folder);
    /// without it the sweep runs but leaves them as they are.
    #[arg(long)]
    pub update_evidence: bool,
    /// Output format of the final summary (or of the plan).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// A sweep's trials and, on Slurm, the state of each of its jobs'
    /// tasks (read from the sweep folder and `scontrol`; writes nothing).
    Status(SweepStatusArgs),
    /// Follow a sweep started with `run --detach`, or whose coordinator
    /// died: attach to its Slurm jobs, decide its rungs, submit the rest,
    /// then index and promote as `run` does.
    Attach(SweepAttachArgs),
    /// Write a sweep's trials as an Optuna journal file, which
    /// `optuna.load_study` and optuna-dashboard open (reads the sweep
    /// folder; writes only FILE).
    Export(SweepExportArgs),
}

#[derive(Debug, Args)]
pub struct SweepStatusArgs {
    /// The sweep: its name (a folder under submission_runs/) or folder.
    #[arg(value_name = "SWEEP")]
    pub sweep: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SweepExportArgs {
    /// The sweep: its name (a folder under submission_runs/) or folder.
    #[arg(value_name = "SWEEP")]
    pub sweep: String,
    /// The file to write: an Optuna journal (`JournalStorage` with
    /// `JournalFileBackend`), study name = the sweep's name.
    #[arg(long, value_name = "FILE", required = true)]
    pub optuna_journal: PathBuf,
    /// Replace FILE when it exists (a journal is otherwise never
    /// overwritten: Optuna appends to it).
    #[arg(long)]
    pub force: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SweepAttachArgs {
    /// The sweep: its name (a folder under submission_runs/) or folder.
    #[arg(value_name = "SWEEP")]
    pub sweep: PathBuf,
    /// Do not record the trials in the index.
    #[arg(long)]
    pub no_index: bool,
    /// Output format of the final summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// A run folder prepared by `tunix-rt run` (it holds .job/spec.json).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Stop after this step (default: the job's own, else max_steps).
    #[arg(long, value_name = "STEP")]
    pub until_step: Option<u32>,
    /// Output format of the final summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CommandTrainerArgs {
    /// The trainer request (written by the coordinator).
    #[arg(long, value_name = "FILE")]
    pub request: PathBuf,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("model").required(true).args(["predictions", "checkpoint", "hf"])))]
pub struct EvalArgs {
    /// The eval set (JSONL).
    #[arg(long, value_name = "FILE")]
    pub evalset: PathBuf,
    /// The predictions (JSONL, one `{"id": ..., "output": ...}` per line).
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
    /// A checkpoint of a Train run to decode the eval set with: the run's
    /// folder, id or unique id prefix, and optionally `@STEP` (default:
    /// its newest checkpoint). Uses the run's own decoding and scoring
    /// settings.
    #[arg(long, value_name = "RUN[@STEP]")]
    pub checkpoint: Option<String>,
    /// A Hugging Face model folder (saved by transformers'
    /// `save_pretrained`) to decode the eval set with, zero-shot: its chat
    /// template frames each prompt when it has one; the default decoding
    /// and scoring settings.
    #[arg(long, value_name = "DIR")]
    pub hf: Option<PathBuf>,
    /// Run folder to create (must not exist). Default:
    /// submission_runs/<name> (with -2, -3, ... when taken).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run name. Default: eval-<predictions file stem>,
    /// eval-<run>-step-<N> for a checkpoint, or eval-<folder> for --hf.
    #[arg(long)]
    pub name: Option<String>,
    /// Output format of the final summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Output formats of `tunix-rt compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormatArg {
    /// Plain text: the verdict, the difference with its CI, the test and
    /// p-value, the minimum detectable difference, the flipped items, the
    /// config keys that differ; for three or more runs each run's score
    /// and coverage and one verdict line per pair.
    Text,
    /// Stable JSON for machines (as `report compare --format json`).
    Json,
    /// GitHub-flavoured Markdown (fits a pull-request comment).
    Md,
    /// One self-contained HTML file.
    Html,
}

/// The settings of a paired comparison.
#[derive(Debug, Args)]
pub struct PairedArgs {
    /// Significance level of the paired test (with three or more runs,
    /// of Holm's correction across the pairs).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Smallest difference (B − A, on the 0–1 scale) that counts as a change.
    #[arg(long, default_value_t = 0.0)]
    pub min_effect: f64,
    /// Compare runs scored on different eval-set versions anyway (on
    /// their shared item ids); without it two such runs are refused, and
    /// such pairs among three or more runs are not tested.
    #[arg(long)]
    pub allow_different_evalsets: bool,
}

#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// The runs to re-score: run folders, or run ids (or unique prefixes
    /// of one) under --runs.
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<String>,
    /// `current` (the runs' own extraction and equivalence settings under
    /// this tool's scoring rules), or a YAML file with `answer_extraction`
    /// and/or `equivalence` (as in an Eval manifest's spec; a key left out
    /// keeps the run's own setting).
    #[arg(long, value_name = "FILE|current", default_value = "current")]
    pub rules: String,
    /// Print what would change and write nothing (no run folder, no index).
    #[arg(long)]
    pub dry_run: bool,
    /// Folder of run folders that run ids are looked up in (default:
    /// submission_runs/ in the workspace).
    #[arg(long = "runs", value_name = "DIR")]
    pub runs_root: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RunCompareArgs {
    /// The runs to compare, two or more: run folders, or run ids (or
    /// unique prefixes of one) under --runs. With two, the first is the
    /// baseline (A) and the second the candidate (B); runs are labelled A,
    /// B, C, ... in the order given.
    #[arg(value_name = "RUN", num_args = 2.., required = true)]
    pub run_args: Vec<String>,
    /// Folder of run folders that run ids are looked up in (default:
    /// submission_runs/ in the workspace).
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// Output format. Default: from the extension of -o FILE (.txt, .json,
    /// .md, .html), else text; a --format the extension contradicts is
    /// refused.
    #[arg(long, value_enum)]
    pub format: Option<CompareFormatArg>,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Templates folder overriding the built-in templates/ (md and html).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    #[command(flatten)]
    pub paired: PairedArgs,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Write the baseline lock (default configs/baseline.lock.yaml) for an
    /// evaluated run: run id and folder, eval set and blake3, primary
    /// score with CI, per-item correctness hash, scoring rules, who/when.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Set(BaselineSetArgs),
}

#[derive(Debug, Args)]
pub struct BaselineSetArgs {
    /// The baseline run: a run folder, or a run id (or a unique prefix of
    /// one) under --runs.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Name recorded in the lock. Default: the run id.
    #[arg(long)]
    pub name: Option<String>,
    /// Lock file to write. Default: configs/baseline.lock.yaml in the
    /// workspace.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Folder of run folders that run ids are looked up in (default:
    /// submission_runs/ in the workspace).
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
}

/// Output formats of `tunix-rt regress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum RegressFormat {
    /// Plain text for a terminal or CI log.
    #[default]
    Text,
    /// GitHub-flavoured Markdown, made to be posted as a pull-request
    /// comment.
    Md,
    /// One stable JSON document (schema_version 1).
    Json,
}

#[derive(Debug, Args)]
pub struct RegressArgs {
    /// The candidate run: a run folder, or a run id (or a unique prefix of
    /// one) under --runs.
    #[arg(long, value_name = "RUN")]
    pub candidate: String,
    /// The baseline lock. Default: configs/baseline.lock.yaml in the
    /// workspace.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Smallest change (on the 0–1 scale: 0.02 = 2 pp) the whole CI must
    /// clear: regressed when its upper bound is below −threshold, improved
    /// when its lower bound is above +threshold.
    #[arg(long, default_value_t = 0.02)]
    pub threshold: f64,
    /// Largest difference in coverage (scored items / eval-set items, on
    /// the 0–1 scale) between candidate and baseline the gate accepts;
    /// beyond it the gate refuses (exit 2). Default 0: a candidate that
    /// left out items the baseline scored (or the reverse) is refused.
    /// Within it, an item without a valid value counts as wrong.
    #[arg(long, default_value_t = 0.0, value_name = "GAP")]
    pub max_coverage_gap: f64,
    /// The difference's CI is at level 1 − alpha.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Print the same result but always exit 0 (refusals still exit 2).
    #[arg(long)]
    pub informational: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: RegressFormat,
    /// Folder of run folders that run ids are looked up in (default:
    /// submission_runs/ in the workspace).
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum EvalsetCommand {
    /// Validate an eval set line by line and print its statistics.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Validate(EvalsetValidateArgs),
}

#[derive(Debug, Args)]
pub struct EvalsetValidateArgs {
    /// The eval-set JSONL file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Write schemas/<name>.schema.json for every manifest kind and file format.
    #[command(after_help = tunix_rt::exit_code::help_footer())]
    Export(SchemaExportArgs),
}

#[derive(Debug, Args)]
pub struct SchemaExportArgs {
    /// Folder to write to (default: schemas/ in the workspace).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Write nothing; exit 1 and name the files that differ from the types.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct DeterminismArgs {
    /// An Eval manifest (scoring a predictions file or decoding a
    /// checkpoint), a Train manifest (with --train), or an evaluated run
    /// (its folder, id or unique id prefix): a built-in Train run's newest
    /// checkpoint decodes the run's eval set twice; a run without a
    /// checkpoint (an Eval run of a predictions file, a command trainer's
    /// run) has its stored outputs re-scored twice and compared with the
    /// scores it recorded.
    #[arg(value_name = "MANIFEST|RUN")]
    pub manifest: PathBuf,
    /// Allow a Train manifest: train the model twice, each time in a fresh
    /// trainer process (can take long). On the CPU the final weights must
    /// be bit-identical; on CUDA differences are reported, not failed.
    #[arg(long)]
    pub train: bool,
    /// Copy both run folders into this new folder (`a/`, `b/`) for
    /// inspection; it must not exist yet.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Output format (JSON: one document, schema_version 1).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// A Train manifest.
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Check the generated data against every eval set in evalsets/ (and the
    /// manifest's own): list what was dropped, fail if any overlap remains.
    #[arg(long)]
    pub check_overlap: bool,
    /// Write both splits as JSONL (`split`, `prompt`, `completion`,
    /// `answer`, `steps` per line) to this new file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_and_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(arg.get_help().is_some(), "{path} --{id} has no help");
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() == "help" {
                    continue;
                }
                assert!(
                    sub.get_about().is_some(),
                    "{path} {} has no help",
                    sub.get_name()
                );
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), "tunix-rt");
    }
}
