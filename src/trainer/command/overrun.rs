//! A command trainer that keeps training past `$TUNIX_UNTIL_STEP`.
//!
//! Its metric lines past the step are dropped (the run stops there), but
//! its predictions cannot be judged by their lines: a program that trains
//! on and writes its predictions at the end would have them scored as the
//! step's result, the same at every rung. So the shim looks at the
//! predictions file before each read of the metrics file. What it saw
//! before a read that found no line past the step was written before the
//! program went past it: those predictions, left alone, are the step's.
//! Predictions written or changed later, or none, fail the run as
//! `ignored_stop`.

use std::path::Path;
use std::time::SystemTime;

use crate::trainer::protocol::{Failed, FailureClass};

/// What the shim knows about a program's overrun of its step.
#[derive(Debug, Default)]
pub struct Overrun {
    /// A metric line past the step was read.
    past: bool,
    /// The predictions file before the latest read of the metrics file.
    looked: Option<Stamp>,
    /// The predictions file before the last read that found nothing past
    /// the step: written before the program went past it.
    before: Option<Stamp>,
}

/// A file's modification time and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: SystemTime,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok()?,
        len: meta.len(),
    })
}

impl Overrun {
    /// Before reading new metric lines: look at the predictions file
    /// `predictions`.
    pub fn look(&mut self, predictions: &Path) {
        if !self.past {
            self.before = self.looked;
            self.looked = stamp(predictions);
        }
    }

    /// A metric line past the step was read. True the first time (say so
    /// once).
    pub fn went_past(&mut self) -> bool {
        !std::mem::replace(&mut self.past, true)
    }

    /// The program ended after training past step `until`: the failure,
    /// unless its predictions at `predictions` were written before it went
    /// past the step and not touched since. None when it never went past.
    pub fn judge(&self, predictions: &Path, until: u32) -> Option<Failed> {
        if !self.past {
            return None;
        }
        let what = match (self.before, stamp(predictions)) {
            (Some(before), Some(now)) if before == now => return None,
            (_, Some(_)) => format!(
                "wrote its predictions after going past that step: they are not step {until}'s \
                 result and were not scored"
            ),
            (_, None) => "wrote no predictions before going past that step".to_string(),
        };
        Some(Failed {
            class: FailureClass::IgnoredStop,
            message: format!(
                "the command kept training past step {until}, where it was asked to stop \
                 ($TUNIX_UNTIL_STEP), and {what}. The program must stop after \
                 $TUNIX_UNTIL_STEP: write that step's predictions (and a checkpoint to continue \
                 from), then exit 0"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predictions() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("predictions.jsonl");
        (dir, file)
    }

    fn write(file: &Path, text: &str) {
        std::fs::write(file, text).expect("write");
    }

    #[test]
    fn a_program_that_never_went_past_its_step_is_not_judged() {
        let (_dir, file) = predictions();
        let mut overrun = Overrun::default();
        overrun.look(&file);
        write(&file, "{}\n");
        overrun.look(&file);
        assert_eq!(overrun.judge(&file, 2), None);
    }

    #[test]
    fn predictions_seen_before_a_read_without_overrun_are_the_steps() {
        let (_dir, file) = predictions();
        let mut overrun = Overrun::default();
        write(&file, "{}\n");
        overrun.look(&file);
        // That read found nothing past the step; the next one does.
        overrun.look(&file);
        assert!(overrun.went_past());
        assert!(!overrun.went_past(), "said once");
        assert_eq!(overrun.judge(&file, 2), None);
    }

    #[test]
    fn predictions_first_seen_with_the_overrun_fail_as_ignored_stop() {
        // A fast program: its lines past the step and its predictions are
        // all there by the first read.
        let (_dir, file) = predictions();
        let mut overrun = Overrun::default();
        write(&file, "{}\n");
        overrun.look(&file);
        overrun.went_past();
        let failed = overrun.judge(&file, 2).expect("failed");
        assert_eq!(failed.class, FailureClass::IgnoredStop);
        assert!(
            failed
                .message
                .contains("wrote its predictions after going past"),
            "{}",
            failed.message
        );
    }

    #[test]
    fn rewritten_or_missing_predictions_fail_too() {
        let (_dir, file) = predictions();
        let mut overrun = Overrun::default();
        write(&file, "{}\n");
        overrun.look(&file);
        overrun.look(&file);
        overrun.went_past();
        overrun.look(&file);
        write(&file, "{}\n{}\n");
        assert!(overrun.judge(&file, 2).is_some());
        std::fs::remove_file(&file).expect("remove");
        let failed = overrun.judge(&file, 2).expect("failed");
        assert!(
            failed.message.contains("wrote no predictions"),
            "{}",
            failed.message
        );
    }
}
