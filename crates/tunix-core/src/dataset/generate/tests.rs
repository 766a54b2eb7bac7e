//! Tests of the `dev-reasoning-v2` generator and the split filling it
//! shares with `dev-reasoning-v3`.

use super::*;
use crate::manifest::train::DatasetName;

fn config(seed: u64) -> DatasetConfig {
    DatasetConfig {
        name: Some(DatasetName::DevReasoningV2),
        path: None,
        val_path: None,
        val_fraction: None,
        overlap: Default::default(),
        seed,
        train_examples: 400,
        val_examples: 50,
        trace: Default::default(),
        difficulty: DifficultyMix::default(),
    }
}

/// Evaluate a trace step like `12*3=36` or `5.00+0.50=5.50` exactly, in cents.
fn check_step(step: &str) {
    let (lhs, rhs) = step.split_once('=').unwrap();
    let op = lhs.find(['+', '-', '*', '/']).unwrap();
    let parse = |s: &str| -> i64 {
        match s.split_once('.') {
            Some((a, b)) => a.parse::<i64>().unwrap() * 100 + b.parse::<i64>().unwrap(),
            None => s.parse::<i64>().unwrap() * 100,
        }
    };
    let (a, b, r) = (parse(&lhs[..op]), parse(&lhs[op + 1..]), parse(rhs));
    let got = match &lhs[op..=op] {
        "+" => a + b,
        "-" => a - b,
        "*" => a * b / 100,
        _ => a * 100 / b,
    };
    assert_eq!(got, r, "{step}");
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
    let hash = |d: &Dataset| {
        let t = "Q: {prompt}\nA:";
        Dataset::blake3(&Dataset::stream(&d.train, t), &Dataset::stream(&d.val, t))
    };
    assert_eq!(hash(&a), hash(&b));
    assert_ne!(hash(&a), hash(&c));
}

#[test]
fn every_trace_step_is_correct_and_ends_in_the_answer() {
    let d = generate(&config(3), &EvalIndex::default()).expect("generates");
    for ex in d.train.iter().chain(&d.val) {
        let (trace, answer) = ex.completion.split_once(". Answer: ").unwrap();
        assert_eq!(answer, ex.answer);
        let steps: Vec<&str> = trace.split(". ").collect();
        assert_eq!(steps.len(), ex.steps, "{}", ex.completion);
        for s in &steps {
            check_step(s);
        }
        let last = steps.last().unwrap().rsplit('=').next().unwrap();
        assert_eq!(
            last.replace('.', ""),
            answer.replace(['$', ',', '.'], ""),
            "{}",
            ex.completion
        );
        assert!(!ex.prompt.contains('\n'));
    }
}

#[test]
fn the_difficulty_mix_sets_the_step_counts() {
    let mut cfg = config(4);
    cfg.difficulty = DifficultyMix {
        easy: 0.0,
        medium: 0.0,
        hard: 1.0,
    };
    let d = generate(&cfg, &EvalIndex::default()).expect("generates");
    assert!(d.train.iter().all(|e| e.steps >= 3));
    assert!(d.train.iter().filter(|e| e.steps == 4).count() > d.train.len() / 2);
    cfg.difficulty = DifficultyMix {
        easy: 1.0,
        medium: 0.0,
        hard: 0.0,
    };
    let d = generate(&cfg, &EvalIndex::default()).expect("generates");
    assert!(d.train.iter().all(|e| e.steps <= 2));
}

#[test]
fn validation_never_repeats_a_training_prompt() {
    let d = generate(&config(5), &EvalIndex::default()).expect("generates");
    let train: HashSet<String> = d
        .train
        .iter()
        .map(|e| normalize_prompt(&e.prompt))
        .collect();
    assert!(d
        .val
        .iter()
        .all(|e| !train.contains(&normalize_prompt(&e.prompt))));
    assert_eq!(d.train.len(), 400);
    assert_eq!(d.val.len(), 50);
}

#[test]
fn overlapping_examples_are_replaced() {
    let clean = generate(&config(6), &EvalIndex::default()).expect("generates");
    let victim = clean.train[10].prompt.clone();
    let evals = EvalIndex::from_prompts([("evalsets/x.jsonl:item-1".to_string(), victim.clone())]);
    let d = generate(&config(6), &evals).expect("generates");
    assert_eq!(d.train.len(), 400);
    assert!(d.train.iter().all(|e| e.prompt != victim));
    assert!(d.rejected.iter().any(|r| r.prompt == victim));
}

#[test]
fn numbers_are_formatted_like_eval_v2() {
    assert_eq!(cents(125), "1.25");
    assert_eq!(cents(500), "5.00");
    assert_eq!(thousands(9650), "9,650");
    assert_eq!(thousands(1234567), "1,234,567");
    assert_eq!(thousands(999), "999");
}

#[test]
fn a_generator_that_runs_out_of_distinct_problems_fails_instead_of_hanging() {
    let mut rng = Rng::new(1);
    let mix = DifficultyMix::default();
    let err = fill(
        "val",
        3,
        || problem(&mut rng, &mix),
        |_| Some("already in the training split"),
        &mut |_| {},
    )
    .expect_err("every draw is rejected");
    assert_eq!(err.made, 0);
    assert_eq!(err.attempts, 3 * ATTEMPTS_PER_EXAMPLE + SPARE_ATTEMPTS);
    let text = err.to_string();
    assert!(text.contains("only 0 of 3 val examples"), "{text}");
    assert!(text.contains("lower dataset.val_examples"), "{text}");
    assert!(text.contains("already in the training split"), "{text}");
}

#[test]
fn generation_reports_progress_every_so_many_examples_and_at_the_end() {
    let ex = problem(&mut Rng::new(1), &DifficultyMix::default());
    let mut heard = Vec::new();
    let wanted = 2 * PROGRESS_EVERY + 7;
    let out = fill("train", wanted, || ex.clone(), |_| None, &mut |g| {
        heard.push(g)
    })
    .expect("fills");
    assert_eq!(out.len() as u64, wanted);
    let made: Vec<u64> = heard.iter().map(|g| g.made).collect();
    assert_eq!(made, vec![PROGRESS_EVERY, 2 * PROGRESS_EVERY, wanted]);
    assert!(heard
        .iter()
        .all(|g| g.split == "train" && g.wanted == wanted));
}
