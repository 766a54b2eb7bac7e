//! Decontamination: training data must not contain an eval prompt, nor the
//! same question with the same numbers in other words.
//!
//! Two tests against every prompt of every eval set:
//! - **exact**: equal after lowercasing and collapsing punctuation and
//!   whitespace;
//! - **same numbers**: the same sequence of (at least two) numbers, and word
//!   sets that overlap by at least [`SAME_QUESTION_JACCARD`] (a renamed
//!   person or object still counts as the same question).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;

/// Word-set Jaccard similarity above which two prompts with the same numbers
/// are the same question.
pub const SAME_QUESTION_JACCARD: f64 = 0.5;

/// How a training prompt overlaps an eval prompt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    /// `<eval file>:<item id>`.
    pub eval_item: String,
    /// `exact` or `same_numbers`.
    pub kind: &'static str,
}

/// Every eval prompt, indexed for both tests.
#[derive(Debug, Clone, Default)]
pub struct EvalIndex {
    exact: HashMap<String, String>,
    by_numbers: HashMap<Vec<String>, Vec<(BTreeSet<String>, String)>>,
    prompts: usize,
}

impl EvalIndex {
    /// Index `(source, prompt)` pairs.
    pub fn from_prompts(items: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut index = EvalIndex::default();
        for (source, prompt) in items {
            index.prompts += 1;
            index
                .exact
                .entry(normalize_prompt(&prompt))
                .or_insert_with(|| source.clone());
            let numbers = numbers(&prompt);
            if numbers.len() >= 2 {
                index
                    .by_numbers
                    .entry(numbers)
                    .or_default()
                    .push((words(&prompt), source));
            }
        }
        index
    }

    /// Eval prompts indexed.
    pub fn len(&self) -> usize {
        self.prompts
    }

    pub fn is_empty(&self) -> bool {
        self.prompts == 0
    }

    /// The eval item `prompt` overlaps, if any.
    pub fn check(&self, prompt: &str) -> Option<Overlap> {
        if let Some(source) = self.exact.get(&normalize_prompt(prompt)) {
            return Some(Overlap {
                eval_item: source.clone(),
                kind: "exact",
            });
        }
        let candidates = self.by_numbers.get(&numbers(prompt))?;
        let mine = words(prompt);
        candidates
            .iter()
            .find(|(theirs, _)| jaccard(&mine, theirs) >= SAME_QUESTION_JACCARD)
            .map(|(_, source)| Overlap {
                eval_item: source.clone(),
                kind: "same_numbers",
            })
    }
}

/// `(<file>:<id>, prompt)` pairs.
pub type EvalPrompts = Vec<(String, String)>;

/// Why the eval sets of a folder cannot all be read for decontamination.
#[derive(Debug, thiserror::Error)]
pub enum EvalSetsError {
    /// The folder cannot be listed.
    #[error("cannot list {dir}: {error}")]
    CannotList {
        /// The folder, as shown to the user.
        dir: String,
        /// Why it cannot be listed.
        error: std::io::Error,
    },
    /// One of its eval sets does not parse.
    #[error(
        "{file} is not a valid eval set ({problems} problem(s); `tunix-rt evalset validate {file}` lists them), so training data cannot be checked against it"
    )]
    Invalid {
        /// The file, as shown to the user.
        file: String,
        /// How many problems it has.
        problems: usize,
    },
}

/// `(<file>:<id>, prompt)` of every item of every `*.jsonl` eval set in
/// `dir`, and the files read. A file that does not parse is an error, not
/// skipped: decontamination must see every eval set.
pub fn eval_prompts_in_dir(
    dir: &Path,
    shown_dir: &str,
) -> Result<(EvalPrompts, Vec<String>), EvalSetsError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|error| EvalSetsError::CannotList {
            dir: shown_dir.to_string(),
            error,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut items = Vec::new();
    let mut shown_files = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = format!("{shown_dir}/{name}");
        let set = crate::evalset::load(file, &shown).map_err(|d| EvalSetsError::Invalid {
            file: shown.clone(),
            problems: d.len(),
        })?;
        items.extend(
            set.items
                .into_iter()
                .map(|i| (format!("{shown}:{}", i.id), i.prompt)),
        );
        shown_files.push(shown);
    }
    Ok((items, shown_files))
}

/// Lowercase words and numbers separated by single spaces.
pub fn normalize_prompt(prompt: &str) -> String {
    prompt
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The numbers of a prompt in order, thousands separators and trailing
/// decimal zeros removed (`$1,250.50` → `1250.5`).
fn numbers(prompt: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = prompt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut token = String::new();
        while i < chars.len() {
            let c = chars[i];
            let next_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() {
                token.push(c);
            } else if c == '.' && next_digit {
                token.push('.');
            } else if c != ',' || !next_digit {
                break;
            }
            i += 1;
        }
        if token.contains('.') {
            token = token
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string();
        }
        out.push(token);
    }
    out
}

/// Alphabetic words of three letters or more, lowercased.
fn words(prompt: &str) -> BTreeSet<String> {
    prompt
        .to_lowercase()
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.len() >= 3)
        .map(str::to_string)
        .collect()
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVAL: &str = "Mia has 4 boxes with 9 pencils in each box. She gives away 7 pencils. How many pencils does Mia have now?";

    fn index() -> EvalIndex {
        EvalIndex::from_prompts([(
            "evalsets/eval_v2.jsonl:core-001".to_string(),
            EVAL.to_string(),
        )])
    }

    #[test]
    fn the_same_prompt_is_caught_whatever_its_spacing_and_case() {
        let o = index()
            .check("mia has 4 boxes with 9 pencils in each box.  She gives away 7 pencils! How many pencils does Mia have now")
            .unwrap();
        assert_eq!(o.kind, "exact");
        assert_eq!(o.eval_item, "evalsets/eval_v2.jsonl:core-001");
    }

    #[test]
    fn the_same_question_with_the_same_numbers_is_caught() {
        let renamed = "Leo has 4 boxes with 9 pencils in each box. He gives away 7 pencils. How many pencils does Leo have now?";
        assert_eq!(index().check(renamed).unwrap().kind, "same_numbers");
    }

    #[test]
    fn other_numbers_or_other_questions_pass() {
        let other_numbers = "Mia has 5 boxes with 9 pencils in each box. She gives away 7 pencils. How many pencils does Mia have now?";
        assert!(index().check(other_numbers).is_none());
        let other_question =
            "A train leaves at 4 and travels 9 hours, stopping 7 times. When does it arrive?";
        assert!(index().check(other_question).is_none());
    }

    #[test]
    fn numbers_are_normalized() {
        assert_eq!(
            numbers("$1,250.50 and 3, 4 or 0.75."),
            vec!["1250.5", "3", "4", "0.75"]
        );
        assert_eq!(numbers("costs $8,400."), vec!["8400"]);
    }

    #[test]
    fn the_repository_eval_sets_are_indexed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../evalsets");
        let (items, files) = eval_prompts_in_dir(&dir, "evalsets").unwrap();
        let index = EvalIndex::from_prompts(items);
        assert!(files.contains(&"evalsets/eval_v2.jsonl".to_string()));
        assert!(index.len() >= 120);
        assert_eq!(index.check(EVAL).unwrap().kind, "exact");
    }
}
