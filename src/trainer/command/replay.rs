//! Metric lines a killed attempt wrote but the run never recorded. The
//! shim reads `$TUNIX_METRICS_FILE` every poll, so a coordinator killed
//! between a trainer's metric line and the next poll loses that line while
//! the checkpoint written after it survives. The next attempt resumes from
//! that checkpoint and never writes the line again; these are the lines of
//! the previous attempt's metrics file to report before it starts.

use std::path::Path;

use super::lines;
use crate::runfolder::{read_metrics_file, MetricRecord, METRICS};

/// The complete, valid lines of the previous attempt's metrics file
/// `scratch` past the last step the run folder `run_dir` recorded, up to
/// and including `resume_step` (what the resumed checkpoint covers). Lines
/// that do not parse are left out: the attempt that wrote them already
/// reported them, or was killed writing them.
pub fn unrecorded(scratch: &Path, run_dir: &Path, resume_step: u32) -> Vec<MetricRecord> {
    let Ok(text) = std::fs::read_to_string(scratch) else {
        return Vec::new();
    };
    let recorded = read_metrics_file(&run_dir.join(METRICS))
        .ok()
        .and_then(|records| records.iter().map(|r| r.step).max());
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => return Vec::new(),
    };
    complete
        .lines()
        .enumerate()
        .filter_map(|(i, line)| lines::metric("", i + 1, line).ok())
        .map(|parsed| parsed.record)
        .filter(|r| r.step <= u64::from(resume_step) && recorded.is_none_or(|s| r.step > s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn lines_past_the_recorded_step_up_to_the_checkpoint_are_replayed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let scratch = dir.path().join("scratch.jsonl");
        write(
            &scratch,
            "{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"loss\": 2}\nnot json\n{\"step\": 4, \"loss\": 1}\n{\"step\": 5, \"loss\": 0.5}\n{\"step\": 6,",
        );
        write(&dir.path().join(METRICS), "{\"step\": 1, \"loss\": 3}\n");
        let steps: Vec<u64> = unrecorded(&scratch, dir.path(), 4)
            .iter()
            .map(|r| r.step)
            .collect();
        assert_eq!(steps, vec![2, 4]);
    }

    #[test]
    fn nothing_to_replay_without_a_previous_file_or_when_all_was_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let scratch = dir.path().join("scratch.jsonl");
        assert!(unrecorded(&scratch, dir.path(), 4).is_empty());
        write(&scratch, "{\"step\": 2, \"loss\": 2}\n");
        write(&dir.path().join(METRICS), "{\"step\": 2, \"loss\": 2}\n");
        assert!(unrecorded(&scratch, dir.path(), 4).is_empty());
        std::fs::remove_file(dir.path().join(METRICS)).expect("rm");
        assert_eq!(unrecorded(&scratch, dir.path(), 4).len(), 1);
    }
}
