//! The `careergraph` binary: parse the command line, set up logging, run.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = careergraph_gateway::cli::Cli::parse();
    let filter =
        EnvFilter::try_from_env("CAREERGRAPH_LOG").unwrap_or_else(|_| EnvFilter::new("info,sea_orm_migration=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("careergraph: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line that says what failed and where, never a panic or a backtrace.
            eprintln!("careergraph: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
