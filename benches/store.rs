//! Store and report speed, each next to the same work done in Python
//! (duckdb + pandas + jinja2, bench/store_ref.py) in the same command:
//! - ingest 1M eval-item rows (500 run folders × 2,000 items), rows/s:
//!   validation and blake3 hashing included; open, ingest and close timed
//!   on both sides;
//! - the HTML leaderboard over 10,000 runs (the default page: the best
//!   100, ranked among all 10,000; the all-rows page is timed too, for
//!   information);
//! - the HTML compare of two 10,000-item runs.
//!
//! Each side is timed TUNIX_BENCH_REPS times (default 3, alternating Rust
//! and Python) and the median is compared, so that one slow disk flush on
//! either side does not decide a ratio.
//!
//! Run: `cargo bench --bench store` (or `make bench`; needs python3 with
//! duckdb, pandas and jinja2: `make bench` installs them into the venv).
//! Scale with TUNIX_BENCH_SCALE (default 1.0); TUNIX_BENCH_HTML=DIR keeps
//! the rendered pages there (to load them in a browser).

// A benchmark's output is its report on stdout.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use tunix_rt::report::{render_compare, render_leaderboard, ReportFormat, Templates};
use tunix_rt::scoring::CompareConfig;
use tunix_rt::store::filter::{RunFilter, RunLimit};
use tunix_rt::store::ingest::{ingest, Scope};
use tunix_rt::store::{Store, Wait};
use tunix_testkit::synthetic::write_run;

/// Goals of issue #13: how many times the Python reference's speed.
const INGEST_GOAL: f64 = 5.0;
const LEADERBOARD_GOAL: f64 = 3.0;
const COMPARE_GOAL: f64 = 3.0;

fn python(args: &[&str]) -> serde_json::Value {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/store_ref.py");
    let out = Command::new(&python)
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python reference failed (needs duckdb, pandas, jinja2): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python JSON")
}

/// The median of `samples` (not empty).
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// `reps` timings of the Rust side and of the Python side, alternating:
/// their medians in seconds, and the Python side's last answer.
fn timed(
    reps: usize,
    mut rust: impl FnMut(usize) -> f64,
    python_args: impl Fn(usize) -> Vec<String>,
) -> (f64, f64, serde_json::Value) {
    let (mut r, mut p, mut last) = (Vec::new(), Vec::new(), serde_json::Value::Null);
    for rep in 0..reps {
        r.push(rust(rep));
        let args = python_args(rep);
        last = python(&args.iter().map(String::as_str).collect::<Vec<_>>());
        p.push(last["seconds"].as_f64().expect("seconds"));
    }
    (median(r), median(p), last)
}

fn runs(root: &Path, count: usize, items: usize) {
    for i in 0..count {
        let skill = 0.3 + 0.6 * ((i * 37) % 100) as f64 / 100.0;
        write_run(root, &format!("run-{i:05}"), items, skill).expect("write run");
    }
}

/// Write `html` as `name` into the folder TUNIX_BENCH_HTML names, if set.
fn keep(name: &str, html: &str) {
    if let Some(dir) = std::env::var_os("TUNIX_BENCH_HTML") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("TUNIX_BENCH_HTML folder");
        std::fs::write(dir.join(name), html).expect("write the page");
    }
}

/// One result line: both speeds, their ratio and the goal.
fn line(what: &str, unit: &str, rust: f64, py: f64, goal: f64) {
    let ratio = rust / py;
    println!(
        "  {what:<34} rust {rust:>12.0} {unit}   python {py:>12.0} {unit}   ratio {ratio:>6.1}x (goal >= {goal}x: {})",
        if ratio >= goal { "met" } else { "NOT met" }
    );
}

