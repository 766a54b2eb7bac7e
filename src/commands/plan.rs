//! Printing a sweep's trial plan (`tunix-rt run <sweep.yaml> --plan`): a
//! table for people, one JSON document for machines.

use serde_json::{json, Value};

use crate::cli::Format;
use tunix_rt::error::Result;
use tunix_rt::sweep::SweepPlan;

/// Version of the `--plan --format json` document.
const SCHEMA_VERSION: u32 = 1;

/// Print `plan` with `notes` in `format`.
pub fn print(plan: &SweepPlan, notes: &[String], format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let mut doc = document(plan);
            if !notes.is_empty() {
                doc["notes"] = json!(notes);
            }
            super::print_json(&doc)
        }
        Format::Text => {
            out!("{}", table(plan))?;
            for note in notes {
                outln!("note         {note}")?;
            }
            Ok(())
        }
    }
}

/// What to know before running the plan: its promotion targets that are
/// committed evidence (`update`: `--update-evidence`), and, for a command
/// trainer with rungs, that a program writing no checkpoints trains
/// again from step 0 at every rung.
pub fn notes(
    ws: &tunix_rt::workspace::Workspace,
    loaded: &tunix_rt::manifest::LoadedManifest,
    plan: &SweepPlan,
    update: bool,
) -> Result<Vec<String>> {
    let tunix_rt::manifest::Manifest::Sweep(sweep) = &loaded.manifest else {
        return Ok(Vec::new());
    };
    let evidence = tunix_rt::runner::sweep_promote::targets(ws, &loaded.path, sweep)?
        .and_then(|to| tunix_rt::runner::sweep_promote::plan_note(ws, &to, update));
    let command = plan
        .trials
        .first()
        .is_some_and(|t| t.spec.command.is_some());
    let restarts = tunix_rt::sweep::restarts::plan_note(&plan.rungs).filter(|_| command);
    Ok(evidence.into_iter().chain(restarts).collect())
}

/// A Slurm sweep's first job script (the first rung's array), as `run`
/// would submit it; none for a local sweep.
pub fn slurm_script(
    ws: &tunix_rt::workspace::Workspace,
    loaded: &tunix_rt::manifest::LoadedManifest,
    plan: &SweepPlan,
) -> Result<Option<String>> {
    let tunix_rt::manifest::Manifest::Sweep(sweep) = &loaded.manifest else {
        return Ok(None);
    };
    let Some(spec) = sweep
        .spec
        .slurm
        .as_ref()
        .filter(|_| !sweep.spec.executor.is_local())
    else {
        return Ok(None);
    };
    let rung = plan
        .rungs
        .first()
        .copied()
        .or_else(|| plan.trials.first().map(|t| t.spec.training.max_steps))
        .unwrap_or(0);
    let dir = ws.root().join("submission_runs").join(&plan.name);
    let trials: Vec<String> = plan.trials.iter().map(|t| t.trial_id.clone()).collect();
    let arrays = tunix_rt::runner::sweep_slurm::SlurmExecutor {
        ws,
        spec,
        shape: tunix_rt::runner::sweep_slurm::Shape::Sweep {
            name: &plan.name,
            dir: &dir,
            throttle: sweep.spec.max_concurrent_trials,
        },
        retries: sweep.spec.max_retries,
        detach: false,
    };
    let script = arrays.planned_script(rung, &trials)?;
    Ok(Some(format!(
        "Slurm job script of the first rung (written to {} and submitted with sbatch):\n{script}",
        ws.display_path(&dir.join(tunix_rt::runfolder::layout::SLURM_DIR))
            .display()
    )))
}

/// The JSON document of a plan (`search` and `brackets` only when TPE
/// or Hyperband is used).
fn document(plan: &SweepPlan) -> Value {
    let mut doc = json!({
        "schema_version": SCHEMA_VERSION,
        "sweep": plan.name,
        "seed": plan.seed,
        "num_trials": plan.trials.len(),
        "num_samples": plan.num_samples,
        "grid_points": plan.grid_points,
        "overrides": plan.overrides,
        "rungs": plan.rungs,
        "trials": plan.trials.iter().map(|t| {
            let mut trial = json!({ "trial_id": t.trial_id, "params": t.params });
            if t.drawn_from_results {
                trial["drawn_from_results"] = json!(true);
            }
            if let Some(b) = t.bracket {
                trial["bracket"] = json!(b);
            }
            trial
        }).collect::<Vec<_>>(),
    });
    if !plan.search.is_random() {
        doc["search"] = json!(plan.search);
    }
    if !plan.brackets.is_empty() {
        doc["brackets"] = json!(plan.brackets);
    }
    doc
}

