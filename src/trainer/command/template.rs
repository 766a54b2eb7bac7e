//! A command trainer's argv: every element a minijinja template rendered
//! with strict undefined, so a misspelled variable is an error, never an
//! empty argument.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};

// The spec types straight from the core crate: the engine's `manifest`
// module is the loader, and it checks templates through this module.
use crate::suggest;
use tunix_core::manifest::common::ParamValue;
use tunix_core::manifest::train::TrainingConfig;

/// Names a command template may use besides the `training` keys.
pub const RUN_VARIABLES: [&str; 8] = [
    "run_dir",
    "checkpoint_dir",
    "metrics_file",
    "predictions_file",
    "evalset",
    "trial_id",
    "until_step",
    "resume_dir",
];

/// One element that does not render: its index in argv and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    pub index: usize,
    pub message: String,
    pub help: Option<String>,
}

/// The variables a template sees: every `training` key (unset optional
/// keys as empty strings), the run's own `params` (as `params.NAME`) and
/// the run's values.
pub fn context(
    training: &TrainingConfig,
    params: &BTreeMap<String, ParamValue>,
    run: &BTreeMap<&'static str, String>,
) -> BTreeMap<String, serde_json::Value> {
    let mut vars = BTreeMap::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(training) {
        vars.extend(map);
    }
    vars.insert(
        "params".to_string(),
        serde_json::to_value(params).unwrap_or_default(),
    );
    for name in tunix_core::manifest::params::training_params() {
        vars.entry(name.to_string())
            .or_insert_with(|| serde_json::Value::String(String::new()));
    }
    for name in RUN_VARIABLES {
        let value = run.get(name).cloned().unwrap_or_default();
        vars.insert(name.to_string(), serde_json::Value::String(value));
    }
    vars
}

