//! The `tunix-rt` command line: parses the arguments (`cli`), runs the
//! command's handler (`commands`) on the engine library (`tunix_rt`), and
//! turns a failure into its diagnostics on stderr and its exit code. The
//! binary owns the terminal; the library never prints.

use std::io::IsTerminal;

use clap::Parser;

use cli::Cli;

mod cli;
// The command handlers print the progress and results of commands to stderr.
#[allow(clippy::print_stderr)]
mod commands;

// The CLI's last word: a failed command's diagnostics, error and causes
// go to stderr.
#[allow(clippy::print_stderr)]
fn main() {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    if let Err(err) = commands::run(cli) {
        if err.kind() == tunix_rt::ErrorKind::OutputClosed {
            std::process::exit(err.exit_code());
        }
        for diagnostic in err.diagnostics() {
            eprintln!("{diagnostic}");
        }
        eprintln!("error: {err}");
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        std::process::exit(err.exit_code());
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TUNIX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
