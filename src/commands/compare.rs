use std::path::Path;

use serde::Serialize;

use crate::cli::{CompareArgs, Format};
use crate::error::{Error, Result};
use crate::runfolder::{read_eval_items, read_summary, EvalItemRecord};
use crate::scoring::{compare, CompareConfig, ItemRow, PairedComparison, Verdict};
use crate::workspace::Workspace;

#[derive(Serialize)]
struct Report<'a> {
    run_a: String,
    run_b: String,
    evalset_a: &'a str,
    evalset_b: &'a str,
    comparison: &'a PairedComparison,
}

pub fn run(ws: &Workspace, args: &CompareArgs) -> Result<()> {
    let summary_a = read_summary(&args.run_a)?;
    let summary_b = read_summary(&args.run_b)?;
    if summary_a.evalset.blake3 != summary_b.evalset.blake3 && !args.allow_different_evalsets {
        return Err(Error::bad_input(format!(
            "the runs were scored on different eval sets ({} blake3 {}… vs {} blake3 {}…); pass --allow-different-evalsets to compare the shared item ids anyway",
            summary_a.evalset.path,
            &summary_a.evalset.blake3[..12.min(summary_a.evalset.blake3.len())],
            summary_b.evalset.path,
            &summary_b.evalset.blake3[..12.min(summary_b.evalset.blake3.len())],
        )));
    }
    let config = CompareConfig {
        alpha: args.alpha,
        min_effect: args.min_effect,
        ..CompareConfig::default()
    };
    config
        .validate()
        .map_err(|e| Error::bad_input(e.to_string()))?;
    let a = rows(&args.run_a)?;
    let b = rows(&args.run_b)?;
    let result = compare(&a, &b, &config);
    let name = |p: &Path| ws.display_path(p).display().to_string();
    if args.format == Format::Json {
        return super::print_json(&Report {
            run_a: name(&args.run_a),
            run_b: name(&args.run_b),
            evalset_a: &summary_a.evalset.blake3,
            evalset_b: &summary_b.evalset.blake3,
            comparison: &result,
        });
    }
    let f = |v: Option<f64>| v.map_or("null".to_string(), |x| format!("{x:.4}"));
    println!(
        "A            {}  mean {}",
        name(&args.run_a),
        f(result.mean_a)
    );
    println!(
        "B            {}  mean {}",
        name(&args.run_b),
        f(result.mean_b)
    );
    print!("B − A        {}", f(result.diff));
    if let Some(ci) = &result.diff_ci {
        print!(
            "  ({:.0}% CI {:.4} to {:.4}, {:?})",
            ci.level * 100.0,
            ci.low,
            ci.high,
            ci.method
        );
    }
    println!();
    println!(
        "test         {}  p = {}",
        result.test.map_or("none".to_string(), |t| format!("{t:?}")),
        f(result.p_value)
    );
    println!(
        "pairs        {} compared, {} only in A, {} only in B, {} skipped",
        result.n_pairs, result.n_only_in_a, result.n_only_in_b, result.n_skipped
    );
    println!(
        "detectable   {} (minimum difference at 80% power)",
        f(result.min_detectable_difference)
    );
    let verdict = match result.verdict {
        Verdict::Improved => "improved",
        Verdict::NoEvidence => "no_evidence",
        Verdict::Regressed => "regressed",
    };
    println!("verdict      {verdict}");
    for w in &result.warnings {
        println!("warning      {w}");
    }
    Ok(())
}

fn rows(run_dir: &Path) -> Result<Vec<ItemRow>> {
    Ok(read_eval_items(run_dir)?
        .into_iter()
        .map(|r: EvalItemRecord| ItemRow {
            id: r.id,
            category: r.category,
            answer_correctness: r.answer_correctness,
            score: None,
        })
        .collect())
}
