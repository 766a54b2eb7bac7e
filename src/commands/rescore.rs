//! `tunix-rt rescore <run>... [--rules FILE|current] [--dry-run]`: every
//! run is resolved, read, checked and re-scored before anything is
//! written, so a bad argument writes nothing; then each becomes a new Eval
//! run folder (indexed like `eval`'s), unless `--dry-run`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cli::{Format, RescoreArgs};
use tunix_rt::error::Result;
use tunix_rt::rescore::{self, RescoreReport};
use tunix_rt::runfolder::layout::resolve_run_folder;
use tunix_rt::scoring::SCORING_RULES_VERSION;
use tunix_rt::workspace::Workspace;

pub fn run(ws: &Workspace, db: &Path, args: &RescoreArgs) -> Result<()> {
    let runs_root = args
        .runs_root
        .clone()
        .unwrap_or_else(|| ws.root().join("submission_runs"));
    let rules_path = PathBuf::from(&args.rules);
    let rules_shown = ws.display_path(&rules_path).display().to_string();
    let rules = rescore::rules::load(&args.rules, &rules_path, &rules_shown)?;
    let mut seen = BTreeSet::new();
    let mut planned = Vec::new();
    for arg in &args.runs {
        let dir = resolve_run_folder(&runs_root, arg)?;
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        if !seen.insert(dir.clone()) {
            continue;
        }
        let source = rescore::source::read(ws, &dir)?;
        planned.push(rescore::rescore(source, &rules)?);
    }
    let mut reports = Vec::new();
    for r in &planned {
        let run_dir = if args.dry_run {
            None
        } else {
            let placement = rescore::default_placement(ws, r);
            let dir = rescore::record(ws, r, &placement, std::env::args().collect())?;
            super::db::record_run(ws, db, &dir)?;
            Some(ws.display_path(&dir).display().to_string())
        };
        let report = r.report(run_dir);
        if args.format == Format::Text {
            if !reports.is_empty() {
                outln!()?;
            }
            print_text(&report)?;
        }
        reports.push(report);
    }
    if args.format == Format::Json {
        super::print_json(&serde_json::json!({
            "dry_run": args.dry_run,
            "scoring_rules_version": SCORING_RULES_VERSION,
            "runs": reports,
        }))?;
    }
    Ok(())
}

fn version(v: Option<u32>) -> String {
    v.map_or("unknown (not recorded)".to_string(), |v| v.to_string())
}

fn score(s: Option<f64>) -> String {
    s.map_or("null".to_string(), |s| format!("{s:.4}"))
}

fn correctness(c: Option<f64>) -> String {
    c.map_or("skipped".to_string(), |c| c.to_string())
}

fn answer(a: &Option<String>) -> String {
    a.as_ref().map_or("(none)".to_string(), |a| {
        serde_json::to_string(a).unwrap_or_default()
    })
}

fn print_text(r: &RescoreReport) -> Result<()> {
    outln!(
        "source       {} (run {}, scoring rules {})",
        r.source.run_dir,
        r.source.run_id,
        version(r.source.scoring_rules_version)
    )?;
    outln!(
        "rules        {}: scoring rules {}, answer_extraction {}, equivalence {}",
        r.rules,
        r.scoring_rules_version,
        serde_json::to_string(&r.answer_extraction).unwrap_or_default(),
        serde_json::to_string(&r.equivalence).unwrap_or_default()
    )?;
    let diff = match (r.old.primary_score, r.new.primary_score) {
        (Some(a), Some(b)) => format!(" ({:+.4})", b - a),
        _ => String::new(),
    };
    outln!(
        "primary      {} -> {}{diff}",
        score(r.old.primary_score),
        score(r.new.primary_score)
    )?;
    outln!(
        "items        {} total: {} flipped ({} to correct, {} to incorrect), {} extracted answers changed",
        r.n_items, r.n_flipped, r.n_gained, r.n_lost, r.n_extraction_changed
    )?;
    if !r.flips.is_empty() {
        let width = r
            .flips
            .iter()
            .map(|f| f.id.chars().count())
            .max()
            .unwrap_or(0);
        outln!("flipped      id, correctness old -> new, extracted old -> new:")?;
        for f in &r.flips {
            outln!(
                "  {:<width$}  {} -> {}  {} -> {}",
                f.id,
                correctness(f.old_correctness),
                correctness(f.new_correctness),
                answer(&f.old_extracted),
                answer(&f.new_extracted)
            )?;
        }
    }
    match &r.run_dir {
        Some(dir) => outln!("run          {dir}")?,
        None => outln!("run          none written (--dry-run)")?,
    }
    Ok(())
}
