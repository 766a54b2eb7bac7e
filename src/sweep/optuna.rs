//! A sweep's ledger as an Optuna journal: the JSON-lines log that
//! `optuna.storages.JournalStorage(JournalFileBackend(FILE))` replays
//! (written against Optuna 5.1's `storages/journal/_storage.py`), so that
//! `optuna.load_study` and optuna-dashboard open a finished sweep. Pure:
//! the command (`tunix-rt sweep export`) reads the files.
//!
//! The mapping:
//! - one study named after the sweep, direction `maximize` for mode `max`
//!   and `minimize` for `min`, with user attrs `tunix_sweep`,
//!   `tunix_metric`, `tunix_rungs` and `tunix_best_trial_id`;
//! - one trial per ledger trial, in ledger (trial id) order, so trial
//!   number k is the ledger's k-th trial (`t000` is number 0), written as
//!   one `CREATE_TRIAL` with the whole trial, as `Study.add_trial` does;
//! - each searched parameter with its distribution: `uniform` →
//!   `FloatDistribution(low, high)`, `loguniform` → `FloatDistribution(low,
//!   high, log=True)`, `randint` → `IntDistribution(low, high)`, `choice`
//!   and `grid` → `CategoricalDistribution(choices)`. A parameter without
//!   a known distribution, or with a value outside it (the manifest changed
//!   since), gets one inferred from the trials' values, and a note says so;
//! - intermediate values: the trial's metric at each rung it reached (step =
//!   the rung's step; rungs without the metric are left out);
//! - states: `completed` → `COMPLETE` with value = the metric at the last
//!   rung (`FAIL` when it reported none); `stopped` (by ASHA) → `PRUNED`
//!   with value = its last intermediate value, as `Study.tell` records a
//!   pruned trial; `failed` → `FAIL`; `cancelled` (Ctrl-C on the
//!   coordinator) → `FAIL`, as Optuna records a trial a `KeyboardInterrupt`
//!   ended; `running` → `RUNNING`; `pending` → `WAITING` with its values as
//!   `fixed_params`, as `Study.enqueue_trial` queues a trial. A finished
//!   sweep has neither running nor pending trials;
//! - user attrs: `tunix_trial_id`, `tunix_state` (the ledger's state),
//!   `tunix_last_step`, `tunix_run_id` (its run folder, when it has one),
//!   `tunix_stopped_at_rung`, `tunix_failure_class` and
//!   `tunix_failure_message`, `tunix_retried` (the classes of retried
//!   failures), `tunix_note`;
//! - start and completion times: the trial's run folder's `created_at` and
//!   `finished_at`, else the time the caller gives (the ledger's).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::ledger::{Ledger, TrialEntry, TrialState};
use crate::manifest::sweep::{Distribution, Mode};

/// The `worker_id` of every operation (Optuna's are `<uuid>-<thread>`; a
/// reader only compares them with its own).
pub const WORKER_ID: &str = "tunix-rt-sweep-export";

/// Optuna's `JournalOperation` codes.
mod op {
    pub const CREATE_STUDY: u8 = 0;
    pub const SET_STUDY_USER_ATTR: u8 = 2;
    pub const CREATE_TRIAL: u8 = 4;
}

/// Optuna's `TrialState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OptunaState {
    Running = 0,
    Complete = 1,
    Pruned = 2,
    Fail = 3,
    Waiting = 4,
}

impl OptunaState {
    pub fn name(self) -> &'static str {
        match self {
            OptunaState::Running => "RUNNING",
            OptunaState::Complete => "COMPLETE",
            OptunaState::Pruned => "PRUNED",
            OptunaState::Fail => "FAIL",
            OptunaState::Waiting => "WAITING",
        }
    }

    fn is_finished(self) -> bool {
        matches!(
            self,
            OptunaState::Complete | OptunaState::Pruned | OptunaState::Fail
        )
    }
}

/// Optuna's `StudyDirection` of a sweep's mode.
fn direction(mode: Mode) -> u8 {
    match mode {
        Mode::Min => 1,
        Mode::Max => 2,
    }
}

/// One parameter's Optuna distribution.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamDistribution {
    Float { low: f64, high: f64, log: bool },
    Int { low: i64, high: i64 },
    Categorical(Vec<Value>),
}

