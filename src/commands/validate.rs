use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{Format, ValidateArgs};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

#[derive(Serialize)]
struct FileResult {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    ok: bool,
    errors: Vec<Diagnostic>,
}

#[derive(Serialize)]
struct JsonReport {
    ok: bool,
    files: Vec<FileResult>,
}

pub fn run(ws: &Workspace, args: &ValidateArgs) -> Result<()> {
    let mut results = Vec::new();
    for path in &args.paths {
        match expand(path) {
            Ok(files) => {
                for file in files {
                    results.push(check_file(ws, &file));
                }
            }
            Err(d) => results.push(FileResult {
                file: d.file.clone(),
                kind: None,
                name: None,
                ok: false,
                errors: vec![*d],
            }),
        }
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    let n_errors: usize = results.iter().map(|r| r.errors.len()).sum();
    if args.format == Format::Json {
        super::print_json(&JsonReport {
            ok: failed == 0,
            files: results,
        })?;
    } else {
        for r in &results {
            if r.ok {
                println!(
                    "{}: ok ({} {})",
                    r.file,
                    r.kind.unwrap_or_default(),
                    r.name.as_deref().unwrap_or_default()
                );
            }
            for e in &r.errors {
                eprintln!("{e}");
            }
        }
        println!(
            "checked {} file(s): {} ok, {} with errors",
            results.len(),
            results.len() - failed,
            failed
        );
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::bad_input(format!(
            "{n_errors} problem(s) in {failed} file(s); nothing was run"
        )))
    }
}

fn check_file(ws: &Workspace, file: &Path) -> FileResult {
    let shown = ws.display_path(file).display().to_string();
    match crate::manifest::load(ws, file, &shown) {
        Ok(loaded) => FileResult {
            file: shown,
            kind: Some(loaded.manifest.kind().name()),
            name: Some(loaded.manifest.metadata().name.clone()),
            ok: true,
            errors: Vec::new(),
        },
        Err(errors) => FileResult {
            file: shown,
            kind: None,
            name: None,
            ok: false,
            errors,
        },
    }
}

/// A file as itself; a folder as its *.yaml / *.yml files, sorted.
fn expand(path: &Path) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| Box::new(Diagnostic::new(&shown, "", format!("cannot read: {e}"))))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        let entry = entry
            .map_err(|e| Box::new(Diagnostic::new(&shown, "", format!("cannot list: {e}"))))?;
        let p = entry.path();
        let is_yaml = matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
        if entry.file_type().is_file() && is_yaml {
            files.push(p.to_path_buf());
        }
    }
    Ok(files)
}
