use std::path::Path;

use serde::Serialize;

use crate::cli::{Format, ValidateArgs};
use tunix_rt::diagnostic::Diagnostic;
use tunix_rt::error::{Error, Result};
use tunix_rt::evidence::{self, Target};
use tunix_rt::workspace::Workspace;

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
                for target in files {
                    results.push(check_file(ws, &target));
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
                outln!(
                    "{}: ok ({} {})",
                    r.file,
                    r.kind.unwrap_or_default(),
                    r.name.as_deref().unwrap_or_default()
                )?;
            }
            for e in &r.errors {
                eprintln!("{e}");
            }
        }
        outln!(
            "checked {} file(s): {} ok, {} with errors",
            results.len(),
            results.len() - failed,
            failed
        )?;
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::bad_input(format!(
            "{n_errors} problem(s) in {failed} file(s); nothing was run"
        )))
    }
}

fn check_file(ws: &Workspace, target: &Target) -> FileResult {
    let (path, kind) = match target {
        Target::Manifest(p) => (p, None),
        Target::RunFolder(p) => (p, Some("run folder")),
        Target::BaselineLock(p) => (p, Some("baseline lock")),
        Target::BestParams(p) => (p, Some("best params")),
    };
    let shown = ws.display_path(path).display().to_string();
    let checked = match target {
        Target::Manifest(file) => tunix_rt::manifest::load(ws, file, &shown)
            .map(|l| (l.manifest.kind().name(), l.manifest.metadata().name.clone())),
        Target::RunFolder(dir) => evidence::check_run_folder(dir, &shown)
            .map(|(_, run_id)| (kind.unwrap_or_default(), run_id)),
        Target::BaselineLock(file) => {
            evidence::check_lock(file, &shown).map(|run| (kind.unwrap_or_default(), run))
        }
        Target::BestParams(file) => {
            evidence::check_best_params(file, &shown).map(|sweep| (kind.unwrap_or_default(), sweep))
        }
    };
    match checked {
        Ok((kind, name)) => FileResult {
            file: shown,
            kind: Some(kind),
            name: Some(name),
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

/// What a path stands for: a file as itself; a run folder as itself; any
/// other folder as its manifests (*.yaml / *.yml), lock files, run folders
/// and best_params.json files, sorted (hidden entries and checkpoints
/// skipped).
fn expand(path: &Path) -> Result<Vec<Target>, Box<Diagnostic>> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| Box::new(Diagnostic::new(&shown, "", format!("cannot read: {e}"))))?;
    if !meta.is_dir() {
        return Ok(vec![Target::of(path)]);
    }
    if evidence::is_run_folder(path) {
        return Ok(vec![Target::RunFolder(path.to_path_buf())]);
    }
    let mut targets = Vec::new();
    let walk = walkdir::WalkDir::new(path)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !(name.starts_with('.') || name == "checkpoints")
        });
    for entry in walk {
        let entry = entry
            .map_err(|e| Box::new(Diagnostic::new(&shown, "", format!("cannot list: {e}"))))?;
        let p = entry.path();
        if entry.file_type().is_dir() {
            if entry.depth() > 0 && evidence::is_run_folder(p) {
                targets.push(Target::RunFolder(p.to_path_buf()));
            }
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        let is_yaml = matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
        let in_run_folder = p
            .parent()
            .is_some_and(|d| d != path && evidence::is_run_folder(d));
        if (is_yaml || name == evidence::BEST_PARAMS) && !in_run_folder {
            targets.push(Target::of(p));
        }
    }
    Ok(targets)
}