impl ParamDistribution {
    /// The distribution of a search-space entry.
    pub fn from_search(d: &Distribution) -> Self {
        let values = |v: &[crate::manifest::sweep::ParamValue]| {
            v.iter()
                .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
                .collect()
        };
        match d {
            Distribution::Uniform([low, high]) => ParamDistribution::Float {
                low: *low,
                high: *high,
                log: false,
            },
            Distribution::Loguniform([low, high]) => ParamDistribution::Float {
                low: *low,
                high: *high,
                log: true,
            },
            Distribution::Randint([low, high]) => ParamDistribution::Int {
                low: *low,
                high: *high,
            },
            Distribution::Choice(v) | Distribution::Grid(v) => {
                ParamDistribution::Categorical(values(v))
            }
        }
    }

    /// The narrowest distribution holding `values`: integers → an
    /// `IntDistribution`, numbers → a `FloatDistribution`, anything else
    /// → a `CategoricalDistribution` of the distinct values in order.
    pub fn infer(values: &[&Value]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        if let Some(ints) = values
            .iter()
            .map(|v| v.as_i64())
            .collect::<Option<Vec<i64>>>()
        {
            return Some(ParamDistribution::Int {
                low: *ints.iter().min()?,
                high: *ints.iter().max()?,
            });
        }
        if let Some(floats) = values
            .iter()
            .map(|v| v.as_f64())
            .collect::<Option<Vec<f64>>>()
        {
            return Some(ParamDistribution::Float {
                low: floats.iter().copied().fold(f64::INFINITY, f64::min),
                high: floats.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                log: false,
            });
        }
        let mut choices: Vec<Value> = Vec::new();
        for v in values {
            if !choices.iter().any(|c| same_choice(c, v)) {
                choices.push((*v).clone());
            }
        }
        Some(ParamDistribution::Categorical(choices))
    }

    /// Optuna's `distribution_to_json`: a JSON string inside the log line.
    pub fn to_json(&self) -> String {
        let value = match self {
            ParamDistribution::Float { low, high, log } => json!({
                "name": "FloatDistribution",
                "attributes": {"step": null, "low": low, "high": high, "log": log},
            }),
            ParamDistribution::Int { low, high } => json!({
                "name": "IntDistribution",
                "attributes": {"log": false, "step": 1, "low": low, "high": high},
            }),
            ParamDistribution::Categorical(choices) => json!({
                "name": "CategoricalDistribution",
                "attributes": {"choices": choices},
            }),
        };
        value.to_string()
    }

    /// `value` in Optuna's internal representation (the number itself, or
    /// the index of the choice), or None when the distribution does not
    /// hold it.
    pub fn internal(&self, value: &Value) -> Option<Value> {
        match self {
            ParamDistribution::Float { low, high, .. } => {
                let v = value.as_f64().filter(|v| (*low..=*high).contains(v))?;
                Some(json!(v))
            }
            ParamDistribution::Int { low, high } => {
                let v = value.as_i64().filter(|v| (*low..=*high).contains(v))?;
                Some(json!(v as f64))
            }
            ParamDistribution::Categorical(choices) => choices
                .iter()
                .position(|c| same_choice(c, value))
                .map(|i| json!(i)),
        }
    }
}

/// Whether two parameter values are the same choice (numbers by value,
/// so `1` and `1.0` are one choice).
fn same_choice(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// What a trial's run folder says about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrialRun {
    /// The run id (the run folder's name).
    pub run_id: Option<String>,
    /// `created_at` (RFC 3339).
    pub started_at: Option<String>,
    /// `finished_at` (RFC 3339).
    pub finished_at: Option<String>,
}

/// Everything the journal is made from.
#[derive(Debug, Clone)]
pub struct JournalInput<'a> {
    pub ledger: &'a Ledger,
    /// The sweep's search space, when it is known.
    pub space: Option<&'a BTreeMap<String, Distribution>>,
    /// The trials' run folders, by trial id.
    pub runs: &'a BTreeMap<String, TrialRun>,
    /// The time (RFC 3339) of trials whose run folder does not say.
    pub fallback_time: &'a str,
}

/// The journal's operations and what the caller should say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Journal {
    /// One JSON object per log line.
    pub ops: Vec<Value>,
    /// How many trials have each Optuna state.
    pub states: BTreeMap<OptunaState, usize>,
    /// Distributions inferred from values rather than the search space.
    pub notes: Vec<String>,
}

impl Journal {
    /// The file's bytes: one compact JSON object per line, as
    /// `JournalFileBackend.append_logs` writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for op in &self.ops {
            out.extend_from_slice(op.to_string().as_bytes());
            out.push(b'\n');
        }
        out
    }
}

