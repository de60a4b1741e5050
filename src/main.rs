//! Thin entry point: parse the command line and hand over to the composition root.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = facehook::cli::Cli::parse();
    facehook::startup::run_cli(cli).await
}
