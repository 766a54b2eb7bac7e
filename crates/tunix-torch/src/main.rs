//! `tunix-rt-worker`: the built-in trainer process. `tunix-rt` starts it;
//! users do not need to.
//!
//! ```text
//! tunix-rt-worker train --request FILE   serve one trainer request
//! tunix-rt-worker generate --request FILE decode an eval set with a checkpoint
//! tunix-rt-worker generate-hf --request FILE decode prompts with an HF folder
//! tunix-rt-worker export-hf --request FILE   merge a fine-tuned checkpoint, write an HF folder
//! tunix-rt-worker doctor                 what libtorch sees, as JSON
//! tunix-rt-worker --version
//! ```

use std::path::PathBuf;

const USAGE: &str =
    "usage: tunix-rt-worker train --request FILE | generate --request FILE | generate-hf --request FILE | export-hf --request FILE | doctor | --version";

// The program's own command line: `doctor` and `--version` answer on
// stdout, usage and failures go to stderr.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["train", "--request", file] => tunix_torch::worker::train(&PathBuf::from(file)),
        ["generate", "--request", file] => tunix_torch::worker::generate(&PathBuf::from(file)),
        ["generate-hf", "--request", file] => {
            tunix_torch::worker::generate_hf(&PathBuf::from(file))
        }
        ["export-hf", "--request", file] => tunix_torch::worker::export_hf(&PathBuf::from(file)),
        ["doctor"] => match serde_json::to_string_pretty(&tunix_torch::doctor::report()) {
            Ok(text) => {
                println!("{text}");
                0
            }
            Err(e) => {
                eprintln!("tunix-rt-worker: cannot serialize the report: {e}");
                3
            }
        },
        ["--version"] | ["-V"] => {
            println!(
                "tunix-rt-worker {} (libtorch {})",
                env!("CARGO_PKG_VERSION"),
                tunix_torch::doctor::libtorch_version()
            );
            0
        }
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}
