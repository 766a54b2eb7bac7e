//! `tunix-rt package`: a run folder's evidence as a reproducible zip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{fake_run, Workspace};

const COMMIT: &str = "0123abcdef4567890123abcdef4567890123abcd";

/// A workspace with the run folder `submission_runs/m35_v1`: the synthetic
/// run's files, a recorded commit, more evidence in a subfolder, and what a
/// package leaves out (a checkpoint, the lock, the hidden job folder).
fn workspace_with_run() -> Workspace {
    let ws = Workspace::new();
    fake_run(&ws.path().join("submission_runs"), "m35_v1", 30, 0.6);
    let manifest_path = ws.path().join("submission_runs/m35_v1/run_manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("read")).expect("json");
    manifest["git"] = serde_json::json!({ "commit": COMMIT, "dirty": false });
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).expect("json"),
    )
    .expect("write");
    ws.file("submission_runs/m35_v1/run.log", "step 1\nstep 2\n")
        .file("submission_runs/m35_v1/plots/loss.svg", "<svg></svg>\n")
        .file(
            "submission_runs/m35_v1/checkpoints/step-00000010/model.safetensors",
            vec![7u8; 4096],
        )
        .file("submission_runs/m35_v1/.lock", "123\n")
        .file("submission_runs/m35_v1/.job/spec.json", "{}\n");
    ws
}

const ZIP_NAME: &str = "tunix-rt_m35_v1_0123abc.zip";

/// Extract `zip` into `into` with Python's zipfile and return, per entry in
/// archive order, (name, date_time, unix mode, compression type).
fn python_extract(zip: &Path, into: &Path) -> Vec<(String, String, u32, u32)> {
    let script = [
        "import sys, zipfile",
        "z = zipfile.ZipFile(sys.argv[1])",
        "assert z.testzip() is None",
        "for i in z.infolist():",
        "    print('%s\\t%s\\t%o\\t%d' % (i.filename, '-'.join(map(str, i.date_time)), i.external_attr >> 16, i.compress_type))",
        "z.extractall(sys.argv[2])",
    ]
    .join("\n");
    let out = std::process::Command::new("python3")
        .args(["-c", script.as_str()])
        .arg(zip)
        .arg(into)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 4, "{line}");
            (
                f[0].to_string(),
                f[1].to_string(),
                u32::from_str_radix(f[2], 8).expect("octal mode"),
                f[3].parse().expect("compression type"),
            )
        })
        .collect()
}

