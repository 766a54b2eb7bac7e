//! Scoring a model's outputs on an eval set: per-item records and the
//! summary (with per-category and, given the eval set's items, per-tag
//! figures). Pure: the caller reads the files and writes the run folder.

use std::collections::BTreeMap;

use crate::evalset::{Category, EvalItem};
use crate::runfolder::{EvalItemRecord, EvalSummary, FileRef, SCHEMA_VERSION};
use crate::scoring::{self, AnswerExtraction, Equivalence, ItemRow};

/// Settings of one evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvalSettings {
    pub extraction: AnswerExtraction,
    pub equivalence: Equivalence,
    /// Seed of the scorecard's bootstrap intervals.
    pub seed: u64,
}

/// Score every item of the eval set. Items without an output are recorded
/// with null scores (skipped), never dropped. Records come back sorted by id.
pub fn score_items(
    items: &[EvalItem],
    outputs: &BTreeMap<String, String>,
    settings: &EvalSettings,
) -> Vec<EvalItemRecord> {
    let mut records: Vec<EvalItemRecord> = items
        .iter()
        .map(|item| {
            let output = outputs.get(&item.id);
            let (extracted, correctness, trace) = match output {
                Some(out) => {
                    let (extracted, c) = scoring::answer_correctness(
                        out,
                        &item.expected_answer,
                        &settings.extraction,
                        &settings.equivalence,
                    );
                    let trace = if item.category == Category::Trace {
                        scoring::trace_consistency(out, &item.required_values)
                    } else {
                        None
                    };
                    (extracted, Some(c), trace)
                }
                None => (None, None, None),
            };
            EvalItemRecord {
                id: item.id.clone(),
                category: item.category.as_str().to_string(),
                expected: item.expected_answer.clone(),
                output: output.cloned(),
                extraction_rule: extracted.as_ref().map(|e| e.rule),
                extracted: extracted.map(|e| e.text),
                answer_correctness: correctness,
                trace_consistency: trace,
            }
        })
        .collect();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    records
}

/// The summary of scored records, with per-tag figures from the tags of
/// the eval set's `items` (a record counts toward every tag of the item
/// with its id; records of untagged or unknown items toward none).
pub fn summarize(
    records: &[EvalItemRecord],
    items: &[EvalItem],
    evalset: FileRef,
    empty_outputs: Vec<String>,
    settings: &EvalSettings,
) -> EvalSummary {
    let rows = tagged_rows(records, items);
    let primary = scoring::primary_score(&rows);
    let scorecard = scoring::build_scorecard(&rows, settings.seed);
    let traces: Vec<f64> = records.iter().filter_map(|r| r.trace_consistency).collect();
    let trace_consistency = if traces.is_empty() {
        None
    } else {
        Some(traces.iter().sum::<f64>() / traces.len() as f64)
    };
    let missing_items = records
        .iter()
        .filter(|r| r.output.is_none())
        .map(|r| r.id.clone())
        .collect();
    EvalSummary {
        schema_version: SCHEMA_VERSION,
        primary_score: primary.value,
        n_items: primary.n_items,
        n_scored: primary.n_scored,
        n_skipped: primary.n_skipped,
        trace_consistency,
        scorecard,
        evalset,
        missing_items,
        empty_outputs,
        scoring_rules_version: Some(scoring::SCORING_RULES_VERSION),
    }
}

/// The scoring rows of `records`, each with the tags of its eval item.
fn tagged_rows(records: &[EvalItemRecord], items: &[EvalItem]) -> Vec<ItemRow> {
    let tags: BTreeMap<&str, &[String]> = items
        .iter()
        .map(|item| (item.id.as_str(), item.tags.as_slice()))
        .collect();
    records
        .iter()
        .map(|record| ItemRow {
            tags: tags
                .get(record.id.as_str())
                .map(|t| t.to_vec())
                .unwrap_or_default(),
            ..record.item_row()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, answer: &str, tags: &[&str]) -> EvalItem {
        EvalItem {
            id: id.to_string(),
            category: Category::Core,
            prompt: format!("question {id}"),
            expected_answer: answer.to_string(),
            required_values: vec![],
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn evalset() -> FileRef {
        FileRef {
            path: "e.jsonl".into(),
            blake3: "0".repeat(64),
        }
    }

    #[test]
    fn the_summary_has_per_tag_figures_from_the_items_tags() {
        let items = vec![
            item("a", "1", &["multiplication", "2-step"]),
            item("b", "2", &["multiplication"]),
            item("c", "3", &[]),
        ];
        let outputs: BTreeMap<String, String> = [("a", "1"), ("b", "5"), ("c", "3")]
            .iter()
            .map(|(id, out)| (id.to_string(), format!("Answer: {out}")))
            .collect();
        let settings = EvalSettings::default();
        let records = score_items(&items, &outputs, &settings);
        let summary = summarize(&records, &items, evalset(), vec![], &settings);
        let tags = &summary.scorecard.per_tag;
        assert_eq!(tags.len(), 2);
        let m = &tags["multiplication"];
        assert_eq!((m.n_items, m.n_correct, m.mean), (2, 1, Some(0.5)));
        assert_eq!((tags["2-step"].n_items, tags["2-step"].n_correct), (1, 1));
        let plain = summarize(&records, &[], evalset(), vec![], &settings);
        assert!(plain.scorecard.per_tag.is_empty());
        assert_eq!(plain.scorecard.per_category, summary.scorecard.per_category);
        assert_eq!(plain.primary_score, summary.primary_score);
    }

    #[test]
    fn summaries_without_per_tag_figures_still_read() {
        let items = vec![item("a", "1", &["t"])];
        let outputs = BTreeMap::from([("a".to_string(), "1".to_string())]);
        let settings = EvalSettings::default();
        let records = score_items(&items, &outputs, &settings);
        let summary = summarize(&records, &items, evalset(), vec![], &settings);
        let mut value = serde_json::to_value(&summary).expect("json");
        assert!(value["scorecard"]["per_tag"]["t"]["ci95"].is_object());
        value["scorecard"]
            .as_object_mut()
            .and_then(|card| card.remove("per_tag"))
            .expect("written");
        let old: EvalSummary = serde_json::from_value(value).expect("old summaries read");
        assert!(old.scorecard.per_tag.is_empty());
    }
}
