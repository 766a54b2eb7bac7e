//! Why the trainer stopped: a failure class and a message, reported to
//! the coordinator as the protocol's `failed` event.

use tunix_core::protocol::FailureClass;

/// Why the trainer stopped, classified for the run record.
#[derive(Debug)]
pub struct Failure {
    pub class: FailureClass,
    pub message: String,
}

impl Failure {
    pub fn bad_config(message: impl Into<String>) -> Self {
        Failure {
            class: FailureClass::BadConfig,
            message: message.into(),
        }
    }

    pub fn crash(message: impl Into<String>) -> Self {
        Failure {
            class: FailureClass::Crash,
            message: message.into(),
        }
    }
}

impl From<tunix_core::Error> for Failure {
    fn from(e: tunix_core::Error) -> Self {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        match e.kind() {
            tunix_core::ErrorKind::BadInput => Failure::bad_config(message),
            _ => Failure::crash(message),
        }
    }
}
