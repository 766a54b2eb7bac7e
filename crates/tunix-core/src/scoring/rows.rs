//! The eval row as the scorer sees it, its value, and the helpers every
//! aggregate over rows shares (the scorecard and the paired comparison).
//!
//! An item's value is its `answer_correctness` when that is finite and in
//! `[0, 1]`; otherwise its `score / 100` when `score` is finite and in
//! `[0, 100]`; otherwise the item is *skipped* and counted (never silently
//! dropped).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many ids a warning lists before summarizing the rest.
const MAX_IDS_IN_WARNING: usize = 10;

/// One evaluated item, as the scorer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ItemRow {
    /// Item id, unique within an eval set (e.g. `core-001`).
    pub id: String,
    /// Item category (e.g. `core`, `trace`, `edge`).
    pub category: String,
    /// Correctness in `[0, 1]`; preferred when present and valid.
    pub answer_correctness: Option<f64>,
    /// Fallback score in `[0, 100]`, used as `score / 100` when
    /// `answer_correctness` is missing or invalid.
    pub score: Option<f64>,
    /// The eval item's tags (e.g. `multiplication`, `2-step`): the item
    /// counts toward each tag's figures. Empty when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// The value an item contributes, or `None` when it must be skipped.
pub fn item_value(row: &ItemRow) -> Option<f64> {
    let valid = |x: &f64, max: f64| x.is_finite() && (0.0..=max).contains(x);
    match (row.answer_correctness, row.score) {
        (Some(ac), _) if valid(&ac, 1.0) => Some(ac),
        (_, Some(score)) if valid(&score, 100.0) => Some(score / 100.0),
        _ => None,
    }
}

/// Mean of values summed left to right; `None` for an empty slice.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// Lists ids for a warning, at most [`MAX_IDS_IN_WARNING`] of them.
pub(crate) fn id_list<S: AsRef<str>>(ids: &[S]) -> String {
    let shown: Vec<&str> = ids
        .iter()
        .take(MAX_IDS_IN_WARNING)
        .map(AsRef::as_ref)
        .collect();
    let mut text = shown.join(", ");
    if ids.len() > MAX_IDS_IN_WARNING {
        text.push_str(&format!(" (+{} more)", ids.len() - MAX_IDS_IN_WARNING));
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(id: &str, cat: &str, ac: Option<f64>, score: Option<f64>) -> ItemRow {
        ItemRow {
            id: id.to_string(),
            category: cat.to_string(),
            answer_correctness: ac,
            score,
            tags: Vec::new(),
        }
    }

    /// [`row`] with tags.
    pub(crate) fn tagged(id: &str, cat: &str, ac: Option<f64>, tags: &[&str]) -> ItemRow {
        ItemRow {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..row(id, cat, ac, None)
        }
    }

    #[test]
    fn item_value_prefers_correctness_then_score() {
        assert_eq!(item_value(&row("a", "c", Some(0.5), Some(10.0))), Some(0.5));
        assert_eq!(item_value(&row("a", "c", None, Some(80.0))), Some(0.8));
        assert_eq!(item_value(&row("a", "c", Some(1.5), Some(80.0))), Some(0.8));
        assert_eq!(
            item_value(&row("a", "c", Some(f64::NAN), Some(100.0))),
            Some(1.0)
        );
        assert_eq!(item_value(&row("a", "c", Some(-0.1), None)), None);
        assert_eq!(item_value(&row("a", "c", None, Some(100.5))), None);
        assert_eq!(item_value(&row("a", "c", None, Some(f64::INFINITY))), None);
        assert_eq!(item_value(&row("a", "c", None, None)), None);
    }

    #[test]
    fn id_list_truncates() {
        let ids: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        assert_eq!(id_list(&ids), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 (+2 more)");
    }
}
