//! The `dev-reasoning-v2` training set: generated multi-step arithmetic word
//! problems with step-by-step traces, in eval_v2's prompt/answer format
//! (`Q: {prompt}\nA: 4*9=36. 36-7=29. Answer: 29`).
//!
//! Generation is a pure function of the dataset config: the same seed, sizes
//! and difficulty mix give the same examples on every machine. Examples that
//! overlap an eval set ([`super::decontam`]) are dropped and replaced, and
//! validation examples never repeat a training prompt.

use std::collections::HashSet;

use crate::manifest::train::{DatasetConfig, DifficultyMix};
use crate::rng::{derive_seed, Rng};

use super::decontam::{normalize_prompt, EvalIndex, Overlap};

/// One problem: the question and the model's expected continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub prompt: String,
    /// The steps and final answer, e.g. `4*9=36. 36-7=29. Answer: 29`.
    pub completion: String,
    pub answer: String,
    /// Number of arithmetic steps (2 easy, 3 medium, 4 hard).
    pub steps: usize,
}

impl Example {
    /// The training text: the prompt through `template` (`{prompt}` is
    /// replaced), a space, the completion and a newline (the stop string).
    pub fn text(&self, template: &str) -> String {
        format!(
            "{} {}\n",
            template.replace("{prompt}", &self.prompt),
            self.completion
        )
    }
}

/// A generated example dropped because it overlaps an eval set.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub split: &'static str,
    pub prompt: String,
    pub overlap: Overlap,
}

/// The generated splits.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub train: Vec<Example>,
    pub val: Vec<Example>,
    pub rejected: Vec<Rejected>,
    /// Validation candidates dropped because their prompt is in training.
    pub val_dropped_as_train: usize,
}

impl Dataset {
    /// Byte stream of a split: every example's text, concatenated.
    pub fn stream(examples: &[Example], template: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for ex in examples {
            out.extend_from_slice(ex.text(template).as_bytes());
        }
        out
    }

    /// blake3 over both splits' streams: the dataset's identity in run
    /// records.
    pub fn blake3(train_stream: &[u8], val_stream: &[u8]) -> String {
        let mut h = blake3::Hasher::new();
        h.update(train_stream);
        h.update(b"\0");
        h.update(val_stream);
        h.finalize().to_hex().to_string()
    }
}

/// Draws allowed per wanted example before generation gives up (plus
/// [`SPARE_ATTEMPTS`]): far more than any real data set needs, so hitting
/// it means the generator has run out of distinct problems.
pub const ATTEMPTS_PER_EXAMPLE: u64 = 20;

/// Draws allowed on top of `ATTEMPTS_PER_EXAMPLE` per example.
pub const SPARE_ATTEMPTS: u64 = 10_000;

/// Generation could not fill a split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "dataset: only {made} of {wanted} {split} examples after {attempts} draws ({why}); the generator has run out of distinct problems: lower dataset.{split}_examples, change dataset.seed or the difficulty mix"
)]
pub struct Exhausted {
    pub split: &'static str,
    pub wanted: u64,
    pub made: u64,
    pub attempts: u64,
    pub why: String,
}

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
        "dev-reasoning-v2",
        |rng| problem(rng, &config.difficulty),
        progress,
    )
}

/// How far generation has come: `made` of `wanted` examples of `split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub split: &'static str,
    pub made: u64,
    pub wanted: u64,
}

/// Accepted examples between two progress reports.
pub const PROGRESS_EVERY: u64 = 100_000;

/// Both splits of generator `name` (which seeds them), each example drawn
/// by `problem`: anything that overlaps `evals` is dropped and replaced,
/// and validation never repeats a training prompt.
pub(super) fn generate_with(
    config: &DatasetConfig,
    evals: &EvalIndex,
    name: &str,
    mut problem: impl FnMut(&mut Rng) -> Example,
    progress: &mut dyn FnMut(Generated),
) -> Result<Dataset, Exhausted> {
    let mut rejected = Vec::new();
    let mut overlaps = |split: &'static str, ex: &Example| {
        let overlap = evals.check(&ex.prompt)?;
        rejected.push(Rejected {
            split,
            prompt: ex.prompt.clone(),
            overlap,
        });
        Some("overlaps an eval set")
    };
    let mut train_rng = Rng::new(derive_seed(config.seed, &format!("{name}/train")));
    let train = fill(
        "train",
        u64::from(config.train_examples),
        || problem(&mut train_rng),
        |ex| overlaps("train", ex),
        &mut *progress,
    )?;
    let train_keys: HashSet<String> = train.iter().map(|e| normalize_prompt(&e.prompt)).collect();
    let mut val_rng = Rng::new(derive_seed(config.seed, &format!("{name}/val")));
    let mut val_dropped_as_train = 0;
    let val = fill(
        "val",
        u64::from(config.val_examples),
        || problem(&mut val_rng),
        |ex| {
            if train_keys.contains(&normalize_prompt(&ex.prompt)) {
                val_dropped_as_train += 1;
                return Some("already in the training split");
            }
            overlaps("val", ex)
        },
        progress,
    )?;
    Ok(Dataset {
        train,
        val,
        rejected,
        val_dropped_as_train,
    })
}

