//! The items of several runs side by side: every item id of any
//! evaluated run, with each run's result (correct, wrong, partial credit,
//! or missing: no row or no valid value, counted as wrong), flipped items
//! (whose values are not the same in every run, a missing one as 0)
//! first, each group by id. Pure.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::input::RunItem;

/// One item across runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemResults<'a> {
    pub id: &'a str,
    pub category: &'a str,
    pub expected: &'a str,
    /// Whether the runs' values differ (a missing value counted as 0).
    pub flipped: bool,
    /// Each run's row for the item (in the order of the runs given); null
    /// when the run has none.
    pub results: Vec<Option<&'a RunItem>>,
}

/// The items of `runs` (one slice of items per evaluated run): flipped
/// items first, then the rest, each group sorted by id. A run with an id
/// on several rows is shown with its first.
pub fn item_matrix<'a>(runs: &[&'a [RunItem]]) -> Vec<ItemResults<'a>> {
    let by_id: Vec<HashMap<&str, &RunItem>> = runs
        .iter()
        .map(|items| {
            let mut map = HashMap::new();
            for item in items.iter() {
                map.entry(item.id.as_str()).or_insert(item);
            }
            map
        })
        .collect();
    let mut first: BTreeMap<&str, &RunItem> = BTreeMap::new();
    for items in runs {
        for item in items.iter() {
            first.entry(item.id.as_str()).or_insert(item);
        }
    }
    let mut rows: Vec<ItemResults> = first
        .into_iter()
        .map(|(id, item)| {
            let results: Vec<Option<&RunItem>> = by_id.iter().map(|m| m.get(id).copied()).collect();
            let value = |r: &Option<&RunItem>| r.and_then(|i| i.correct).unwrap_or(0.0);
            let flipped = results.windows(2).any(|w| value(&w[0]) != value(&w[1]));
            ItemResults {
                id,
                category: &item.category,
                expected: &item.expected,
                flipped,
                results,
            }
        })
        .collect();
    rows.sort_by(|x, y| y.flipped.cmp(&x.flipped).then_with(|| x.id.cmp(y.id)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, correct: Option<f64>) -> RunItem {
        RunItem {
            id: id.to_string(),
            category: "core".to_string(),
            expected: "1".to_string(),
            extracted: correct.map(|c| c.to_string()),
            correct,
        }
    }

    #[test]
    fn flipped_items_come_first_and_missing_ones_count_as_wrong() {
        let a = [
            item("b", Some(1.0)),
            item("a", Some(0.0)),
            item("c", None),
            item("d", Some(1.0)),
            item("d", Some(0.0)),
        ];
        let b = [
            item("a", Some(0.0)),
            item("b", Some(1.0)),
            item("d", Some(1.0)),
        ];
        let c = [
            item("a", Some(0.0)),
            item("b", Some(0.0)),
            item("c", Some(0.0)),
            item("d", Some(1.0)),
            item("e", Some(0.0)),
        ];
        let rows = item_matrix(&[&a, &b, &c]);
        let order: Vec<(&str, bool)> = rows.iter().map(|r| (r.id, r.flipped)).collect();
        assert_eq!(
            order,
            [
                ("b", true),
                ("a", false),
                ("c", false),
                ("d", false),
                ("e", false)
            ],
            "c: missing, missing and wrong; e: only in the last run, wrong"
        );
        assert_eq!(rows[0].results.len(), 3);
        assert_eq!(rows[2].results[1], None);
        assert_eq!(rows[2].results[0].map(|i| i.correct), Some(None));
        assert_eq!(
            rows[3].results[0].and_then(|i| i.correct),
            Some(1.0),
            "the first of a duplicated id"
        );
        assert!(item_matrix(&[]).is_empty());
    }

    #[test]
    fn partial_credit_that_differs_is_a_flip() {
        let a = [item("x", Some(0.5))];
        let b = [item("x", Some(0.75))];
        assert!(item_matrix(&[&a, &b])[0].flipped);
        assert!(!item_matrix(&[&a, &a])[0].flipped);
        assert!(!item_matrix(&[&a])[0].flipped);
    }
}