/// The plan as text: a header, then one row per trial.
fn table(plan: &SweepPlan) -> String {
    let mut out = String::new();
    let line = |out: &mut String, key: &str, value: String| {
        out.push_str(&format!("{key:<12} {value}\n"));
    };
    line(&mut out, "sweep", plan.name.clone());
    line(&mut out, "seed", plan.seed.to_string());
    line(
        &mut out,
        "trials",
        format!(
            "{} ({} grid point(s) × {} sample(s))",
            plan.trials.len(),
            plan.grid_points,
            plan.num_samples
        ),
    );
    let overrides: Vec<String> = plan
        .overrides
        .iter()
        .map(|(k, v)| format!("{k}={}", cell(&serde_json::to_value(v).unwrap_or_default())))
        .collect();
    let overrides = if overrides.is_empty() {
        "none".to_string()
    } else {
        overrides.join(", ")
    };
    line(&mut out, "overrides", overrides);
    if let Some(asha) = &plan.asha {
        let rungs: Vec<String> = plan.rungs.iter().map(u32::to_string).collect();
        line(
            &mut out,
            "rungs",
            format!(
                "{} (ASHA: grace_period {}, reduction_factor {})",
                rungs.join(", "),
                asha.grace_period,
                asha.reduction_factor
            ),
        );
    }
    if let Some(tpe) = plan.search.tpe() {
        let later = plan.trials.iter().filter(|t| t.drawn_from_results).count();
        line(
            &mut out,
            "search",
            format!(
                "TPE (n_startup_trials {}, n_ei_candidates {}, gamma {}, multivariate {}): the first {} trial(s) are drawn at random as shown; the other {later} are drawn from the results of the trials before them, in batches",
                tpe.n_startup_trials,
                tpe.n_ei_candidates
                    .map_or_else(|| "default".to_string(), |n| n.to_string()),
                tpe.gamma,
                tpe.multivariate,
                plan.trials.len() - later,
            ),
        );
    }
    for b in &plan.brackets {
        let rungs: Vec<String> = b.rungs.iter().map(u32::to_string).collect();
        line(
            &mut out,
            if b.index == 0 { "brackets" } else { "" },
            format!(
                "{}: {} trial(s), rungs {} (Hyperband s={})",
                b.index,
                b.trials,
                rungs.join(", "),
                b.s
            ),
        );
    }
    out.push('\n');

    let names: Vec<&String> = plan
        .trials
        .first()
        .map(|t| t.params.keys().collect())
        .unwrap_or_default();
    let bracket_column = !plan.brackets.is_empty();
    let mut header = vec!["trial".to_string()];
    if bracket_column {
        header.push("bracket".to_string());
    }
    header.extend(names.iter().map(|n| n.to_string()));
    let mut rows: Vec<Vec<String>> = vec![header];
    for t in &plan.trials {
        let mut row = vec![t.trial_id.clone()];
        if bracket_column {
            row.push(t.bracket.map(|b| b.to_string()).unwrap_or_default());
        }
        row.extend(names.iter().map(|n| match t.params.get(*n) {
            Some(v) => cell(v),
            None if t.drawn_from_results => "(from results)".to_string(),
            None => String::new(),
        }));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str("\nplan only: nothing was run or written\n");
    out
}

/// A parameter value for the table: integers as written, reals with four
/// significant digits (the JSON document has them exactly).
fn cell(value: &Value) -> String {
    match value {
        Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(String::new, real),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn real(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor();
    if !(-6.0..6.0).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    // 3 - magnitude is in 0..=9 here, so the cast cannot truncate.
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    let fixed = format!("{x:.decimals$}");
    if !fixed.contains('.') {
        return fixed;
    }
    let trimmed = fixed.trim_end_matches('0');
    trimmed.strip_suffix('.').unwrap_or(trimmed).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_are_short_and_integers_exact() {
        assert_eq!(cell(&json!(16)), "16");
        assert_eq!(cell(&json!(0.05)), "0.05");
        assert_eq!(cell(&json!(0.0)), "0");
        assert_eq!(cell(&json!(0.000_123_456_78)), "0.0001235");
        assert_eq!(cell(&json!(0.054_832)), "0.05483");
        assert_eq!(cell(&json!(16.5)), "16.5");
        assert_eq!(cell(&json!(1.5e-9)), "1.500e-9");
        assert_eq!(cell(&json!("x")), "x");
    }
}
