//! Progress of a running job on stderr: indicatif bars on a terminal, plain
//! lines otherwise (logs of batch systems stay readable).

use indicatif::{ProgressBar, ProgressStyle};

use tunix_rt::runner::train::status_line;
use tunix_rt::runner::Observer;
use tunix_rt::trainer::Event;

/// Shows a Train job's steps and evaluations (or, with no steps, only the
/// decoding of a checkpoint evaluation).
pub struct TrainProgress {
    max_steps: u64,
    train: Option<ProgressBar>,
    eval: Option<ProgressBar>,
}

impl TrainProgress {
    pub fn new(max_steps: u32) -> Self {
        TrainProgress {
            max_steps: u64::from(max_steps),
            train: None,
            eval: None,
        }
    }
}

/// A bar of `len` steps labelled `label`, its message after the count.
pub(super) fn bar(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>8} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.set_prefix(label.to_string());
    bar
}

impl Observer for TrainProgress {
    fn event(&mut self, event: &Event) {
        match event {
            Event::Started(_) if self.max_steps == 0 => {}
            Event::Started(s) => {
                let b = bar(self.max_steps, "train");
                b.set_position(u64::from(s.start_step));
                self.train = Some(b);
            }
            Event::Metrics(r) => {
                let status = status_line(r);
                if let Some(b) = &self.train {
                    b.set_position(r.step);
                    b.set_message(status.clone());
                    if b.is_hidden() {
                        eprintln!("step {}/{} {status}", r.step, self.max_steps);
                    }
                }
            }
            Event::EvalProgress { done, total } => {
                let b = self.eval.get_or_insert_with(|| bar(*total, "eval"));
                b.set_position(*done);
                if done >= total {
                    b.finish_and_clear();
                    self.eval = None;
                }
            }
            Event::Finished { .. } | Event::Failed(_) => {
                for b in [self.train.take(), self.eval.take()].into_iter().flatten() {
                    b.finish_and_clear();
                }
            }
            Event::Log { .. } | Event::Outputs(_) | Event::Checkpoint(_) => {}
        }
    }

    fn note(&mut self, message: &str) {
        match &self.train {
            Some(b) => b.suspend(|| eprintln!("{message}")),
            None => eprintln!("{message}"),
        }
    }
}
