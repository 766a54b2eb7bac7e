//! How the command shim paces itself: how long a stopped command gets,
//! how often the shim looks at the command and its metrics file, and how
//! soon it looks for the command's exit once its output closed.

use std::time::Duration;

/// How the shim paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub stop_grace: Duration,
    pub poll: Duration,
}

/// How often the shim looks for the program's exit once its output closed
/// (it is usually exiting then), during the first `poll` after the close.
const EXIT_POLL: Duration = Duration::from_millis(1);

impl Settings {
    /// The pause before looking at the program again, its output closed
    /// `closed_for` ago: [`EXIT_POLL`] at first, then the usual `poll`.
    pub fn pause_after_close(&self, closed_for: Duration) -> Duration {
        if closed_for < self.poll {
            EXIT_POLL
        } else {
            self.poll
        }
    }

    /// The defaults, with `TUNIX_RT_STOP_GRACE_S` when set.
    pub fn from_env() -> Self {
        Settings {
            stop_grace: crate::interrupt::stop_grace(),
            poll: Duration::from_millis(50),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_is_looked_for_at_once_after_the_output_closes_then_at_the_usual_pace() {
        let s = Settings {
            stop_grace: Duration::from_secs(10),
            poll: Duration::from_millis(50),
        };
        assert_eq!(s.pause_after_close(Duration::ZERO), EXIT_POLL);
        assert_eq!(s.pause_after_close(Duration::from_millis(49)), EXIT_POLL);
        assert_eq!(s.pause_after_close(Duration::from_millis(50)), s.poll);
        assert_eq!(s.pause_after_close(Duration::from_secs(5)), s.poll);
    }
}
