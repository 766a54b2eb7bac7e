//! A Sweep's search: each searched parameter's distribution fits the
//! parameter's type, TPE has trials to draw and something to draw them
//! over, and Hyperband's budget fits its grace period.

use super::Checker;
use crate::manifest::params::is_user_param;
use crate::manifest::params::ParamType;
use crate::manifest::sweep::{Distribution, ParamValue, Scheduler, SweepSpec};
use crate::manifest::train::TrainSpec;
use crate::suggest;

impl Checker<'_> {
    /// `search: {tpe: ...}` against the plan's `trials`: its startup
    /// trials fit in the plan, and it has something to draw.
    pub(super) fn search(&mut self, spec: &SweepSpec, trials: u64) {
        let Some(tpe) = spec.search.tpe() else {
            return;
        };
        if u64::from(tpe.n_startup_trials) > trials {
            self.push(
                "/spec/search/tpe/n_startup_trials".into(),
                format!(
                    "n_startup_trials ({}) is more than the plan's {trials} trial(s): TPE would never draw from results",
                    tpe.n_startup_trials
                ),
                Some(format!("set it below {trials}, or raise num_samples")),
            );
        }
        let drawn = spec
            .search_space
            .values()
            .any(|d| !matches!(d, Distribution::Grid(_)));
        if !drawn {
            self.push(
                "/spec/search".into(),
                "TPE draws the non-grid parameters, and every parameter of this search space is a grid",
                Some("search some parameter with uniform, loguniform, randint or choice, or use `search: random`".into()),
            );
        }
    }

    /// `scheduler: {hyperband: ...}`: `max_t` sets every trial's
    /// `max_steps`, and the grace period fits below it.
    pub(super) fn hyperband(&mut self, spec: &SweepSpec) {
        let Scheduler::Hyperband(h) = &spec.scheduler else {
            return;
        };
        if spec.overrides.contains_key("max_steps") {
            self.push(
                "/spec/overrides/max_steps".into(),
                "with `scheduler: hyperband`, `max_t` sets every trial's max_steps",
                Some("remove max_steps from overrides (or set max_t to it)".into()),
            );
        }
        if h.grace() > h.max_t {
            self.push(
                "/spec/scheduler/hyperband/grace_period".into(),
                format!(
                    "grace_period ({}) is more than max_t ({})",
                    h.grace(),
                    h.max_t
                ),
                Some(format!("set it to at most {}", h.max_t)),
            );
        }
    }

    pub(super) fn distribution(&mut self, pointer: &str, ty: &ParamType, dist: &Distribution) {
        let integer_only = *ty == ParamType::Integer;
        if let (ParamType::Named(names), Some(name)) = (ty, numeric_name(dist)) {
            self.push(
                format!("{pointer}/{name}"),
                format!(
                    "this parameter takes a name ({}); `{name}` samples numbers",
                    names.join(", ")
                ),
                Some(format!(
                    "use `choice: [{}]` or `grid: [...]`",
                    names.join(", ")
                )),
            );
            return;
        }
        match dist {
            Distribution::Uniform([low, high]) | Distribution::Loguniform([low, high]) => {
                let log = matches!(dist, Distribution::Loguniform(_));
                let name = if log { "loguniform" } else { "uniform" };
                if integer_only {
                    self.push(
                        format!("{pointer}/{name}"),
                        format!("this parameter is an integer; `{name}` samples real numbers"),
                        Some("use `randint: [low, high]` or `choice: [...]`".into()),
                    );
                }
                if low > high {
                    self.push(
                        format!("{pointer}/{name}"),
                        format!("{name} bounds are reversed: low {low} > high {high}"),
                        Some(format!("write `{name}: [{high}, {low}]`")),
                    );
                }
                if log && *low <= 0.0 {
                    self.push(
                        format!("{pointer}/{name}/0"),
                        format!("loguniform needs positive bounds, found low {low}"),
                        None,
                    );
                }
            }
            Distribution::Randint([low, high]) => {
                if low > high {
                    self.push(
                        format!("{pointer}/randint"),
                        format!("randint bounds are reversed: low {low} > high {high}"),
                        Some(format!("write `randint: [{high}, {low}]`")),
                    );
                }
            }
            Distribution::Choice(values) | Distribution::Grid(values) => {
                let name = if matches!(dist, Distribution::Choice(_)) {
                    "choice"
                } else {
                    "grid"
                };
                for (i, v) in values.iter().enumerate() {
                    let fits = match (ty, v) {
                        (ParamType::Integer, ParamValue::Int(_))
                        | (ParamType::Number, ParamValue::Int(_) | ParamValue::Float(_)) => true,
                        (ParamType::Named(names), ParamValue::Text(t)) => names.contains(t),
                        (ParamType::Any, _) => true,
                        _ => false,
                    };
                    if !fits {
                        let help = match (ty, v) {
                            (ParamType::Named(names), ParamValue::Text(t)) => {
                                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                                suggest::help_for(t, &names)
                            }
                            _ => None,
                        };
                        self.push(
                            format!("{pointer}/{name}/{i}"),
                            format!("expected {}, found `{}`", ty.describe(), param_text(v)),
                            help,
                        );
                    }
                }
            }
        }
    }
}

fn param_text(v: &ParamValue) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

pub(super) const USER_PARAM_NEEDS_COMMAND: &str =
    "`params.NAME` is a hyperparameter of your own trainer (`command`); this sweep's base trains the built-in model";

/// The name of a distribution that samples numbers (`uniform`,
/// `loguniform`, `randint`); `None` for `choice` and `grid`.
fn numeric_name(dist: &Distribution) -> Option<&'static str> {
    match dist {
        Distribution::Uniform(_) => Some("uniform"),
        Distribution::Loguniform(_) => Some("loguniform"),
        Distribution::Randint(_) => Some("randint"),
        Distribution::Choice(_) | Distribution::Grid(_) => None,
    }
}

/// An inline base as its trials see it: every `params.NAME` the sweep
/// searches or overrides is one of its `params` (with a value of the
/// right kind), so its command may use `{{ params.NAME }}` without a
/// default of its own. A base file runs on its own and declares them.
pub(super) fn with_swept_params(base: &TrainSpec, spec: &SweepSpec) -> TrainSpec {
    let mut base = base.clone();
    let searched = spec.search_space.iter().map(|(name, d)| {
        let value = match d {
            Distribution::Uniform([low, _]) | Distribution::Loguniform([low, _]) => {
                Some(ParamValue::Float(*low))
            }
            Distribution::Randint([low, _]) => Some(ParamValue::Int(*low)),
            Distribution::Choice(values) | Distribution::Grid(values) => values.first().cloned(),
        };
        (name, value)
    });
    let overridden = spec.overrides.iter().map(|(n, v)| (n, Some(v.clone())));
    for (name, value) in searched.chain(overridden) {
        if let (true, Some(key), Some(value)) =
            (is_user_param(name), name.strip_prefix("params."), value)
        {
            base.params.entry(key.to_string()).or_insert(value);
        }
    }
    base
}
