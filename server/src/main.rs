//! The `billops` binary: the command line (serve, migrate, demo, and the registration of users,
//! processing modules, clients and services). Every subcommand reads `DATABASE_URL` (default
//! `sqlite://billops.db`) or `--database-url`, and brings the schema up to date first.

use std::process::ExitCode;

use clap::Parser;
use server::cli;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BILLOPS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
