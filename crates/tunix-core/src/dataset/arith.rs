//! The `dev-reasoning-v3` training set: generated integer word problems
//! whose traces carry GSM8K-style calculator annotations
//! (`Q: {prompt}\nA: <<4*9=36>> <<36-7=29>> Answer: 29`).
//!
//! What it teaches, and why (Lee et al. 2023, Cobbe et al. 2021):
//! - every arithmetic step is one annotation whose operands are copied from
//!   the prompt or from an earlier result, in the order the prompt gives
//!   them, so a small model learns *which* operation the words ask for;
//!   with `decoding.calculator` the decoder computes each result;
//! - operands are balanced over digit counts (1 to 3 digits, results into
//!   the thousands), and the operator mix covers the four operations;
//! - a share of one-step drills (`What is 36 minus 7?`), a mix of 1- to
//!   4-step stories set by the difficulty mix, and the answer formats an
//!   eval set asks for (yes/no, percent, negative, signed change,
//!   decimals, currency, thousands separators in the prompt);
//! - no thousands separators inside the working, and the final
//!   `Answer: ...` as an eval set expects it.
//!
//! Generation is a pure function of the dataset config; examples that
//! overlap an eval set are dropped and replaced, and validation examples
//! never repeat a training prompt (the same rules as `dev-reasoning-v2`).

use crate::manifest::train::{DatasetConfig, DifficultyMix, TraceFormat};
use crate::rng::Rng;

use super::calc;
use super::decontam::EvalIndex;
use super::generate::{generate_with, Dataset, Example, Exhausted, Generated};
use super::story::{self, Story};

/// Generate both splits, dropping anything that overlaps `evals`.
pub fn generate(config: &DatasetConfig, evals: &EvalIndex) -> Result<Dataset, Exhausted> {
    generate_reporting(config, evals, &mut |_| {})
}

/// [`generate`], telling `progress` how far each split has come.
pub fn generate_reporting(
    config: &DatasetConfig,
    evals: &EvalIndex,
    progress: &mut dyn FnMut(Generated),
) -> Result<Dataset, Exhausted> {
    generate_with(
        config,
        evals,
        "dev-reasoning-v3",
        |rng| problem(rng, &config.difficulty, config.trace),
        progress,
    )
}

/// Share of one-step drills (`What is 36 minus 7?`).
const DRILL_SHARE: f64 = 0.15;
/// Share of answer-format problems (yes/no, percent, signs, decimals, money).
const FORMAT_SHARE: f64 = 0.2;

/// One problem: a drill, an answer-format problem, or a story whose number
/// of steps the difficulty mix draws (easy 1–2, medium 2–3, hard 3–4).
pub fn problem(rng: &mut Rng, mix: &DifficultyMix, trace: TraceFormat) -> Example {
    let x = rng.next_f64();
    let s = if x < DRILL_SHARE {
        story::drill(rng)
    } else if x < DRILL_SHARE + FORMAT_SHARE {
        story::format_problem(rng)
    } else {
        let steps = steps_for(rng, mix);
        story::story(rng, steps)
    };
    finish(s, trace)
}

fn steps_for(rng: &mut Rng, mix: &DifficultyMix) -> usize {
    let total = mix.easy + mix.medium + mix.hard;
    let x = rng.next_f64() * total;
    let low = if x < mix.easy {
        1
    } else if x < mix.easy + mix.medium {
        2
    } else {
        3
    };
    low + rng.below(2) as usize
}

fn finish(s: Story, trace: TraceFormat) -> Example {
    let steps = s.steps.len();
    let prompt = s.sentences.join(" ");
    let numbers = calc::prompt_numbers(&prompt);
    let mut results: Vec<String> = Vec::new();
    let mut completion: Vec<String> = Vec::new();
    for st in &s.steps {
        let expr = match trace {
            TraceFormat::Literal => st.expr.clone(),
            TraceFormat::References => references(&st.expr, &numbers, &results),
        };
        completion.push(format!("<<{expr}={}>>", st.result));
        results.push(st.result.clone());
    }
    let answer = match trace {
        TraceFormat::Literal => s.answer.clone(),
        TraceFormat::References => answer_reference(&s.answer, &results),
    };
    completion.push(format!("Answer: {answer}"));
    Example {
        prompt,
        completion: completion.join(" "),
        answer: s.answer,
        steps,
    }
}

