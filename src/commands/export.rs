//! `tunix-rt export RUN[@STEP] --hf DIR`: a fine-tuned run as a Hugging
//! Face model folder.

use tunix_rt::error::{Error, Result};
use tunix_rt::runner::checkpoint_eval::parse_checkpoint_arg;
use tunix_rt::runner::hf_export::export_hf;
use tunix_rt::runner::source_checkpoint::source_folder;
use tunix_rt::workspace::Workspace;

use crate::cli::{ExportArgs, Format};

pub fn run(ws: &Workspace, args: &ExportArgs) -> Result<()> {
    let (run, step) = parse_checkpoint_arg(&args.run)?;
    let cwd = std::env::current_dir()
        .map_err(|e| Error::runtime("cannot read the current folder").with_source(e))?;
    let source = source_folder(ws, &cwd.join("export"), run)?;
    let worker = tunix_rt::runner::builtin_hf_exporter()?;
    let exported = export_hf(ws, &source, step, &cwd.join(&args.hf), &worker)?;
    if args.format == Format::Json {
        return super::print_json(&exported);
    }
    outln!(
        "exported run {} step {} ({}) to {}",
        exported.run_id,
        exported.step,
        if exported.merged_lora {
            "LoRA adapters merged into the base weights"
        } else {
            "all weights fine-tuned"
        },
        ws.display_path(&exported.dir).display()
    )?;
    outln!("files    {}", exported.files.join(", "))?;
    outln!(
        "load it  AutoModelForCausalLM.from_pretrained({:?})",
        exported.dir.display().to_string()
    )?;
    Ok(())
}
