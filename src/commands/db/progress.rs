//! Progress of `db ingest` / `db rebuild` on stderr, over run folders,
//! when there are more than a few hundred: an indicatif bar on a terminal,
//! plain lines every tenth otherwise (logs of batch systems stay readable).

use indicatif::ProgressBar;

use tunix_rt::store::ingest::IngestObserver;

/// Ingests of more run folders than this show progress.
pub const SHOWN_ABOVE: usize = 250;

/// Shows an ingest's progress; clears its bar when dropped.
#[derive(Default)]
pub struct IngestProgress {
    shown: Option<Shown>,
}

/// How progress is shown once an ingest is large enough.
enum Shown {
    Bar(ProgressBar),
    Lines(Lines),
}

/// Plain progress lines: one every tenth of the folders, and at the end.
struct Lines {
    total: usize,
    /// The folder count at which the next line is due.
    next: usize,
}

impl Lines {
    fn new(total: usize) -> Lines {
        Lines {
            total,
            next: step(total),
        }
    }

    /// The line due now that `done` folders are handled, if any.
    fn tick(&mut self, done: usize) -> Option<String> {
        if done < self.next && done != self.total {
            return None;
        }
        self.next = done + step(self.total);
        Some(format!("ingested {done}/{} run folders", self.total))
    }
}

impl IngestObserver for IngestProgress {
    fn started(&mut self, folders: usize) {
        if folders <= SHOWN_ABOVE {
            return;
        }
        let bar = crate::commands::progress::bar(folders as u64, "ingest");
        if bar.is_hidden() {
            eprintln!("ingesting {folders} run folders");
            self.shown = Some(Shown::Lines(Lines::new(folders)));
            return;
        }
        bar.set_message("run folders");
        self.shown = Some(Shown::Bar(bar));
    }

    fn advanced(&mut self, done: usize) {
        match &mut self.shown {
            None => {}
            Some(Shown::Bar(bar)) => bar.set_position(done as u64),
            Some(Shown::Lines(lines)) => {
                if let Some(line) = lines.tick(done) {
                    eprintln!("{line}");
                }
            }
        }
    }
}

impl Drop for IngestProgress {
    fn drop(&mut self) {
        if let Some(Shown::Bar(bar)) = &self.shown {
            bar.finish_and_clear();
        }
    }
}

/// Folders between two plain lines: a tenth of them.
fn step(total: usize) -> usize {
    total.div_ceil(10).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_come_every_tenth_and_at_the_end() {
        assert_eq!(step(260), 26);
        assert_eq!(step(3), 1);
        let mut lines = Lines::new(25);
        let printed: Vec<usize> = (1..=25).filter(|d| lines.tick(*d).is_some()).collect();
        assert_eq!(printed, vec![3, 6, 9, 12, 15, 18, 21, 24, 25]);
        assert_eq!(
            Lines::new(260).tick(26).as_deref(),
            Some("ingested 26/260 run folders")
        );
    }
}
