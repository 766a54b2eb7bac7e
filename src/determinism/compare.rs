//! Pure comparison of what two runs of one job produced: a list of named
//! checks (each with both values) and a verdict. Reads nothing; the
//! weight difference, which needs the weight files, comes in precomputed.

use serde::Serialize;
use serde_json::{json, Value};

use super::contents::{EvalContents, RunContents, TrainContents};
use super::weights::WeightDiff;
use crate::fsutil::blake3_hex;
use crate::runfolder::{EvalItemRecord, RunKind};

/// Version of the JSON document.
pub const REPORT_SCHEMA_VERSION: u32 = 1;
/// Most differing items listed (text and JSON alike).
pub const MAX_LISTED_ITEMS: usize = 10;

/// How strictly the runs must agree, from the device they ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tolerance {
    /// CPU, or no model at all: every check must match bit for bit.
    BitExact,
    /// CUDA: training is not bit-exact (atomic adds in cuBLAS/cuDNN
    /// kernels sum in a varying order), so differences are reported and
    /// do not fail the check.
    GpuReported,
}

impl Tolerance {
    /// From run_manifest.json's `device`: `cuda:*` reports, anything else
    /// (`cpu`, `none`) must be bit-exact.
    pub fn for_device(device: &str) -> Self {
        if device.starts_with("cuda") {
            Tolerance::GpuReported
        } else {
            Tolerance::BitExact
        }
    }
}

/// The outcome of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check matched.
    Deterministic,
    /// A check that must match did not (exit 1).
    NotDeterministic,
    /// Only checks reported on a GPU differ (exit 0).
    DiffersOnGpu,
}

/// How the two compared results were produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The job ran twice: an Eval manifest scored, a checkpoint decoded or
    /// a Train manifest trained, each time into its own run folder.
    Rerun,
    /// A recorded run that cannot run again (no checkpoint to decode: a
    /// predictions file's Eval run, a command trainer's run) had its stored
    /// raw outputs re-scored twice, each compared with the other and with
    /// the scores the run recorded. No model ran.
    Rescore,
}

/// One compared quantity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// Whether a difference fails the check (false for GPU training).
    pub required: bool,
    /// The first run's value.
    pub a: Value,
    /// The second run's value.
    pub b: Value,
    /// How they differ, when they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An item whose output or correctness differs between the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DifferingItem {
    pub id: String,
    pub a_output: Option<String>,
    pub b_output: Option<String>,
    pub a_correctness: Option<f64>,
    pub b_correctness: Option<f64>,
}

/// The determinism check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeterminismReport {
    pub schema_version: u32,
    pub method: Method,
    /// The recorded run checked by [`Method::Rescore`]; null for a rerun
    /// of a manifest or a checkpoint.
    pub run: Option<String>,
    /// `Eval` or `Train`.
    pub kind: RunKind,
    /// The first run's recorded device.
    pub device: String,
    pub tolerance: Tolerance,
    pub checks: Vec<Check>,
    /// Items that differ, in all.
    pub n_differing_items: usize,
    /// The first [`MAX_LISTED_ITEMS`] of them, by id.
    pub differing_items: Vec<DifferingItem>,
    /// Set when the final weights differ.
    pub weight_diff: Option<WeightDiff>,
    /// Where `--keep` copied the two run folders.
    pub kept: Option<String>,
    /// What the reader should know about how the check was made.
    pub notes: Vec<String>,
    pub verdict: Verdict,
}

/// Compare run `a` with run `b`. `weight_diff` is the difference of their
/// final weights, when the caller computed it (it does when the hashes
/// differ).
pub fn compare(
    a: &RunContents,
    b: &RunContents,
    weight_diff: Option<WeightDiff>,
) -> DeterminismReport {
    let tolerance = match (
        Tolerance::for_device(&a.device),
        Tolerance::for_device(&b.device),
    ) {
        (Tolerance::BitExact, Tolerance::BitExact) => Tolerance::BitExact,
        _ => Tolerance::GpuReported,
    };
    let required = tolerance == Tolerance::BitExact;
    let mut checks = vec![check(
        "device",
        true,
        json!(a.device),
        json!(b.device),
        None,
    )];
    match (&a.train, &b.train) {
        (Some(ta), Some(tb)) => checks.extend(train_checks(ta, tb, weight_diff.as_ref(), required)),
        (None, None) => {}
        (ta, tb) => checks.push(presence("training", ta.is_some(), tb.is_some())),
    }
    let mut differing = Vec::new();
    match (&a.eval, &b.eval) {
        (Some(ea), Some(eb)) => {
            checks.extend(eval_checks(ea, eb, required));
            differing = differing_items(&ea.items, &eb.items);
        }
        (None, None) => {}
        (ea, eb) => checks.push(presence("evaluation", ea.is_some(), eb.is_some())),
    }
    let verdict = verdict(&checks);
    DeterminismReport {
        schema_version: REPORT_SCHEMA_VERSION,
        method: Method::Rerun,
        run: None,
        kind: a.kind,
        device: a.device.clone(),
        tolerance,
        checks,
        n_differing_items: differing.len(),
        differing_items: differing.into_iter().take(MAX_LISTED_ITEMS).collect(),
        weight_diff: weight_diff.filter(|d| d.n_differing > 0),
        kept: None,
        notes: Vec::new(),
        verdict,
    }
}

