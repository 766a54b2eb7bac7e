//! `tunix-rt report leaderboard`: the leaderboard from the index (`report
//! compare` is in `super::compare`);
//! `tunix-rt report sweep`: a sweep's report from its folder;
//! `tunix-rt report site`: the static site of the index's runs.

use std::path::Path;

use crate::cli::{
    LeaderboardArgs, PairedArgs, ReportFormatArg, ReportOutput, RunSelection, SiteArgs,
    SweepReportArgs,
};
use tunix_rt::error::{Error, Result};
use tunix_rt::fsutil::write_atomic;
use tunix_rt::report::site::render_site;
use tunix_rt::report::{choose_format, render_leaderboard, render_sweep, ReportFormat, Templates};
use tunix_rt::scoring::CompareConfig;
use tunix_rt::store::filter::{RunFilter, RunLimit};
use tunix_rt::store::Store;
use tunix_rt::workspace::Workspace;

pub fn leaderboard(ws: &Workspace, db: &Path, args: &LeaderboardArgs) -> Result<()> {
    let format = report_format(&args.out)?;
    let store = Store::open_read(db)?;
    let filter = run_filter(&args.select)?;
    // JSON is read by programs, which get every run unless they ask for a page.
    let limit = args.limit.unwrap_or(match format {
        ReportFormat::Json => RunLimit::All,
        ReportFormat::Html | ReportFormat::Md => RunLimit::default(),
    });
    let input = tunix_rt::report_input::leaderboard_checked(
        &store,
        &filter,
        limit,
        args.select.allow_mixed_rules,
    )?;
    let templates = templates(args.out.templates.as_deref())?;
    let text = render_leaderboard(&templates, &input, format)
        .map_err(|e| report_error(e, args.out.templates.as_deref()))?;
    emit(ws, args.out.output.as_deref(), &text)
}

/// The index filter of the `--dataset`, `--model`, ... flags.
fn run_filter(select: &RunSelection) -> Result<RunFilter> {
    Ok(RunFilter {
        dataset: select.dataset.clone(),
        model: select.model.clone(),
        config: select.config.clone(),
        since: select.since.clone(),
        until: select.until.clone(),
        labels: labels(&select.label)?,
        sweep: select.sweep.clone(),
        all_runs: select.all,
    })
}

pub fn sweep(ws: &Workspace, args: &SweepReportArgs) -> Result<()> {
    let format = report_format(&args.out)?;
    CompareConfig {
        alpha: args.alpha,
        ..CompareConfig::default()
    }
    .validate()
    .map_err(|e| Error::bad_input(format!("--alpha: {e}")))?;
    let runs_root = args
        .runs
        .clone()
        .unwrap_or_else(|| ws.root().join("submission_runs"));
    let dir = tunix_rt::runfolder::layout::resolve_sweep_folder(&runs_root, &args.sweep)?;
    let input = tunix_rt::report_input::read_sweep_folder(ws, &dir, args.alpha)?;
    let templates = templates(args.out.templates.as_deref())?;
    let text = render_sweep(&templates, &input, format)
        .map_err(|e| report_error(e, args.out.templates.as_deref()))?;
    emit(ws, args.out.output.as_deref(), &text)
}

pub fn site(ws: &Workspace, db: &Path, args: &SiteArgs) -> Result<()> {
    tunix_rt::site::check_target(&args.output)?;
    let filter = run_filter(&args.select)?;
    let templates = templates(args.templates.as_deref())?;
    let store = Store::open_read(db)?;
    let runs_root = args
        .runs
        .clone()
        .unwrap_or_else(|| ws.root().join("submission_runs"));
    let source = tunix_rt::site::SiteSource {
        filter: &filter,
        allow_mixed_rules: args.select.allow_mixed_rules,
        runs_root: &runs_root,
    };
    let input = tunix_rt::site::read_site(ws, &store, &source)?;
    let pages =
        render_site(&templates, &input).map_err(|e| report_error(e, args.templates.as_deref()))?;
    tunix_rt::site::publish(&args.output, &pages)?;
    for note in &input.notes {
        eprintln!("note: {note}");
    }
    let shown = ws.display_path(&args.output);
    let sweeps = pages
        .iter()
        .filter(|p| p.path.starts_with("sweeps/"))
        .count();
    eprintln!(
        "wrote {} pages to {}: {}, {}, {}; open {}",
        pages.len(),
        shown.display(),
        count(input.leaderboard.runs.len(), "run page"),
        count(input.compares.len(), "comparison"),
        count(sweeps, "sweep report"),
        shown.join(tunix_rt::report::site::INDEX).display()
    );
    Ok(())
}

/// `n thing` or `n things`.
fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// `--label KEY=VALUE` flags as pairs.
fn labels(flags: &[String]) -> Result<Vec<(String, String)>> {
    flags
        .iter()
        .map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::bad_input(format!("--label `{l}` is not KEY=VALUE")))
        })
        .collect()
}

/// `--format`, or the format the output file's extension names, else md.
pub(super) fn report_format(out: &ReportOutput) -> Result<ReportFormat> {
    choose_format(
        out.format.map(report_format_of),
        out.output.as_deref(),
        ReportFormat::Md,
    )
}

fn report_format_of(f: ReportFormatArg) -> ReportFormat {
    match f {
        ReportFormatArg::Html => ReportFormat::Html,
        ReportFormatArg::Md => ReportFormat::Md,
        ReportFormatArg::Json => ReportFormat::Json,
    }
}

/// The settings of a paired comparison from the command line.
pub(super) fn compare_config(args: &PairedArgs) -> CompareConfig {
    CompareConfig {
        alpha: args.alpha,
        min_effect: args.min_effect,
        ..CompareConfig::default()
    }
}

/// The built-in templates, overridden from `dir` when given.
pub(super) fn templates(dir: Option<&Path>) -> Result<Templates> {
    match dir {
        Some(dir) if !dir.is_dir() => Err(Error::bad_input(format!(
            "--templates {} is not a folder",
            dir.display()
        ))),
        Some(dir) => Templates::with_overrides(dir).map_err(|e| report_error(e, Some(dir))),
        None => Templates::builtin().map_err(|e| report_error(e, None)),
    }
}

/// A rendering failure: the user's fault (exit 2) when their own
/// `--templates` were in use, a runtime failure (exit 3) of the built-in
/// templates otherwise.
pub(super) fn report_error(
    e: tunix_rt::report::ReportError,
    user_templates: Option<&Path>,
) -> Error {
    match user_templates {
        Some(dir) => Error::bad_input(format!(
            "cannot render the report with the templates in {}: {e}",
            dir.display()
        )),
        None => Error::runtime(format!(
            "cannot render the report with the built-in templates: {e}"
        )),
    }
}

/// Write `text` to `output`, or print it on stdout.
pub(super) fn emit(ws: &Workspace, output: Option<&Path>, text: &str) -> Result<()> {
    match output {
        Some(path) => {
            write_atomic(path, text.as_bytes())?;
            eprintln!("wrote {}", ws.display_path(path).display());
            Ok(())
        }
        None => {
            out!("{text}")?;
            Ok(())
        }
    }
}
