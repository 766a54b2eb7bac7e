use std::io::IsTerminal;

use clap::Parser;

use tunix_rt::cli::Cli;

// The CLI's last word: a failed command's diagnostics, error and causes
// go to stderr.
#[allow(clippy::print_stderr)]
fn main() {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    if let Err(err) = tunix_rt::commands::run(cli) {
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
