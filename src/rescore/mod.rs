//! Re-scoring: the stored raw outputs of an evaluated run, scored again
//! under this tool's scoring rules (`current`: the run's own extraction and
//! equivalence settings) or under the settings of a rules file, written as
//! a NEW Eval run folder that names its source. The source folder is only
//! read: evidence is never edited in place.
//!
//! ```text
//! source::read(dir)  ─▶ Source   (eval_items.jsonl as recorded, the eval set by blake3)
//! rescore(source, rules) ─▶ Rescore (records, summary, flips; nothing written)
//! record(ws, rescore, placement) ─▶ submission_runs/<source>-rescored
//! ```
//!
//! - [`rules`]: `current` or a rules file, and the settings they give.
//! - [`source`]: reading and checking the source run.
//! - [`diff`]: the flipped items (pure).

pub mod diff;
pub mod rules;
pub mod source;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;

pub use diff::{Changes, Flip};
pub use rules::{Rules, RulesFile};
pub use source::Source;

use crate::error::Result;
use crate::evaluate::{score_items, summarize, EvalSettings};
use crate::fsutil::canonical_hash;
use crate::job::{self, Placement, RunRecord};
use crate::probe::{git_info, now_rfc3339};
use crate::runfolder::{
    EvalItemRecord, EvalSummary, Failure, RescoreSource, RunKind, RunManifest, RunStatus,
    RUN_MANIFEST,
};
use crate::runner::eval::publish_scores;
use crate::scoring::{AnswerExtraction, Equivalence, SCORING_RULES_VERSION};
use crate::workspace::Workspace;

/// A run re-scored in memory: nothing written yet.
#[derive(Debug, Clone)]
pub struct Rescore {
    pub source: Source,
    /// `current`, or the rules file's path.
    pub rules_name: String,
    /// The rules file and its blake3, when one was given.
    pub rules_file: Option<crate::runfolder::FileRef>,
    pub settings: EvalSettings,
    /// The re-scored records, by id.
    pub records: Vec<EvalItemRecord>,
    pub summary: EvalSummary,
    pub changes: Changes,
}

/// Re-score the source's stored outputs under `rules`. Pure apart from
/// what `source` already read.
pub fn rescore(source: Source, rules: &Rules) -> Result<Rescore> {
    let settings = rules
        .settings(&source.manifest.config)
        .map_err(|e| e.with_path(source.dir.join(RUN_MANIFEST)))?;
    let records = score_items(&source.evalset_items, &source.outputs(), &settings);
    let summary = summarize(
        &records,
        &source.evalset_items,
        source.evalset.clone(),
        source.summary.empty_outputs.clone(),
        &settings,
    );
    let changes = diff::changes(&source.items, &records);
    Ok(Rescore {
        rules_name: rules.name().to_string(),
        rules_file: match rules {
            Rules::Current => None,
            Rules::File { file, .. } => Some(file.clone()),
        },
        source,
        settings,
        records,
        summary,
        changes,
    })
}

/// Where a re-scored run goes by default: `<root>/<source run id>-rescored`,
/// numbered when taken.
pub fn default_placement(ws: &Workspace, r: &Rescore) -> Placement {
    Placement::Numbered {
        root: ws.root().join("submission_runs"),
        name: format!("{}-rescored", r.source.manifest.run_id),
    }
}

impl Rescore {
    /// The source as the new run names it.
    pub fn source_ref(&self) -> RescoreSource {
        RescoreSource {
            run_id: self.source.manifest.run_id.clone(),
            run_dir: self.source.shown.clone(),
            scoring_rules_version: self.source.summary.scoring_rules_version,
            eval_items: self.source.items_file.clone(),
        }
    }

    /// The config identity of the re-scoring: the outputs and the eval set
    /// by content, the settings, the scoring-rules version.
    pub fn identity(&self) -> String {
        canonical_hash(&json!({
            "kind": "Eval",
            "rescore_of": self.source.items_file.blake3,
            "evalset": self.source.evalset.blake3,
            "answer_extraction": self.settings.extraction,
            "equivalence": self.settings.equivalence,
            "seed": self.settings.seed,
            "scoring_rules_version": SCORING_RULES_VERSION,
        }))
    }

    /// The resolved configuration recorded in the new run_manifest.json.
    pub fn config(&self) -> serde_json::Value {
        json!({
            "rescore": {
                "run": self.source.shown,
                "run_id": self.source.manifest.run_id,
            },
            "rules": self.rules_name,
            "rules_file": self.rules_file,
            "evalset": self.source.evalset.path,
            "answer_extraction": self.settings.extraction,
            "equivalence": self.settings.equivalence,
        })
    }

