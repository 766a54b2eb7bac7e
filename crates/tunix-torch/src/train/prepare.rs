//! Before the first event: check the request, resolve the device, load the
//! eval set, build the data and encode it for the model (its encoder and
//! context length). Only log lines (generation progress of a large
//! dataset) are reported yet, which the coordinator shows but does not
//! record before `started`, so a refusal leaves the run folder untouched.

use tunix_core::dataset::generate::{Generated, PROGRESS_EVERY};
use tunix_core::dataset::{self, Dataset};
use tunix_core::evalset::EvalSet;
use tunix_core::manifest::train::{Batching, DatasetConfig};
use tunix_core::protocol::TrainerRequest;
use tunix_core::runfolder::FileRef;
use tunix_core::workspace::Workspace;

use super::batches::Examples;
use super::encode::Encode;
use crate::emit::Emitter;
use crate::failure::Failure;
use crate::model::device::{self, DeviceChoice};

/// Everything the loop needs besides the model, prepared before the first
/// event.
pub struct Prepared {
    pub choice: DeviceChoice,
    pub evalset: Option<EvalSet>,
    /// How prompts are framed, for training and for eval decoding.
    pub template: String,
    pub train: Examples,
    pub val: Examples,
    pub dataset_ref: FileRef,
    pub data_note: String,
    pub batching_note: String,
}

/// The prompt framing: the request's (a pretrained model's chat template)
/// when it has one, else the spec's `decoding.prompt_template`.
pub fn prompt_template(req: &TrainerRequest) -> String {
    req.prompt_template
        .clone()
        .unwrap_or_else(|| dataset::prompt_template(&req.spec))
}

/// Check the request and build the data of `dataset_config`, encoded by
/// `encoder` into examples of at most `context + 1` tokens.
pub fn prepare(
    req: &TrainerRequest,
    dataset_config: &DatasetConfig,
    context: usize,
    encoder: &dyn Encode,
    out: &mut Emitter,
) -> Result<Prepared, Failure> {
    let spec = &req.spec;
    let max_steps = spec.training.max_steps;
    if req.until_step == 0 || req.until_step > max_steps {
        return Err(Failure::bad_config(format!(
            "until_step {} is outside 1..={max_steps}",
            req.until_step
        )));
    }
    let choice = device::resolve(spec.device, device::cuda_device_count())
        .map_err(|e| Failure::bad_config(e.to_string()))?;
    let ws = Workspace::at(&req.workspace)?;
    let evalset = req
        .evalset
        .as_deref()
        .map(|p| dataset::load_evalset(&ws, p))
        .transpose()?;
    let (index, _) = dataset::eval_index(&ws, evalset.as_ref())?;
    let template = prompt_template(req);
    let manifest = ws.root().join(&req.manifest);
    let manifest_dir = manifest.parent().unwrap_or(ws.root());
    let mut report = |g: Generated| {
        if g.wanted >= PROGRESS_EVERY {
            let _ = out.log(&format!(
                "dataset: {} of {} {} examples generated",
                g.made, g.wanted, g.split
            ));
        }
    };
    let data = dataset::build_reporting(dataset_config, manifest_dir, &index, &mut report)?;
    let train_stream = Dataset::stream(&data.train, &template);
    let val_stream = Dataset::stream(&data.val, &template);
    let loss_on = spec.training.loss_on;
    let batching = spec.training.batching;
    let encode = |examples| {
        Examples::new(examples, &template, context, loss_on, batching, encoder)
            .map_err(|e| Failure::bad_config(e.to_string()))
    };
    let train = encode(&data.train)?;
    let val = encode(&data.val)?;
    if train.is_empty() {
        return Err(Failure::bad_config(
            "the training split has no examples; raise dataset.train_examples or add examples to dataset.path",
        ));
    }
    let dataset_ref = FileRef {
        path: dataset::display_name(dataset_config),
        blake3: Dataset::blake3(&train_stream, &val_stream),
    };
    let data_note = format!(
        "dataset {}: {} train examples ({} bytes), {} val ({} bytes); {} dropped for overlapping eval sets",
        dataset_ref.path,
        data.train.len(),
        train_stream.len(),
        data.val.len(),
        val_stream.len(),
        data.rejected.len()
    );
    let layout = match batching {
        Batching::Packed => format!(
            "whole examples packed into rows of {context} tokens, attention within each example"
        ),
        Batching::Padded => format!(
            "one example per row, right-padded to the longest row (at most {context} tokens)"
        ),
    };
    let batching_note = format!(
        "batches ({}): {layout}; loss on {}",
        batching.as_str(),
        loss_on.as_str()
    );
    Ok(Prepared {
        choice,
        evalset,
        template,
        train,
        val,
        dataset_ref,
        data_note,
        batching_note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prompt_template: Option<&str>) -> TrainerRequest {
        let spec = serde_json::from_value(serde_json::json!({
            "model": {"preset": "gpt-nano"},
            "dataset": {"name": "dev-reasoning-v2", "train_examples": 10, "val_examples": 2},
            "training": {"learning_rate": 1e-3, "per_device_batch_size": 2, "max_steps": 1},
            "eval": {"evalset": "e.jsonl", "decoding": {"prompt_template": "Q: {prompt}\nA:"}}
        }))
        .expect("spec");
        TrainerRequest {
            protocol: tunix_core::protocol::PROTOCOL_VERSION,
            run_dir: "/run".into(),
            workspace: "/ws".into(),
            spec,
            evalset: None,
            until_step: 1,
            resume: None,
            identity: "x".into(),
            manifest: "m.yaml".into(),
            trial_id: None,
            init: None,
            model_dir: None,
            prompt_template: prompt_template.map(String::from),
        }
    }

    #[test]
    fn the_requests_framing_overrides_the_decoding_template() {
        assert_eq!(prompt_template(&request(None)), "Q: {prompt}\nA:");
        let chat = "<|user|>{prompt}<|assistant|>";
        assert_eq!(prompt_template(&request(Some(chat))), chat);
    }
}
