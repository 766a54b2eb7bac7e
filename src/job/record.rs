//! The record of a claimed run while its job runs: `run_manifest.json`'s
//! status transitions (`running` → `completed` | `failed` | `stopped` |
//! `interrupted`), the append-only `run.log` and `metrics.jsonl`, files
//! published atomically, and the artifact list with every file hashed once.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::claim::{Claim, Decision};
use crate::error::{Error, Result};
use crate::fsutil::{blake3_file, write_atomic};
use crate::probe::now_rfc3339;
use crate::runfolder::{
    relative_path, to_json_bytes, to_jsonl_bytes, Artifact, Failure, MetricRecord, RunManifest,
    RunStatus, METRICS, RUN_LOG, RUN_MANIFEST,
};

/// A run being recorded. Dropping it without [`RunRecord::finish`] leaves
/// the run `running`, exactly as a crash would: the next claim resumes it.
#[derive(Debug)]
pub struct RunRecord {
    claim: Claim,
    manifest: RunManifest,
    /// Files whose blake3 is known (published here, or reported by the
    /// trainer), by path relative to the run folder.
    known: BTreeMap<String, Artifact>,
}

impl RunRecord {
    /// Start recording in the claimed folder: `manifest` describes the job
    /// (the claim decides `run_id`; a resumed run keeps its `created_at`
    /// and the checkpoint hashes it recorded). Writes the `running`
    /// manifest.
    pub fn begin(claim: Claim, mut manifest: RunManifest) -> Result<Self> {
        manifest.run_id = claim.run_id.clone();
        manifest.status = RunStatus::Running;
        manifest.finished_at = None;
        manifest.failure = None;
        manifest.interruption = None;
        let mut known = BTreeMap::new();
        if let Decision::Resume { previous } = &claim.decision {
            manifest.created_at = previous.created_at.clone();
            for a in &previous.artifacts {
                if a.path.starts_with("checkpoints/") {
                    known.insert(a.path.clone(), a.clone());
                }
            }
        }
        let mut record = RunRecord {
            claim,
            manifest,
            known,
        };
        record.manifest.artifacts = record.known.values().cloned().collect();
        record.write_manifest()?;
        Ok(record)
    }

    pub fn dir(&self) -> &Path {
        &self.claim.dir
    }

    pub fn run_id(&self) -> &str {
        &self.claim.run_id
    }

    /// The manifest being recorded, to fill in what the job learns.
    pub fn manifest_mut(&mut self) -> &mut RunManifest {
        &mut self.manifest
    }

    /// Append a timestamped line to `run.log`.
    pub fn log(&self, line: &str) -> Result<()> {
        let mut text = String::new();
        let now = now_rfc3339();
        for l in line.lines() {
            text.push_str(&format!("{now} {l}\n"));
        }
        append(&self.dir().join(RUN_LOG), text.as_bytes())
    }

    /// Append one record to `metrics.jsonl`.
    pub fn append_metric(&self, record: &MetricRecord) -> Result<()> {
        append(
            &self.dir().join(METRICS),
            &to_jsonl_bytes(std::slice::from_ref(record))?,
        )
    }

