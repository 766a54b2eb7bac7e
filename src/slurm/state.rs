//! Slurm job states, as `scontrol show job` prints them, and what they
//! mean for a tunix-rt job. Pure.

use std::fmt;

use crate::trainer::FailureClass;

/// A job (or array task) state, as `scontrol show job` prints it
/// (`JobState=`): the states tunix-rt tells apart, and any other one
/// verbatim. Parsed with [`SlurmState::parse`], shown as the same text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SlurmState {
    /// `PENDING`: queued.
    Pending,
    /// `REQUEUED`: put back in the queue.
    Requeued,
    /// `RUNNING`.
    Running,
    /// `COMPLETING`: ended, its epilog still running.
    Completing,
    /// `CONFIGURING`: its nodes are booting.
    Configuring,
    /// `SIGNALING`: being sent a signal.
    Signaling,
    /// `STAGE_OUT`: staging its files out.
    StageOut,
    /// `RESIZING`: changing its size.
    Resizing,
    /// `COMPLETED`: exited with code 0.
    Completed,
    /// `FAILED`: exited non-zero.
    Failed,
    /// `TIMEOUT`: reached its time limit.
    Timeout,
    /// `OUT_OF_MEMORY`: killed for exceeding its memory.
    OutOfMemory,
    /// `NODE_FAIL`: one of its nodes failed.
    NodeFail,
    /// `PREEMPTED`: preempted by another job.
    Preempted,
    /// `CANCELLED`: cancelled by a user or an administrator.
    Cancelled,
    /// `BOOT_FAIL`: its nodes failed to boot.
    BootFail,
    /// `DEADLINE`: reached its deadline.
    Deadline,
    /// `REVOKED`: revoked (a federated job running elsewhere).
    Revoked,
    /// Any other state (`SUSPENDED`, `REQUEUE_HOLD`, a state newer than
    /// this version), as printed; never one of the names above.
    Other(String),
}

impl SlurmState {
    /// The state `scontrol` printed as `text` (exact, case-sensitive);
    /// text it does not know is kept as [`SlurmState::Other`].
    pub fn parse(text: &str) -> SlurmState {
        match text {
            "PENDING" => SlurmState::Pending,
            "REQUEUED" => SlurmState::Requeued,
            "RUNNING" => SlurmState::Running,
            "COMPLETING" => SlurmState::Completing,
            "CONFIGURING" => SlurmState::Configuring,
            "SIGNALING" => SlurmState::Signaling,
            "STAGE_OUT" => SlurmState::StageOut,
            "RESIZING" => SlurmState::Resizing,
            "COMPLETED" => SlurmState::Completed,
            "FAILED" => SlurmState::Failed,
            "TIMEOUT" => SlurmState::Timeout,
            "OUT_OF_MEMORY" => SlurmState::OutOfMemory,
            "NODE_FAIL" => SlurmState::NodeFail,
            "PREEMPTED" => SlurmState::Preempted,
            "CANCELLED" => SlurmState::Cancelled,
            "BOOT_FAIL" => SlurmState::BootFail,
            "DEADLINE" => SlurmState::Deadline,
            "REVOKED" => SlurmState::Revoked,
            other => SlurmState::Other(other.to_string()),
        }
    }

    /// The state as `scontrol` prints it.
    pub fn as_str(&self) -> &str {
        match self {
            SlurmState::Pending => "PENDING",
            SlurmState::Requeued => "REQUEUED",
            SlurmState::Running => "RUNNING",
            SlurmState::Completing => "COMPLETING",
            SlurmState::Configuring => "CONFIGURING",
            SlurmState::Signaling => "SIGNALING",
            SlurmState::StageOut => "STAGE_OUT",
            SlurmState::Resizing => "RESIZING",
            SlurmState::Completed => "COMPLETED",
            SlurmState::Failed => "FAILED",
            SlurmState::Timeout => "TIMEOUT",
            SlurmState::OutOfMemory => "OUT_OF_MEMORY",
            SlurmState::NodeFail => "NODE_FAIL",
            SlurmState::Preempted => "PREEMPTED",
            SlurmState::Cancelled => "CANCELLED",
            SlurmState::BootFail => "BOOT_FAIL",
            SlurmState::Deadline => "DEADLINE",
            SlurmState::Revoked => "REVOKED",
            SlurmState::Other(text) => text,
        }
    }
}

impl From<&str> for SlurmState {
    fn from(text: &str) -> Self {
        SlurmState::parse(text)
    }
}

impl fmt::Display for SlurmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job (or array task) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Queued, requeued, held or suspended: it will (or may) run later.
    Waiting,
    /// Running, or finishing its epilog.
    Running,
    /// It ended and will not run again by itself.
    Ended,
}

/// The phase of the state `state` (e.g. `COMPLETED`, `PENDING`); states
/// this version does not know count as waiting, never as ended.
pub fn phase(state: &SlurmState) -> Phase {
    use SlurmState as S;
    match state {
        S::Running | S::Completing | S::Configuring | S::Signaling | S::StageOut | S::Resizing => {
            Phase::Running
        }
        S::Completed
        | S::Failed
        | S::Timeout
        | S::OutOfMemory
        | S::NodeFail
        | S::Preempted
        | S::Cancelled
        | S::BootFail
        | S::Deadline
        | S::Revoked => Phase::Ended,
        S::Pending | S::Requeued | S::Other(_) => Phase::Waiting,
    }
}

