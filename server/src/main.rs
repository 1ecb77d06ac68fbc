//! The `billops` binary: the command line (serve, migrate, demo, backup, and the registration of users,
//! processing modules, clients and services). Every subcommand reads `DATABASE_URL` (default
//! `sqlite://billops.db`) or `--database-url`, and brings the schema up to date first.

use std::process::ExitCode;

use clap::Parser;
use server::cli;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BILLOPS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `BILLOPS_LOG_FORMAT=json`: one JSON object per line, for log shippers; each line carries
    // its request's span (id, method, path).
    if std::env::var("BILLOPS_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.init();
    }
    match cli::run(cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
