//! Write synthetic run folders for benchmarks of the installed programs
//! (`bench/installed.py`), the folders `cargo bench --bench store` writes:
//!
//! - `synthetic_runs DIR ITEMS COUNT`: COUNT folders `DIR/run-00000`, ...
//!   of ITEMS items each, with the store benchmark's spread of skills;
//! - `synthetic_runs DIR ITEMS NAME:SKILL...`: one folder per NAME, a
//!   fraction SKILL of its items answered correctly.

// A command-line program: it reports on stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::ExitCode;

use tunix_testkit::synthetic::write_run;

const USAGE: &str = "usage: synthetic_runs DIR ITEMS (COUNT | NAME:SKILL...)";

/// The runs to write: (name, skill).
fn runs(args: &[String]) -> Option<Vec<(String, f64)>> {
    if let [count] = args {
        if let Ok(count) = count.parse::<usize>() {
            return Some(
                (0..count)
                    .map(|i| {
                        let skill = 0.3 + 0.6 * ((i * 37) % 100) as f64 / 100.0;
                        (format!("run-{i:05}"), skill)
                    })
                    .collect(),
            );
        }
    }
    args.iter()
        .map(|arg| {
            let (name, skill) = arg.split_once(':')?;
            let skill = skill
                .parse::<f64>()
                .ok()
                .filter(|s| (0.0..=1.0).contains(s))?;
            Some((name.to_string(), skill))
        })
        .collect::<Option<Vec<_>>>()
        .filter(|runs| !runs.is_empty())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [dir, items, rest @ ..] => items
            .parse::<usize>()
            .ok()
            .zip(runs(rest))
            .map(|(n, r)| (dir, n, r)),
        _ => None,
    };
    let Some((dir, items, runs)) = parsed else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    for (name, skill) in &runs {
        if let Err(e) = write_run(Path::new(dir), name, items, *skill) {
            eprintln!("synthetic_runs: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!(
        "wrote {} run folder(s) of {items} items in {dir}",
        runs.len()
    );
    ExitCode::SUCCESS
}
