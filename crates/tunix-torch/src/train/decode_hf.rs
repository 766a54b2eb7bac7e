//! Decoding rendered prompts with a Hugging Face model folder
//! (`tunix-rt-worker generate-hf`): the engine renders each eval item's
//! prompt through `decoding.prompt_template`; here each prompt is encoded
//! with the folder's tokenizer.json, the batch decoded greedily with left
//! padding ([`generate_greedy`]) up to the model's stop ids or
//! `max_new_tokens`, the new tokens decoded to text (special tokens
//! skipped, as `transformers`' `decode(..., skip_special_tokens=True)`),
//! and each output cut before the first of the request's stop strings.
//! f32 on every device.

use std::collections::BTreeMap;

use tunix_core::protocol::{
    Event, FailureClass, HfGenerateRequest, Outputs, RenderedPrompt, Started,
};

use crate::emit::Emitter;
use crate::failure::Failure;
use crate::hf::{generate_greedy, GenerateOptions, HfError, HfModel, HfTokenizer};
use crate::model::device::{self, is_out_of_memory};

/// Why a folder or a batch failed: the folder's own faults are bad config,
/// libtorch's are a crash (or out of memory).
fn failure(what: &str, e: HfError) -> Failure {
    let message = format!("{what}: {e}");
    match e {
        HfError::Torch(_) | HfError::Input(_) => Failure {
            class: if is_out_of_memory(&message) {
                FailureClass::OutOfMemory
            } else {
                FailureClass::Crash
            },
            message,
        },
        _ => Failure::bad_config(message),
    }
}

/// The text before the earliest of `stop` (empty strings never match).
pub fn cut_at_stop(text: &str, stop: &[String]) -> String {
    let cut = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
        .unwrap_or(text.len());
    text[..cut].to_string()
}

/// How prompts are decoded.
pub struct DecodeSettings<'a> {
    /// The most tokens added to each prompt.
    pub max_new_tokens: u32,
    /// An output ends before the first of these strings.
    pub stop: &'a [String],
    /// Prompts decoded together.
    pub batch_size: u32,
}

/// What [`decode_texts`] decoded.
pub struct Decoded {
    /// Each prompt's output text, by item id.
    pub outputs: BTreeMap<String, String>,
    /// Items whose prompt did not fit the model's positions and lost its
    /// start.
    pub truncated_prompts: Vec<String>,
}

/// Each prompt's greedy output text: encoded with `tokenizer`, decoded in
/// batches until the model's stop ids or `max_new_tokens`, special tokens
/// skipped, cut before the first stop string; `progress` hears how many
/// prompts each batch finished. Under a model with a hard position limit
/// (GPT-2's `n_positions`) a prompt keeps its end, leaving room to
/// generate (`max_new_tokens`, at most half the positions), as the
/// built-in model's prompts do.
pub fn decode_texts(
    model: &HfModel,
    tokenizer: &HfTokenizer,
    prompts: &[RenderedPrompt],
    settings: &DecodeSettings,
    progress: &mut dyn FnMut(usize),
) -> Result<Decoded, HfError> {
    let max_prompt = model.position_limit().map(|limit| {
        let limit = usize::try_from(limit).unwrap_or(0);
        let room = (settings.max_new_tokens as usize).min(limit / 2).max(1);
        limit.saturating_sub(room).max(1)
    });
    let mut truncated_prompts = Vec::new();
    let stop_ids: Vec<i64> = tokenizer.stop_ids().iter().map(|&i| i64::from(i)).collect();
    let opts = GenerateOptions {
        max_new_tokens: settings.max_new_tokens as usize,
        pad_id: stop_ids.first().copied().unwrap_or(0),
        stop_ids,
    };
    let mut outputs = BTreeMap::new();
    for batch in prompts.chunks(settings.batch_size.max(1) as usize) {
        let ids = batch
            .iter()
            .map(|p| {
                let ids = tokenizer.encode(&p.text, true)?;
                if ids.is_empty() {
                    return Err(HfError::Input(format!(
                        "the prompt of item {} encodes to no tokens",
                        p.id
                    )));
                }
                let ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
                Ok(match max_prompt {
                    Some(keep) if ids.len() > keep => {
                        truncated_prompts.push(p.id.clone());
                        ids[ids.len() - keep..].to_vec()
                    }
                    _ => ids,
                })
            })
            .collect::<Result<Vec<Vec<i64>>, HfError>>()?;
        let generated = generate_greedy(model, &ids, &opts)?;
        for (p, tokens) in batch.iter().zip(generated) {
            let tokens: Vec<u32> = tokens.iter().map(|&t| t as u32).collect();
            let text = tokenizer.decode(&tokens, true)?;
            outputs.insert(p.id.clone(), cut_at_stop(&text, settings.stop));
        }
        progress(batch.len());
    }
    Ok(Decoded {
        outputs,
        truncated_prompts,
    })
}

/// Serve the request; returns step 0 (a base model has no training step).
pub fn run(req: &HfGenerateRequest, out: &mut Emitter) -> Result<u32, Failure> {
    let choice = device::resolve(req.device, device::cuda_device_count())
        .map_err(|e| Failure::bad_config(e.to_string()))?;
    let dir = &req.model_dir;
    let tokenizer = HfTokenizer::load(dir).map_err(|e| failure("loading the tokenizer", e))?;
    let model = super::fine_tuned::load(dir, req.checkpoint.as_ref(), choice.device)?;
    let name = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
    out.emit(&Event::Started(Started {
        device: choice.label.clone(),
        framework_version: format!("libtorch {}", crate::doctor::libtorch_version()),
        model_id: format!("hf:{name}"),
        parameters: 0,
        dataset: None,
        start_step: 0,
        notes: choice.note.iter().cloned().collect(),
    }))?;
    let total = req.prompts.len() as u64;
    let mut done = 0u64;
    let mut progress_error = None;
    let decoded = decode_texts(
        &model,
        &tokenizer,
        &req.prompts,
        &DecodeSettings {
            max_new_tokens: req.max_new_tokens,
            stop: &req.stop,
            batch_size: req.batch_size,
        },
        &mut |n| {
            done += n as u64;
            if progress_error.is_none() {
                if let Err(e) = out.emit(&Event::EvalProgress { done, total }) {
                    progress_error = Some(e);
                }
            }
        },
    )
    .map_err(|e| failure("decoding", e))?;
    if let Some(e) = progress_error {
        return Err(e);
    }
    out.emit(&Event::Outputs(Outputs {
        step: 0,
        last: true,
        outputs: decoded.outputs,
        truncated_prompts: decoded.truncated_prompts,
    }))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::cut_at_stop;

    #[test]
    fn outputs_end_before_the_earliest_stop_string() {
        let stop = vec!["\n".to_string(), "Q:".to_string(), String::new()];
        assert_eq!(cut_at_stop("42 Q: next\nmore", &stop), "42 ");
        assert_eq!(cut_at_stop("no stop here", &stop), "no stop here");
        assert_eq!(cut_at_stop("a\nb", &[]), "a\nb");
    }
}
