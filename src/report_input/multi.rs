//! Report inputs for comparing two or more runs, from run folders
//! (`tunix-rt compare`) or from the index (`tunix-rt report compare`):
//! each run's identity and scores, recorded config, every metric and eval
//! items. Two evaluated runs give the paired comparison as before (the
//! same input as [`compare_folders`](super::compare_folders) and
//! [`compare`](super::compare)); more runs, or runs without eval results,
//! give the N-run input with the paired test of every pair of evaluated
//! runs on the same eval set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::folders::read_run;
use super::{check_evalsets, figures, paired_input, summary, thin, MAX_CURVE_POINTS};
use crate::error::{Error, Result};
use crate::report::{
    run_label, series_of, CompareInput, Metrics, MultiInput, MultiRun, RunItem, RunPair,
    RunSummary, RunsComparison,
};
use crate::runfolder::{RunFolder, RunManifest};
use crate::scoring::rows::item_value;
use crate::scoring::{
    compare_with, full_set_score, CompareConfig, ItemRow, Pairing, DEFAULT_BOOTSTRAP_SEED,
};
use crate::store::query::{self, ItemScore};
use crate::store::{details, runs, Store};

/// A run as read, with its items as the paired comparison takes them.
struct Loaded {
    run: MultiRun,
    items: Vec<ItemScore>,
}

/// The comparison of run folders `dirs` (two or more, in the order
/// given). A folder with neither `eval_summary.json` nor
/// `eval_items.jsonl` is a run without eval results; a folder with one of
/// them only is refused.
pub fn compare_run_folders(
    dirs: &[PathBuf],
    config: &CompareConfig,
    allow_different_evalsets: bool,
) -> Result<RunsComparison> {
    config
        .validate()
        .map_err(|e| Error::bad_input(e.to_string()))?;
    let loaded = dirs
        .iter()
        .map(|dir| read_folder(dir))
        .collect::<Result<Vec<_>>>()?;
    comparison(loaded, config, allow_different_evalsets, |a, b| {
        let evalsets_differ = check_evalsets(
            (&a.run.summary.run_id, blake3_of(&a.run.summary)),
            (&b.run.summary.run_id, blake3_of(&b.run.summary)),
            allow_different_evalsets,
        )?;
        Ok(paired_input(
            a.run.summary.clone(),
            b.run.summary.clone(),
            a.items.clone(),
            b.items.clone(),
            config,
            evalsets_differ,
        ))
    })
}

/// The comparison of indexed runs `ids` (two or more, as stored, in the
/// order given). A run the index holds no eval items, item count or score
/// for is a run without eval results.
pub fn compare_indexed_runs(
    store: &Store,
    ids: &[String],
    config: &CompareConfig,
    allow_different_evalsets: bool,
) -> Result<RunsComparison> {
    config
        .validate()
        .map_err(|e| Error::bad_input(e.to_string()))?;
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let rows: BTreeMap<String, runs::RunRow> = runs::by_ids(store, &refs)?
        .into_iter()
        .map(|row| (row.run_id.clone(), row))
        .collect();
    let configs = details::configs(store, &refs)?;
    let metrics = details::metric_series(store, &refs)?;
    let mut loaded = Vec::with_capacity(ids.len());
    for id in ids {
        let row = rows
            .get(id)
            .cloned()
            .ok_or_else(|| Error::bad_input(format!("no run `{id}` in the index")))?;
        let items = query::item_scores(store, id, id)?.0;
        let evaluated = !items.is_empty() || row.n_items > 0 || row.primary_score.is_some();
        let run_metrics = thinned(metrics.get(id).cloned().unwrap_or_default());
        let loss = run_metrics.get("loss").cloned().unwrap_or_default();
        let summary = summary(row, loss)?;
        loaded.push(Loaded {
            run: MultiRun {
                summary,
                evaluated,
                config: configs.get(id).cloned().unwrap_or(serde_json::Value::Null),
                metrics: run_metrics,
                items: run_items(&items),
            },
            items,
        });
    }
    comparison(loaded, config, allow_different_evalsets, |a, b| {
        super::compare(
            store,
            &a.run.summary.run_id,
            &b.run.summary.run_id,
            config,
            allow_different_evalsets,
        )
    })
}