/// Render every element of `argv` with `vars`; the problems of every
/// element that does not render.
pub fn render(
    argv: &[String],
    vars: &BTreeMap<String, serde_json::Value>,
) -> Result<Vec<String>, Vec<TemplateProblem>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let param_names: Vec<String> = vars
        .get("params")
        .and_then(serde_json::Value::as_object)
        .map(|m| m.keys().map(|k| format!("params.{k}")).collect())
        .unwrap_or_default();
    let names: Vec<&str> = vars
        .keys()
        .map(String::as_str)
        .chain(param_names.iter().map(String::as_str))
        .collect();
    let params_only: Vec<&str> = param_names.iter().map(String::as_str).collect();
    // `params.NAME` is suggested from the params, anything else from all.
    let candidates = |unknown: &str| {
        if unknown.starts_with("params.") {
            &params_only
        } else {
            &names
        }
    };
    let mut out = Vec::with_capacity(argv.len());
    let mut problems = Vec::new();
    for (index, source) in argv.iter().enumerate() {
        let unknown: Vec<String> = match env.template_from_str(source) {
            Ok(t) => {
                let mut u: Vec<String> = t
                    .undeclared_variables(true)
                    .into_iter()
                    .filter(|v| !declared(v, vars))
                    .collect();
                u.sort();
                u
            }
            Err(e) => {
                problems.push(TemplateProblem {
                    index,
                    message: format!("`{source}` is not a valid template: {e}"),
                    help: None,
                });
                continue;
            }
        };
        if let Some(first) = unknown.first() {
            problems.push(TemplateProblem {
                index,
                message: format!(
                    "`{source}` uses the unknown variable{} {}",
                    if unknown.len() > 1 { "s" } else { "" },
                    unknown
                        .iter()
                        .map(|u| format!("`{u}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                help: suggest::help_for(first, candidates(first)).or_else(|| {
                    Some(format!(
                        "a command may use the training keys and {}",
                        RUN_VARIABLES.join(", ")
                    ))
                }),
            });
            continue;
        }
        match env.render_str(source, vars) {
            Ok(s) => out.push(s),
            Err(e) => problems.push(TemplateProblem {
                index,
                message: format!("`{source}` does not render: {e}"),
                help: None,
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Whether template variable `name` (dotted for an attribute:
/// `params.x`) is one of `vars`: `params.NAME` must name one of the
/// params, any other attribute path only its first part.
fn declared(name: &str, vars: &BTreeMap<String, serde_json::Value>) -> bool {
    if let Some(rest) = name.strip_prefix("params.") {
        let key = rest.split('.').next().unwrap_or(rest);
        return vars.get("params").and_then(|p| p.get(key)).is_some();
    }
    vars.contains_key(name.split('.').next().unwrap_or(name))
}

/// The problems of `argv` as written in a manifest (rendered with
/// placeholder run values).
pub fn check(
    argv: &[String],
    training: &TrainingConfig,
    params: &BTreeMap<String, ParamValue>,
) -> Vec<TemplateProblem> {
    let run = RUN_VARIABLES
        .iter()
        .map(|n| (*n, format!("<{n}>")))
        .collect();
    match render(argv, &context(training, params, &run)) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    }
}

/// The program (argv[0]) as a manifest's `command` names it, rendered
/// with placeholder run values; none when it does not render.
pub fn check_program(
    argv: &[String],
    training: &TrainingConfig,
    params: &BTreeMap<String, ParamValue>,
) -> Option<String> {
    let first = argv.first()?;
    let run = RUN_VARIABLES
        .iter()
        .map(|n| (*n, format!("<{n}>")))
        .collect();
    render(
        std::slice::from_ref(first),
        &context(training, params, &run),
    )
    .ok()?
    .pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn training() -> TrainingConfig {
        serde_json::from_value(serde_json::json!({
            "learning_rate": 0.001, "per_device_batch_size": 4, "max_steps": 20
        }))
        .expect("training")
    }

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn params_render_by_name_and_an_unknown_one_is_named() {
        let params = BTreeMap::from([
            ("x".to_string(), ParamValue::Float(0.25)),
            ("opt".to_string(), ParamValue::Text("adamw".into())),
        ]);
        let vars = context(&training(), &params, &BTreeMap::new());
        let out = render(&argv(&["{{ params.x }}", "--opt={{ params.opt }}"]), &vars);
        assert_eq!(out, Ok(argv(&["0.25", "--opt=adamw"])));
        let problems = render(&argv(&["{{ params.y }}"]), &vars).expect_err("unknown");
        assert!(problems[0].message.contains("`params.y`"), "{problems:?}");
        let problems = render(&argv(&["{{ params.xx }}"]), &vars).expect_err("typo");
        assert!(
            problems[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("params.x")),
            "{problems:?}"
        );
    }

    #[test]
    fn training_keys_and_run_values_render_into_arguments() {
        let run = BTreeMap::from([("trial_id", "t0003".to_string())]);
        let vars = context(&training(), &BTreeMap::new(), &run);
        let out = render(
            &argv(&[
                "python3",
                "--lr",
                "{{ learning_rate }}",
                "--steps={{ max_steps }}",
                "{{ trial_id }}",
                "{{ eval_interval }}",
            ]),
            &vars,
        )
        .expect("renders");
        assert_eq!(out, ["python3", "--lr", "0.001", "--steps=20", "t0003", ""]);
    }

    #[test]
    fn an_unknown_variable_is_named_with_a_suggestion() {
        let problems = check(
            &argv(&["x", "{{ learning_rat }}"]),
            &training(),
            &BTreeMap::new(),
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].index, 1);
        assert!(
            problems[0].message.contains("`learning_rat`"),
            "{:?}",
            problems[0]
        );
        assert!(
            problems[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("learning_rate")),
            "{:?}",
            problems[0]
        );
    }

    #[test]
    fn a_broken_template_is_a_problem_not_a_panic() {
        let problems = check(&argv(&["{{ max_steps"]), &training(), &BTreeMap::new());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("not a valid template"));
    }
}