/// `expr` with each operand written as a reference where one names it:
/// `rK` for the newest earlier result of that value, else `nK` for the
/// first prompt number of that value; other operands stay literal.
fn references(expr: &str, numbers: &[String], results: &[String]) -> String {
    let mut out = String::new();
    let mut operand = String::new();
    let flush = |operand: &mut String, out: &mut String| {
        if operand.is_empty() {
            return;
        }
        let name = match results.iter().rposition(|r| r == operand) {
            Some(k) => format!("r{}", k + 1),
            None => match numbers.iter().position(|n| n == operand) {
                Some(k) => format!("n{}", k + 1),
                None => operand.clone(),
            },
        };
        out.push_str(&name);
        operand.clear();
    };
    for (i, c) in expr.char_indices() {
        let sign = c == '-' && (i == 0 || expr[..i].ends_with(['+', '-', '*', '/', '(']));
        if c.is_ascii_digit() || c == '.' || (sign && operand.is_empty()) {
            operand.push(c);
        } else {
            flush(&mut operand, &mut out);
            out.push(c);
        }
    }
    flush(&mut operand, &mut out);
    out
}

/// The final answer with its number written as the last result's
/// reference when they are equal (`$12.00` after a result 12 → `$rK`).
fn answer_reference(answer: &str, results: &[String]) -> String {
    let Some(last) = results.last() else {
        return answer.to_string();
    };
    let core = answer.trim_start_matches(['$', '+']).trim_end_matches('%');
    let value = calc::evaluate(&core.replace(',', ""));
    match (value, calc::evaluate(last)) {
        (Ok(a), Ok(b)) if a == b && !core.is_empty() => {
            answer.replacen(core, &format!("r{}", results.len()), 1)
        }
        _ => answer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::decontam::normalize_prompt;
    use crate::manifest::train::DatasetName;
    use crate::scoring::normalize::{answers_match, Equivalence};
    use std::collections::HashSet;

    fn config(seed: u64) -> DatasetConfig {
        DatasetConfig {
            name: Some(DatasetName::DevReasoningV3),
            path: None,
            val_path: None,
            val_fraction: None,
            overlap: Default::default(),
            seed,
            train_examples: 3000,
            val_examples: 200,
            trace: Default::default(),
            difficulty: DifficultyMix::default(),
        }
    }

    /// The annotations of a completion: `(expression, written result)`.
    fn annotations(completion: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = completion;
        while let Some(start) = rest.find("<<") {
            let end = rest[start..].find(">>").expect("closed") + start;
            let (expr, result) = rest[start + 2..end].rsplit_once('=').expect("has =");
            out.push((expr.to_string(), result.to_string()));
            rest = &rest[end + 2..];
        }
        out
    }

    #[test]
    fn reference_traces_render_to_the_literal_ones() {
        let mut cfg = config(6);
        let literal = generate(&cfg, &EvalIndex::default()).expect("generates");
        cfg.trace = TraceFormat::References;
        let refs = generate(&cfg, &EvalIndex::default()).expect("generates");
        let eq = Equivalence::default();
        let mut with_refs = 0;
        for (l, r) in literal.train.iter().zip(&refs.train) {
            assert_eq!(l.prompt, r.prompt);
            let rendered = calc::render(&r.completion, &calc::prompt_numbers(&r.prompt));
            let (l_trace, l_answer) = l.completion.rsplit_once("Answer: ").expect("answer");
            let (r_trace, r_answer) = rendered.rsplit_once("Answer: ").expect("answer");
            assert_eq!(l_trace, r_trace, "{} -> {rendered}", r.completion);
            assert!(
                answers_match(l_answer, r_answer, &eq),
                "{} -> {rendered}",
                r.completion
            );
            with_refs += usize::from(r.completion.contains("<<n"));
        }
        assert!(with_refs > literal.train.len() / 2);
    }

    #[test]
    fn generation_is_deterministic_and_seeded() {
        let evals = EvalIndex::default();
        let a = generate(&config(1), &evals).expect("generates");
        let b = generate(&config(1), &evals).expect("generates");
        let c = generate(&config(2), &evals).expect("generates");
        assert_eq!(a.train, b.train);
        assert_eq!(a.val, b.val);
        assert_ne!(a.train, c.train);
    }

    #[test]
    fn every_step_is_what_the_calculator_computes_and_the_answer_normalizes() {
        let d = generate(&config(3), &EvalIndex::default()).expect("generates");
        let eq = Equivalence::default();
        for ex in d.train.iter().chain(&d.val) {
            let steps = annotations(&ex.completion);
            assert_eq!(steps.len(), ex.steps, "{}", ex.completion);
            assert!(!steps.is_empty(), "{}", ex.completion);
            for (expr, written) in &steps {
                let value = calc::evaluate(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
                assert_eq!(&calc::format(value), written, "{}", ex.completion);
                assert!(!written.contains(','), "{}", ex.completion);
            }
            let (_, answer) = ex.completion.rsplit_once("Answer: ").expect("answer");
            assert_eq!(answer, ex.answer);
            assert!(!ex.prompt.contains('\n'));
            // The final answer is a number equal to the last result, or a
            // yes/no decided by the steps.
            let last = &steps[steps.len() - 1].1;
            if answer != "yes" && answer != "no" {
                assert!(answers_match(answer, last, &eq), "{}", ex.completion);
            }
        }
    }

    #[test]
    fn the_mix_covers_drills_formats_and_one_to_four_steps() {
        let d = generate(&config(4), &EvalIndex::default()).expect("generates");
        let steps: HashSet<usize> = d.train.iter().map(|e| e.steps).collect();
        for n in 1..=4 {
            assert!(steps.contains(&n), "no {n}-step problem");
        }
        let has = |f: &dyn Fn(&Example) -> bool| d.train.iter().any(f);
        assert!(has(&|e| e.prompt.starts_with("What is")));
        assert!(has(&|e| e.answer == "yes"));
        assert!(has(&|e| e.answer == "no"));
        assert!(has(&|e| e.answer.ends_with('%')));
        assert!(has(&|e| e.answer.starts_with('-')));
        assert!(has(&|e| e.answer.starts_with('+')));
        assert!(has(&|e| e.answer.starts_with('$')));
        assert!(has(
            &|e| e.answer.contains('.') && !e.answer.starts_with('$')
        ));
        assert!(has(&|e| e.prompt.contains(",0") || e.prompt.contains(",5")));
        for op in ['+', '-', '*', '/'] {
            let n = d
                .train
                .iter()
                .filter(|e| {
                    annotations(&e.completion)
                        .iter()
                        .any(|(x, _)| x.contains(op))
                })
                .count();
            assert!(n > d.train.len() / 10, "{op} in only {n} examples");
        }
        let big = d
            .train
            .iter()
            .filter(|e| e.answer.parse::<i64>().is_ok_and(|v| v >= 1000))
            .count();
        assert!(big > 30, "only {big} answers in the thousands");
    }

    #[test]
    fn validation_never_repeats_a_training_prompt_and_overlaps_are_replaced() {
        let clean = generate(&config(5), &EvalIndex::default()).expect("generates");
        let train: HashSet<String> = clean
            .train
            .iter()
            .map(|e| normalize_prompt(&e.prompt))
            .collect();
        assert!(clean
            .val
            .iter()
            .all(|e| !train.contains(&normalize_prompt(&e.prompt))));
        let victim = clean.train[7].prompt.clone();
        let evals =
            EvalIndex::from_prompts([("evalsets/x.jsonl:item-1".to_string(), victim.clone())]);
        let d = generate(&config(5), &evals).expect("generates");
        assert_eq!(d.train.len(), 3000);
        assert!(d.train.iter().all(|e| e.prompt != victim));
        assert!(d.rejected.iter().any(|r| r.prompt == victim));
    }
}
