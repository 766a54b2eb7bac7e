//! Fault injection for tests: environment variables that make a job fail
//! or pause at a known point (`TUNIX_RT_FAULT_*`). Only builds with the
//! `fault-injection` feature obey them, and only the test build enables it
//! (the root package's dev-dependency on this crate); `cargo build`,
//! `cargo install` and `make install` build programs that ignore them, so a
//! stray variable never changes what users run.

use std::ffi::OsString;

/// Whether this build obeys fault variables.
pub const OBEYED: bool = cfg!(feature = "fault-injection");

/// The value of the fault variable `name`, when it is set (non-empty) and
/// this build obeys faults.
pub fn var(name: &str) -> Option<OsString> {
    if !OBEYED {
        return None;
    }
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The fault variable `name` as a step number.
pub fn step(name: &str) -> Option<u32> {
    var(name)?.to_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_variable_is_read_only_where_faults_are_obeyed_and_unset_ones_are_none() {
        assert_eq!(var("PATH").is_some(), OBEYED);
        assert_eq!(var("TUNIX_RT_FAULT_SURELY_UNSET_FOR_THIS_TEST"), None);
        assert_eq!(step("TUNIX_RT_FAULT_SURELY_UNSET_FOR_THIS_TEST"), None);
    }
}
