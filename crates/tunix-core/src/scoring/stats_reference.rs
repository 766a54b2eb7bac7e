//! Test-only: reference values for the statistics, computed with scipy and
//! statsmodels by `bench/ref/stats_reference.py` and stored in
//! `tests/fixtures/stats_reference.json`, and the tolerant comparison the
//! interval and paired-test unit tests check against them.

use serde_json::Value;

const FIXTURE: &str = include_str!("../../../../tests/fixtures/stats_reference.json");

/// The whole reference file.
fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap_or(Value::Null)
}

/// The cases of one section; fails the test when the section is missing.
pub(super) fn cases(name: &str) -> Vec<Value> {
    let cases = fixture()[name].as_array().cloned().unwrap_or_default();
    assert!(!cases.is_empty(), "fixture section {name} is missing");
    cases
}

/// A float field of a case (NaN when absent).
pub(super) fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// An integer field of a case (`u64::MAX` when absent).
pub(super) fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(u64::MAX)
}

/// Relative agreement, with an absolute floor for values at or near 0.
pub(super) fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(got.abs()) || (got - want).abs() <= 1e-15
}