/// Draw examples until `wanted` are accepted (`reject` returns why one is
/// not), giving up after `ATTEMPTS_PER_EXAMPLE * wanted + SPARE_ATTEMPTS`
/// draws; `progress` hears every [`PROGRESS_EVERY`] accepted examples.
fn fill(
    split: &'static str,
    wanted: u64,
    mut draw: impl FnMut() -> Example,
    mut reject: impl FnMut(&Example) -> Option<&'static str>,
    progress: &mut dyn FnMut(Generated),
) -> Result<Vec<Example>, Exhausted> {
    let max_attempts = wanted
        .saturating_mul(ATTEMPTS_PER_EXAMPLE)
        .saturating_add(SPARE_ATTEMPTS);
    let mut out = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0).min(1 << 24));
    let mut attempts = 0u64;
    let mut last_reason = "";
    while (out.len() as u64) < wanted {
        if attempts == max_attempts {
            return Err(Exhausted {
                split,
                wanted,
                made: out.len() as u64,
                attempts,
                why: format!("most recent rejection: {last_reason}"),
            });
        }
        attempts += 1;
        let ex = draw();
        match reject(&ex) {
            Some(reason) => last_reason = reason,
            None => {
                out.push(ex);
                let made = out.len() as u64;
                if made.is_multiple_of(PROGRESS_EVERY) || made == wanted {
                    progress(Generated {
                        split,
                        made,
                        wanted,
                    });
                }
            }
        }
    }
    Ok(out)
}

const PEOPLE: &[(&str, &str)] = &[
    ("Mia", "She"),
    ("Leo", "He"),
    ("Sara", "She"),
    ("Omar", "He"),
    ("Nina", "She"),
    ("Carl", "He"),
    ("Ava", "She"),
    ("Ben", "He"),
    ("Lena", "She"),
    ("Raj", "He"),
    ("Zoe", "She"),
    ("Tom", "He"),
    ("Ines", "She"),
    ("Kai", "He"),
    ("Pia", "She"),
    ("Hugo", "He"),
];

const THINGS: &[&str] = &[
    "pencils", "apples", "cards", "stickers", "marbles", "books", "cookies", "shells", "coins",
    "beads", "stamps", "eggs", "pears", "balloons", "crayons", "buttons",
];

const CONTAINERS: &[&str] = &["boxes", "bags", "packs", "jars", "trays", "baskets"];

const ITEMS: &[(&str, &str)] = &[
    ("pens", "notebook"),
    ("books", "bookmark"),
    ("shirts", "hat"),
    ("tickets", "program"),
    ("cups", "teapot"),
    ("plants", "pot"),
];

const BIG_ITEMS: &[(&str, &str)] = &[
    ("car", "trailer"),
    ("boat", "motor"),
    ("piano", "bench"),
    ("laptop", "printer"),
    ("sofa", "table"),
];

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.index(items.len())]
}

/// An integer in `lo..=hi`.
fn int(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.below(hi - lo + 1)
}

fn steps_for(rng: &mut Rng, mix: &DifficultyMix) -> usize {
    let total = mix.easy + mix.medium + mix.hard;
    let x = rng.next_f64() * total;
    if x < mix.easy {
        2
    } else if x < mix.easy + mix.medium {
        3
    } else {
        4
    }
}

/// One problem of a difficulty drawn from `mix`.
pub fn problem(rng: &mut Rng, mix: &DifficultyMix) -> Example {
    let steps = steps_for(rng, mix);
    let kind = rng.below(20);
    if kind < 15 {
        counting(rng, steps)
    } else if kind < 18 {
        shopping(rng, steps)
    } else {
        big_purchase(rng, steps)
    }
}

