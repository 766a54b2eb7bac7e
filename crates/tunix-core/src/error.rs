//! One error type for the whole library: what went wrong, where, and which
//! exit code it maps to.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
pub use crate::location::Location;

pub use crate::exit_code::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, EXIT_RUNTIME};

/// What class of failure an [`Error`] is; decides the exit code (the codes
/// and their meanings are listed once, in [`crate::exit_code`]).
///
/// | kind           | exit | meaning                                             |
/// |----------------|------|-----------------------------------------------------|
/// | `CheckFailed`  | 1    | a check ran and did not pass                        |
/// | `BadInput`     | 2    | the user's files or flags are invalid               |
/// | `Runtime`      | 3    | something failed while running                      |
/// | `OutputClosed` | 0    | stdout's reader closed it (`\| head`): a normal end |
/// | `Interrupted`  | 130  | SIGINT (Ctrl-C) stopped the job                     |
/// |                | 143  | SIGTERM stopped the job                             |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A check ran and did not pass.
    CheckFailed,
    /// The user's input (files, flags) is invalid.
    BadInput,
    /// Something failed while running (I/O, libtorch, database).
    Runtime,
    /// Writing to stdout failed because its reader closed it (e.g. the
    /// output was piped into `head`). Not a failure: the command ends
    /// with exit 0 and prints nothing more.
    OutputClosed,
    /// SIGINT or SIGTERM stopped the job (exit 130 or 143); its run folder
    /// records `interrupted` and resumes when the command runs again.
    Interrupted(crate::interrupt::Signal),
}

impl ErrorKind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::CheckFailed => EXIT_CHECK_FAILED,
            ErrorKind::BadInput => EXIT_BAD_INPUT,
            ErrorKind::Runtime => EXIT_RUNTIME,
            ErrorKind::OutputClosed => EXIT_OK,
            ErrorKind::Interrupted(signal) => signal.exit_code(),
        }
    }
}

/// The library's error: a kind, a message, and where it happened.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    location: Option<Location>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    diagnostics: Vec<Diagnostic>,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            path: None,
            location: None,
            source: None,
            diagnostics: Vec::new(),
        }
    }

    /// Bad input described by located diagnostics (printed before the error).
    pub fn invalid_file(shown: &str, diagnostics: Vec<Diagnostic>) -> Self {
        let mut err = Error::bad_input(format!(
            "{shown}: {} problem(s); nothing was written",
            diagnostics.len()
        ));
        err.diagnostics = diagnostics;
        err
    }

    /// The located problems behind this error, if any.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Invalid user input (exit 2).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadInput, message)
    }

    /// A check that did not pass (exit 1).
    pub fn check_failed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::CheckFailed, message)
    }

    /// A failure while running (exit 3).
    pub fn runtime(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Runtime, message)
    }

    /// Stdout's reader closed it (exit 0, see [`ErrorKind::OutputClosed`]).
    pub fn output_closed() -> Self {
        Error::new(ErrorKind::OutputClosed, "stdout was closed by its reader")
    }

    /// `signal` stopped the job (exit 130 or 143, see
    /// [`ErrorKind::Interrupted`]).
    pub fn interrupted(signal: crate::interrupt::Signal, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Interrupted(signal), message)
    }

    /// The signal that stopped the job, for an interrupted one.
    pub fn interrupted_by(&self) -> Option<crate::interrupt::Signal> {
        match self.kind {
            ErrorKind::Interrupted(signal) => Some(signal),
            _ => None,
        }
    }

    /// An I/O failure on a file the tool itself owns or derives (run-folder
    /// files, checkpoints, the index, temp files). Always a runtime failure
    /// (exit 3), a missing file included: the tool expected it to be there.
    pub fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
        Error::new(ErrorKind::Runtime, format!("cannot {action}"))
            .with_path(path)
            .with_source(err)
    }

    /// An I/O failure on a path the user named (a command-line argument, a
    /// path written in a manifest). A path that does not exist, or is a
    /// folder where a file belongs (or the reverse), is bad input (exit 2);
    /// anything else (permissions, disk errors) is a runtime failure (exit 3).
    pub fn user_file(action: &str, path: &Path, err: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind() {
            Io::NotFound | Io::IsADirectory | Io::NotADirectory => ErrorKind::BadInput,
            _ => ErrorKind::Runtime,
        };
        Error::new(kind, format!("cannot {action}"))
            .with_path(path)
            .with_source(err)
    }

    /// Attach the file the error is about.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Attach a position inside that file.
    pub fn with_location(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn location(&self) -> Option<Location> {
        self.location
    }

    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.location) {
            (Some(path), Some(loc)) => write!(f, "{}:{loc}: ", path.display())?,
            (Some(path), None) => write!(f, "{}: ", path.display())?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_path_and_location() {
        let err = Error::bad_input("unknown key `foo`")
            .with_path("manifests/a.yaml")
            .with_location(Location { line: 3, column: 5 });
        assert_eq!(err.to_string(), "manifests/a.yaml:3:5: unknown key `foo`");
        assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
    }

    #[test]
    fn internal_io_is_always_runtime() {
        let nf = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        assert_eq!(
            Error::io("read", Path::new("x"), nf).kind(),
            ErrorKind::Runtime
        );
        let denied = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "no");
        assert_eq!(Error::io("read", Path::new("x"), denied).exit_code(), 3);
    }

    #[test]
    fn missing_user_file_is_bad_input_other_io_is_runtime() {
        let nf = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let err = Error::user_file("read the eval set", Path::new("e.jsonl"), nf);
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert_eq!(err.exit_code(), 2);
        assert_eq!(err.to_string(), "e.jsonl: cannot read the eval set");
        let dir = std::io::Error::new(std::io::ErrorKind::IsADirectory, "dir");
        assert_eq!(Error::user_file("read", Path::new("x"), dir).exit_code(), 2);
        let denied = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "no");
        assert_eq!(
            Error::user_file("read", Path::new("x"), denied).exit_code(),
            3
        );
    }

    #[test]
    fn a_closed_stdout_ends_with_exit_0() {
        let err = Error::output_closed();
        assert_eq!(err.kind(), ErrorKind::OutputClosed);
        assert_eq!(err.exit_code(), EXIT_OK);
    }

    #[test]
    fn an_interrupt_exits_as_a_shell_reports_its_signal() {
        use crate::interrupt::Signal;
        let err = Error::interrupted(Signal::Interrupt, "interrupted");
        assert_eq!(err.exit_code(), 130);
        assert_eq!(err.interrupted_by(), Some(Signal::Interrupt));
        let err = Error::interrupted(Signal::Terminate, "terminated");
        assert_eq!(err.exit_code(), 143);
        assert_eq!(Error::runtime("x").interrupted_by(), None);
    }
}
