//! The built-in trainer's `dataset`: a generator or the user's own files.

use std::path::Path;

use super::Checker;
use crate::dataset::budget;
use crate::manifest::train::{DatasetConfig, OverlapPolicy};

impl Checker<'_> {
    /// The built-in trainer's data: a generator (`name`) or the user's
    /// files (`path` with `val_path` or `val_fraction`).
    pub(super) fn dataset(&mut self, base: &str, d: &DatasetConfig) {
        match (&d.name, &d.path) {
            (Some(_), Some(_)) => self.push_at_key(
                &format!("{base}/path"),
                "`name` and `path` are both set: the data is generated (`name`) or read from your files (`path`), not both",
                Some("remove `name` to train on your files, or `path` to use the generator".into()),
            ),
            (None, None) => self.push_at_key(
                base,
                "`dataset` needs `name` (a generator, e.g. dev-reasoning-v2) or `path` (your own JSONL file)",
                None,
            ),
            _ => {}
        }
        if d.path.is_none() {
            for (key, given) in [
                ("val_path", d.val_path.is_some()),
                ("val_fraction", d.val_fraction.is_some()),
            ] {
                if given {
                    self.push_at_key(
                        &format!("{base}/{key}"),
                        format!("`{key}` applies to your own data (`dataset.path`)"),
                        Some(format!("add `path`, or remove `{key}` (a generator's validation split is `val_examples`)")),
                    );
                }
            }
            if d.overlap == OverlapPolicy::Refuse {
                self.push_at_key(
                    &format!("{base}/overlap"),
                    "`overlap` applies to your own data (`dataset.path`); a generator always replaces examples that overlap an eval set",
                    Some("remove `overlap`".into()),
                );
            }
        }
        if let Some(path) = &d.path {
            match (&d.val_path, d.val_fraction) {
                (Some(_), Some(_)) => self.push_at_key(
                    &format!("{base}/val_fraction"),
                    "`val_path` and `val_fraction` are both set: validate on your file or on a share of `path`, not both",
                    Some("remove one of them".into()),
                ),
                (None, None) => self.push_at_key(
                    &format!("{base}/path"),
                    "`path` needs `val_path` (your validation file) or `val_fraction` (the share of `path` held out, e.g. 0.05)",
                    Some("add `val_fraction: 0.05`, or `val_path: <your validation JSONL>`".into()),
                ),
                _ => {}
            }
            self.data_file(format!("{base}/path"), path);
            if let Some(val) = &d.val_path {
                self.data_file(format!("{base}/val_path"), val);
            }
        }
        if d.name.is_some() {
            let mix = &d.difficulty;
            if mix.easy + mix.medium + mix.hard <= 0.0 {
                self.push(
                    format!("{base}/difficulty"),
                    "difficulty weights are all zero",
                    Some("give at least one of easy, medium, hard a positive weight".into()),
                );
            }
        }
        self.dataset_size(base, d);
    }

    /// The data fits in memory: its estimated peak size is under the limit
    /// ([`budget`]), so an impossible size is refused before anything runs.
    fn dataset_size(&mut self, base: &str, d: &DatasetConfig) {
        let (estimate, key) = match &d.path {
            None => (budget::generated(d), "train_examples"),
            Some(path) => {
                let total = [Some(path), d.val_path.as_ref()]
                    .into_iter()
                    .flatten()
                    .filter_map(|p| self.ws.resolve(self.file, p).ok())
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum();
                (Some(budget::files(total)), "path")
            }
        };
        let Some(estimate) = estimate else { return };
        match budget::limit_bytes() {
            Err(e) => self.push_at_key(&format!("{base}/{key}"), e.to_string(), None),
            Ok(limit) => {
                if let Some((message, hint)) = budget::over_limit(&estimate, limit) {
                    self.push_at_key(&format!("{base}/{key}"), message, Some(hint));
                }
            }
        }
    }

    /// A data file the job reads: exists (like [`Self::input`]) and is a
    /// file. Its lines are checked when the data is read (`tunix-rt data`,
    /// and `run` before training).
    fn data_file(&mut self, pointer: String, value: &Path) {
        match self.ws.resolve(self.file, value) {
            Ok(p) if p.is_dir() => self.push(
                pointer,
                format!(
                    "`{}` is a folder ({}); name a JSONL file",
                    value.display(),
                    p.display()
                ),
                None,
            ),
            _ => self.input(pointer, value),
        }
    }
}
