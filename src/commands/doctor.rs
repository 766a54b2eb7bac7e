use crate::cli::{DoctorArgs, Format};
use crate::error::Result;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, args: &DoctorArgs) -> Result<()> {
    let report = crate::doctor::report(ws.root().to_path_buf())?;
    if args.format == Format::Json {
        return super::print_json(&report);
    }
    println!("tunix-rt   {}", report.tool_version);
    println!(
        "libtorch   {} ({})",
        report.libtorch_version, report.libtorch_lib
    );
    if report.cuda_available {
        println!(
            "cuda       available, {} device(s)",
            report.cuda_devices.len()
        );
        for d in &report.cuda_devices {
            println!("           {d}");
        }
    } else {
        println!("cuda       not available (training runs on the CPU)");
    }
    println!(
        "cudnn      {}",
        if report.cudnn_available {
            "available"
        } else {
            "not available"
        }
    );
    match (&report.worker, &report.worker_error) {
        (_, Some(e)) => println!("worker     unavailable: {e}"),
        (Some(w), None) => println!("worker     {}", w.display()),
        (None, None) => {}
    }
    println!("duckdb     {}", report.duckdb_version);
    println!("workspace  {}", report.workspace.display());
    Ok(())
}
