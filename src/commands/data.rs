use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{DataArgs, Format};
use tunix_rt::dataset::user;
use tunix_rt::dataset::{self, eval_index, load_evalset, prompt_template};
use tunix_rt::dataset::{Dataset, Example, Overlap, Rejected};
use tunix_rt::error::{Error, Result};
use tunix_rt::fsutil::write_atomic;
use tunix_rt::manifest::Manifest;
use tunix_rt::runfolder::FileRef;
use tunix_rt::runner::hf_model;
use tunix_rt::workspace::Workspace;

#[derive(Serialize)]
struct Report<'a> {
    dataset: String,
    blake3: String,
    train_examples: usize,
    val_examples: usize,
    train_bytes: usize,
    steps: BTreeMap<usize, usize>,
    /// Your own data files by content (empty for generated data).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileRef>,
    eval_files: Vec<String>,
    eval_prompts: usize,
    rejected: Vec<RejectedRow<'a>>,
    val_dropped_as_train: usize,
    /// Examples of the final splits that still overlap (always checked
    /// with --check-overlap; must be 0).
    overlaps_remaining: Option<usize>,
}

#[derive(Serialize)]
struct RejectedRow<'a> {
    split: &'a str,
    /// `file:line` of your own data's example.
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    prompt: &'a str,
    eval_item: &'a str,
    kind: &'a str,
}

#[derive(Serialize)]
struct DumpRow<'a> {
    split: &'a str,
    prompt: &'a str,
    completion: &'a str,
    answer: &'a str,
    steps: usize,
}

pub fn run(ws: &Workspace, args: &DataArgs) -> Result<()> {
    let shown = ws.display_path(&args.manifest).display().to_string();
    let loaded = tunix_rt::manifest::load(ws, &args.manifest, &shown)
        .map_err(|d| Error::invalid_file(&shown, d))?;
    let Manifest::Train(m) = &loaded.manifest else {
        return Err(Error::bad_input(format!(
            "{shown} is a {} manifest; `tunix-rt data` reads Train manifests",
            loaded.manifest.kind().name()
        )));
    };
    let spec = &m.spec;
    let (_, dataset_config) = spec.worker_model().map_err(|why| {
        Error::bad_input(format!(
            "{shown}: {why}; `tunix-rt data` shows the built-in worker's data"
        ))
    })?;
    let evalset = match &spec.eval {
        Some(e) => {
            let path = ws
                .resolve(&loaded.path, &e.evalset)
                .map_err(|e| Error::bad_input(e.to_string()).with_path(&loaded.path))?;
            Some(load_evalset(ws, &path)?)
        }
        None => None,
    };
    if let Some(out) = &args.out {
        if out.exists() {
            return Err(Error::bad_input(format!(
                "--out {} already exists; choose a new file",
                out.display()
            )));
        }
    }
    let (index, eval_files) = eval_index(ws, evalset.as_ref())?;
    let manifest_dir = loaded.path.parent().unwrap_or(ws.root());
    let (dataset, sources, files) = match dataset_config.name {
        None => {
            let u = user::load_files(dataset_config, manifest_dir, Some(ws), &index)?;
            (u.dataset, u.rejected_at, u.files.iter().cloned().collect())
        }
        Some(_) => (
            dataset::build_reporting(dataset_config, manifest_dir, &index, &mut |g| {
                if g.wanted >= dataset::generate::PROGRESS_EVERY {
                    eprintln!(
                        "dataset: {} of {} {} examples generated",
                        g.made, g.wanted, g.split
                    );
                }
            })?,
            Vec::new(),
            Vec::new(),
        ),
    };
    let template = framing(ws, &loaded.path, spec)?;
    let remaining: Option<Vec<(&Example, Overlap)>> = args.check_overlap.then(|| {
        dataset
            .train
            .iter()
            .chain(&dataset.val)
            .filter_map(|e| index.check(&e.prompt).map(|o| (e, o)))
            .collect()
    });
    if let Some(out) = &args.out {
        write_atomic(out, &dump(&dataset)?)?;
    }
    let train_stream = Dataset::stream(&dataset.train, &template);
    let mut steps = BTreeMap::new();
    for e in dataset.train.iter() {
        *steps.entry(e.steps).or_insert(0) += 1;
    }
    let report = Report {
        dataset: dataset::display_name(dataset_config),
        blake3: Dataset::blake3(&train_stream, &Dataset::stream(&dataset.val, &template)),
        train_examples: dataset.train.len(),
        val_examples: dataset.val.len(),
        train_bytes: train_stream.len(),
        steps,
        files,
        eval_files,
        eval_prompts: index.len(),
        rejected: rejected_rows(&dataset, &sources),
        val_dropped_as_train: dataset.val_dropped_as_train,
        overlaps_remaining: remaining.as_ref().map(Vec::len),
    };
    if args.format == Format::Json {
        super::print_json(&report)?;
    } else {
        print_text(&report, &dataset, &template, args)?;
    }
    match remaining {
        Some(r) if !r.is_empty() => Err(Error::check_failed(format!(
            "{} generated example(s) still overlap an eval set (first: {} ~ {})",
            r.len(),
            r[0].0.prompt,
            r[0].1.eval_item
        ))),
        _ => Ok(()),
    }
}

