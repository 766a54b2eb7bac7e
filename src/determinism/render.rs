//! The determinism report as text for a terminal or CI log (JSON is the
//! report itself).

use std::fmt::Write as _;

use serde_json::Value;

use super::compare::{DeterminismReport, Method, Tolerance, Verdict};
use crate::runfolder::RunKind;

/// Longest output shown per differing item, in characters.
const MAX_OUTPUT_CHARS: usize = 200;

/// Render the report.
pub fn text(r: &DeterminismReport) -> String {
    let mut out = String::new();
    match (r.method, &r.run) {
        (Method::Rescore, Some(run)) => {
            let _ = writeln!(
                out,
                "determinism  {} run {run}, stored outputs re-scored twice and compared with its record",
                r.kind
            );
        }
        _ => {
            let what = if r.kind == RunKind::Train {
                "trained twice (two trainer processes)"
            } else {
                "evaluated twice"
            };
            let _ = writeln!(
                out,
                "determinism  {} job, {what}, device {}",
                r.kind, r.device
            );
        }
    }
    for note in &r.notes {
        let _ = writeln!(out, "note         {note}");
    }
    if r.tolerance == Tolerance::GpuReported {
        let _ = writeln!(
            out,
            "note         CUDA training is not bit-exact (atomic adds in cuBLAS/cuDNN kernels); differences are reported, not failed"
        );
    }
    for c in &r.checks {
        if c.ok {
            let _ = writeln!(out, "  match    {:<28} {}", c.name, show(&c.a));
        } else {
            let tag = if c.required { "DIFFERS" } else { "differs" };
            let _ = writeln!(out, "  {tag:<8} {:<28} a {}", c.name, show(&c.a));
            let _ = writeln!(out, "  {:<8} {:<28} b {}", "", "", show(&c.b));
            if let Some(d) = &c.detail {
                let _ = writeln!(out, "  {:<8} {:<28} {d}", "", "");
            }
        }
    }
    if r.n_differing_items > 0 {
        let _ = writeln!(
            out,
            "differing items: {} (first {} by id)",
            r.n_differing_items,
            r.differing_items.len()
        );
        for item in &r.differing_items {
            let _ = writeln!(
                out,
                "  {}  correctness a {} / b {}",
                item.id,
                score(item.a_correctness),
                score(item.b_correctness)
            );
            let _ = writeln!(out, "    a: {}", output(item.a_output.as_deref()));
            let _ = writeln!(out, "    b: {}", output(item.b_output.as_deref()));
        }
    }
    if let Some(kept) = &r.kept {
        let _ = writeln!(out, "kept         {kept}/a and {kept}/b");
    }
    let verdict = match r.verdict {
        Verdict::Deterministic => "deterministic",
        Verdict::NotDeterministic => "NOT deterministic",
        Verdict::DiffersOnGpu => "NOT bit-exact on the GPU (reported, not failed)",
    };
    let _ = writeln!(out, "verdict      {verdict}");
    out
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn score(c: Option<f64>) -> String {
    c.map_or("null".to_string(), |c| c.to_string())
}

fn output(o: Option<&str>) -> String {
    let Some(o) = o else {
        return "(no output)".to_string();
    };
    let escaped = o.escape_debug().to_string();
    if escaped.chars().count() > MAX_OUTPUT_CHARS {
        let cut: String = escaped.chars().take(MAX_OUTPUT_CHARS).collect();
        format!("\"{cut}…\"")
    } else {
        format!("\"{escaped}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::determinism::{compare, contents};

    #[test]
    fn a_mismatch_shows_both_values_the_items_and_the_verdict() {
        let root = tempfile::tempdir().expect("tempdir");
        let read = |id: &str, skill: f64| {
            let dir = tunix_testkit::synthetic::write_run(root.path(), id, 30, skill).expect("run");
            contents::read(&dir).expect("read")
        };
        let r = compare(&read("a", 0.2), &read("b", 0.8), None);
        let t = text(&r);
        assert!(
            t.contains("  DIFFERS  primary_score                a "),
            "{t}"
        );
        assert!(t.contains("b − a = +"), "{t}");
        assert!(t.contains("differing items: "), "{t}");
        assert!(t.contains("    a: \"") && t.contains("    b: \""), "{t}");
        assert!(t.ends_with("verdict      NOT deterministic\n"), "{t}");
    }
}