/// The failure class of a job that ended in `state` without recording an
/// outcome in its run folder.
pub fn failure_class(state: &SlurmState) -> FailureClass {
    match state {
        SlurmState::Timeout | SlurmState::Deadline => FailureClass::Timeout,
        SlurmState::OutOfMemory => FailureClass::OutOfMemory,
        _ => FailureClass::Crash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase_of(text: &str) -> Phase {
        phase(&SlurmState::parse(text))
    }

    fn class_of(text: &str) -> FailureClass {
        failure_class(&SlurmState::parse(text))
    }

    #[test]
    fn states_map_to_phases_and_classes() {
        assert_eq!(phase_of("PENDING"), Phase::Waiting);
        assert_eq!(phase_of("REQUEUED"), Phase::Waiting);
        assert_eq!(phase_of("REQUEUE_HOLD"), Phase::Waiting);
        assert_eq!(phase_of("RUNNING"), Phase::Running);
        assert_eq!(phase_of("COMPLETING"), Phase::Running);
        assert_eq!(phase_of("COMPLETED"), Phase::Ended);
        assert_eq!(phase_of("NODE_FAIL"), Phase::Ended);
        assert_eq!(phase_of("SOMETHING_NEW"), Phase::Waiting);
        assert_eq!(class_of("TIMEOUT"), FailureClass::Timeout);
        assert_eq!(class_of("OUT_OF_MEMORY"), FailureClass::OutOfMemory);
        assert_eq!(class_of("NODE_FAIL"), FailureClass::Crash);
        assert_eq!(class_of("PREEMPTED"), FailureClass::Crash);
        assert_eq!(class_of("FAILED"), FailureClass::Crash);
    }

    #[test]
    fn every_phase_of_the_state_names_is_as_before() {
        let running = [
            "RUNNING",
            "COMPLETING",
            "CONFIGURING",
            "SIGNALING",
            "STAGE_OUT",
            "RESIZING",
        ];
        let ended = [
            "COMPLETED",
            "FAILED",
            "TIMEOUT",
            "OUT_OF_MEMORY",
            "NODE_FAIL",
            "PREEMPTED",
            "CANCELLED",
            "BOOT_FAIL",
            "DEADLINE",
            "REVOKED",
        ];
        for text in running {
            assert_eq!(phase_of(text), Phase::Running, "{text}");
        }
        for text in ended {
            assert_eq!(phase_of(text), Phase::Ended, "{text}");
        }
        for text in ["PENDING", "REQUEUED", "SUSPENDED", "running", ""] {
            assert_eq!(phase_of(text), Phase::Waiting, "{text}");
        }
        assert_eq!(class_of("DEADLINE"), FailureClass::Timeout);
        assert_eq!(class_of("CANCELLED"), FailureClass::Crash);
    }

    /// Every state tunix-rt tells apart, with its name.
    const NAMES: [(SlurmState, &str); 18] = [
        (SlurmState::Pending, "PENDING"),
        (SlurmState::Requeued, "REQUEUED"),
        (SlurmState::Running, "RUNNING"),
        (SlurmState::Completing, "COMPLETING"),
        (SlurmState::Configuring, "CONFIGURING"),
        (SlurmState::Signaling, "SIGNALING"),
        (SlurmState::StageOut, "STAGE_OUT"),
        (SlurmState::Resizing, "RESIZING"),
        (SlurmState::Completed, "COMPLETED"),
        (SlurmState::Failed, "FAILED"),
        (SlurmState::Timeout, "TIMEOUT"),
        (SlurmState::OutOfMemory, "OUT_OF_MEMORY"),
        (SlurmState::NodeFail, "NODE_FAIL"),
        (SlurmState::Preempted, "PREEMPTED"),
        (SlurmState::Cancelled, "CANCELLED"),
        (SlurmState::BootFail, "BOOT_FAIL"),
        (SlurmState::Deadline, "DEADLINE"),
        (SlurmState::Revoked, "REVOKED"),
    ];

    #[test]
    fn states_round_trip_through_their_text() {
        for (state, name) in &NAMES {
            assert_eq!(state.as_str(), *name);
            assert_eq!(state.to_string(), *name);
            assert_eq!(SlurmState::parse(name), *state);
            assert_eq!(SlurmState::from(*name), *state);
        }
        assert_eq!(SlurmState::parse("PENDING"), SlurmState::Pending);
        assert_eq!(SlurmState::parse("OUT_OF_MEMORY"), SlurmState::OutOfMemory);
        assert_eq!(SlurmState::parse("STAGE_OUT"), SlurmState::StageOut);
    }

    #[test]
    fn unknown_states_are_kept_verbatim() {
        for text in [
            "SUSPENDED",
            "REQUEUE_HOLD",
            "Running",
            "pending",
            "",
            "NEW STATE",
        ] {
            let state = SlurmState::parse(text);
            assert_eq!(state, SlurmState::Other(text.to_string()));
            assert_eq!(state.as_str(), text);
            assert_eq!(state.to_string(), text);
        }
    }
}
