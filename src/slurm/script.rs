//! The job script and `sbatch` options of one submission: a job array of
//! prepared run folders (a sweep rung's trials, or retries), or a single
//! job (a Train run). Pure: nothing here runs or writes.
//!
//! The options go to `sbatch` as argv (no shell, no `#SBATCH` parsing, so
//! any path works); the script quotes every path and name it holds
//! ([`super::quote`]) and records the exact `sbatch` command in a comment
//! for audit. Only the manifest's `extra_sbatch` options, checked to be one
//! plain option each, become `#SBATCH` lines.

use std::path::{Path, PathBuf};

use super::quote::{command_line, quote};
use crate::manifest::slurm::{GpuRequest, SlurmSpec};

/// What one submission runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<'a> {
    /// `--job-name`.
    pub job_name: String,
    /// A comment line saying what this is (sweep, rung, trials).
    pub title: String,
    /// The workspace root (the job's working folder).
    pub workspace: &'a Path,
    /// The `tunix-rt` binary on the compute nodes.
    pub tunix_rt: &'a Path,
    /// The prepared run folders, one per array element (index = position).
    pub run_dirs: Vec<PathBuf>,
    /// Submit a job array (one element per run folder) rather than a
    /// single job (exactly one run folder).
    pub array: bool,
    /// At most this many elements at once (`%K`).
    pub throttle: Option<u32>,
    /// The worker stops after this step (`--until-step`).
    pub until_step: Option<u32>,
    /// Slurm's output file pattern (`%A`, `%a`, `%j`).
    pub output: PathBuf,
    pub spec: &'a SlurmSpec,
}

/// `sbatch`'s options (without the script path) and the script's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub options: Vec<String>,
    pub script: String,
}

