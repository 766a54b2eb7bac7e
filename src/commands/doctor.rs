use crate::cli::{DoctorArgs, Format};
use tunix_rt::error::Result;
use tunix_rt::workspace::Workspace;

pub fn run(ws: &Workspace, args: &DoctorArgs) -> Result<()> {
    let report = tunix_rt::doctor::report(ws.root().to_path_buf())?;
    if args.format == Format::Json {
        return super::print_json(&report);
    }
    outln!("tunix-rt   {}", report.tool_version)?;
    outln!(
        "libtorch   {} ({})",
        report.libtorch_version,
        report.libtorch_lib
    )?;
    if report.cuda_available {
        outln!(
            "cuda       available, {} device(s)",
            report.cuda_devices.len()
        )?;
        for d in &report.cuda_devices {
            outln!("           {d}")?;
        }
    } else {
        outln!("cuda       not available (training runs on the CPU)")?;
    }
    outln!(
        "cudnn      {}",
        if report.cudnn_available {
            "available"
        } else {
            "not available"
        }
    )?;
    match (&report.worker, &report.worker_error) {
        (_, Some(e)) => outln!("worker     unavailable: {e}")?,
        (Some(w), None) => outln!("worker     {}", w.display())?,
        (None, None) => {}
    }
    outln!("duckdb     {}", report.duckdb_version)?;
    outln!("workspace  {}", report.workspace.display())?;
    Ok(())
}
