use serde::Serialize;

use crate::cli::{EvalsetValidateArgs, Format};
use tunix_rt::diagnostic::Diagnostic;
use tunix_rt::error::{Error, Result};
use tunix_rt::evalset::EvalSetStats;
use tunix_rt::workspace::Workspace;

#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<&'a EvalSetStats>,
    errors: &'a [Diagnostic],
}

pub fn validate(ws: &Workspace, args: &EvalsetValidateArgs) -> Result<()> {
    let shown = ws.display_path(&args.file).display().to_string();
    let (stats, errors) = match tunix_rt::evalset::load(&args.file, &shown) {
        Ok(set) => (Some(set.stats(&shown)), Vec::new()),
        Err(errors) => (None, errors),
    };
    if args.format == Format::Json {
        super::print_json(&JsonReport {
            ok: errors.is_empty(),
            stats: stats.as_ref(),
            errors: &errors,
        })?;
    } else {
        for e in &errors {
            eprintln!("{e}");
        }
        if let Some(s) = &stats {
            print_stats(s)?;
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::bad_input(format!(
            "{shown}: {} problem(s); the eval set was not accepted",
            errors.len()
        )))
    }
}

fn print_stats(s: &EvalSetStats) -> Result<()> {
    outln!("{}: ok", s.file)?;
    outln!("  items        {}", s.items)?;
    let cats: Vec<String> = s
        .categories
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    outln!("  categories   {}", cats.join(", "))?;
    let types: Vec<String> = s
        .answer_types
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    outln!("  answer types {}", types.join(", "))?;
    outln!("  trace values {}", s.trace_required_values)?;
    outln!(
        "  prompt chars min {} / mean {:.1} / max {}",
        s.prompt_chars_min,
        s.prompt_chars_mean,
        s.prompt_chars_max
    )?;
    outln!("  bytes        {}", s.bytes)?;
    outln!("  blake3       {}", s.blake3)?;
    Ok(())
}