/// The verdict of `checks`: a required check that differs fails; any
/// other difference is reported.
pub fn verdict(checks: &[Check]) -> Verdict {
    if checks.iter().any(|c| c.required && !c.ok) {
        Verdict::NotDeterministic
    } else if checks.iter().any(|c| !c.ok) {
        Verdict::DiffersOnGpu
    } else {
        Verdict::Deterministic
    }
}

/// A check named `name`: ok when `a` and `b` are equal; `detail` is kept
/// only when they differ.
pub fn check(name: &str, required: bool, a: Value, b: Value, detail: Option<String>) -> Check {
    let ok = a == b;
    Check {
        name: name.to_string(),
        ok,
        required,
        a,
        b,
        detail: detail.filter(|_| !ok),
    }
}

fn presence(what: &str, a: bool, b: bool) -> Check {
    check(
        &format!("{what}_present"),
        true,
        json!(a),
        json!(b),
        Some(format!("only one run recorded {what}")),
    )
}

fn train_checks(
    a: &TrainContents,
    b: &TrainContents,
    weight_diff: Option<&WeightDiff>,
    required: bool,
) -> Vec<Check> {
    let weights_detail = weight_diff.filter(|d| d.n_differing > 0).map(|d| {
        format!(
            "max |a − b| = {:.3e} in {} of {} tensors (largest in {})",
            d.max_abs,
            d.n_differing,
            d.n_tensors,
            d.worst_tensor.as_deref().unwrap_or("none")
        )
    });
    let weights = check(
        "final_weights_blake3",
        required,
        json!({ "step": a.final_step, "blake3": a.weights_blake3 }),
        json!({ "step": b.final_step, "blake3": b.weights_blake3 }),
        weights_detail,
    );
    let first_diff = (0..a.metrics.len().max(b.metrics.len()))
        .find(|&i| a.metrics.get(i) != b.metrics.get(i))
        .map(|i| {
            let show = |m: &[Value]| m.get(i).map_or("(none)".to_string(), Value::to_string);
            format!(
                "first difference at line {}: a {} / b {}",
                i + 1,
                show(&a.metrics),
                show(&b.metrics)
            )
        });
    let metrics = check(
        "metrics_without_throughput",
        required,
        json!({ "lines": a.metrics.len(), "blake3": metrics_digest(&a.metrics) }),
        json!({ "lines": b.metrics.len(), "blake3": metrics_digest(&b.metrics) }),
        first_diff,
    );
    vec![weights, metrics]
}

fn metrics_digest(lines: &[Value]) -> String {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    blake3_hex(text.as_bytes())
}

fn eval_checks(a: &EvalContents, b: &EvalContents, required: bool) -> Vec<Check> {
    let (sa, sb) = (&a.summary, &b.summary);
    let score_detail = sa
        .primary_score
        .zip(sb.primary_score)
        .map(|(x, y)| format!("b − a = {:+.6}", y - x));
    let counts = |s: &crate::runfolder::EvalSummary| json!({ "n_items": s.n_items, "n_scored": s.n_scored, "n_skipped": s.n_skipped });
    let correctness_diff = count_differing(&a.items, &b.items, |r| {
        r.answer_correctness.map(f64::to_bits)
    });
    let output_diff = count_differing(&a.items, &b.items, |r| r.output.clone());
    vec![
        check(
            "primary_score",
            required,
            json!(sa.primary_score),
            json!(sb.primary_score),
            score_detail,
        ),
        check("scorecard_counts", required, counts(sa), counts(sb), None),
        check(
            "item_correctness",
            required,
            json!(correctness_digest(&a.items)),
            json!(correctness_digest(&b.items)),
            Some(format!("{correctness_diff} item(s) differ in correctness")),
        ),
        check(
            "raw_outputs_blake3",
            required,
            json!(outputs_digest(&a.items)),
            json!(outputs_digest(&b.items)),
            Some(format!("{output_diff} item(s) differ in output")),
        ),
    ]
}

