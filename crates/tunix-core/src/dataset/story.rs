//! The problems of `dev-reasoning-v3` ([`super::arith`]): stories built from
//! a starting quantity and events that change it, one-step drills, and
//! answer-format problems. Each returns its sentences, its calculator steps
//! (operands in the order the prompt gives them) and the final answer.

use crate::rng::Rng;

use super::calc;
use super::generate::thousands;

/// One calculator step: the expression and its result as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub expr: String,
    pub result: String,
}

/// A problem before it is formatted as an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Story {
    pub sentences: Vec<String>,
    pub steps: Vec<Step>,
    pub answer: String,
}

/// Record `expr` as a step; returns its result as written.
fn step_text(steps: &mut Vec<Step>, expr: String) -> String {
    let result = calc::evaluate(&expr).map_or_else(|e| e.to_string(), calc::format);
    steps.push(Step {
        expr,
        result: result.clone(),
    });
    result
}

/// Record a step whose operands make a whole result; returns it. (The
/// generator's own tests check every step against the calculator.)
fn step(steps: &mut Vec<Step>, expr: String) -> i64 {
    step_text(steps, expr).parse().unwrap_or(i64::MIN)
}

const PEOPLE: &[(&str, &str)] = &[
    ("Mia", "she"),
    ("Leo", "he"),
    ("Sara", "she"),
    ("Omar", "he"),
    ("Nina", "she"),
    ("Carl", "he"),
    ("Ava", "she"),
    ("Ben", "he"),
    ("Lena", "she"),
    ("Raj", "he"),
    ("Zoe", "she"),
    ("Tom", "he"),
    ("Ines", "she"),
    ("Kai", "he"),
    ("Pia", "she"),
    ("Hugo", "he"),
    ("Rosa", "she"),
    ("Dev", "he"),
    ("Elif", "she"),
    ("Sam", "he"),
    ("Nora", "she"),
    ("Ali", "he"),
    ("Jade", "she"),
    ("Finn", "he"),
];

const THINGS: &[&str] = &[
    "pencils",
    "apples",
    "cards",
    "stickers",
    "marbles",
    "books",
    "cookies",
    "shells",
    "coins",
    "beads",
    "stamps",
    "eggs",
    "pears",
    "balloons",
    "crayons",
    "buttons",
    "oranges",
    "cupcakes",
    "muffins",
    "toys",
    "plates",
    "cups",
    "flowers",
    "rocks",
    "puzzles",
    "markers",
    "nuts",
    "carrots",
    "bottles",
    "boxes of juice",
];

const CONTAINERS: &[&str] = &[
    "boxes", "bags", "packs", "jars", "trays", "baskets", "cases", "bins", "shelves", "rows",
];

/// A verb of gaining, in the present tense, taking `{n} {things}`.
const GAIN: &[&str] = &["buys", "finds", "gets", "wins", "makes", "picks up"];
/// A verb of losing.
const LOSE: &[&str] = &["gives away", "loses", "uses", "sells", "eats", "breaks"];

/// Where a quantity is split: (plural, singular).
const SPLITS: &[(&str, &str)] = &[
    ("jars", "jar"),
    ("bags", "bag"),
    ("boxes", "box"),
    ("piles", "pile"),
    ("groups", "group"),
];

/// Things done every day: (verb phrase, unit).
const DAILY: &[(&str, &str)] = &[
    ("reads", "pages"),
    ("runs", "laps"),
    ("bakes", "cookies"),
    ("writes", "lines"),
    ("picks", "apples"),
    ("saves", "dollars"),
    ("walks", "kilometers"),
    ("folds", "paper cranes"),
];

/// Machines with an hourly output: (subject, unit).
const MACHINES: &[(&str, &str)] = &[
    ("A factory", "toys"),
    ("A printer", "pages"),
    ("A bakery", "loaves"),
    ("A machine", "bolts"),
    ("A pump", "liters"),
];

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.index(items.len())]
}