/// Every file under `dir`, relative and `/`-separated, with its bytes.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("inside");
            (
                rel.to_string_lossy().replace('\\', "/"),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

#[test]
fn python_unzips_the_package_and_every_manifest_hash_and_size_matches() {
    let ws = workspace_with_run();
    let run = ws.run(&[
        "package",
        "--run-dir",
        "submission_runs/m35_v1",
        "--format",
        "json",
    ]);
    run.code(0);
    let out = run.json();
    let zip = ws.path().join("dist").join(ZIP_NAME);
    assert!(zip.is_file(), "no {}: {run:?}", zip.display());
    let zip_bytes = std::fs::read(&zip).expect("zip");
    assert_eq!(
        PathBuf::from(out["path"].as_str().expect("path")),
        std::fs::canonicalize(&zip).expect("canonical")
    );
    assert_eq!(
        out["blake3"],
        blake3::hash(&zip_bytes).to_hex().to_string().as_str()
    );
    assert_eq!(out["zip_bytes"], zip_bytes.len() as u64);
    assert_eq!(out["files"], 5);
    assert_eq!(out["run_id"], "m35_v1");
    assert_eq!(out["short_sha"], "0123abc");

    let extracted = tempfile::tempdir().expect("tempdir");
    let entries = python_extract(&zip, extracted.path());
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "m35_v1/eval_items.jsonl",
            "m35_v1/eval_summary.json",
            "m35_v1/plots/loss.svg",
            "m35_v1/run.log",
            "m35_v1/run_manifest.json",
            "MANIFEST.json",
        ]
    );
    for (name, date, mode, method) in &entries {
        assert_eq!(date, "1980-1-1-0-0-0", "{name}");
        assert_eq!(*mode, 0o100644, "{name}");
        assert_eq!(*method, 8, "{name}: deflated");
    }

    let files = files_under(extracted.path());
    let manifest: serde_json::Value =
        serde_json::from_slice(&files["MANIFEST.json"]).expect("MANIFEST.json is JSON");
    assert_eq!(manifest["run_id"], "m35_v1");
    assert_eq!(manifest["run_version"], "m35_v1");
    assert_eq!(manifest["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["git"]["commit"], COMMIT);
    let listed = manifest["files"].as_array().expect("files");
    let listed_paths: Vec<&str> = listed
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    let mut sorted = listed_paths.clone();
    sorted.sort_unstable();
    assert_eq!(listed_paths, sorted, "MANIFEST.json is sorted by path");
    assert_eq!(listed_paths, names[..names.len() - 1]);
    assert_eq!(
        files.len(),
        listed.len() + 1,
        "only listed files and MANIFEST.json"
    );
    let run_dir = ws.path().join("submission_runs");
    let mut total = 0;
    for f in listed {
        let path = f["path"].as_str().expect("path");
        let bytes = &files[path];
        assert_eq!(
            f["blake3"],
            blake3::hash(bytes).to_hex().to_string().as_str(),
            "{path}"
        );
        assert_eq!(f["size"], bytes.len() as u64, "{path}");
        let original = std::fs::read(run_dir.join(path)).expect("original");
        assert_eq!(bytes, &original, "{path} round-trips");
        total += bytes.len() as u64;
    }
    assert_eq!(out["total_bytes"], total);
}

#[test]
fn the_same_run_gives_byte_identical_zips_even_after_touching_its_files() {
    let ws = workspace_with_run();
    let args = ["package", "--run-dir", "submission_runs/m35_v1"];
    let run = ws.run(&args);
    run.code(0)
        .stdout_has(&format!("dist/{ZIP_NAME}"))
        .stdout_has("files    5 (");
    let zip = ws.path().join("dist").join(ZIP_NAME);
    let first = std::fs::read(&zip).expect("zip");
    run.stdout_has(blake3::hash(&first).to_hex().as_str());

    ws.run(&args)
        .code(2)
        .stderr_has(ZIP_NAME)
        .stderr_has("--force");
    assert_eq!(
        std::fs::read(&zip).expect("zip"),
        first,
        "refused, unchanged"
    );

    let later = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000);
    for (rel, _) in files_under(&ws.path().join("submission_runs/m35_v1")) {
        let path = ws.path().join("submission_runs/m35_v1").join(rel);
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_modified(later).expect("touch");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
    }
    let forced: Vec<&str> = args.iter().copied().chain(["--force"]).collect();
    ws.run(&forced).code(0).stdout_has("replaced");
    assert_eq!(
        std::fs::read(&zip).expect("zip"),
        first,
        "touched: same bytes"
    );

    let other = tempfile::tempdir().expect("tempdir");
    let out_dir = other.path().join("elsewhere");
    let out_arg = out_dir.to_string_lossy().into_owned();
    let mut with_out = args.to_vec();
    with_out.extend(["-o", out_arg.as_str()]);
    ws.run(&with_out).code(0);
    assert_eq!(
        std::fs::read(out_dir.join(ZIP_NAME)).expect("zip"),
        first,
        "another output folder: same bytes"
    );
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_in_the_run_folder_is_refused_naming_it() {
    let ws = workspace_with_run();
    std::os::unix::fs::symlink(
        ws.path().join("evalsets/eval_v2.jsonl"),
        ws.path().join("submission_runs/m35_v1/plots/evalset.jsonl"),
    )
    .expect("symlink");
    ws.run_read_only(&["package", "--run-dir", "submission_runs/m35_v1"])
        .code(2)
        .stderr_has("plots/evalset.jsonl")
        .stderr_has("symbolic link");
    assert!(!ws.path().join("dist").exists(), "nothing written");
}

#[test]
fn a_folder_without_run_manifest_is_not_a_run_folder() {
    let ws = workspace_with_run();
    ws.file("submission_runs/not-a-run/run.log", "hello\n");
    ws.run_read_only(&["package", "--run-dir", "submission_runs/not-a-run"])
        .code(2)
        .stderr_has("not a run folder")
        .stderr_has("run_manifest.json");
    ws.run_read_only(&["package", "--run-dir", "submission_runs/missing"])
        .code(2)
        .stderr_has("submission_runs/missing");
    assert!(!ws.path().join("dist").exists(), "nothing written");
}

#[test]
fn a_run_id_or_its_unique_prefix_names_the_run_as_its_folder_does() {
    let ws = workspace_with_run();
    let by_folder = ws.run(&["package", "--run-dir", "submission_runs/m35_v1"]);
    by_folder.code(0);
    let zip = ws.path().join("dist").join(ZIP_NAME);
    let expected = std::fs::read(&zip).expect("zip");
    std::fs::remove_file(&zip).expect("remove");
    ws.run(&["package", "--run-dir", "m35_v1"])
        .code(0)
        .stdout_has(&format!("dist/{ZIP_NAME}"));
    assert_eq!(std::fs::read(&zip).expect("zip"), expected, "the same zip");
    ws.run(&["package", "--run-dir", "m35", "--force"])
        .code(0)
        .stdout_has(&format!("replaced dist/{ZIP_NAME}"));
    fake_run(&ws.path().join("submission_runs"), "m35_v2", 5, 0.5);
    let before = ws.snapshot();
    ws.run(&["package", "--run-dir", "m35_", "--force"])
        .code(2)
        .stderr_has("`m35_` matches 2 runs");
    ws.run(&["package", "--run-dir", "m53_v1"])
        .code(2)
        .stderr_has("no run matches `m53_v1`")
        .stderr_has("did you mean `m35_v1`?");
    assert_eq!(before, ws.snapshot(), "nothing written");
}