/// The comparison of `loaded`: the paired one (`pair`) for two evaluated
/// runs, else the N-run input with its pairs. Evaluated runs get their
/// full-eval-set score.
fn comparison(
    loaded: Vec<Loaded>,
    config: &CompareConfig,
    allow_different_evalsets: bool,
    pair: impl FnOnce(&Loaded, &Loaded) -> Result<CompareInput>,
) -> Result<RunsComparison> {
    let paired = match loaded.as_slice() {
        [a, b] if a.run.evaluated && b.run.evaluated => Some(pair(a, b)?),
        _ => None,
    };
    let rows: Vec<Vec<ItemRow>> = loaded
        .iter()
        .map(|l| l.items.iter().map(ItemScore::item_row).collect())
        .collect();
    let mut runs: Vec<MultiRun> = loaded.into_iter().map(|l| l.run).collect();
    for (run, rows) in runs.iter_mut().zip(&rows) {
        if run.evaluated {
            run.summary.full_set = Some(full_set_score(rows, DEFAULT_BOOTSTRAP_SEED));
        }
    }
    if let Some(pair) = paired {
        return Ok(RunsComparison::Pair {
            pair: Box::new(pair),
            runs: MultiInput {
                runs,
                pairs: Vec::new(),
                notes: Vec::new(),
            },
        });
    }
    let (pairs, notes) = pairs(&runs, &rows, config, allow_different_evalsets);
    Ok(RunsComparison::Many(MultiInput { runs, pairs, notes }))
}

/// The paired test of every pair of evaluated runs (the earlier as A):
/// over every item of either run when they share an eval set, over their
/// shared item ids when they do not and that is allowed; with a note for
/// each pair on different eval sets.
fn pairs(
    runs: &[MultiRun],
    rows: &[Vec<ItemRow>],
    config: &CompareConfig,
    allow_different_evalsets: bool,
) -> (Vec<RunPair>, Vec<String>) {
    let mut pairs = Vec::new();
    let mut notes = Vec::new();
    let evaluated: Vec<usize> = (0..runs.len()).filter(|&i| runs[i].evaluated).collect();
    for (k, &a) in evaluated.iter().enumerate() {
        for &b in &evaluated[k + 1..] {
            let (sa, sb) = (&runs[a].summary, &runs[b].summary);
            let pairing = if sa.evalset_blake3 == sb.evalset_blake3 {
                Pairing::Union
            } else if allow_different_evalsets {
                notes.push(format!(
                    "{} and {} were scored on different eval sets ({} vs {}): only their shared item ids are paired, and they may not be the same questions",
                    run_label(a),
                    run_label(b),
                    super::short(blake3_of(sa)),
                    super::short(blake3_of(sb))
                ));
                Pairing::Shared
            } else {
                notes.push(format!(
                    "{} and {} were scored on different eval sets ({} vs {}), so they are not tested; pass --allow-different-evalsets to pair their shared item ids",
                    run_label(a),
                    run_label(b),
                    super::short(blake3_of(sa)),
                    super::short(blake3_of(sb))
                ));
                continue;
            };
            let result = compare_with(&rows[a], &rows[b], config, pairing);
            pairs.push(RunPair {
                a,
                b,
                figures: figures(&result),
            });
        }
    }
    (pairs, notes)
}

/// Read run folder `dir`: evaluated when it has eval files.
fn read_folder(dir: &Path) -> Result<Loaded> {
    let folder = RunFolder::open(dir)?;
    let evaluated = folder.has_eval() || folder.has_items();
    let metrics = thinned(series_of(&folder.metrics()?));
    let manifest = folder.into_manifest();
    let config = manifest.config.clone();
    let (summary, items) = if evaluated {
        let run = read_run(dir)?;
        (run.summary, run.items)
    } else {
        let loss = metrics.get("loss").cloned().unwrap_or_default();
        (unevaluated_summary(manifest, loss), Vec::new())
    };
    Ok(Loaded {
        run: MultiRun {
            summary,
            evaluated,
            config,
            metrics,
            items: run_items(&items),
        },
        items,
    })
}

/// The summary of a run without eval results: its identity, no scores.
fn unevaluated_summary(manifest: RunManifest, loss_curve: Vec<(u64, f64)>) -> RunSummary {
    let calculator = manifest.calculator_assisted();
    RunSummary {
        config_hash: manifest
            .config_hash
            .clone()
            .unwrap_or_else(|| crate::fsutil::canonical_hash(&manifest.config)),
        run_id: manifest.run_id,
        name: manifest.name,
        kind: manifest.kind.to_string(),
        model_id: manifest.model_id,
        dataset: manifest.dataset.map(|d| d.path),
        labels: manifest.labels,
        created_at: manifest.created_at,
        git_commit: manifest.git.as_ref().map(|g| g.commit.clone()),
        git_dirty: manifest.git.as_ref().is_some_and(|g| g.dirty),
        evalset_path: String::new(),
        evalset_blake3: String::new(),
        primary_score: None,
        ci_low: None,
        ci_high: None,
        ci_method: None,
        n_items: 0,
        n_scored: 0,
        n_skipped: 0,
        status: manifest.status.as_str().to_string(),
        full_set: None,
        category_means: BTreeMap::new(),
        sweep_id: manifest.tuning_job_id,
        loss_curve,
        scoring_rules_version: None,
        calculator,
        tag_scores: BTreeMap::new(),
    }
}