/// A count of things that changes over `steps` operations.
fn counting(rng: &mut Rng, steps: usize) -> Example {
    let (name, pron) = *pick(rng, PEOPLE);
    let thing = *pick(rng, THINGS);
    let mut trace = Vec::new();
    let mut sentences = Vec::new();
    let mut value;
    if rng.below(5) < 3 {
        let groups = int(rng, 2, 12);
        let each = int(rng, 2, 15);
        let container = *pick(rng, CONTAINERS);
        value = groups * each;
        sentences.push(match rng.below(2) {
            0 => format!("{name} has {groups} {container} with {each} {thing} in each."),
            _ => format!("{name} has {groups} {container} of {each} {thing}."),
        });
        trace.push(format!("{groups}*{each}={value}"));
    } else {
        value = int(rng, 10, 99);
        sentences.push(format!("{name} has {value} {thing}."));
    }
    let lower = pron.to_lowercase();
    while trace.len() < steps {
        let op = rng.below(4);
        match op {
            0 => {
                let c = int(rng, 2, 60);
                sentences.push(match rng.below(3) {
                    0 => format!("{pron} buys {c} more {thing}."),
                    1 => format!("A friend gives {} {c} {thing}.", object(pron)),
                    _ => format!("{pron} finds {c} more {thing}."),
                });
                trace.push(format!("{value}+{c}={}", value + c));
                value += c;
            }
            1 if value > 2 => {
                let c = int(rng, 1, value - 1);
                sentences.push(match rng.below(3) {
                    0 => format!("{pron} gives away {c} {thing}."),
                    1 => format!("{pron} loses {c} {thing}."),
                    _ => format!("{pron} uses {c} {thing}."),
                });
                trace.push(format!("{value}-{c}={}", value - c));
                value -= c;
            }
            2 if value <= 500 => {
                let k = int(rng, 2, 3);
                let verb = if k == 2 { "doubles" } else { "triples" };
                sentences.push(format!("Then the number of {thing} {lower} has {verb}."));
                trace.push(format!("{value}*{k}={}", value * k));
                value *= k;
            }
            _ => {
                let divisors: Vec<u64> = (2..=9)
                    .filter(|d| value % d == 0 && value / d > 1)
                    .collect();
                if divisors.is_empty() {
                    continue;
                }
                let k = *pick(rng, &divisors);
                sentences.push(format!(
                    "{pron} shares the {thing} equally among {k} friends and keeps one share."
                ));
                trace.push(format!("{value}/{k}={}", value / k));
                value /= k;
            }
        }
    }
    sentences.push(format!("How many {thing} does {name} have now?"));
    finish(sentences, trace, value.to_string(), steps)
}

fn object(pron: &str) -> &'static str {
    if pron == "She" {
        "her"
    } else {
        "him"
    }
}

/// Prices with cents: quantity × price plus an extra item (2 steps), then
/// the change from a bill (3 steps) or a second quantity × price (4 steps).
fn shopping(rng: &mut Rng, steps: usize) -> Example {
    let (name, pron) = *pick(rng, PEOPLE);
    let (items, extra) = *pick(rng, ITEMS);
    let lower = pron.to_lowercase();
    let q = int(rng, 2, 9);
    let price = int(rng, 1, 40) * 25;
    let add = int(rng, 1, 20) * 25;
    let mut total = q * price + add;
    let mut trace = vec![
        format!("{q}*{}={}", cents(price), cents(q * price)),
        format!("{}+{}={}", cents(q * price), cents(add), cents(total)),
    ];
    let mut sentences = vec![format!(
        "{name} buys {q} {items} at ${} each and a {extra} for ${}.",
        cents(price),
        cents(add)
    )];
    let question = match steps {
        3 => {
            let bill = (total / 1000 + 1) * 1000;
            sentences.push(format!("{pron} pays with ${}.", cents(bill)));
            trace.push(format!(
                "{}-{}={}",
                cents(bill),
                cents(total),
                cents(bill - total)
            ));
            total = bill - total;
            format!("How much change does {lower} get?")
        }
        4 => {
            let q2 = int(rng, 2, 5);
            let p2 = int(rng, 1, 20) * 25;
            sentences.push(format!(
                "{pron} also buys {q2} cards at ${} each.",
                cents(p2)
            ));
            trace.push(format!("{q2}*{}={}", cents(p2), cents(q2 * p2)));
            trace.push(format!(
                "{}+{}={}",
                cents(total),
                cents(q2 * p2),
                cents(total + q2 * p2)
            ));
            total += q2 * p2;
            format!("How much does {lower} spend in all?")
        }
        _ => format!("How much does {lower} spend in all?"),
    };
    sentences.push(question);
    finish(sentences, trace, format!("${}", cents(total)), steps)
}

/// Two big prices with thousands separators and a discount (2 steps), plus
/// a delivery fee (3 steps).
fn big_purchase(rng: &mut Rng, steps: usize) -> Example {
    let (a, b) = *pick(rng, BIG_ITEMS);
    let pa = int(rng, 20, 300) * 50;
    let pb = int(rng, 5, 100) * 50;
    let off = int(rng, 1, 20) * 50;
    let mut total = pa + pb - off;
    let mut trace = vec![
        format!("{pa}+{pb}={}", pa + pb),
        format!("{}-{off}={total}", pa + pb),
    ];
    let mut sentences = vec![
        format!(
            "A {a} costs ${} and a {b} costs ${}.",
            thousands(pa),
            thousands(pb)
        ),
        format!("The shop takes ${} off the total.", thousands(off)),
    ];
    if steps > 2 {
        let fee = int(rng, 1, 9) * 25;
        sentences.push(format!("Delivery costs ${fee}."));
        trace.push(format!("{total}+{fee}={}", total + fee));
        total += fee;
    }
    sentences.push(format!("What is the final cost of the {a} and the {b}?"));
    let n = trace.len();
    finish(sentences, trace, format!("${}", thousands(total)), n)
}

fn finish(sentences: Vec<String>, trace: Vec<String>, answer: String, steps: usize) -> Example {
    Example {
        prompt: sentences.join(" "),
        completion: format!("{}. Answer: {answer}", trace.join(". ")),
        answer,
        steps,
    }
}

/// Cents as dollars with two decimals: 125 → `1.25`.
fn cents(c: u64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// An integer with thousands separators: 9650 → `9,650`.
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests;
