//! Checks of a `model: { hf: PATH }` (Eval or Train): the folder must resolve inside
//! the workspace, exist, and hold config.json, tokenizer.json and weights
//! (model.safetensors or model.safetensors.index.json); each missing file is
//! its own diagnostic naming what to add.

use std::path::Path;

use super::Checker;

impl Checker<'_> {
    pub(super) fn hf_model(&mut self, pointer: &str, value: &Path) {
        let dir = match self.ws.resolve(self.file, value) {
            Ok(p) if p.is_dir() => p,
            Ok(p) if p.exists() => {
                return self.push(
                    pointer.into(),
                    format!("`{}` is not a folder ({})", value.display(), p.display()),
                    Some(
                        "give the folder a transformers model was saved to (save_pretrained)"
                            .into(),
                    ),
                )
            }
            _ => return self.input(pointer.into(), value),
        };
        let shown = value.display();
        for (file, what) in [
            ("config.json", "the model's config (model.save_pretrained)"),
            (
                "tokenizer.json",
                "the fast tokenizer (tokenizer.save_pretrained)",
            ),
        ] {
            if !dir.join(file).is_file() {
                self.push(
                    pointer.into(),
                    format!("`{shown}` has no {file}"),
                    Some(format!("add {file} to {}: {what}", dir.display())),
                );
            }
        }
        if !dir.join("model.safetensors").is_file()
            && !dir.join("model.safetensors.index.json").is_file()
        {
            self.push(
                pointer.into(),
                format!("`{shown}` has no weights (model.safetensors or model.safetensors.index.json)"),
                Some(format!(
                    "add model.safetensors to {} (model.save_pretrained(PATH, safe_serialization=True))",
                    dir.display()
                )),
            );
        }
    }
}
