//! The sweep report (`tunix-rt report sweep`): every trial of a sweep with
//! its state, parameters, metric, stop rung and failure; each parameter
//! against the metric; the learning curves with ASHA's stops; the failures;
//! the promoted trial and how many trials are statistically tied with it.
//! As JSON ([`SweepDoc`]) or through the `sweep.{html,md}.j2` templates.
//!
//! Reading a sweep folder into a [`SweepInput`] is
//! `crate::report_input::read_sweep_folder`. Modules, one job each:
//! - `input`: the input types.
//! - `doc`: the document (trial order, failures, curves); `ties`: the
//!   paired comparisons with the best trial; `axis`: how a parameter is
//!   plotted (log, linear, categories).
//! - `plot`: the SVG charts; `view`: what the templates receive.

mod axis;
mod doc;
mod input;
mod plot;
mod ties;
mod view;

#[cfg(test)]
pub(crate) mod fixtures;

pub use axis::AxisKind;
pub use doc::{CurveDoc, FailureDoc, ParamDoc, SweepDoc, TieRuleDoc, TrialDoc};
pub use input::{SearchSpace, SweepInput, TrialRun};
pub use ties::{TieDoc, TiesDoc};

use super::env::{SWEEP_HTML, SWEEP_MD};
use super::json::to_json;
use super::{ReportError, ReportFormat, Templates};