fn by_id(items: &[EvalItemRecord]) -> Vec<&EvalItemRecord> {
    let mut sorted: Vec<&EvalItemRecord> = items.iter().collect();
    sorted.sort_by(|x, y| x.id.cmp(&y.id));
    sorted
}

/// blake3 of `id\toutput\n` over the items in id order (a missing output
/// is written as empty).
pub fn outputs_digest(items: &[EvalItemRecord]) -> String {
    let text: String = by_id(items)
        .iter()
        .map(|r| format!("{}\t{}\n", r.id, r.output.as_deref().unwrap_or("")))
        .collect();
    blake3_hex(text.as_bytes())
}

/// blake3 of `id\tcorrectness\n` over the items in id order (`null` for
/// a skipped item).
pub fn correctness_digest(items: &[EvalItemRecord]) -> String {
    let text: String = by_id(items)
        .iter()
        .map(|r| {
            let c = r
                .answer_correctness
                .map_or("null".to_string(), |c| c.to_string());
            format!("{}\t{c}\n", r.id)
        })
        .collect();
    blake3_hex(text.as_bytes())
}

/// Items present in both runs are paired by id; an id present in one run
/// only pairs with nothing.
fn paired<'a>(
    a: &'a [EvalItemRecord],
    b: &'a [EvalItemRecord],
) -> Vec<(
    &'a str,
    Option<&'a EvalItemRecord>,
    Option<&'a EvalItemRecord>,
)> {
    let mut ids: Vec<&str> = a.iter().chain(b).map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let (ia, ib) = (by_id(a), by_id(b));
    let lookup = |sorted: &[&'a EvalItemRecord], id: &str| {
        sorted
            .binary_search_by(|r| r.id.as_str().cmp(id))
            .ok()
            .map(|i| sorted[i])
    };
    ids.into_iter()
        .map(|id| (id, lookup(&ia, id), lookup(&ib, id)))
        .collect()
}

fn count_differing<K: PartialEq>(
    a: &[EvalItemRecord],
    b: &[EvalItemRecord],
    key: impl Fn(&EvalItemRecord) -> K,
) -> usize {
    paired(a, b)
        .into_iter()
        .filter(|(_, x, y)| x.map(&key) != y.map(&key))
        .count()
}