/// Each series cut to at most [`MAX_CURVE_POINTS`] points (the first and
/// last kept).
fn thinned(metrics: Metrics) -> Metrics {
    metrics
        .into_iter()
        .map(|(name, points)| (name, thin(points, MAX_CURVE_POINTS)))
        .collect()
}

/// The items as the comparison of runs shows them, each with its valid
/// value (none when missing or unreadable).
fn run_items(items: &[ItemScore]) -> Vec<RunItem> {
    items
        .iter()
        .map(|i| RunItem {
            id: i.id.clone(),
            category: i.category.clone(),
            expected: i.expected.clone(),
            extracted: i.extracted.clone(),
            correct: item_value(&i.item_row()),
        })
        .collect()
}

/// The eval set's hash, when the run names one.
fn blake3_of(run: &RunSummary) -> Option<&str> {
    Some(run.evalset_blake3.as_str()).filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::runfolder::{
        read_manifest, to_json_bytes, RunKind, RunStatus, EVAL_ITEMS, METRICS, RUN_MANIFEST,
    };
    use tunix_testkit::synthetic::write_run;

    /// A Train run folder without eval results, with `metrics` lines.
    fn train_run(root: &Path, id: &str, lr: f64, metrics: &str) -> PathBuf {
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut m = RunManifest::new(id, RunKind::Train, id, "2026-11-20T10:00:00Z");
        m.status = RunStatus::Completed;
        m.config = serde_json::json!({
            "kind": "Train",
            "metadata": { "name": id },
            "spec": { "training": { "learning_rate": lr, "max_steps": 20 } }
        });
        std::fs::write(dir.join(RUN_MANIFEST), to_json_bytes(&m).expect("json")).expect("write");
        std::fs::write(dir.join(METRICS), metrics).expect("write");
        dir
    }

    #[test]
    fn two_evaluated_folders_give_the_paired_comparison_with_their_configs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let weak = write_run(dir.path(), "weak", 30, 0.3).expect("run");
        let strong = write_run(dir.path(), "strong", 30, 0.9).expect("run");
        let cfg = CompareConfig::default();
        let got = compare_run_folders(&[weak.clone(), strong.clone()], &cfg, false).expect("ok");
        let RunsComparison::Pair { pair, runs } = got else {
            panic!("two evaluated runs are a pair");
        };
        let before = super::super::compare_folders(&weak, &strong, &cfg, false).expect("ok");
        assert_eq!(*pair, before, "the paired input is unchanged");
        assert_eq!(runs.runs.len(), 2);
        assert_eq!(runs.runs[1].config, serde_json::json!({ "skill": 0.9 }));
        assert!(runs.runs[0].summary.full_set.is_some());
    }

    #[test]
    fn three_runs_are_tested_in_every_pair_and_train_runs_need_no_eval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write_run(dir.path(), "a", 30, 0.3).expect("run");
        let b = write_run(dir.path(), "b", 30, 0.9).expect("run");
        let c = write_run(dir.path(), "c", 30, 0.6).expect("run");
        let t = train_run(
            dir.path(),
            "t",
            0.1,
            "{\"step\": 10, \"loss\": 2.0, \"grad_norm\": 1.5}\n{\"step\": 20, \"loss\": 1.0, \"val_loss\": 1.25}\n{\"step\": 30, \"lo",
        );
        let cfg = CompareConfig::default();
        let got = compare_run_folders(&[a, b, c, t], &cfg, false).expect("ok");
        let RunsComparison::Many(input) = got else {
            panic!("four runs are many");
        };
        let ends: Vec<(usize, usize)> = input.pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(ends, [(0, 1), (0, 2), (1, 2)]);
        assert!(input.pairs[0].figures.diff_pp.expect("diff") > 0.0);
        let train = &input.runs[3];
        assert!(!train.evaluated);
        assert!(train.items.is_empty());
        assert_eq!(train.metrics["loss"], vec![(10, 2.0), (20, 1.0)]);
        assert_eq!(train.metrics["grad_norm"], vec![(10, 1.5)]);
        assert_eq!(train.summary.loss_curve, vec![(10, 2.0), (20, 1.0)]);
        assert_eq!(train.summary.kind, "Train");
        assert!(input.notes.is_empty());
    }

    #[test]
    fn different_eval_sets_are_untested_unless_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write_run(dir.path(), "a", 30, 0.3).expect("run");
        let b = write_run(dir.path(), "b", 30, 0.9).expect("run");
        let c = write_run(dir.path(), "c", 30, 0.6).expect("run");
        let path = c.join(RUN_MANIFEST);
        let mut m = read_manifest(&c).expect("manifest");
        if let Some(e) = m.evalset.as_mut() {
            e.blake3 = "11".repeat(32);
        }
        std::fs::write(&path, to_json_bytes(&m).expect("json")).expect("write");
        let dirs = [a, b, c];
        let cfg = CompareConfig::default();
        let RunsComparison::Many(input) = compare_run_folders(&dirs, &cfg, false).expect("ok")
        else {
            panic!("many");
        };
        assert_eq!(input.pairs.len(), 1);
        assert_eq!(input.notes.len(), 2);
        assert!(input.notes[0].starts_with("A and C were scored on different eval sets"));
        assert!(input.notes[0].contains("--allow-different-evalsets"));
        let RunsComparison::Many(input) = compare_run_folders(&dirs, &cfg, true).expect("ok")
        else {
            panic!("many");
        };
        assert_eq!(input.pairs.len(), 3);
        assert_eq!(input.pairs[1].figures.pairing, Pairing::Shared);
        assert!(input.notes[0].contains("only their shared item ids are paired"));
    }

    #[test]
    fn half_evaluated_folders_and_bad_settings_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write_run(dir.path(), "a", 30, 0.3).expect("run");
        let b = write_run(dir.path(), "b", 30, 0.9).expect("run");
        let err = compare_run_folders(
            &[a.clone(), b.clone()],
            &CompareConfig {
                alpha: 2.0,
                ..CompareConfig::default()
            },
            false,
        )
        .expect_err("alpha");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        std::fs::remove_file(b.join(EVAL_ITEMS)).expect("remove");
        let err = compare_run_folders(&[a, b], &CompareConfig::default(), false)
            .expect_err("half evaluated");
        assert!(err.message().contains("has no eval_items.jsonl"), "{err}");
    }

    #[test]
    fn the_index_gives_the_same_comparison_as_the_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("runs");
        let a = write_run(&root, "a", 30, 0.3).expect("run");
        let b = write_run(&root, "b", 30, 0.9).expect("run");
        let t = train_run(
            &root,
            "t",
            0.2,
            "{\"step\": 5, \"loss\": 3.0, \"train/acc\": 0.5}\n",
        );
        let db = dir.path().join("tunix.duckdb");
        let store = Store::open_write(&db, crate::store::Wait::No).expect("open");
        crate::store::ingest::ingest(&store, dir.path(), crate::store::ingest::Scope::Root(&root))
            .expect("ingest");
        let cfg = CompareConfig::default();
        let ids: Vec<String> = ["a", "b", "t"].iter().map(|s| s.to_string()).collect();
        let RunsComparison::Many(index) =
            compare_indexed_runs(&store, &ids, &cfg, false).expect("ok")
        else {
            panic!("many");
        };
        let RunsComparison::Many(folders) =
            compare_run_folders(&[a, b, t], &cfg, false).expect("ok")
        else {
            panic!("many");
        };
        assert_eq!(index.pairs, folders.pairs);
        for (i, f) in index.runs.iter().zip(&folders.runs) {
            assert_eq!(i.evaluated, f.evaluated);
            assert_eq!(i.config, f.config);
            assert_eq!(i.metrics, f.metrics);
            assert_eq!(i.items, f.items);
            assert_eq!(i.summary.full_set, f.summary.full_set);
        }
        assert_eq!(index.runs[2].metrics["train/acc"], vec![(5, 0.5)]);
        let twice: Vec<String> = vec!["t".into(), "t".into()];
        let RunsComparison::Many(same) =
            compare_indexed_runs(&store, &twice, &cfg, false).expect("ok")
        else {
            panic!("runs without eval results are many");
        };
        assert_eq!(
            same.runs[1].metrics, same.runs[0].metrics,
            "a run given twice"
        );
        assert_eq!(same.runs[1].config, same.runs[0].config);
        let err = compare_indexed_runs(&store, &["a".into(), "zz".into()], &cfg, false)
            .expect_err("unknown");
        assert!(err.message().contains("no run `zz` in the index"), "{err}");
    }
}