    /// Keep only the metric records of steps ≤ `step` (the resume point;
    /// 0 empties the file), so no step is ever recorded twice.
    pub fn truncate_metrics(&self, step: u64) -> Result<()> {
        let path = self.dir().join(METRICS);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("read the metrics", &path, e)),
        };
        let kept: String = text
            .lines()
            .filter(|line| serde_json::from_str::<MetricRecord>(line).is_ok_and(|r| r.step <= step))
            .map(|l| format!("{l}\n"))
            .collect();
        write_atomic(&path, kept.as_bytes())
    }

    /// Write a file of the run atomically and remember its hash.
    pub fn publish(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.dir().join(rel), bytes)?;
        self.known
            .insert(rel.to_string(), Artifact::new(rel.to_string(), bytes));
        Ok(())
    }

    /// Remove a file left by an earlier attempt (e.g. the eval files of a
    /// run that is restarted).
    pub fn discard(&mut self, rel: &str) -> Result<()> {
        self.known.remove(rel);
        let path = self.dir().join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove the stale file", &path, e)),
        }
    }

    /// Files another process wrote into the run (checkpoints), with their
    /// hashes; the manifest is rewritten so a crash keeps the evidence.
    pub fn files_written(&mut self, files: Vec<Artifact>) -> Result<()> {
        for a in files {
            self.known.insert(a.path.clone(), a);
        }
        self.manifest.artifacts = self.collect_artifacts(false)?;
        self.write_manifest()
    }

    /// End the run with `status`: hash what is not hashed yet, write the
    /// final manifest, release the lock. Returns the run folder.
    pub fn finish(mut self, status: RunStatus, failure: Option<Failure>) -> Result<PathBuf> {
        self.manifest.status = status;
        self.manifest.failure = failure;
        self.manifest.finished_at = Some(now_rfc3339());
        self.manifest.artifacts = self.collect_artifacts(true)?;
        self.write_manifest()?;
        tracing::info!("run {} {}", self.claim.run_id, status.as_str());
        Ok(self.claim.dir.clone())
    }

    fn write_manifest(&self) -> Result<()> {
        write_atomic(
            &self.dir().join(RUN_MANIFEST),
            &to_json_bytes(&self.manifest)?,
        )
    }

    /// Every file of the run folder but `run_manifest.json` and hidden
    /// (lock, temporary) files, sorted by path. Known files whose size
    /// still matches keep their hash; others are hashed (as a stream) when
    /// `hash_unknown`, or left out.
    fn collect_artifacts(&self, hash_unknown: bool) -> Result<Vec<Artifact>> {
        let dir = self.dir();
        let mut out = Vec::new();
        let hidden = |e: &walkdir::DirEntry| e.file_name().to_string_lossy().starts_with('.');
        for entry in walkdir::WalkDir::new(dir)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !hidden(e))
        {
            let entry =
                entry.map_err(|e| Error::runtime(format!("cannot list {}: {e}", dir.display())))?;
            let path = relative_path(dir, entry.path());
            if !entry.file_type().is_file() || path == RUN_MANIFEST {
                continue;
            }
            let size = entry
                .metadata()
                .map_err(|e| Error::runtime(format!("cannot stat {path}: {e}")))?
                .len();
            match self.known.get(&path) {
                Some(a) if a.bytes == size => out.push(a.clone()),
                _ if hash_unknown => {
                    let (blake3, bytes) = blake3_file(entry.path())?;
                    out.push(Artifact {
                        path,
                        blake3,
                        bytes,
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io("open for appending", path, e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io("append to", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::claim::{claim, Placement};
    use crate::runfolder::{read_manifest, RunKind};

    fn start(root: &Path, identity: &str) -> RunRecord {
        let placement = Placement::Numbered {
            root: root.to_path_buf(),
            name: "r".into(),
        };
        let c = claim(&placement, RunKind::Train, identity).expect("claim");
        let mut m = RunManifest::new("", RunKind::Train, "r", "2026-12-01T00:00:00Z");
        m.config_hash = Some(identity.into());
        RunRecord::begin(c, m).expect("begin")
    }

    fn metric(step: u64) -> MetricRecord {
        MetricRecord {
            loss: Some(1.0),
            ..MetricRecord::at(step)
        }
    }

    #[test]
    fn a_run_goes_from_running_to_completed_with_every_file_hashed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut run = start(tmp.path(), "h");
        let dir = run.dir().to_path_buf();
        assert_eq!(read_manifest(&dir).expect("m").status, RunStatus::Running);
        run.log("hello").expect("log");
        run.append_metric(&metric(5)).expect("metric");
        run.publish("eval_summary.json", b"{}\n").expect("publish");
        std::fs::create_dir_all(dir.join("checkpoints/step-00000005")).expect("mkdir");
        std::fs::write(dir.join("checkpoints/step-00000005/w.bin"), b"w").expect("write");
        let done = run.finish(RunStatus::Completed, None).expect("finish");
        let m = read_manifest(&done).expect("manifest");
        assert_eq!(m.status, RunStatus::Completed);
        assert!(m.finished_at.is_some());
        let paths: Vec<&str> = m.artifacts.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "checkpoints/step-00000005/w.bin",
                "eval_summary.json",
                "metrics.jsonl",
                "run.log"
            ]
        );
        for a in &m.artifacts {
            let (hash, bytes) = blake3_file(&done.join(&a.path)).expect("hash");
            assert_eq!((hash, bytes), (a.blake3.clone(), a.bytes), "{}", a.path);
        }
    }

    #[test]
    fn resuming_keeps_created_at_and_truncates_metrics_to_the_resume_point() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let run = start(tmp.path(), "h");
        for s in [5, 10, 15] {
            run.append_metric(&metric(s)).expect("metric");
        }
        let created = read_manifest(run.dir()).expect("m").created_at;
        drop(run);
        let again = start(tmp.path(), "h");
        assert!(matches!(again.claim.decision, Decision::Resume { .. }));
        assert_eq!(again.run_id(), "r");
        assert_eq!(read_manifest(again.dir()).expect("m").created_at, created);
        again.truncate_metrics(10).expect("truncate");
        let text = std::fs::read_to_string(again.dir().join(METRICS)).expect("metrics");
        assert_eq!(text.lines().count(), 2);
        again.truncate_metrics(0).expect("truncate");
        let text = std::fs::read_to_string(again.dir().join(METRICS)).expect("metrics");
        assert!(text.is_empty());
    }

    #[test]
    fn trainer_reported_files_are_not_hashed_again_and_survive_a_crash() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut run = start(tmp.path(), "h");
        let dir = run.dir().to_path_buf();
        std::fs::create_dir_all(dir.join("checkpoints/step-00000002")).expect("mkdir");
        std::fs::write(dir.join("checkpoints/step-00000002/m"), b"abc").expect("write");
        let reported = Artifact {
            path: "checkpoints/step-00000002/m".into(),
            blake3: "f".repeat(64),
            bytes: 3,
        };
        run.files_written(vec![reported.clone()]).expect("files");
        assert_eq!(
            read_manifest(&dir).expect("m").artifacts,
            vec![reported.clone()]
        );
        drop(run);
        let resumed = start(tmp.path(), "h");
        let m = resumed.finish(RunStatus::Stopped, None).expect("finish");
        let artifacts = read_manifest(&m).expect("m").artifacts;
        assert!(artifacts.contains(&reported), "{artifacts:?}");
    }
}
