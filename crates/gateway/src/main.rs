//! The `careergraph` binary: parse the command line, set up logging, run.

use std::io::IsTerminal;

use careergraph_gateway::config::LogFormat;
use careergraph_gateway::telemetry::EscapingStderr;
use careergraph_gateway::traces::TraceExport;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// jemalloc rather than glibc's malloc: a nested answer is thousands of small allocations
/// across threads, and glibc's malloc and free took about a third of the server's CPU on the
/// benchmark's nested query. mimalloc was faster than glibc but held more memory; jemalloc, with
/// a background thread returning freed pages (`.cargo/config.toml`), was faster than both and
/// held the least, idle and under load (the figures are in the commits that chose each). It also
/// serves the C code's `malloc` (`unprefixed_malloc_on_supported_platforms`): bundled SQLite
/// copies every value of every row it hands sqlx, and on glibc's malloc that was a sixth of the
/// embedded server's instructions on the nested query.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let cli = careergraph_gateway::cli::Cli::from_command_line();
    let filter =
        EnvFilter::try_from_env("CAREERGRAPH_LOG").unwrap_or_else(|_| EnvFilter::new("info,sea_orm_migration=warn"));
    let logs = tracing_subscriber::fmt::layer();
    let logs = match cli.log_format() {
        // Colour codes only for a person at a terminal, never into a file or a collector; and
        // one event is one line whatever a logged value holds.
        LogFormat::Text => {
            let terminal = std::io::stderr().is_terminal();
            logs.with_ansi(terminal).with_writer(EscapingStderr { keep_colours: terminal }).boxed()
        }
        LogFormat::Json => {
            logs.json().with_current_span(true).with_span_list(false).with_writer(std::io::stderr).boxed()
        }
    };
    let export = match cli.otlp_endpoint().map(TraceExport::start).transpose() {
        Ok(export) => export,
        Err(error) => {
            eprintln!("careergraph: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let spans = export.as_ref().map(|export| tracing_opentelemetry::layer().with_tracer(export.tracer()));
    tracing_subscriber::registry().with(logs).with(spans).with(filter).init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("careergraph: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli.run());
    // Work still running when the server has stopped (a request the grace period cut off, still
    // waiting on the database) gets a moment to wind down, not forever.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    if let Some(export) = export {
        export.shutdown();
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line that says what failed and where, never a panic or a backtrace.
            eprintln!("careergraph: {error:#}");
            // An import says whether its input was missing (2) or bad (1).
            match error.downcast_ref::<careergraph_domain::import::ImportError>() {
                Some(error) => std::process::ExitCode::from(error.exit_code()),
                None => std::process::ExitCode::FAILURE,
            }
        }
    }
}
