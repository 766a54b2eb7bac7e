//! Scoring a model's outputs on an eval set: per-item records and the
//! summary. Pure: the caller reads the files and writes the run folder.

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

/// The summary of scored records.
pub fn summarize(
    records: &[EvalItemRecord],
    evalset: FileRef,
    empty_outputs: Vec<String>,
    settings: &EvalSettings,
) -> EvalSummary {
    let rows: Vec<ItemRow> = records.iter().map(EvalItemRecord::item_row).collect();
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
