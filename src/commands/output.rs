//! Every command writes its stdout through here (`outln!`, `out!`,
//! [`stdout_error`]), never through `println!`, which panics when the
//! reader has gone. A reader that closes the pipe early (`| head -1`)
//! ends the command normally: the failed write becomes
//! [`Error::output_closed`], which unwinds the command (its destructors
//! run: locks released, temporary folders removed) and exits 0 without
//! a message.

use std::fmt;
use std::io::{self, Write};

use tunix_rt::error::{Error, Result};

/// Write `args` to stdout.
pub fn write_fmt(args: fmt::Arguments<'_>) -> Result<()> {
    io::stdout().lock().write_fmt(args).map_err(stdout_error)
}

/// Write `bytes` to stdout and flush them.
pub fn write_all(bytes: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)
}

/// The error of a failed write to stdout: a closed pipe is the normal end
/// [`Error::output_closed`], anything else a runtime failure.
pub fn stdout_error(err: io::Error) -> Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        Error::output_closed()
    } else {
        Error::runtime("cannot write to stdout").with_source(err)
    }
}

/// `println!` that returns a [`Result`] (see the module documentation).
macro_rules! outln {
    () => {
        $crate::commands::output::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::commands::output::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that returns a [`Result`] (see the module documentation).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::output::write_fmt(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunix_rt::error::ErrorKind;

    #[test]
    fn a_closed_pipe_is_a_normal_end_and_other_errors_are_runtime() {
        let closed = stdout_error(io::Error::new(io::ErrorKind::BrokenPipe, "gone"));
        assert_eq!(closed.kind(), ErrorKind::OutputClosed);
        assert_eq!(closed.exit_code(), 0);
        let full = stdout_error(io::Error::new(io::ErrorKind::StorageFull, "full"));
        assert_eq!(full.kind(), ErrorKind::Runtime);
        assert_eq!(full.to_string(), "cannot write to stdout");
    }
}