/// Every item whose output or correctness differs, by id.
pub fn differing_items(a: &[EvalItemRecord], b: &[EvalItemRecord]) -> Vec<DifferingItem> {
    paired(a, b)
        .into_iter()
        .filter(|(_, x, y)| {
            x.map(|r| (&r.output, r.answer_correctness.map(f64::to_bits)))
                != y.map(|r| (&r.output, r.answer_correctness.map(f64::to_bits)))
        })
        .map(|(id, x, y)| DifferingItem {
            id: id.to_string(),
            a_output: x.and_then(|r| r.output.clone()),
            b_output: y.and_then(|r| r.output.clone()),
            a_correctness: x.and_then(|r| r.answer_correctness),
            b_correctness: y.and_then(|r| r.answer_correctness),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::determinism::contents;

    fn synthetic(root: &std::path::Path, id: &str, skill: f64) -> RunContents {
        let dir = tunix_testkit::synthetic::write_run(root, id, 60, skill).expect("synthetic run");
        contents::read(&dir).expect("read")
    }

    fn failed(r: &DeterminismReport) -> Vec<&str> {
        r.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn two_identical_evaluations_are_deterministic() {
        let root = tempfile::tempdir().expect("tempdir");
        let a = synthetic(root.path(), "a", 0.6);
        let b = synthetic(root.path(), "b", 0.6);
        let r = compare(&a, &b, None);
        assert_eq!(r.verdict, Verdict::Deterministic);
        assert_eq!(r.tolerance, Tolerance::BitExact);
        assert!(failed(&r).is_empty());
        let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "device",
                "primary_score",
                "scorecard_counts",
                "item_correctness",
                "raw_outputs_blake3"
            ]
        );
        assert_eq!(r.n_differing_items, 0);
        assert!(r.checks.iter().all(|c| c.detail.is_none()));
    }

    #[test]
    fn different_skill_is_not_deterministic_and_lists_at_most_ten_items() {
        let root = tempfile::tempdir().expect("tempdir");
        let a = synthetic(root.path(), "a", 0.3);
        let b = synthetic(root.path(), "b", 0.9);
        let r = compare(&a, &b, None);
        assert_eq!(r.verdict, Verdict::NotDeterministic);
        assert_eq!(
            failed(&r),
            ["primary_score", "item_correctness", "raw_outputs_blake3"]
        );
        assert!(r.n_differing_items > MAX_LISTED_ITEMS);
        assert_eq!(r.differing_items.len(), MAX_LISTED_ITEMS);
        let ids: Vec<&str> = r.differing_items.iter().map(|i| i.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "listed by id");
        let first = &r.differing_items[0];
        assert_ne!(first.a_output, first.b_output);
        assert_ne!(first.a_correctness, first.b_correctness);
        let score = r.checks.iter().find(|c| c.name == "primary_score");
        assert!(score
            .and_then(|c| c.detail.as_deref())
            .is_some_and(|d| d.starts_with("b − a = +")));
    }

    #[test]
    fn a_changed_output_with_the_same_correctness_is_caught() {
        let root = tempfile::tempdir().expect("tempdir");
        let a = synthetic(root.path(), "a", 0.5);
        let mut b = synthetic(root.path(), "b", 0.5);
        let eval = b.eval.as_mut().expect("eval");
        let item = &mut eval.items[7];
        item.output = item.output.as_ref().map(|o| format!("{o} "));
        let r = compare(&a, &b, None);
        assert_eq!(r.verdict, Verdict::NotDeterministic);
        assert_eq!(failed(&r), ["raw_outputs_blake3"]);
        assert_eq!(r.n_differing_items, 1);
        assert_eq!(
            r.differing_items[0].id,
            a.eval.as_ref().expect("eval").items[7].id
        );
    }

    fn trained(device: &str, weights: &str, loss: f64) -> RunContents {
        RunContents {
            kind: RunKind::Train,
            device: device.into(),
            eval: None,
            train: Some(TrainContents {
                final_step: 10,
                weights: "model.safetensors".into(),
                weights_blake3: weights.into(),
                metrics: vec![
                    json!({"step": 5, "loss": loss}),
                    json!({"step": 10, "loss": 1.0}),
                ],
            }),
        }
    }

    fn diff() -> WeightDiff {
        WeightDiff {
            n_tensors: 4,
            n_differing: 1,
            max_abs: 1.5e-3,
            worst_tensor: Some("w".into()),
        }
    }

    #[test]
    fn cpu_training_must_be_bit_exact() {
        let same = compare(&trained("cpu", "aa", 2.0), &trained("cpu", "aa", 2.0), None);
        assert_eq!(same.verdict, Verdict::Deterministic);
        let r = compare(
            &trained("cpu", "aa", 2.0),
            &trained("cpu", "bb", 2.5),
            Some(diff()),
        );
        assert_eq!(r.verdict, Verdict::NotDeterministic);
        assert_eq!(
            failed(&r),
            ["final_weights_blake3", "metrics_without_throughput"]
        );
        let weights = &r.checks[1];
        assert!(weights.required);
        assert!(weights
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("1 of 4 tensors") && d.contains("w")));
        assert!(r.checks[2]
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("first difference at line 1")));
        assert_eq!(r.weight_diff, Some(diff()));
    }

    #[test]
    fn cuda_training_differences_are_reported_not_failed() {
        let r = compare(
            &trained("cuda:0", "aa", 2.0),
            &trained("cuda:0", "bb", 2.5),
            Some(diff()),
        );
        assert_eq!(r.tolerance, Tolerance::GpuReported);
        assert_eq!(r.verdict, Verdict::DiffersOnGpu);
        assert!(r.checks.iter().filter(|c| !c.ok).all(|c| !c.required));
    }

    #[test]
    fn a_device_mismatch_always_fails() {
        let r = compare(
            &trained("cpu", "aa", 2.0),
            &trained("cuda:0", "aa", 2.0),
            None,
        );
        assert_eq!(r.verdict, Verdict::NotDeterministic);
        assert_eq!(failed(&r), ["device"]);
    }

    #[test]
    fn the_device_decides_the_tolerance() {
        assert_eq!(Tolerance::for_device("cpu"), Tolerance::BitExact);
        assert_eq!(Tolerance::for_device("none"), Tolerance::BitExact);
        assert_eq!(Tolerance::for_device("cuda:1"), Tolerance::GpuReported);
    }

    #[test]
    fn the_json_document_is_stable() {
        let r = compare(&trained("cpu", "aa", 2.0), &trained("cpu", "aa", 2.0), None);
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["verdict"], "deterministic");
        assert_eq!(v["checks"][1]["name"], "final_weights_blake3");
        assert_eq!(v["checks"][1]["a"], json!({"step": 10, "blake3": "aa"}));
        for key in ["name", "ok", "required", "a", "b"] {
            assert!(v["checks"][0].get(key).is_some(), "{key}");
        }
    }
}
