//! What re-scoring changed, item by item (pure): the items whose
//! correctness flipped, with the old and new extracted answers, and how many
//! extracted answers changed at all.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::runfolder::EvalItemRecord;

/// One item whose correctness changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    pub id: String,
    pub category: String,
    pub expected: String,
    /// The answer extracted when the run was scored; null when none was.
    pub old_extracted: Option<String>,
    /// The answer extracted now; null when none is.
    pub new_extracted: Option<String>,
    /// The stored correctness (null: skipped).
    pub old_correctness: Option<f64>,
    /// The correctness now (null: skipped).
    pub new_correctness: Option<f64>,
}

impl Flip {
    /// Whether the item became correct.
    pub fn gained(&self) -> bool {
        self.new_correctness.unwrap_or(0.0) > self.old_correctness.unwrap_or(0.0)
    }
}

/// The differences between the stored records and the re-scored ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    /// Items whose correctness changed, by id.
    pub flips: Vec<Flip>,
    /// Items whose extracted answer changed (flipped or not).
    pub n_extraction_changed: usize,
}

impl Changes {
    /// Flips to correct.
    pub fn n_gained(&self) -> usize {
        self.flips.iter().filter(|f| f.gained()).count()
    }

    /// Flips to incorrect (or to skipped).
    pub fn n_lost(&self) -> usize {
        self.flips.len() - self.n_gained()
    }
}

/// Pair `old` and `new` records by id and list what changed. Records only
/// on one side count as changed (old or new side null).
pub fn changes(old: &[EvalItemRecord], new: &[EvalItemRecord]) -> Changes {
    let old_by_id: BTreeMap<&str, &EvalItemRecord> =
        old.iter().map(|r| (r.id.as_str(), r)).collect();
    let new_by_id: BTreeMap<&str, &EvalItemRecord> =
        new.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut ids: Vec<&str> = old_by_id.keys().chain(new_by_id.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Changes::default();
    for id in ids {
        let (o, n) = (old_by_id.get(id), new_by_id.get(id));
        let extracted = |r: Option<&&EvalItemRecord>| r.and_then(|r| r.extracted.clone());
        let correctness = |r: Option<&&EvalItemRecord>| r.and_then(|r| r.answer_correctness);
        let (old_extracted, new_extracted) = (extracted(o), extracted(n));
        if old_extracted != new_extracted {
            out.n_extraction_changed += 1;
        }
        let (old_correctness, new_correctness) = (correctness(o), correctness(n));
        if old_correctness != new_correctness {
            let any = o.or(n);
            out.flips.push(Flip {
                id: id.to_string(),
                category: any.map(|r| r.category.clone()).unwrap_or_default(),
                expected: any.map(|r| r.expected.clone()).unwrap_or_default(),
                old_extracted,
                new_extracted,
                old_correctness,
                new_correctness,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, extracted: Option<&str>, c: Option<f64>) -> EvalItemRecord {
        EvalItemRecord {
            id: id.into(),
            category: "core".into(),
            expected: "7".into(),
            output: Some("x".into()),
            extracted: extracted.map(String::from),
            extraction_rule: None,
            answer_correctness: c,
            trace_consistency: None,
        }
    }

    #[test]
    fn flips_are_listed_by_id_with_both_extracted_answers() {
        let old = vec![
            rec("c", Some("7"), Some(1.0)),
            rec("a", Some("3"), Some(0.0)),
            rec("b", Some("7"), Some(1.0)),
            rec("d", None, None),
        ];
        let new = vec![
            rec("a", Some("7"), Some(1.0)),
            rec("b", Some("7.0"), Some(1.0)),
            rec("c", Some("8"), Some(0.0)),
            rec("d", None, None),
        ];
        let ch = changes(&old, &new);
        let ids: Vec<&str> = ch.flips.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(ch.flips[0].old_extracted.as_deref(), Some("3"));
        assert_eq!(ch.flips[0].new_extracted.as_deref(), Some("7"));
        assert_eq!(ch.n_extraction_changed, 3);
        assert_eq!((ch.n_gained(), ch.n_lost()), (1, 1));
    }

    #[test]
    fn identical_records_change_nothing_and_order_does_not_matter() {
        let old = vec![rec("a", Some("7"), Some(1.0)), rec("b", None, Some(0.0))];
        let mut new = old.clone();
        new.reverse();
        assert_eq!(changes(&old, &new), Changes::default());
    }

    #[test]
    fn an_item_on_one_side_only_is_a_flip() {
        let ch = changes(&[rec("a", Some("7"), Some(1.0))], &[]);
        assert_eq!(ch.flips.len(), 1);
        assert_eq!(ch.flips[0].new_correctness, None);
        assert_eq!(ch.n_lost(), 1);
    }
}
