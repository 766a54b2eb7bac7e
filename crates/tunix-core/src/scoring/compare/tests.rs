//! The paired comparison's tests: the tests, the verdict rule, pairing
//! by id over the union of both runs' items, order independence.

use super::*;
use crate::scoring::rows::tests::row;

fn runs(pattern: &[(u8, u8)]) -> (Vec<ItemRow>, Vec<ItemRow>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for (i, &(x, y)) in pattern.iter().enumerate() {
        let id = format!("q{i:04}");
        a.push(row(&id, "core", Some(f64::from(x)), None));
        b.push(row(&id, "core", Some(f64::from(y)), None));
    }
    (a, b)
}

fn table(both: usize, a_only: usize, b_only: usize, neither: usize) -> Vec<(u8, u8)> {
    let mut p = vec![(1, 1); both];
    p.extend(vec![(1, 0); a_only]);
    p.extend(vec![(0, 1); b_only]);
    p.extend(vec![(0, 0); neither]);
    p
}

#[test]
fn compare_binary_uses_mcnemar_and_newcombe() {
    let (a, b) = runs(&table(50, 2, 15, 33));
    let cmp = compare(&a, &b, &CompareConfig::default());
    assert_eq!(cmp.test, Some(PairedTest::McnemarExact));
    assert_eq!(cmp.n_pairs, 100);
    assert_eq!(
        cmp.counts.map(|t| (t.a_right_b_wrong, t.a_wrong_b_right)),
        Some((2, 15))
    );
    assert_eq!(cmp.p_value, Some(mcnemar_exact(2, 15)));
    assert!((cmp.diff.unwrap_or(0.0) - 0.13).abs() < 1e-12);
    assert_eq!(cmp.verdict, Verdict::Improved);
    let ci = cmp.diff_ci.map(|c| (c.method, c.low > 0.0, c.level));
    assert_eq!(ci, Some((DiffCiMethod::NewcombeHybridScore, true, 0.95)));
    assert!(cmp.min_detectable_difference.is_some());

    let reverse = compare(&b, &a, &CompareConfig::default());
    assert_eq!(reverse.verdict, Verdict::Regressed);
    assert_eq!(reverse.p_value, cmp.p_value);

    let strict = CompareConfig {
        min_effect: 0.2,
        ..CompareConfig::default()
    };
    assert_eq!(compare(&a, &b, &strict).verdict, Verdict::NoEvidence);

    let (a, b) = runs(&table(50, 6, 8, 36));
    assert_eq!(
        compare(&a, &b, &CompareConfig::default()).verdict,
        Verdict::NoEvidence
    );
}

#[test]
fn compare_continuous_uses_paired_bootstrap() {
    let a: Vec<ItemRow> = (0..60)
        .map(|i| row(&format!("{i}"), "c", None, Some(f64::from(i % 7) * 10.0)))
        .collect();
    let b: Vec<ItemRow> = (0..60)
        .map(|i| {
            row(
                &format!("{i}"),
                "c",
                None,
                Some(f64::from(i % 7) * 10.0 + 15.0),
            )
        })
        .collect();
    let cmp = compare(&a, &b, &CompareConfig::default());
    assert_eq!(cmp.test, Some(PairedTest::PairedBootstrap));
    assert_eq!(cmp.counts, None);
    assert_eq!(cmp.verdict, Verdict::Improved);
    let ci = cmp.diff_ci.map(|c| c.method);
    assert_eq!(ci, Some(DiffCiMethod::PercentileBootstrap));
    assert!((cmp.diff.unwrap_or(0.0) - 0.15).abs() < 1e-12);
}

#[test]
fn compare_pairs_the_union_and_lists_what_counts_as_wrong() {
    let a = vec![
        row("both", "c", Some(1.0), None),
        row("only-a", "c", Some(1.0), None),
        row("skip", "c", None, None),
        row("dup", "c", Some(1.0), None),
        row("dup", "c", Some(0.0), None),
    ];
    let b = vec![
        row("skip", "c", Some(1.0), None),
        row("both", "c", Some(0.0), None),
        row("only-b2", "c", Some(1.0), None),
        row("only-b1", "c", Some(1.0), None),
        row("dup", "c", Some(1.0), None),
    ];
    let cmp = compare(&a, &b, &CompareConfig::default());
    // both, only-a, only-b1, only-b2, skip; dup is ambiguous.
    assert_eq!(cmp.n_pairs, 5);
    assert_eq!(cmp.pairing, Pairing::Union);
    assert_eq!(cmp.only_in_a, ["only-a"]);
    assert_eq!(cmp.only_in_b, ["only-b1", "only-b2"]);
    assert_eq!((cmp.n_only_in_a, cmp.n_only_in_b, cmp.n_skipped), (1, 2, 1));
    assert_eq!((cmp.n_unscored_a, cmp.n_unscored_b), (3, 1));
    assert_eq!(cmp.skipped_ids, ["skip"]);
    assert_eq!(cmp.duplicate_ids, ["dup"]);
    // A: both 1, only-a 1, others 0 → 2/5; B: only-b1, only-b2, skip → 3/5.
    assert_eq!((cmp.mean_a, cmp.mean_b), (Some(0.4), Some(0.6)));
    assert_eq!(cmp.warnings.len(), 5, "{:?}", cmp.warnings);
    assert!(cmp.warnings[0].contains("only in A (counted as wrong in B)"));
    assert_eq!(cmp.verdict, Verdict::NoEvidence);

    let shared = compare_with(&a, &b, &CompareConfig::default(), Pairing::Shared);
    assert_eq!(shared.n_pairs, 2);
    assert_eq!((shared.n_unscored_a, shared.n_unscored_b), (1, 0));
    assert!(shared.warnings[0].contains("only in A (not compared)"));
}