/// An integer in `lo..=hi`.
fn int(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
    lo + rng.below((hi - lo + 1) as u64) as i64
}

/// An integer with 1 to `max_digits` digits, the digit count drawn first so
/// small and large operands are equally common (at least `lo`).
fn sized(rng: &mut Rng, lo: i64, max_digits: u32) -> i64 {
    let digits = 1 + rng.below(u64::from(max_digits)) as u32;
    let hi = 10i64.pow(digits) - 1;
    let floor = if digits == 1 {
        1
    } else {
        10i64.pow(digits - 1)
    };
    int(rng, floor.max(lo), hi.max(lo))
}

/// Another person's name than `name`.
fn other_than(rng: &mut Rng, name: &str) -> &'static str {
    let (other, _) = *pick(rng, PEOPLE);
    if other == name {
        "Ivy"
    } else {
        other
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A one-step drill: `What is 36 minus 7?`.
pub fn drill(rng: &mut Rng) -> Story {
    let mut steps = Vec::new();
    let (question, expr) = match rng.below(4) {
        0 => {
            let (a, b) = (sized(rng, 1, 3), sized(rng, 1, 3));
            let q = match rng.below(3) {
                0 => format!("What is {a} plus {b}?"),
                1 => format!("What is the sum of {a} and {b}?"),
                _ => format!("What is {a} + {b}?"),
            };
            (q, format!("{a}+{b}"))
        }
        1 => {
            let a = sized(rng, 2, 3);
            let b = int(rng, 1, a - 1);
            let q = match rng.below(3) {
                0 => format!("What is {a} minus {b}?"),
                1 => format!("What is {b} less than {a}?"),
                _ => format!("What is {a} - {b}?"),
            };
            (q, format!("{a}-{b}"))
        }
        2 => {
            let (a, b) = (sized(rng, 2, 3), sized(rng, 2, 2));
            let q = match rng.below(3) {
                0 => format!("What is {a} times {b}?"),
                1 => format!("What is the product of {a} and {b}?"),
                _ => format!("What is {a} * {b}?"),
            };
            (q, format!("{a}*{b}"))
        }
        _ => {
            let (q0, b) = (sized(rng, 2, 2), int(rng, 2, 12));
            let a = q0 * b;
            let q = match rng.below(3) {
                0 => format!("What is {a} divided by {b}?"),
                1 => format!("How many groups of {b} are in {a}?"),
                _ => format!("What is {a} / {b}?"),
            };
            (q, format!("{a}/{b}"))
        }
    };
    let v = step(&mut steps, expr);
    Story {
        sentences: vec![question],
        steps,
        answer: v.to_string(),
    }
}

/// A story's opening: sentences, the quantity, and what it counts.
type Opening = (Vec<String>, i64, &'static str);

/// The opening of a story about `name` counting `thing` (`who`); what is
/// counted may change (`pages` for reading).
fn opening(
    rng: &mut Rng,
    who: (&str, &'static str),
    steps: &mut Vec<Step>,
    budget: usize,
) -> Opening {
    let (name, thing) = who;
    let container = *pick(rng, CONTAINERS);
    let kind = if budget == 0 { 0 } else { rng.below(7) };
    match kind {
        1 => {
            let g = int(rng, 2, 15);
            let e = sized(rng, 2, 2);
            let s = match rng.below(4) {
                0 => format!("{name} has {g} {container} with {e} {thing} in each."),
                1 => format!("{name} has {g} {container} of {e} {thing}."),
                2 => format!("{name} buys {g} {container} of {e} {thing}."),
                _ => format!("{name} fills {g} {container} with {e} {thing} each."),
            };
            let v = step(steps, format!("{g}*{e}"));
            (vec![s], v, thing)
        }
        2 => {
            let e = sized(rng, 2, 2);
            let g = int(rng, 2, 12);
            let s = format!("{name} has {g} {container}, and each one holds {e} {thing}.");
            let v = step(steps, format!("{g}*{e}"));
            (vec![s], v, thing)
        }
        3 => {
            let n = sized(rng, 2, 2);
            let k = int(rng, 2, 5);
            let other = other_than(rng, name);
            let s = vec![
                format!("{other} has {n} {thing}."),
                format!("{name} has {k} times as many {thing} as {other}."),
            ];
            let v = step(steps, format!("{n}*{k}"));
            (s, v, thing)
        }
        4 => {
            let n = sized(rng, 2, 3);
            let k = sized(rng, 1, 2);
            let other = other_than(rng, name);
            let s = vec![
                format!("{other} has {n} {thing}."),
                format!("{name} has {k} more {thing} than {other}."),
            ];
            let v = step(steps, format!("{n}+{k}"));
            (s, v, thing)
        }
        5 if budget >= 3 => {
            let (g1, e1) = (int(rng, 2, 9), sized(rng, 2, 2));
            let (g2, e2) = (int(rng, 2, 9), sized(rng, 2, 2));
            let other = *pick(rng, CONTAINERS);
            let s = format!(
                "{name} buys {g1} {container} of {e1} {thing} and {g2} {other} of {e2} {thing}."
            );
            let a = step(steps, format!("{g1}*{e1}"));
            let b = step(steps, format!("{g2}*{e2}"));
            let v = step(steps, format!("{a}+{b}"));
            (vec![s], v, thing)
        }
        6 => {
            let (verb, unit) = *pick(rng, DAILY);
            let e = sized(rng, 2, 2);
            let g = int(rng, 2, 14);
            let s = format!("{name} {verb} {e} {unit} each day for {g} days.");
            let v = step(steps, format!("{e}*{g}"));
            (vec![s], v, unit)
        }
        _ => {
            let n = sized(rng, 10, 3);
            (vec![format!("{name} has {n} {thing}.")], n, thing)
        }
    }
}

/// A story of `want` steps (1 to 4) about a quantity that changes.
pub fn story(rng: &mut Rng, want: usize) -> Story {
    if rng.below(5) == 0 {
        return production(rng, want);
    }
    let (name, pron) = *pick(rng, PEOPLE);
    let thing = *pick(rng, THINGS);
    let mut steps = Vec::new();
    let (mut sentences, mut v, thing) =
        opening(rng, (name, thing), &mut steps, want.saturating_sub(1));
    let pr = capitalize(pron);
    let mut each: Option<&str> = None;
    while steps.len() < want {
        let left = want - steps.len();
        match rng.below(6) {
            0 | 1 => {
                let c = sized(rng, 1, 3);
                let verb = *pick(rng, GAIN);
                sentences.push(match rng.below(2) {
                    0 => format!("{pr} {verb} {c} more {thing}."),
                    _ => format!("Then {pron} {verb} {c} more."),
                });
                v = step(&mut steps, format!("{v}+{c}"));
            }
            2 | 3 if v > 2 => {
                let c = int(rng, 1, v - 1);
                let verb = *pick(rng, LOSE);
                sentences.push(match rng.below(2) {
                    0 => format!("{pr} {verb} {c} {thing}."),
                    _ => format!("Then {pron} {verb} {c} of them."),
                });
                v = step(&mut steps, format!("{v}-{c}"));
            }
            4 if left >= 2 && v > 4 => {
                let k = int(rng, 2, 9);
                let max_c = (v - 1) / k;
                if max_c < 1 {
                    continue;
                }
                let c = int(rng, 1, max_c.min(40));
                sentences.push(format!("{pr} gives {c} {thing} to each of {k} friends."));
                let given = step(&mut steps, format!("{c}*{k}"));
                v = step(&mut steps, format!("{v}-{given}"));
            }
            _ if left == 1 => {
                let divisors: Vec<i64> = (2..=12).filter(|d| v % d == 0 && v / d > 1).collect();
                if divisors.is_empty() {
                    continue;
                }
                let k = *pick(rng, &divisors);
                let (container, one) = *pick(rng, SPLITS);
                sentences.push(format!(
                    "{pr} puts all of them equally into {k} {container}."
                ));
                v = step(&mut steps, format!("{v}/{k}"));
                each = Some(one);
            }
            _ => continue,
        }
    }
    sentences.push(match each {
        Some(one) => format!("How many {thing} are in each {one}?"),
        None => match rng.below(3) {
            0 => format!("How many {thing} does {name} have now?"),
            1 => format!("How many {thing} does {pron} have left?"),
            _ => format!("How many {thing} does {name} have in the end?"),
        },
    });
    Story {
        sentences,
        steps,
        answer: v.to_string(),
    }
}

/// Output over time, then some removed or added: `A factory makes 132
/// toys a day for 5 days. Then 47 of the toys are found broken.`
fn production(rng: &mut Rng, want: usize) -> Story {
    let (subject, unit) = *pick(rng, MACHINES);
    let per = sized(rng, 10, 3);
    let (span, spans) = *pick(rng, &[("an hour", "hours"), ("a day", "days")]);
    let n = int(rng, 2, 12);
    let mut steps = Vec::new();
    let mut v = step(&mut steps, format!("{per}*{n}"));
    let mut sentences = vec![format!(
        "{subject} makes {per} {unit} {span} for {n} {spans}."
    )];
    while steps.len() < want {
        if rng.below(2) == 0 && v > 2 {
            let c = int(rng, 1, v - 1);
            sentences.push(format!("Then {c} of the {unit} are thrown away."));
            v = step(&mut steps, format!("{v}-{c}"));
        } else {
            let c = sized(rng, 1, 3);
            sentences.push(format!("Then it makes {c} more {unit}."));
            v = step(&mut steps, format!("{v}+{c}"));
        }
    }
    sentences.push(format!("How many {unit} are there now?"));
    Story {
        sentences,
        steps,
        answer: v.to_string(),
    }
}

/// A problem whose answer has a format of its own: yes/no, percent,
/// negative, signed change, decimal, currency, or thousands separators.
pub fn format_problem(rng: &mut Rng) -> Story {
    let mut steps = Vec::new();
    let (name, pron) = *pick(rng, PEOPLE);
    let thing = *pick(rng, THINGS);
    let (sentences, answer) = match rng.below(8) {
        0 => {
            let (g, e) = (int(rng, 2, 9), int(rng, 2, 12));
            let t = (g * e + int(rng, -10, 10)).max(1);
            let container = *pick(rng, CONTAINERS);
            let p = step(&mut steps, format!("{g}*{e}"));
            let (cmp, yes) = if rng.below(2) == 0 {
                ("more", p > t)
            } else {
                ("fewer", p < t)
            };
            (
                vec![
                    format!("{name} has {g} {container} of {e} {thing}."),
                    format!("Does {pron} have {cmp} than {t} {thing}? Answer yes or no."),
                ],
                yes_no(yes),
            )
        }
        1 => {
            let b = int(rng, 2, 12);
            let a = if rng.below(2) == 0 {
                b * int(rng, 2, 15)
            } else {
                b * int(rng, 2, 15) + int(rng, 1, b - 1)
            };
            let q = match rng.below(2) {
                0 => format!("Is {a} divisible by {b}? Answer yes or no."),
                _ => format!("Is {a} a multiple of {b}? Answer yes or no."),
            };
            step_text(&mut steps, format!("{a}/{b}"));
            let whole = a % b == 0;
            (vec![q], yes_no(whole))
        }
        2 => {
            let (a, b) = (int(rng, 2, 12), int(rng, 2, 12));
            let c = a * b
                + if rng.below(2) == 0 {
                    0
                } else {
                    int(rng, -3, 3)
                };
            let p = step(&mut steps, format!("{a}*{b}"));
            (
                vec![format!("Is {a} times {b} equal to {c}? Answer yes or no.")],
                yes_no(p == c),
            )
        }
        3 => {
            let n = *pick(rng, &[10, 20, 25, 40, 50, 100, 200]);
            let pct = *pick(rng, &[5, 10, 20, 25, 30, 40, 50, 60, 75, 80]);
            let k = n * pct / 100;
            if k == 0 || k * 100 % n != 0 {
                return format_problem(rng);
            }
            let color = *pick(rng, &["red", "blue", "green", "broken", "new"]);
            let p = step(&mut steps, format!("{k}*100/{n}"));
            (
                vec![
                    format!("A bin has {n} {thing} and {k} of them are {color}."),
                    format!("What percent of the {thing} are {color}?"),
                ],
                format!("{p}%"),
            )
        }
        4 => {
            let a = int(rng, -9, 15);
            let b = int(rng, 1, 20);
            let mut s = vec![format!("The temperature is {a} degrees.")];
            let mut v = step(&mut steps, format!("{a}-{b}"));
            s.push(format!("It drops {b} degrees."));
            if rng.below(2) == 0 {
                let c = int(rng, 1, 9);
                s.push(format!("Then it rises {c} degrees."));
                v = step(&mut steps, format!("{v}+{c}"));
            }
            s.push("What is the temperature now?".to_string());
            (s, v.to_string())
        }
        5 => {
            let a = int(rng, -5, 40);
            let b = a + int(rng, 1, 30);
            let d = step(&mut steps, format!("{b}-{a}"));
            (
                vec![
                    format!("The temperature was {a} degrees in the morning and {b} degrees in the afternoon."),
                    "What was the change in temperature?".to_string(),
                ],
                format!("+{d}"),
            )
        }
        6 => {
            let k = *pick(rng, &[2, 4, 5, 8]);
            let n = int(rng, 1, 30);
            if n % k == 0 {
                return format_problem(rng);
            }
            let unit = *pick(rng, &["meters", "liters", "kilograms"]);
            let r = step_text(&mut steps, format!("{n}/{k}"));
            (
                vec![
                    format!(
                        "A {} of {n} {unit} is split into {k} equal parts.",
                        pick(rng, &["load", "batch", "supply"])
                    ),
                    format!("How many {unit} are in each part?"),
                ],
                r,
            )
        }
        _ => money(rng, &mut steps, name, pron),
    };
    Story {
        sentences,
        steps,
        answer,
    }
}

fn yes_no(yes: bool) -> String {
    if yes { "yes" } else { "no" }.to_string()
}

/// Prices: whole dollars with thousands separators, or dollars and cents.
fn money(rng: &mut Rng, steps: &mut Vec<Step>, name: &str, pron: &str) -> (Vec<String>, String) {
    if rng.below(2) == 0 {
        let a = int(rng, 10, 300) * 50;
        let b = int(rng, 2, 100) * 25;
        let (x, y) = *pick(
            rng,
            &[("car", "trailer"), ("boat", "motor"), ("piano", "bench")],
        );
        let v = step(steps, format!("{a}+{b}"));
        return (
            vec![
                format!(
                    "A {x} costs ${} and a {y} costs ${}.",
                    thousands(a.unsigned_abs()),
                    thousands(b.unsigned_abs())
                ),
                format!("What is the total cost of the {x} and the {y}?"),
            ],
            format!("${}", thousands(v.unsigned_abs())),
        );
    }
    let q = int(rng, 2, 9);
    let price = int(rng, 1, 40) * 25;
    let dollars = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    let item = *pick(rng, &["pen", "cup", "ticket", "notebook", "candle"]);
    let cost = step_text(steps, format!("{q}*{}", dollars(price)));
    let mut s = vec![format!("A {item} costs ${}.", dollars(price))];
    if rng.below(2) == 0 {
        let bill = (q * price / 1000 + 1) * 1000;
        s.push(format!(
            "{name} buys {q} of them and pays with ${}.",
            dollars(bill)
        ));
        s.push(format!("How much change does {pron} get?"));
        step(steps, format!("{}-{cost}", dollars(bill)));
        let change = bill - q * price;
        (s, format!("${}", dollars(change)))
    } else {
        s.push(format!("How much do {q} {item}s cost?"));
        (s, format!("${}", dollars(q * price)))
    }
}
