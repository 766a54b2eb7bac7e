//! Outputs of a built-in model on an eval set: greedy generation from each
//! item's prompt through the prompt template. The outputs then go through
//! the same scoring as external predictions.

use std::collections::BTreeMap;

use tch::TchError;

use crate::model::generate::{generate, GenerateSettings};
use crate::model::gpt::Gpt;
use tunix_core::evalset::EvalItem;
use tunix_core::manifest::common::Decoding;

/// Generated outputs by item id.
#[derive(Debug, Clone, Default)]
pub struct ModelOutputs {
    pub by_id: BTreeMap<String, String>,
    /// Items whose prompt did not fit the context and lost its start.
    pub truncated_prompts: Vec<String>,
}

/// Generate an output for every item, its prompt rendered through
/// `template` (`{prompt}` marking it).
pub fn model_outputs(
    model: &Gpt,
    items: &[EvalItem],
    decoding: &Decoding,
    template: &str,
    mut progress: impl FnMut(usize),
) -> Result<ModelOutputs, TchError> {
    let prompts: Vec<String> = items
        .iter()
        .map(|i| template.replace("{prompt}", &i.prompt))
        .collect();
    let settings = GenerateSettings {
        max_new_tokens: decoding.max_new_tokens as usize,
        stop: decoding.stop.clone(),
        batch_size: decoding.batch_size as usize,
        calculator: decoding.calculator,
    };
    let generations = generate(model, &prompts, &settings, &mut progress)?;
    let mut out = ModelOutputs::default();
    for (item, g) in items.iter().zip(generations) {
        if g.prompt_truncated {
            out.truncated_prompts.push(item.id.clone());
        }
        out.by_id.insert(item.id.clone(), g.text);
    }
    Ok(out)
}
