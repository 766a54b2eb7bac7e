//! `tunix-rt compare`: is run B better than run A? The paired comparison of
//! two run folders, read directly (no index needed, e.g. in CI).

use crate::cli::{CompareFormatArg, RunCompareArgs};
use crate::error::Result;
use crate::report::{
    choose_format, render_compare, render_compare_text, CompareFormat, ReportFormat,
};
use crate::report_input::{compare_folders, resolve_run_folder};
use crate::workspace::Workspace;

use super::report::{compare_config, emit, report_error, templates};

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
    let dir_a = resolve_run_folder(&runs_root, &args.run_a)?;
    let dir_b = resolve_run_folder(&runs_root, &args.run_b)?;
    let input = compare_folders(
        &dir_a,
        &dir_b,
        &compare_config(&args.paired),
        args.paired.allow_different_evalsets,
    )?;
    let text = match format {
        CompareFormat::Text => render_compare_text(&input),
        CompareFormat::Report(f) => {
            render_compare(&templates(args.templates.as_deref())?, &input, f)
                .map_err(|e| report_error(e, args.templates.as_deref()))?
        }
    };
    emit(ws, args.output.as_deref(), &text)
}

fn format_of(f: CompareFormatArg) -> CompareFormat {
    match f {
        CompareFormatArg::Text => CompareFormat::Text,
        CompareFormatArg::Md => CompareFormat::Report(ReportFormat::Md),
        CompareFormatArg::Html => CompareFormat::Report(ReportFormat::Html),
        CompareFormatArg::Json => CompareFormat::Report(ReportFormat::Json),
    }
}
