//! A throwaway workspace, a fluent way to run the binary in it, a way to
//! wait for what it does ([`wait_for`]), the tiny CPU Train manifest
//! ([`tiny_train`]), and headless Chromium for the HTML tests
//! ([`browser`], [`dom`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tunix_testkit::manifest::{DatasetName, ModelPreset, TrainManifestBuilder};

mod chromium;
mod wait;
pub use chromium::{browser, dom, load};
pub use wait::{poll_until, wait_for};

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary workspace with a `manifests/` folder and a copy of the
/// repository's eval set.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("manifests")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("evalsets")).expect("mkdir");
        std::fs::copy(
            repo().join("evalsets/eval_v2.jsonl"),
            dir.path().join("evalsets/eval_v2.jsonl"),
        )
        .expect("copy eval set");
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file (creating folders).
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, contents).expect("write");
        self
    }

    /// Every file under the workspace with its contents: compare before and
    /// after a command to prove nothing was written.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        walkdir::WalkDir::new(self.path())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e
                    .path()
                    .strip_prefix(self.path())
                    .expect("inside")
                    .to_path_buf();
                (rel, std::fs::read(e.path()).expect("read"))
            })
            .collect()
    }

    /// `tunix-rt` with the workspace as current folder, not yet run.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("tunix-rt"));
        cmd.args(args)
            .current_dir(self.path())
            .env_remove("TUNIX_WORKSPACE")
            .env_remove("TUNIX_DB")
            .env_remove("TUNIX_RT_WORKER");
        cmd
    }

    /// Run `tunix-rt ARGS` with the workspace as current folder.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run and check that nothing in the workspace changed.
    pub fn run_read_only(&self, args: &[&str]) -> Run {
        let before = self.snapshot();
        let run = self.run(args);
        assert_eq!(before, self.snapshot(), "the command wrote files: {run:?}");
        run
    }
}

/// Write a synthetic but valid run folder `root/<run_id>` (see
/// `tunix_testkit::synthetic`).
pub fn fake_run(root: &Path, run_id: &str, n_items: usize, skill: f64) {
    tunix_testkit::synthetic::write_run(root, run_id, n_items, skill).expect("synthetic run");
}

/// The workspace's eval set as a manifest in `manifests/` or `configs/`
/// names it.
pub const EVAL_V2: &str = "../evalsets/eval_v2.jsonl";

/// A Train manifest for a model small enough for CI (a step takes
/// milliseconds on a CPU), not evaluated.
pub fn tiny_train(name: &str, max_steps: u32) -> TrainManifestBuilder {
    TrainManifestBuilder::new(name)
        .model(ModelPreset::GptNano)
        .n_layer(1)
        .n_head(2)
        .n_embd(32)
        .context_length(192)
        .dataset(DatasetName::DevReasoningV2)
        .train_examples(300)
        .val_examples(20)
        .learning_rate(3.0e-3)
        .per_device_batch_size(4)
        .warmup_steps(5)
        .max_steps(max_steps)
        .checkpoint_interval(10)
        .log_interval(5)
        .device("cpu")
}

/// [`tiny_train`] evaluated on eval_v2 with short, batched decoding.
pub fn tiny_train_evaluated(name: &str, max_steps: u32) -> TrainManifestBuilder {
    tiny_train(name, max_steps).eval(EVAL_V2).decoding(16, 64)
}

/// Predictions for every eval_v2 item: correct for every item whose index
/// is not a multiple of `wrong_every`.
pub fn predictions(ws: &Workspace, wrong_every: usize) -> String {
    let text = std::fs::read_to_string(ws.path().join("evalsets/eval_v2.jsonl")).expect("read");
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let item: serde_json::Value = serde_json::from_str(line).expect("json");
        let answer = if i % wrong_every == 0 {
            "-12345".to_string()
        } else {
            item["expected_answer"]
                .as_str()
                .expect("answer")
                .to_string()
        };
        let row = serde_json::json!({"id": item["id"], "output": format!("Some steps. Answer: {answer}")});
        out.push_str(&row.to_string());
        out.push('\n');
    }
    out
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, expected, "exit code; {self:?}");
        self
    }

    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).expect("stdout is JSON")
    }
}
