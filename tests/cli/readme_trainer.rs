//! The documentation's own-trainer example, run verbatim: the manifest
//! after `<!-- example: own-trainer-manifest -->` and the script after
//! `<!-- example: own-trainer-script -->` (in README.md or docs/*.md) are
//! written into a workspace exactly as printed, and `tunix-rt run` must
//! train, evaluate and record them. Needs a python3 with torch
//! (TUNIX_TEST_PYTHON, as `make unit` sets it).

use std::path::PathBuf;

use crate::support::{repo, Workspace};

const MANIFEST_MARKER: &str = "<!-- example: own-trainer-manifest -->";
const SCRIPT_MARKER: &str = "<!-- example: own-trainer-script -->";

/// The markdown files the example may live in.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(repo().join("docs")) {
        let mut docs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        docs.sort();
        files.extend(docs);
    }
    files
}

/// The body of the first ```lang fence after `marker`, and the file it is in.
fn block_after(marker: &str, lang: &str) -> (String, PathBuf) {
    let searched = doc_files();
    for file in &searched {
        let text = std::fs::read_to_string(file).expect("read the docs");
        let Some(at) = text.find(marker) else {
            continue;
        };
        let rest = &text[at + marker.len()..];
        let open = format!("```{lang}\n");
        let start = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        let body = start.strip_prefix(&open).unwrap_or_else(|| {
            panic!(
                "{}: `{marker}` must be followed by a ```{lang} fence",
                file.display()
            )
        });
        let end = body.find("\n```").unwrap_or_else(|| {
            panic!(
                "{}: the ```{lang} fence after `{marker}` is not closed",
                file.display()
            )
        });
        return (format!("{}\n", &body[..end]), file.clone());
    }
    panic!(
        "no documentation file holds `{marker}` followed by a ```{lang} fence (searched {})",
        searched
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[test]
fn the_documented_own_trainer_example_runs_as_printed() {
    let (manifest, manifest_doc) = block_after(MANIFEST_MARKER, "yaml");
    let (script, _) = block_after(SCRIPT_MARKER, "python");
    let Some(python) = std::env::var_os("TUNIX_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets TUNIX_TEST_PYTHON (make unit)"
        );
        eprintln!("skipped: set TUNIX_TEST_PYTHON to a python with torch (make unit does)");
        return;
    };
    let python_dir = PathBuf::from(python)
        .parent()
        .expect("TUNIX_TEST_PYTHON names a file")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(python_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let ws = Workspace::new();
    ws.file("manifests/my-trainer.yaml", &manifest);
    ws.file("train.py", &script);
    let out = ws
        .command(&["run", "manifests/my-trainer.yaml"])
        .env("PATH", path)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the example in {} failed:\n{stdout}\n{stderr}",
        manifest_doc.display()
    );
    let summaries: Vec<PathBuf> = walkdir::WalkDir::new(ws.path().join("submission_runs"))
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.ends_with("eval_summary.json"))
        .collect();
    assert_eq!(summaries.len(), 1, "one eval_summary.json: {summaries:?}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summaries[0]).expect("read")).expect("json");
    assert!(
        summary["n_items"].as_u64().is_some_and(|n| n > 0),
        "{summary:#}"
    );
    assert!(stdout.contains("primary      "), "{stdout}");
}