/// The journal of `input`'s sweep.
pub fn journal(input: &JournalInput<'_>) -> Journal {
    let ledger = input.ledger;
    let (distributions, notes) = distributions(ledger, input.space);
    let mut ops = vec![json!({
        "op_code": op::CREATE_STUDY,
        "worker_id": WORKER_ID,
        "study_name": ledger.sweep,
        "directions": [direction(ledger.mode)],
    })];
    ops.extend(study_attrs(ledger).into_iter().map(|(key, value)| {
        json!({
            "op_code": op::SET_STUDY_USER_ATTR,
            "worker_id": WORKER_ID,
            "study_id": 0,
            "user_attr": {key: value},
        })
    }));
    let mut states = BTreeMap::new();
    for trial in &ledger.trials {
        let run = input.runs.get(&trial.trial_id);
        let (op, state) = create_trial(ledger, trial, run, &distributions, input.fallback_time);
        *states.entry(state).or_insert(0) += 1;
        ops.push(op);
    }
    Journal { ops, states, notes }
}

/// The study's user attrs, one operation each.
fn study_attrs(ledger: &Ledger) -> Vec<(&'static str, Value)> {
    let mut attrs = vec![
        ("tunix_sweep", json!(ledger.sweep)),
        ("tunix_metric", json!(ledger.metric.as_str())),
        ("tunix_rungs", json!(ledger.rungs)),
    ];
    if let Some(best) = &ledger.best {
        attrs.push(("tunix_best_trial_id", json!(best.trial_id)));
    }
    attrs
}

