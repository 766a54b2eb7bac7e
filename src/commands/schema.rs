use crate::cli::SchemaExportArgs;
use tunix_rt::error::{Error, Result};
use tunix_rt::workspace::Workspace;

pub fn export(ws: &Workspace, args: &SchemaExportArgs) -> Result<()> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| ws.root().join("schemas"));
    if !args.check {
        for path in tunix_rt::schema::export(&dir)? {
            outln!("wrote {}", ws.display_path(&path).display())?;
        }
        return Ok(());
    }
    let report = tunix_rt::schema::check(&dir)?;
    if report.is_clean() {
        outln!(
            "schemas are up to date ({})",
            ws.display_path(&dir).display()
        )?;
        return Ok(());
    }
    for path in &report.stale {
        eprintln!("stale: {}", ws.display_path(path).display());
    }
    for path in &report.missing {
        eprintln!("missing: {}", ws.display_path(path).display());
    }
    Err(Error::check_failed(format!(
        "{} schema file(s) differ from the types; run `tunix-rt schema export` and commit the result",
        report.stale.len() + report.missing.len()
    )))
}