/// Render the sweep report of `input` in `format`.
pub fn render_sweep(
    t: &Templates,
    input: &SweepInput,
    format: ReportFormat,
) -> Result<String, ReportError> {
    let doc = doc::document(input);
    match format {
        ReportFormat::Json => to_json(&doc),
        ReportFormat::Html => t.render(SWEEP_HTML, view::view(input, &doc, true)),
        ReportFormat::Md => t.render(SWEEP_MD, view::view(input, &doc, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_html_self_contained, assert_payloads_inert, PAYLOADS};
    use super::fixtures::input;
    use super::*;
    use tunix_core::sweep::ledger::TrialState;

    fn render(input: &SweepInput, format: ReportFormat) -> String {
        let t = Templates::builtin().expect("templates");
        render_sweep(&t, input, format).expect("render")
    }

    #[test]
    fn html_is_self_contained_with_one_row_per_trial_and_every_chart() {
        let html = render(&input(), ReportFormat::Html);
        assert_html_self_contained(&html);
        assert_eq!(html.matches("<tr class=\"trial ").count(), 8, "{html}");
        assert_eq!(
            html.matches("scatter-chart").count(),
            3,
            "one per parameter"
        );
        assert!(html.contains("(log scale)") && html.contains("(categories)"));
        assert_eq!(html.matches("curves-chart").count(), 2, "loss and metric");
        assert_eq!(
            html.matches("class=\"stop\"").count(),
            4,
            "2 stopped × 2 charts"
        );
        assert!(html.contains("data-sort=\"desc\" aria-sort=\"descending\""));
        assert!(html.contains("1 of 2 other completed trials (1 more without eval items to pair) is statistically tied with the best (t000)"), "{html}");
    }

    #[test]
    fn markdown_lists_trials_best_first_with_ties_and_failures() {
        let md = render(&input(), ReportFormat::Md);
        let rows: Vec<&str> = md
            .lines()
            .take_while(|l| !l.starts_with("### Ties"))
            .filter(|l| l.starts_with("| t0"))
            .collect();
        assert_eq!(rows.len(), 8, "{md}");
        assert!(rows[0].starts_with("| t000 (best) | completed |"), "{md}");
        assert!(rows[1].contains("t003 (tied)"), "{md}");
        assert!(md.contains("**Best trial: t000**"), "{md}");
        assert!(md.contains("| nan_loss |"), "{md}");
        assert!(!md.contains("<svg"), "no charts in Markdown");
    }

    #[test]
    fn payloads_are_literal_text_in_every_format() {
        let mut input = input();
        let all = PAYLOADS.join(" ");
        input.folder = all.clone();
        for t in &mut input.ledger.trials {
            t.params.insert(all.clone(), serde_json::json!(all.clone()));
        }
        if let Some(run) = input.runs.get_mut("t002") {
            if let Some(f) = run.failure.as_mut() {
                f.class = all.clone();
                f.message = all.clone();
            }
        }
        assert_payloads_inert(&render(&input, ReportFormat::Html), ReportFormat::Html);
        assert_payloads_inert(&render(&input, ReportFormat::Md), ReportFormat::Md);
        let json: serde_json::Value =
            serde_json::from_str(&render(&input, ReportFormat::Json)).expect("json");
        assert_eq!(json["folder"], all);
    }

    #[test]
    fn json_has_the_documented_layout() {
        let v: serde_json::Value =
            serde_json::from_str(&render(&input(), ReportFormat::Json)).expect("json");
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["metric"], "primary_score");
        assert_eq!(v["mode"], "max");
        assert_eq!(v["params"][0]["axis"], "log");
        assert_eq!(v["trials"][0]["trial_id"], "t000");
        assert_eq!(v["trials"][0]["best"], true);
        assert_eq!(v["best"]["trial_id"], "t000");
        assert_eq!(v["ties"]["n_tied"], 1);
        assert_eq!(v["failures"][0]["class"], "nan_loss");
        assert_eq!(v["curves"][0]["loss"][0], serde_json::json!([0, 4.5]));
        for key in [
            "sweep",
            "folder",
            "rungs",
            "params_source",
            "trials",
            "best",
            "ties",
            "failures",
            "curves",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn an_unfinished_sweep_without_eval_renders_in_every_format() {
        let mut input = input();
        input.ledger.best = None;
        input.space = None;
        for t in &mut input.ledger.trials {
            t.state = TrialState::Pending;
            t.metrics.clear();
            t.last_step = 0;
            t.stopped_at = None;
            t.failure = None;
        }
        input.runs.clear();
        input.ledger.rungs.clear();
        for format in [ReportFormat::Html, ReportFormat::Md, ReportFormat::Json] {
            let out = render(&input, format);
            assert!(out.contains("no best trial"), "{format:?}: {out}");
        }
        let html = render(&input, ReportFormat::Html);
        assert!(!html.contains("curves-chart") && !html.contains("scatter-chart"));
    }

    #[test]
    fn rungs_decided_by_the_tie_rule_are_flagged_in_every_format() {
        let plain = input();
        for format in [ReportFormat::Html, ReportFormat::Md] {
            assert!(!render(&plain, format).contains("Decided by the tie rule"));
        }
        let mut input = input();
        let scored = |id: &str| tunix_core::sweep::halving::Scored {
            trial_id: id.into(),
            metric: Some(0.5),
        };
        input
            .ledger
            .decisions
            .push(tunix_core::sweep::ledger::RungDecision {
                rung: 4,
                continued: vec![scored("t000"), scored("t001")],
                stopped: vec![scored("t002")],
                tie_rule: Some(tunix_core::sweep::ties::TieRule::AllEqual),
                bracket: None,
            });
        let sentence = "rung 4: decided by the tie rule (smaller trial id first): all 3 trials had primary_score = 0.5 at step 4";
        let html = render(&input, ReportFormat::Html);
        assert!(html.contains("id=\"tie-rule\""), "{html}");
        assert!(html.contains(&format!("<li>{sentence}</li>")), "{html}");
        let md = render(&input, ReportFormat::Md);
        assert!(md.contains(&format!("- {sentence}\n")), "{md}");
        let json: serde_json::Value =
            serde_json::from_str(&render(&input, ReportFormat::Json)).expect("json");
        assert_eq!(json["decided_by_tie_rule"][0]["rule"], "all_equal");
        assert_eq!(json["decided_by_tie_rule"][0]["message"], sentence);
    }

    #[test]
    fn output_does_not_depend_on_the_ledger_order() {
        let one = input();
        let mut two = input();
        two.ledger.trials.reverse();
        for format in [ReportFormat::Html, ReportFormat::Md, ReportFormat::Json] {
            assert_eq!(render(&one, format), render(&two, format), "{format:?}");
        }
    }
}
