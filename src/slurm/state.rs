//! Slurm job states, as `scontrol show job` prints them, and what they
//! mean for a tunix-rt job. Pure.

use crate::trainer::FailureClass;

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
pub fn phase(state: &str) -> Phase {
    match state {
        "RUNNING" | "COMPLETING" | "CONFIGURING" | "SIGNALING" | "STAGE_OUT" | "RESIZING" => {
            Phase::Running
        }
        "COMPLETED" | "FAILED" | "TIMEOUT" | "OUT_OF_MEMORY" | "NODE_FAIL" | "PREEMPTED"
        | "CANCELLED" | "BOOT_FAIL" | "DEADLINE" | "REVOKED" => Phase::Ended,
        _ => Phase::Waiting,
    }
}

/// The failure class of a job that ended in `state` without recording an
/// outcome in its run folder.
pub fn failure_class(state: &str) -> FailureClass {
    match state {
        "TIMEOUT" | "DEADLINE" => FailureClass::Timeout,
        "OUT_OF_MEMORY" => FailureClass::OutOfMemory,
        _ => FailureClass::Crash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_phases_and_classes() {
        assert_eq!(phase("PENDING"), Phase::Waiting);
        assert_eq!(phase("REQUEUED"), Phase::Waiting);
        assert_eq!(phase("REQUEUE_HOLD"), Phase::Waiting);
        assert_eq!(phase("RUNNING"), Phase::Running);
        assert_eq!(phase("COMPLETING"), Phase::Running);
        assert_eq!(phase("COMPLETED"), Phase::Ended);
        assert_eq!(phase("NODE_FAIL"), Phase::Ended);
        assert_eq!(phase("SOMETHING_NEW"), Phase::Waiting);
        assert_eq!(failure_class("TIMEOUT"), FailureClass::Timeout);
        assert_eq!(failure_class("OUT_OF_MEMORY"), FailureClass::OutOfMemory);
        assert_eq!(failure_class("NODE_FAIL"), FailureClass::Crash);
        assert_eq!(failure_class("PREEMPTED"), FailureClass::Crash);
        assert_eq!(failure_class("FAILED"), FailureClass::Crash);
    }
}
