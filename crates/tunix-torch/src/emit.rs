//! Writing protocol events on stdout, one JSON line each, flushed at once
//! so the coordinator sees progress as it happens. A failed write means
//! the coordinator is gone: training stops.

use std::io::Write;

use tunix_core::protocol::Event;

use crate::failure::Failure;

/// The trainer's side of the event stream.
pub struct Emitter {
    out: Box<dyn Write>,
}

impl Emitter {
    /// Events on this process's stdout.
    pub fn stdout() -> Self {
        Emitter {
            out: Box::new(std::io::stdout()),
        }
    }

    /// Events into any writer (tests).
    pub fn to_writer(out: Box<dyn Write>) -> Self {
        Emitter { out }
    }

    pub fn emit(&mut self, event: &Event) -> Result<(), Failure> {
        self.out
            .write_all(event.to_line().as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Failure {
                class: tunix_core::protocol::FailureClass::Crash,
                message: format!("the coordinator stopped reading the trainer's events: {e}"),
            })
    }

    /// A line for the run's log.
    pub fn log(&mut self, message: &str) -> Result<(), Failure> {
        self.emit(&Event::Log {
            message: message.to_string(),
        })
    }
}