#[test]
fn leaving_items_out_is_a_loss_not_a_smaller_sample() {
    // A answers 60 of 120 right; B submits only 11 items, all right, among
    // A's right ones: paired on B's items alone B would look as good.
    let a: Vec<ItemRow> = (0..120)
        .map(|i| row(&format!("q{i:03}"), "c", Some(f64::from(i < 60)), None))
        .collect();
    let b: Vec<ItemRow> = (0..11)
        .map(|i| row(&format!("q{i:03}"), "c", Some(1.0), None))
        .collect();
    let cmp = compare(&a, &b, &CompareConfig::default());
    assert_eq!(cmp.n_pairs, 120);
    assert_eq!(cmp.n_unscored_b, 109);
    assert_eq!(
        cmp.counts.map(|t| (t.a_right_b_wrong, t.a_wrong_b_right)),
        Some((49, 0))
    );
    assert_eq!(cmp.verdict, Verdict::Regressed);
    let p = paired_test(&[(1.0, 0.0); 12], &CompareConfig::default());
    assert_eq!(
        p.map(|(t, p)| (t, p < 0.001)),
        Some((PairedTest::McnemarExact, true))
    );
    assert_eq!(paired_test(&[], &CompareConfig::default()), None);
}

#[test]
fn compare_with_nothing_or_bad_settings_gives_no_evidence() {
    let empty = compare(&[], &[], &CompareConfig::default());
    assert_eq!((empty.n_pairs, empty.test, empty.p_value), (0, None, None));
    assert_eq!(empty.min_detectable_difference, None);
    assert_eq!(empty.verdict, Verdict::NoEvidence);

    let (a, b) = runs(&table(10, 0, 40, 10));
    let bad = CompareConfig {
        alpha: 1.5,
        ..CompareConfig::default()
    };
    assert!(bad.validate().is_err());
    let cmp = compare(&a, &b, &bad);
    assert_eq!((cmp.verdict, cmp.p_value), (Verdict::NoEvidence, None));
    assert!(cmp.warnings.iter().any(|w| w.contains("alpha")));
}

#[test]
fn compare_config_serde() {
    let cfg: Option<CompareConfig> = serde_json::from_str(r#"{"alpha": 0.01}"#).ok();
    assert_eq!(cfg.map(|c| (c.alpha, c.resamples)), Some((0.01, 10_000)));
    assert!(serde_json::from_str::<CompareConfig>(r#"{"alfa": 0.01}"#).is_err());
    let v = serde_json::to_string(&Verdict::NoEvidence).ok();
    assert_eq!(v.as_deref(), Some("\"no_evidence\""));
}

#[test]
fn verdict_rule() {
    assert_eq!(
        verdict(Some(0.01), Some(0.1), 0.05, 0.05),
        Verdict::Improved
    );
    assert_eq!(
        verdict(Some(0.01), Some(0.04), 0.05, 0.05),
        Verdict::NoEvidence
    );
    assert_eq!(
        verdict(Some(0.01), Some(-0.1), 0.05, 0.0),
        Verdict::Regressed
    );
    assert_eq!(
        verdict(Some(0.05), Some(0.5), 0.05, 0.0),
        Verdict::NoEvidence
    );
    assert_eq!(
        verdict(Some(0.0), Some(0.0), 0.05, 0.0),
        Verdict::NoEvidence
    );
    assert_eq!(verdict(None, Some(0.5), 0.05, 0.0), Verdict::NoEvidence);
}

#[cfg(test)]
mod proptests {
    use super::super::*;
    use crate::rng::Rng;
    use crate::scoring::rows::tests::row;
    use proptest::prelude::*;

    fn paired_rows(binary: bool) -> impl Strategy<Value = Vec<(String, f64, f64)>> {
        let value = if binary {
            prop::sample::select(vec![0.0, 1.0]).boxed()
        } else {
            (0.0_f64..=1.0).boxed()
        };
        prop::collection::vec(("[a-z]{1,3}", value.clone(), value), 0..50)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn compare_is_order_independent(
            (rows, binary) in prop_oneof![paired_rows(true).prop_map(|r| (r, true)), paired_rows(false).prop_map(|r| (r, false))],
            shuffle_seed in any::<u64>(),
        ) {
            let a: Vec<ItemRow> = rows.iter().map(|(id, x, _)| row(id, "c", Some(*x), None)).collect();
            let b: Vec<ItemRow> = rows.iter().map(|(id, _, y)| row(id, "c", Some(*y), None)).collect();
            let shuffle = |v: &[ItemRow], seed: u64| {
                let mut v = v.to_vec();
                let mut rng = Rng::new(seed);
                for i in (1..v.len()).rev() {
                    v.swap(i, rng.index(i + 1));
                }
                v
            };
            let cfg = CompareConfig { resamples: 200, ..CompareConfig::default() };
            let one = serde_json::to_string(&compare(&a, &b, &cfg)).ok();
            let two = serde_json::to_string(&compare(&shuffle(&a, shuffle_seed), &shuffle(&b, !shuffle_seed), &cfg)).ok();
            prop_assert_eq!(&one, &two);
            let cmp = compare(&a, &b, &cfg);
            if cmp.n_pairs > 0 {
                let want = if binary { PairedTest::McnemarExact } else { PairedTest::PairedBootstrap };
                let is_binary_data = cmp.counts.is_some();
                prop_assert!(cmp.test == Some(want) || (!binary && is_binary_data));
                prop_assert!(cmp.p_value.is_some_and(|p| (0.0..=1.0).contains(&p)));
            }
        }
    }
}
