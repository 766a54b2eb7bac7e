use crate::cli::{Format, RunArgs};
use crate::error::{Error, Result};
use crate::runner::EvalOutcome;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, db: &std::path::Path, args: &RunArgs) -> Result<()> {
    let shown = ws.display_path(&args.manifest).display().to_string();
    let loaded = crate::manifest::load(ws, &args.manifest, &shown)
        .map_err(|d| Error::invalid_file(&shown, d))?;
    let outcome = crate::runner::run_manifest(ws, &loaded, std::env::args().collect())?;
    super::db::record_run(ws, db, &outcome.run_dir)?;
    report(ws, &outcome, args.format)
}

/// Print where the run is and its headline score.
pub fn report(ws: &Workspace, outcome: &EvalOutcome, format: Format) -> Result<()> {
    if format == Format::Json {
        return super::print_json(&serde_json::json!({
            "run_dir": outcome.run_dir,
            "summary": outcome.summary,
            "notes": outcome.notes,
        }));
    }
    for note in &outcome.notes {
        println!("note         {note}");
    }
    let Some(s) = &outcome.summary else {
        println!(
            "run          {}",
            ws.display_path(&outcome.run_dir).display()
        );
        println!("primary      none (the manifest has no eval section)");
        return Ok(());
    };
    let score = match (s.primary_score, &s.scorecard.ci95) {
        (Some(p), Some(ci)) => format!(
            "{p:.4} (95% CI {:.4}–{:.4}, {:?})",
            ci.low, ci.high, ci.method
        ),
        (Some(p), None) => format!("{p:.4}"),
        (None, _) => "null (no item could be scored)".to_string(),
    };
    println!(
        "run          {}",
        ws.display_path(&outcome.run_dir).display()
    );
    println!("primary      {score}");
    println!(
        "items        {} scored, {} skipped, {} total",
        s.n_scored, s.n_skipped, s.n_items
    );
    for (cat, c) in &s.scorecard.per_category {
        let mean = c.mean.map_or("null".to_string(), |m| format!("{m:.4}"));
        println!("  {cat:<10} {mean} (n={})", c.n_scored);
    }
    if let Some(t) = s.trace_consistency {
        println!("trace        {t:.4} mean trace_consistency");
    }
    for w in &s.scorecard.warnings {
        println!("warning      {w}");
    }
    Ok(())
}