    /// The re-scoring as printed (`run_dir`: the new folder; none on a dry
    /// run).
    pub fn report(&self, run_dir: Option<String>) -> RescoreReport {
        RescoreReport {
            source: self.source_ref(),
            rules: self.rules_name.clone(),
            scoring_rules_version: SCORING_RULES_VERSION,
            answer_extraction: self.settings.extraction.clone(),
            equivalence: self.settings.equivalence,
            old: Scores::of(&self.source.summary),
            new: Scores::of(&self.summary),
            n_items: self.records.len(),
            n_flipped: self.changes.flips.len(),
            n_gained: self.changes.n_gained(),
            n_lost: self.changes.n_lost(),
            n_extraction_changed: self.changes.n_extraction_changed,
            flips: self.changes.flips.clone(),
            run_dir,
        }
    }
}

/// One re-scored run, as printed and as `--format json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RescoreReport {
    /// The source run.
    pub source: RescoreSource,
    /// `current`, or the rules file's path.
    pub rules: String,
    /// The scoring-rules version the new scores are under.
    pub scoring_rules_version: u32,
    pub answer_extraction: AnswerExtraction,
    pub equivalence: Equivalence,
    /// The source's stored scores.
    pub old: Scores,
    /// The scores now.
    pub new: Scores,
    pub n_items: usize,
    /// Items whose correctness changed.
    pub n_flipped: usize,
    /// Flips to correct.
    pub n_gained: usize,
    /// Flips to incorrect.
    pub n_lost: usize,
    /// Items whose extracted answer changed (flipped or not).
    pub n_extraction_changed: usize,
    /// Every flipped item, by id.
    pub flips: Vec<Flip>,
    /// The new run folder; null on a dry run.
    pub run_dir: Option<String>,
}

/// A summary's headline numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub primary_score: Option<f64>,
    pub n_scored: usize,
    pub n_skipped: usize,
    /// Null when the summary records none.
    pub scoring_rules_version: Option<u32>,
}

impl Scores {
    fn of(s: &EvalSummary) -> Self {
        Scores {
            primary_score: s.primary_score,
            n_scored: s.n_scored,
            n_skipped: s.n_skipped,
            scoring_rules_version: s.scoring_rules_version,
        }
    }
}

/// Write the re-scored run as a new Eval run folder at `placement`, through
/// the run lifecycle; returns the folder.
pub fn record(
    ws: &Workspace,
    r: &Rescore,
    placement: &Placement,
    command: Vec<String>,
) -> Result<PathBuf> {
    let created_at = now_rfc3339();
    let identity = r.identity();
    let claim = job::claim(placement, RunKind::Eval, &identity)?;
    let source = &r.source.manifest;
    let name = format!("{}-rescored", source.run_id);
    let mut manifest = RunManifest::new(&claim.run_id, RunKind::Eval, &name, &created_at);
    manifest.labels = source.labels.clone();
    manifest.git = git_info(ws.root());
    manifest.model_id = source.model_id.clone();
    manifest.dataset = source.dataset.clone();
    manifest.evalset = Some(r.source.evalset.clone());
    manifest.predictions = Some(r.source.items_file.clone());
    manifest.config = r.config();
    manifest.command = command;
    manifest.seed = Some(r.settings.seed);
    manifest.config_hash = Some(identity);
    manifest.rescored_from = Some(r.source_ref());
    let mut run = RunRecord::begin(claim, manifest)?;
    let written = log_and_publish(&mut run, r);
    if let Err(e) = written {
        run.finish(
            RunStatus::Failed,
            Some(Failure {
                class: "crash".to_string(),
                message: e.to_string(),
            }),
        )?;
        return Err(e);
    }
    run.finish(RunStatus::Completed, None)
}

fn log_and_publish(run: &mut RunRecord, r: &Rescore) -> Result<()> {
    let version = |v: Option<u32>| v.map_or("unknown".to_string(), |v| v.to_string());
    run.log(&format!(
        "re-scoring run {} ({}): {} stored outputs, {} blake3 {}, scored under scoring rules {}",
        r.source.manifest.run_id,
        r.source.shown,
        r.source.outputs().len(),
        r.source.items_file.path,
        r.source.items_file.blake3,
        version(r.source.summary.scoring_rules_version)
    ))?;
    run.log(&format!(
        "rules {}: scoring rules version {SCORING_RULES_VERSION}; eval set {} blake3 {} unchanged",
        r.rules_name, r.source.evalset.path, r.source.evalset.blake3
    ))?;
    run.log(&format!(
        "{} item(s) flipped ({} to correct, {} to incorrect); {} extracted answer(s) changed",
        r.changes.flips.len(),
        r.changes.n_gained(),
        r.changes.n_lost(),
        r.changes.n_extraction_changed
    ))?;
    publish_scores(run, &r.records, &r.summary)?;
    run.log(&format!("run {} complete", run.run_id()))
}