/// The rejected examples; `sources`: the `file:line` of each (your own
/// data), or nothing (generated data).
fn rejected_rows<'a>(dataset: &'a Dataset, sources: &'a [String]) -> Vec<RejectedRow<'a>> {
    dataset
        .rejected
        .iter()
        .enumerate()
        .map(|(i, r)| rejected_row(r, sources.get(i).map(String::as_str)))
        .collect()
}

fn rejected_row<'a>(r: &'a Rejected, source: Option<&'a str>) -> RejectedRow<'a> {
    RejectedRow {
        split: r.split,
        source,
        prompt: &r.prompt,
        eval_item: &r.overlap.eval_item,
        kind: r.overlap.kind,
    }
}

fn dump(dataset: &Dataset) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (split, examples) in [("train", &dataset.train), ("val", &dataset.val)] {
        for e in examples {
            let row = DumpRow {
                split,
                prompt: &e.prompt,
                completion: &e.completion,
                answer: &e.answer,
                steps: e.steps,
            };
            serde_json::to_writer(&mut out, &row)
                .map_err(|e| Error::runtime("cannot serialize JSON").with_source(e))?;
            out.push(b'\n');
        }
    }
    Ok(out)
}

fn print_text(r: &Report<'_>, dataset: &Dataset, template: &str, args: &DataArgs) -> Result<()> {
    outln!("dataset      {}", r.dataset)?;
    outln!("blake3       {}", r.blake3)?;
    outln!(
        "examples     {} train ({} bytes), {} val",
        r.train_examples,
        r.train_bytes,
        r.val_examples
    )?;
    if r.files.is_empty() {
        let mix: Vec<String> = r
            .steps
            .iter()
            .map(|(s, n)| format!("{s}-step {n}"))
            .collect();
        outln!("difficulty   {}", mix.join(", "))?;
    }
    for f in &r.files {
        outln!("file         {} (blake3 {})", f.path, f.blake3)?;
    }
    if let Some(e) = dataset.train.first() {
        outln!("example      {:?}", e.text(template))?;
    }
    outln!(
        "eval sets    {} ({} prompts)",
        if r.eval_files.is_empty() {
            "none".to_string()
        } else {
            r.eval_files.join(", ")
        },
        r.eval_prompts
    )?;
    if r.files.is_empty() {
        outln!(
            "rejected     {} generated example(s) overlapped an eval prompt and were replaced",
            r.rejected.len()
        )?;
    } else {
        outln!(
            "rejected     {} example(s) overlapped an eval prompt and were dropped",
            r.rejected.len()
        )?;
    }
    for row in &r.rejected {
        match row.source {
            Some(at) => outln!("  {at} {} ~ {}: {}", row.kind, row.eval_item, row.prompt)?,
            None => outln!(
                "  {} {} ~ {}: {}",
                row.split,
                row.kind,
                row.eval_item,
                row.prompt
            )?,
        }
    }
    if let Some(n) = r.overlaps_remaining {
        outln!(
            "overlap      {n} remaining (exact prompt, or the same question with the same numbers)"
        )?;
    }
    if let Some(out) = &args.out {
        outln!("wrote        {}", out.display())?;
    }
    Ok(())
}

/// How the worker frames each example's prompt for `spec`: a pretrained
/// model's chat template (as a `{prompt}` frame) when it is used, else
/// `decoding.prompt_template`; so the examples shown and the data set's
/// blake3 are the ones a run records.
fn framing(
    ws: &Workspace,
    manifest: &std::path::Path,
    spec: &tunix_rt::manifest::train::TrainSpec,
) -> Result<String> {
    let Ok((model, _)) = spec.pretrained() else {
        return Ok(prompt_template(spec));
    };
    let dir = ws
        .resolve(manifest, &model.hf)
        .map_err(|e| Error::bad_input(format!("model.hf: {e}")).with_path(manifest))?;
    let decoding = spec
        .eval
        .as_ref()
        .map(|e| e.decoding.clone())
        .unwrap_or_default();
    match hf_model::prompt_format(&dir, &decoding)? {
        Some(chat) => hf_model::chat_frame(&chat),
        None => Ok(prompt_template(spec)),
    }
}
