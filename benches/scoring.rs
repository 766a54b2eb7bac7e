//! Scoring throughput: answer extraction + normalization + equivalence over
//! 1M generated items, against the pure-Python reference of the same rules
//! (bench/scoring_ref.py) run in the same command.
//!
//! Run: `cargo bench --bench scoring` (or `make bench`). Items: set
//! TUNIX_BENCH_ITEMS (default 1,000,000). Both sides are single-threaded and
//! time only the scoring loop, not file reading.

// A benchmark's output is its report on stdout.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use tunix_rt::rng::Rng;
use tunix_rt::scoring::{answer_correctness, AnswerExtraction, Equivalence};

/// A deterministic mix of answer formats and output styles, about 60% correct.
fn generate(n: usize) -> Vec<(String, String)> {
    let mut rng = Rng::new(20_261_123);
    (0..n)
        .map(|_| {
            let value = rng.below(1_000_000) as i64 - 1000;
            let cents = rng.below(100);
            let wrong = rng.below(10) < 4;
            let shown = if wrong {
                value + 1 + rng.below(50) as i64
            } else {
                value
            };
            let (expected, answer) = match rng.below(7) {
                0 => (value.to_string(), shown.to_string()),
                1 => (value.to_string(), group_thousands(shown)),
                2 => (
                    format!("${value}.{cents:02}"),
                    format!("{shown}.{cents:02}"),
                ),
                3 => (format!("{value}%"), format!("{shown} %")),
                4 => (format!("{value}.50"), format!("{shown}.5")),
                5 => (
                    "YES".to_string(),
                    if wrong { "no".into() } else { "Yes.".into() },
                ),
                _ => (format!("{value}."), format!("+{shown}")),
            };
            let output = match rng.below(4) {
                0 => format!(
                    "{} * 3 = {}. Then subtract {}. Answer: {answer}",
                    rng.below(100),
                    rng.below(300),
                    rng.below(50)
                ),
                1 => format!(
                    "Let me think step by step.\nFirst {} + {} = {}.\n#### {answer}",
                    rng.below(90),
                    rng.below(90),
                    rng.below(180)
                ),
                2 => format!(
                    "We get {} then {}, so the result is {answer}",
                    rng.below(1000),
                    rng.below(1000)
                ),
                _ => answer.clone(),
            };
            (expected, output)
        })
        .collect()
}

fn group_thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn main() {
    let n: usize = std::env::var("TUNIX_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let items = generate(n);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("items.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        for (expected, output) in &items {
            serde_json::to_writer(
                &mut f,
                &serde_json::json!({"expected": expected, "output": output}),
            )
            .expect("write");
            f.write_all(b"\n").expect("write");
        }
    }

    let extraction = AnswerExtraction::default();
    let eq = Equivalence::default();
    let start = Instant::now();
    let mut correct = 0u64;
    for (expected, output) in &items {
        let (_, c) = answer_correctness(output, expected, &extraction, &eq);
        correct += c as u64;
    }
    let rust_s = start.elapsed().as_secs_f64();
    let rust_rate = n as f64 / rust_s;

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/scoring_ref.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let out = Command::new(&python)
        .arg(script)
        .arg(&path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python JSON");
    let py_rate = py["items_per_s"].as_f64().expect("items_per_s");
    let py_correct = py["correct"].as_u64().expect("correct");

    println!(
        "scoring bench: {n} items (extraction + normalization + equivalence, default settings)"
    );
    println!("  rust    {rust_rate:>12.0} items/s   ({rust_s:.3} s, {correct} correct)");
    println!(
        "  python  {py_rate:>12.0} items/s   ({:.3} s, {py_correct} correct)",
        py["seconds"].as_f64().unwrap_or(0.0)
    );
    println!("  ratio   {:>12.1}x  rust / python", rust_rate / py_rate);
    assert_eq!(correct, py_correct, "the Rust and Python scorers disagree");
    println!("  agreement: both implementations scored the same {correct} items correct");
}
