//! Thin entry point: parse the command line and run its command.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = facehook::cli::Cli::parse();
    facehook::commands::run_cli(cli).await
}