fn main() {
    let scale: f64 = std::env::var("TUNIX_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let n = |x: usize| ((x as f64 * scale).round() as usize).max(2);
    let reps: usize = std::env::var("TUNIX_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path();
    println!(
        "store and report bench (scale {scale}, median of {reps}); Python: duckdb + pandas + jinja2"
    );

    // 1. Ingest.
    let root = ws.join("ingest");
    let (n_runs, n_items) = (n(500), 2000);
    runs(&root, n_runs, n_items);
    let rows = (n_runs * n_items) as f64;
    let (rust_s, py_s, _) = timed(
        reps,
        |rep| {
            // A new index each time, on both sides.
            let t = Instant::now();
            let store =
                Store::open_write(&ws.join(format!("rust-{rep}.duckdb")), Wait::No).expect("open");
            let report = ingest(&store, ws, Scope::Root(&root)).expect("ingest");
            drop(store);
            let seconds = t.elapsed().as_secs_f64();
            assert_eq!(report.item_rows as f64, rows);
            seconds
        },
        |rep| {
            vec![
                "ingest".to_string(),
                root.display().to_string(),
                ws.join(format!("py-{rep}.duckdb")).display().to_string(),
            ]
        },
    );
    println!("  ingest {rows} rows: rust {rust_s:.2} s, python {py_s:.2} s");
    line(
        "ingest (rows/s)",
        "rows/s",
        rows / rust_s,
        rows / py_s,
        INGEST_GOAL,
    );

    // 2. Leaderboard over many runs.
    let lb_root = ws.join("leaderboard");
    let lb_runs = n(10_000);
    runs(&lb_root, lb_runs, 12);
    let lb_db = ws.join("lb.duckdb");
    {
        let store = Store::open_write(&lb_db, Wait::No).expect("open");
        ingest(&store, ws, Scope::Root(&lb_root)).expect("ingest");
    }
    let templates = Templates::builtin().expect("templates");
    let leaderboard = |limit: RunLimit| {
        let t = Instant::now();
        let store = Store::open_read(&lb_db).expect("open");
        let input = tunix_rt::report_input::leaderboard(&store, &RunFilter::default(), limit)
            .expect("input");
        let html = render_leaderboard(&templates, &input, ReportFormat::Html).expect("render");
        drop(store);
        let seconds = t.elapsed().as_secs_f64();
        keep(&format!("leaderboard-{limit}.html"), &html);
        (seconds, html.len())
    };
    let (all_s, all_bytes) = leaderboard(RunLimit::All);
    let (_, bytes) = leaderboard(RunLimit::default());
    let (rust_s, py_s, _) = timed(
        reps,
        |_| leaderboard(RunLimit::default()).0,
        |_| vec!["leaderboard".to_string(), lb_db.display().to_string()],
    );
    println!(
        "  leaderboard of {lb_runs} runs, page of {}: rust {rust_s:.3} s ({} KiB), python {py_s:.3} s (all rows); all {lb_runs} rows: rust {all_s:.3} s ({} KiB)",
        RunLimit::default(),
        bytes / 1024,
        all_bytes / 1024
    );
    line(
        "leaderboard (renders/min)",
        "/min",
        60.0 / rust_s,
        60.0 / py_s,
        LEADERBOARD_GOAL,
    );

    // 3. Compare two large runs.
    let cmp_root = ws.join("compare");
    let cmp_items = n(10_000);
    write_run(&cmp_root, "run-a", cmp_items, 0.6).expect("run a");
    write_run(&cmp_root, "run-b", cmp_items, 0.65).expect("run b");
    let cmp_db = ws.join("cmp.duckdb");
    {
        let store = Store::open_write(&cmp_db, Wait::No).expect("open");
        ingest(&store, ws, Scope::Root(&cmp_root)).expect("ingest");
    }
    let compare = || {
        let t = Instant::now();
        let store = Store::open_read(&cmp_db).expect("open");
        let input = tunix_rt::report_input::compare(
            &store,
            "run-a",
            "run-b",
            &CompareConfig::default(),
            false,
        )
        .expect("input");
        let html = render_compare(&templates, &input, ReportFormat::Html).expect("render");
        drop(store);
        (t.elapsed().as_secs_f64(), input, html)
    };
    let (_, input, html) = compare();
    keep("compare.html", &html);
    let cmp_args = |_| {
        ["compare", &cmp_db.display().to_string(), "run-a", "run-b"]
            .map(String::from)
            .to_vec()
    };
    let (rust_s, py_s, py) = timed(reps, |_| compare().0, cmp_args);
    println!(
        "  compare of two {cmp_items}-item runs: rust {rust_s:.3} s ({} KiB, verdict {}), python {py_s:.3} s (verdict {})",
        html.len() / 1024,
        input.figures.verdict,
        py["verdict"].as_str().unwrap_or("?")
    );
    line(
        "compare (renders/min)",
        "/min",
        60.0 / rust_s,
        60.0 / py_s,
        COMPARE_GOAL,
    );
}
