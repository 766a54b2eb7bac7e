//! Progress output for long jobs: an indicatif bar on a terminal, plain
//! lines on stderr otherwise (logs of batch systems stay readable).

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar, or line output when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar counting to `len`, labelled `label`.
    pub fn new(len: u64, label: &str) -> Self {
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>8} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
        ) {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_string());
        Progress { bar }
    }

    /// Move to `pos` with a status message.
    pub fn update(&self, pos: u64, message: &str) {
        self.bar.set_position(pos);
        self.bar.set_message(message.to_string());
    }

    /// Advance by `n`.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Print `text` on stderr when there is no bar to show the same
    /// status (stderr is not a terminal): logs of batch jobs get plain lines.
    pub fn line_without_bar(&self, text: &str) {
        if self.bar.is_hidden() {
            eprintln!("{text}");
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
