//! A sweep's live progress on stderr: one indicatif bar (finished trials
//! out of all) whose message tallies running / done / stopped / failed
//! trials, the best so far and each running trial's step; plain lines for
//! the sweep's events when stderr is not a terminal.

use std::collections::BTreeMap;

use indicatif::{ProgressBar, ProgressStyle};

use tunix_rt::manifest::sweep::Mode;
use tunix_rt::runner::coordinator::SweepEvent;

/// What the display knows about the trials.
#[derive(Debug, Default)]
pub struct Tally {
    mode: Option<Mode>,
    /// Running trials and the step each last reported.
    running: BTreeMap<String, u64>,
    done: usize,
    stopped: usize,
    failed: usize,
    /// Each trial's metric at the highest rung it reached.
    reached: BTreeMap<String, (u32, f64)>,
    last_rung: u32,
}

impl Tally {
    pub fn new(mode: Mode, last_rung: u32) -> Self {
        Tally {
            mode: Some(mode),
            last_rung,
            ..Tally::default()
        }
    }

    /// Trials that will not run again.
    pub fn finished(&self) -> usize {
        self.done + self.stopped + self.failed
    }

    pub fn update(&mut self, event: &SweepEvent) {
        match event {
            SweepEvent::Resumed { .. } => {}
            SweepEvent::RungStarted { trials, .. } => {
                for t in trials {
                    self.running.entry(t.clone()).or_insert(0);
                }
            }
            SweepEvent::TrialProgress { trial_id, step } => {
                self.running.insert(trial_id.clone(), *step);
            }
            SweepEvent::TrialRetrying { .. } => {}
            SweepEvent::TrialReached {
                trial_id,
                step,
                metric,
                ..
            } => {
                self.running.remove(trial_id);
                if let Some(m) = metric.filter(|m| !m.is_nan()) {
                    self.reached.insert(trial_id.clone(), (*step, m));
                }
                if *step >= self.last_rung {
                    self.done += 1;
                }
            }
            SweepEvent::TrialFailed { trial_id, .. } => {
                self.running.remove(trial_id);
                self.failed += 1;
            }
            SweepEvent::RungDecided(d) => self.stopped += d.stopped.len(),
            SweepEvent::TrialCancelled { trial_id } => {
                self.running.remove(trial_id);
            }
            SweepEvent::SlurmSubmitted { .. }
            | SweepEvent::SlurmAttached { .. }
            | SweepEvent::TrialsDrawn { .. } => {}
        }
    }

    /// The best trial so far: the best metric among the trials at the
    /// highest rung any trial reached (ties: the smaller trial id).
    pub fn best(&self) -> Option<(&str, u32, f64)> {
        let top = self.reached.values().map(|(s, _)| *s).max()?;
        let better = |a: f64, b: f64| match self.mode {
            Some(Mode::Min) => a < b,
            _ => a > b,
        };
        let mut best: Option<(&str, u32, f64)> = None;
        for (id, (step, m)) in &self.reached {
            if *step == top && best.is_none_or(|(_, _, b)| better(*m, b)) {
                best = Some((id, *step, *m));
            }
        }
        best
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        let mut parts = vec![format!(
            "{} running · {} done · {} stopped · {} failed",
            self.running.len(),
            self.done,
            self.stopped,
            self.failed
        )];
        if let Some((id, step, m)) = self.best() {
            parts.push(format!("best {id} {m:.4} @{step}"));
        }
        if !self.running.is_empty() {
            let steps: Vec<String> = self
                .running
                .iter()
                .map(|(id, s)| format!("{id}:{s}"))
                .collect();
            parts.push(steps.join(" "));
        }
        parts.join(" · ")
    }
}

/// The bar (hidden when stderr is not a terminal) and the tally.
pub struct SweepProgress {
    bar: ProgressBar,
    tally: Tally,
    quiet: bool,
}

impl SweepProgress {
    pub fn new(trials: usize, mode: Mode, last_rung: u32, quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(trials as u64)
        };
        if let Ok(style) = ProgressStyle::with_template(
            "sweep [{elapsed_precise}] {bar:24} {pos}/{len} {wide_msg}",
        ) {
            bar.set_style(style);
        }
        SweepProgress {
            bar,
            tally: Tally::new(mode, last_rung),
            quiet,
        }
    }

    pub fn event(&mut self, event: &SweepEvent, plain: impl FnOnce() -> Option<String>) {
        self.tally.update(event);
        self.bar.set_position(self.tally.finished() as u64);
        self.bar.set_message(self.tally.line());
        if self.bar.is_hidden() && !self.quiet {
            if let Some(line) = plain() {
                eprintln!("{line}");
            }
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunix_rt::sweep::halving::Scored;
    use tunix_rt::sweep::ledger::RungDecision;

    fn reached(id: &str, step: u32, metric: f64) -> SweepEvent {
        SweepEvent::TrialReached {
            trial_id: id.into(),
            step,
            metric: Some(metric),
            from_disk: false,
        }
    }

    #[test]
    fn the_tally_counts_states_and_finds_the_best_at_the_top_rung() {
        let mut t = Tally::new(Mode::Max, 8);
        t.update(&SweepEvent::RungStarted {
            rung: 4,
            trials: vec!["t0".into(), "t1".into(), "t2".into()],
        });
        t.update(&SweepEvent::TrialProgress {
            trial_id: "t1".into(),
            step: 3,
        });
        assert_eq!(
            t.line(),
            "3 running · 0 done · 0 stopped · 0 failed · t0:0 t1:3 t2:0"
        );
        t.update(&reached("t0", 4, 0.5));
        t.update(&reached("t1", 4, 0.7));
        t.update(&SweepEvent::TrialFailed {
            trial_id: "t2".into(),
            failure: tunix_rt::runfolder::Failure {
                class: "crash".into(),
                message: "x".into(),
            },
        });
        t.update(&SweepEvent::RungDecided(RungDecision {
            rung: 4,
            continued: vec![Scored {
                trial_id: "t1".into(),
                metric: Some(0.7),
            }],
            stopped: vec![Scored {
                trial_id: "t0".into(),
                metric: Some(0.5),
            }],
            tie_rule: None,
            bracket: None,
        }));
        assert_eq!(t.best(), Some(("t1", 4, 0.7)));
        t.update(&reached("t1", 8, 0.6));
        assert_eq!(t.best(), Some(("t1", 8, 0.6)));
        assert_eq!(t.finished(), 3);
        assert_eq!(
            t.line(),
            "0 running · 1 done · 1 stopped · 1 failed · best t1 0.6000 @8"
        );
    }

    #[test]
    fn ties_and_min_mode_pick_the_smaller_metric_then_the_smaller_id() {
        let mut t = Tally::new(Mode::Min, 4);
        t.update(&reached("t2", 4, 0.5));
        t.update(&reached("t1", 4, 0.5));
        t.update(&reached("t3", 4, 0.9));
        assert_eq!(t.best(), Some(("t1", 4, 0.5)));
    }
}
