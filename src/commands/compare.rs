//! `tunix-rt compare` and `tunix-rt report compare`: two or more runs side
//! by side. `compare` reads run folders directly (no index needed, e.g. in
//! CI); `report compare` reads the index. Two evaluated runs give the
//! paired comparison of B against A; more runs, or runs without eval
//! results, the N-run comparison.

use std::path::Path;

use crate::cli::{CompareArgs, CompareFormatArg, RunCompareArgs};
use tunix_rt::error::Result;
use tunix_rt::report::{
    choose_format, render_runs, render_runs_text, CompareFormat, ReportFormat, RunsComparison,
};
use tunix_rt::report_input::{compare_indexed_runs, compare_run_folders};
use tunix_rt::runfolder::layout::resolve_run_folder;
use tunix_rt::store::{query, Store};
use tunix_rt::workspace::Workspace;

use super::report::{compare_config, emit, report_error, report_format, templates};

/// `tunix-rt compare RUN RUN [RUN...]`: from run folders.
pub fn run(ws: &Workspace, args: &RunCompareArgs) -> Result<()> {
    let format = choose_format(
        args.format.map(format_of),
        args.output.as_deref(),
        CompareFormat::Text,
    )?;
    let runs_root = args
        .runs
        .clone()
        .unwrap_or_else(|| ws.root().join("submission_runs"));
    let dirs = args
        .run_args
        .iter()
        .map(|arg| resolve_run_folder(&runs_root, arg))
        .collect::<Result<Vec<_>>>()?;
    let input = compare_run_folders(
        &dirs,
        &compare_config(&args.paired),
        args.paired.allow_different_evalsets,
    )?;
    let text = match format {
        CompareFormat::Text => render_runs_text(&input),
        CompareFormat::Report(f) => render(&input, f, args.templates.as_deref())?,
    };
    emit(ws, args.output.as_deref(), &text)
}

/// `tunix-rt report compare RUN RUN [RUN...]`: from the index.
pub fn from_index(ws: &Workspace, db: &Path, args: &CompareArgs) -> Result<()> {
    let format = report_format(&args.out)?;
    let store = Store::open_read(db)?;
    let ids = args
        .runs
        .iter()
        .map(|arg| query::resolve_run(&store, arg))
        .collect::<Result<Vec<_>>>()?;
    let input = compare_indexed_runs(
        &store,
        &ids,
        &compare_config(&args.paired),
        args.paired.allow_different_evalsets,
    )?;
    let text = render(&input, format, args.out.templates.as_deref())?;
    emit(ws, args.out.output.as_deref(), &text)
}

/// `input` in report format `format`, with the templates of `dir` when
/// given.
fn render(input: &RunsComparison, format: ReportFormat, dir: Option<&Path>) -> Result<String> {
    render_runs(&templates(dir)?, input, format).map_err(|e| report_error(e, dir))
}

fn format_of(f: CompareFormatArg) -> CompareFormat {
    match f {
        CompareFormatArg::Text => CompareFormat::Text,
        CompareFormatArg::Md => CompareFormat::Report(ReportFormat::Md),
        CompareFormatArg::Html => CompareFormat::Report(ReportFormat::Html),
        CompareFormatArg::Json => CompareFormat::Report(ReportFormat::Json),
    }
}