/// Every parameter's distribution, from `space` where it holds every
/// trial's value, else inferred; and a note per inferred one.
fn distributions(
    ledger: &Ledger,
    space: Option<&BTreeMap<String, Distribution>>,
) -> (BTreeMap<String, ParamDistribution>, Vec<String>) {
    let mut names: Vec<&String> = ledger.trials.iter().flat_map(|t| t.params.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = BTreeMap::new();
    let mut notes = Vec::new();
    for name in names {
        let values: Vec<&Value> = ledger
            .trials
            .iter()
            .filter_map(|t| t.params.get(name))
            .collect();
        let declared = space
            .and_then(|s| s.get(name))
            .map(ParamDistribution::from_search);
        let fits = |d: &ParamDistribution| values.iter().all(|v| d.internal(v).is_some());
        let dist = match declared {
            Some(d) if fits(&d) => d,
            other => {
                let Some(inferred) = ParamDistribution::infer(&values) else {
                    continue;
                };
                notes.push(inferred_note(name, other.is_some(), space.is_some()));
                inferred
            }
        };
        out.insert(name.clone(), dist);
    }
    (out, notes)
}

fn inferred_note(name: &str, declared: bool, space_known: bool) -> String {
    let why = if declared {
        "some trial's value is outside the search space's (the manifest changed since?)"
    } else if space_known {
        "the search space does not name it"
    } else {
        "the sweep's search space was not found"
    };
    format!("{name}: distribution inferred from the trials' values ({why})")
}

/// The `CREATE_TRIAL` operation of one ledger trial, and its state.
fn create_trial(
    ledger: &Ledger,
    trial: &TrialEntry,
    run: Option<&TrialRun>,
    distributions: &BTreeMap<String, ParamDistribution>,
    fallback_time: &str,
) -> (Value, OptunaState) {
    let intermediate: BTreeMap<u32, f64> = trial
        .metrics
        .iter()
        .filter_map(|(step, m)| m.filter(|v| v.is_finite()).map(|v| (*step, v)))
        .collect();
    let mut attrs = user_attrs(trial, run);
    let (state, value) = state_and_value(ledger, trial, &intermediate, &mut attrs);
    let time = |t: Option<&String>| {
        t.and_then(|t| optuna_time(t))
            .or_else(|| optuna_time(fallback_time))
    };
    let mut op = Map::new();
    op.insert("op_code".into(), json!(op::CREATE_TRIAL));
    op.insert("worker_id".into(), json!(WORKER_ID));
    op.insert("study_id".into(), json!(0));
    op.insert("state".into(), json!(state as u8));
    op.insert("value".into(), json!(value));
    op.insert("values".into(), Value::Null);
    let start =
        (state != OptunaState::Waiting).then(|| time(run.and_then(|r| r.started_at.as_ref())));
    op.insert("datetime_start".into(), json!(start.flatten()));
    if state.is_finished() {
        let complete = time(run.and_then(|r| r.finished_at.as_ref()));
        op.insert("datetime_complete".into(), json!(complete));
    }
    let (params, dists, system) = params(trial, state, distributions);
    op.insert("distributions".into(), Value::Object(dists));
    op.insert("params".into(), Value::Object(params));
    op.insert("user_attrs".into(), Value::Object(attrs));
    op.insert("system_attrs".into(), Value::Object(system));
    let steps: Map<String, Value> = intermediate
        .iter()
        .map(|(step, v)| (step.to_string(), json!(v)))
        .collect();
    op.insert("intermediate_values".into(), Value::Object(steps));
    (Value::Object(op), state)
}

/// The Optuna state of a trial and its value (see the module
/// documentation); notes why a completed trial is `FAIL`.
fn state_and_value(
    ledger: &Ledger,
    trial: &TrialEntry,
    intermediate: &BTreeMap<u32, f64>,
    attrs: &mut Map<String, Value>,
) -> (OptunaState, Option<f64>) {
    match trial.state {
        TrialState::Completed => {
            // Its own last step: the last rung, or a smaller max_steps of
            // its own in a sweep without a scheduler that searched it.
            let last = ledger
                .rungs
                .last()
                .map_or(trial.last_step, |&r| r.min(trial.last_step));
            match intermediate.get(&last) {
                Some(v) => (OptunaState::Complete, Some(*v)),
                None => {
                    attrs.insert(
                        "tunix_note".into(),
                        json!(format!(
                            "completed without reporting {} at step {last}",
                            ledger.metric.as_str()
                        )),
                    );
                    (OptunaState::Fail, None)
                }
            }
        }
        TrialState::Stopped => (
            OptunaState::Pruned,
            intermediate.last_key_value().map(|(_, v)| *v),
        ),
        TrialState::Failed | TrialState::Cancelled => (OptunaState::Fail, None),
        TrialState::Running => (OptunaState::Running, None),
        TrialState::Pending => (OptunaState::Waiting, None),
    }
}

/// The trial's `user_attrs`.
fn user_attrs(trial: &TrialEntry, run: Option<&TrialRun>) -> Map<String, Value> {
    let mut attrs = Map::new();
    attrs.insert("tunix_trial_id".into(), json!(trial.trial_id));
    attrs.insert("tunix_state".into(), json!(trial.state.name()));
    attrs.insert("tunix_last_step".into(), json!(trial.last_step));
    if let Some(run_id) = run.and_then(|r| r.run_id.as_ref()) {
        attrs.insert("tunix_run_id".into(), json!(run_id));
    }
    if let Some(stop) = &trial.stopped_at {
        attrs.insert("tunix_stopped_at_rung".into(), json!(stop.rung));
    }
    if let Some(failure) = &trial.failure {
        attrs.insert("tunix_failure_class".into(), json!(failure.class));
        attrs.insert("tunix_failure_message".into(), json!(failure.message));
    }
    if !trial.retried.is_empty() {
        let classes: Vec<&str> = trial.retried.iter().map(|f| f.class.as_str()).collect();
        attrs.insert("tunix_retried".into(), json!(classes));
    }
    attrs
}

type Maps = (Map<String, Value>, Map<String, Value>, Map<String, Value>);

/// The trial's `params` (internal representation), `distributions` and
/// `system_attrs`: a waiting trial carries its values as `fixed_params`
/// (as `Study.enqueue_trial` writes it) and no parameters yet.
fn params(
    trial: &TrialEntry,
    state: OptunaState,
    distributions: &BTreeMap<String, ParamDistribution>,
) -> Maps {
    let mut params = Map::new();
    let mut dists = Map::new();
    let mut system = Map::new();
    if state == OptunaState::Waiting {
        let fixed: Map<String, Value> = trial
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        system.insert("fixed_params".into(), Value::Object(fixed));
        return (params, dists, system);
    }
    for (name, value) in &trial.params {
        let Some(dist) = distributions.get(name) else {
            continue;
        };
        if let Some(internal) = dist.internal(value) {
            params.insert(name.clone(), internal);
            dists.insert(name.clone(), json!(dist.to_json()));
        }
    }
    (params, dists, system)
}

/// An RFC 3339 time as Optuna writes it (`isoformat(timespec=
/// "microseconds")` of a UTC time), which every Python's
/// `datetime.fromisoformat` reads; None when `text` is not a time.
pub fn optuna_time(text: &str) -> Option<String> {
    let t = humantime::parse_rfc3339_weak(text).ok()?;
    let s = humantime::format_rfc3339_micros(t).to_string();
    Some(format!("{}+00:00", s.strip_suffix('Z').unwrap_or(&s)))
}

#[cfg(test)]
mod tests;