/// The options and script of `batch`, whose script will be at
/// `script_path`.
pub fn render(batch: &Batch<'_>, script_path: &Path) -> Submission {
    let options = options(batch);
    let mut sbatch = vec!["sbatch".to_string()];
    sbatch.extend(options.iter().cloned());
    sbatch.push(script_path.display().to_string());

    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("# {}\n", one_line(&batch.title)));
    s.push_str("# Written and submitted by tunix-rt as:\n");
    s.push_str(&format!("#   {}\n", command_line(&sbatch)));
    for extra in &batch.spec.extra_sbatch {
        s.push_str(&format!("#SBATCH {extra}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s.push_str(
        "# A requeued job (preemption, `scontrol requeue`) runs this again with\n\
         # SLURM_RESTART_COUNT > 0: the worker resumes from the newest checkpoint.\n",
    );
    s.push_str(
        "echo \"tunix-rt: job ${SLURM_JOB_ID:-?} array task ${SLURM_ARRAY_TASK_ID:-none} \
         restart ${SLURM_RESTART_COUNT:-0} on $(hostname)\"\n",
    );
    let ws = quote(&batch.workspace.display().to_string());
    s.push_str(&format!("cd -- {ws}\n"));
    if batch.array {
        s.push_str("case \"${SLURM_ARRAY_TASK_ID:-}\" in\n");
        for (i, dir) in batch.run_dirs.iter().enumerate() {
            s.push_str(&format!(
                "  {i}) run_dir={} ;;\n",
                quote(&dir.display().to_string())
            ));
        }
        s.push_str(
            "  *) echo \"tunix-rt: no run folder for array task ${SLURM_ARRAY_TASK_ID:-none}\" >&2; exit 2 ;;\n\
             esac\n",
        );
    } else {
        let dir = batch.run_dirs.first().map(|d| d.display().to_string());
        s.push_str(&format!("run_dir={}\n", quote(&dir.unwrap_or_default())));
    }
    let mut worker = vec![
        quote(&batch.tunix_rt.display().to_string()),
        "--workspace".to_string(),
        ws,
        "worker".to_string(),
        "\"$run_dir\"".to_string(),
    ];
    if let Some(step) = batch.until_step {
        worker.push("--until-step".into());
        worker.push(step.to_string());
    }
    s.push_str(&format!("exec {}\n", worker.join(" ")));
    Submission { options, script: s }
}

fn options(batch: &Batch<'_>) -> Vec<String> {
    let spec = batch.spec;
    let mut o = vec![
        "--parsable".to_string(),
        format!("--job-name={}", batch.job_name),
    ];
    if batch.array {
        let last = batch.run_dirs.len().saturating_sub(1);
        let range = if last == 0 {
            "0".to_string()
        } else {
            format!("0-{last}")
        };
        match batch.throttle {
            Some(k) => o.push(format!("--array={range}%{k}")),
            None => o.push(format!("--array={range}")),
        }
    }
    o.push(format!("--output={}", batch.output.display()));
    o.push("--open-mode=append".into());
    o.push("--requeue".into());
    o.push(format!("--chdir={}", batch.workspace.display()));
    if let Some(p) = &spec.partition {
        o.push(format!("--partition={p}"));
    }
    if spec.gpus_per_trial > 0 {
        let n = spec.gpus_per_trial;
        o.push(match (spec.gpu_request, &spec.gpu_type) {
            (GpuRequest::Gres, Some(t)) => format!("--gres=gpu:{t}:{n}"),
            (GpuRequest::Gres, None) => format!("--gres=gpu:{n}"),
            (GpuRequest::Gpus, Some(t)) => format!("--gpus={t}:{n}"),
            (GpuRequest::Gpus, None) => format!("--gpus={n}"),
        });
    }
    if let Some(c) = spec.cpus_per_trial {
        o.push(format!("--cpus-per-task={c}"));
    }
    if let Some(m) = &spec.mem_per_trial {
        o.push(format!("--mem={m}"));
    }
    if let Some(t) = &spec.time_limit {
        o.push(format!("--time={t}"));
    }
    if let Some(a) = &spec.account {
        o.push(format!("--account={a}"));
    }
    if let Some(q) = &spec.qos {
        o.push(format!("--qos={q}"));
    }
    if let Some(c) = &spec.constraint {
        o.push(format!("--constraint={c}"));
    }
    o
}

/// `text` without line breaks (for a comment line).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SlurmSpec {
        serde_json::from_value(serde_json::json!({
            "shared_dir": "/shared",
            "partition": "gpu",
            "gpus_per_trial": 2,
            "gpu_type": "a100",
            "cpus_per_trial": 8,
            "mem_per_trial": "32G",
            "time_limit": "02:00:00",
            "account": "lab",
            "qos": "normal",
            "constraint": "a100|h100",
            "extra_sbatch": ["--mail-type=END", "--exclusive"],
        }))
        .expect("spec")
    }

    fn batch<'a>(spec: &'a SlurmSpec, ws: &'a Path, bin: &'a Path) -> Batch<'a> {
        Batch {
            job_name: "tunix-s1-r40".into(),
            title: "sweep s1, rung 40: t000, t001".into(),
            workspace: ws,
            tunix_rt: bin,
            run_dirs: vec![ws.join("runs/s1-t000"), ws.join("runs/s1-t001")],
            array: true,
            throttle: Some(2),
            until_step: Some(40),
            output: ws.join("slurm/%A_%a.out"),
            spec,
        }
    }

    #[test]
    fn options_carry_the_resources() {
        let spec = spec();
        let ws = Path::new("/shared/ws");
        let sub = render(
            &batch(&spec, ws, Path::new("/opt/tunix-rt")),
            Path::new("/x.sbatch"),
        );
        assert_eq!(
            sub.options,
            [
                "--parsable",
                "--job-name=tunix-s1-r40",
                "--array=0-1%2",
                "--output=/shared/ws/slurm/%A_%a.out",
                "--open-mode=append",
                "--requeue",
                "--chdir=/shared/ws",
                "--partition=gpu",
                "--gres=gpu:a100:2",
                "--cpus-per-task=8",
                "--mem=32G",
                "--time=02:00:00",
                "--account=lab",
                "--qos=normal",
                "--constraint=a100|h100",
            ]
        );
        assert!(sub
            .script
            .contains("\n#SBATCH --mail-type=END\n#SBATCH --exclusive\n"));
        let mut gpus = spec.clone();
        gpus.gpu_request = GpuRequest::Gpus;
        gpus.gpu_type = None;
        let sub = render(&batch(&gpus, ws, Path::new("/b")), Path::new("/x"));
        assert!(sub.options.contains(&"--gpus=2".to_string()));
    }

    #[test]
    fn a_single_job_has_no_array_and_no_case() {
        let spec = spec();
        let ws = Path::new("/shared/ws");
        let mut b = batch(&spec, ws, Path::new("/b"));
        b.array = false;
        b.run_dirs.truncate(1);
        b.until_step = None;
        let sub = render(&b, Path::new("/x"));
        assert!(!sub.options.iter().any(|o| o.starts_with("--array")));
        assert!(!sub.script.contains("case"));
        assert!(sub
            .script
            .ends_with("exec '/b' --workspace '/shared/ws' worker \"$run_dir\"\n"));
    }

    /// The script's text with hostile paths, and what bash does with it:
    /// exactly the worker command with the intended arguments, nothing else.
    #[test]
    fn hostile_paths_are_quoted_and_run_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir
            .path()
            .join("it's a $(touch pwned) `touch pwned2`; \"q\"\nnext ~ *");
        std::fs::create_dir_all(&ws).expect("mkdir");
        let bin = dir.path().join("fake tunix-rt $(touch pwned3)");
        std::fs::write(
            &bin,
            "#!/bin/bash\nprintf '%s\\0' \"$PWD\" \"$@\" > \"$OUT\"\n",
        )
        .expect("write bin");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let spec = spec();
        let mut b = batch(&spec, &ws, &bin);
        b.run_dirs = vec![ws.join("a;b"), ws.join("$(touch pwned4)")];
        b.title = "title\n touch pwned5".into();
        let script_path = dir.path().join("job.sbatch");
        let sub = render(&b, &script_path);
        assert!(!sub.script.contains("\nnext"), "{}", sub.script);
        assert!(
            sub.script.lines().all(|l| !l.starts_with(" touch")),
            "{}",
            sub.script
        );
        std::fs::write(&script_path, &sub.script).expect("script");
        let out = dir.path().join("out");
        let status = std::process::Command::new("bash")
            .arg(&script_path)
            .env("SLURM_ARRAY_TASK_ID", "1")
            .env("OUT", &out)
            .current_dir(dir.path())
            .status()
            .expect("bash");
        assert!(status.success());
        let words: Vec<String> = String::from_utf8(std::fs::read(&out).expect("out"))
            .expect("utf-8")
            .split_terminator('\0')
            .map(str::to_string)
            .collect();
        let ws_text = ws.display().to_string();
        assert_eq!(
            words,
            [
                ws_text.clone(),
                "--workspace".into(),
                ws_text,
                "worker".into(),
                ws.join("$(touch pwned4)").display().to_string(),
                "--until-step".into(),
                "40".into(),
            ]
        );
        for entry in walk(dir.path()) {
            assert!(
                !entry.contains("pwned") || entry.contains("$(touch"),
                "{entry}"
            );
        }
    }

    fn walk(root: &Path) -> Vec<String> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}
