//! Report inputs straight from run folders, without the index: what
//! `tunix-rt compare` reads (useful in CI, where no index exists). Run
//! folders are named by path, or by run id (or a unique prefix of one)
//! under the runs root ([`crate::runfolder::layout::resolve_run_folder`]).

use std::path::Path;

use super::{check_evalsets, paired_input, thin, MAX_CURVE_POINTS};
use crate::error::{Error, Result};
use crate::report::{CompareInput, RunSummary};
use crate::runfolder::RunFolder;
use crate::scoring::CompareConfig;
use crate::store::query::ItemScore;

/// The paired comparison of run folder B against run folder A, from their
/// `run_manifest.json` (identity, and the calculator flag of its recorded
/// decoding), `eval_summary.json` (scores, per category and per tag),
/// `eval_items.jsonl` and (for the loss curves) `metrics.jsonl`. Both runs
/// must have been evaluated.
pub fn compare_folders(
    dir_a: &Path,
    dir_b: &Path,
    config: &CompareConfig,
    allow_different_evalsets: bool,
) -> Result<CompareInput> {
    config
        .validate()
        .map_err(|e| Error::bad_input(e.to_string()))?;
    let a = read_run(dir_a)?;
    let b = read_run(dir_b)?;
    let evalsets_differ = check_evalsets(
        (&a.summary.run_id, blake3_of(&a.summary)),
        (&b.summary.run_id, blake3_of(&b.summary)),
        allow_different_evalsets,
    )?;
    Ok(paired_input(
        a.summary,
        b.summary,
        a.items,
        b.items,
        config,
        evalsets_differ,
    ))
}

/// A run folder as the comparison needs it.
pub(super) struct FolderRun {
    pub(super) summary: RunSummary,
    pub(super) items: Vec<ItemScore>,
}

/// The eval set's hash, when the run names one.
fn blake3_of(run: &RunSummary) -> Option<&str> {
    Some(run.evalset_blake3.as_str()).filter(|h| !h.is_empty())
}

/// Read the files of an evaluated run folder.
pub(super) fn read_run(dir: &Path) -> Result<FolderRun> {
    let run = RunFolder::open_evaluated(dir, &dir.display().to_string(), "compared")?;
    let scores = run.summary()?;
    let items = run.items()?.into_iter().map(ItemScore::from).collect();
    let curve = loss_curve(&run)?;
    let manifest = run.into_manifest();
    let card = &scores.scorecard;
    let ci = card.ci95.as_ref();
    let calculator = manifest.calculator_assisted();
    let summary = RunSummary {
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
        evalset_path: manifest
            .evalset
            .as_ref()
            .map(|e| e.path.clone())
            .unwrap_or_default(),
        evalset_blake3: manifest.evalset.map(|e| e.blake3).unwrap_or_default(),
        primary_score: scores.primary_score,
        ci_low: ci.map(|c| c.low),
        ci_high: ci.map(|c| c.high),
        ci_method: ci.map(|c| c.method),
        n_items: scores.n_items as u64,
        n_scored: scores.n_scored as u64,
        n_skipped: scores.n_skipped as u64,
        status: manifest.status.as_str().to_string(),
        full_set: None,
        category_means: card
            .per_category
            .iter()
            .map(|(name, stats)| (name.clone(), stats.mean))
            .collect(),
        sweep_id: manifest.tuning_job_id,
        loss_curve: thin(curve, MAX_CURVE_POINTS),
        scoring_rules_version: scores.scoring_rules_version,
        calculator,
        tag_scores: card.per_tag.clone(),
    };
    Ok(FolderRun { summary, items })
}

/// `(step, loss)` from the run's metrics, in step order; empty when the run
/// has no metrics.
fn loss_curve(run: &RunFolder) -> Result<Vec<(u64, f64)>> {
    let mut curve: Vec<(u64, f64)> = run
        .metrics()?
        .into_iter()
        .filter_map(|record| record.loss.map(|loss| (record.step, loss)))
        .collect();
    curve.sort_by_key(|(step, _)| *step);
    Ok(curve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::runfolder::{read_summary, METRICS};
    use tunix_testkit::synthetic::write_run;

    fn runs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        tunix_testkit::synthetic::write_runs_root(dir.path()).expect("runs");
        dir
    }

    #[test]
    fn the_calculator_flag_and_tag_figures_come_from_the_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let calc = crate::store::fixtures::tagged_run(dir.path(), "calc", 30, 0.8, true);
        let plain = crate::store::fixtures::tagged_run(dir.path(), "plain", 30, 0.4, false);
        let input =
            compare_folders(&plain, &calc, &CompareConfig::default(), false).expect("compare");
        assert_eq!((input.a.calculator, input.b.calculator), (false, true));
        let summary = read_summary(&calc).expect("summary");
        assert_eq!(input.b.tag_scores, summary.scorecard.per_tag);
        assert_eq!(input.b.tag_scores.len(), 2);
        let untagged = write_run(dir.path(), "untagged", 30, 0.5).expect("run");
        let input =
            compare_folders(&untagged, &plain, &CompareConfig::default(), false).expect("compare");
        assert!(!input.a.calculator);
        assert!(input.a.tag_scores.is_empty());
    }

    #[test]
    fn loss_curves_come_from_metrics_in_step_order() {
        let dir = runs();
        let weak = dir.path().join("run-weak");
        std::fs::write(
            weak.join(METRICS),
            "{\"step\": 20, \"loss\": 1.5}\n\n{\"step\": 10, \"loss\": 2.5}\n{\"step\": 15, \"lr\": 0.1}\n",
        )
        .expect("write");
        let input = compare_folders(
            &weak,
            &dir.path().join("run-strong"),
            &CompareConfig::default(),
            false,
        )
        .expect("compare");
        assert_eq!(input.a.loss_curve, vec![(10, 2.5), (20, 1.5)]);
        assert!(input.b.loss_curve.is_empty());
        assert_eq!(input.figures.n_pairs, 30);
        assert_eq!(input.items.len(), 30);
        std::fs::write(weak.join(METRICS), "{\"step\": 1}\nnot json\n").expect("write");
        let err = loss_curve(&RunFolder::open(&weak).expect("open")).expect_err("bad line");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert_eq!(err.location().map(|l| l.line), Some(2));
    }
}
