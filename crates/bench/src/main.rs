//! careergraph's benchmark. Starts the real server in this process on 127.0.0.1 with a fresh
//! database, drives it over HTTP with a bounded number of requests for a bounded time, and
//! prints throughput and latency percentiles. It asserts nothing: numbers on a shared machine
//! are for reading, not for failing builds.
//!
//! `cargo run --release -p careergraph-bench -- --help`

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use careergraph_auth::Role;
use careergraph_domain::enums::PublicationStatus;
use careergraph_gateway::authentication as accounts;
use careergraph_gateway::{Application, Config};
use clap::Parser;
use secrecy::SecretString;
use serde_json::json;

/// Measures careergraph on loopback.
#[derive(Parser, Debug)]
struct Args {
    /// Seconds each scenario runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients sending read queries.
    #[arg(long, default_value_t = 8)]
    readers: usize,
    /// Concurrent clients signing in.
    #[arg(long, default_value_t = 8)]
    signers: usize,
    /// Synthetic career paths added beside the bundled dataset (labelled synthetic).
    #[arg(long, default_value_t = 0)]
    synthetic_paths: usize,
    /// Database to use (default: a SQLite file in a temporary directory).
    #[arg(long)]
    database_url: Option<String>,
    /// Upper bound on requests per client per scenario.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: usize,
}

const READ_QUERY: &str = r#"{ careerPath(slug: "backend-developer") { title
  skills { importance skill { name technologies { name } } }
  responsibilities { title } roadmap { title resources { name } }
  salary { average minimum maximum currency } } }"#;

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "violet staircase 42";

/// Latencies of one kind of request.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    errors: usize,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index]
    }

    fn report(&self, name: &str, elapsed: Duration) {
        let rate = self.latencies.len() as f64 / elapsed.as_secs_f64();
        println!(
            "{name:<34} {:>9.1}/s  p50 {:>8.2} ms  p90 {:>8.2} ms  p99 {:>8.2} ms  n={:<7} errors={}",
            rate,
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.90).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.latencies.len(),
            self.errors
        );
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &serde_json::Value) -> bool {
    match client.post(url).header("content-type", "application/json").body(body.to_string()).send().await {
        Ok(response) if response.status().is_success() => {
            response.json::<serde_json::Value>().await.is_ok_and(|body| body.get("errors").is_none())
        }
        _ => false,
    }
}

/// Runs `clients` loops of `request` until `stop` is set or each has sent `max` requests.
async fn drive(clients: usize, max: usize, stop: Arc<AtomicBool>, url: String, body: serde_json::Value) -> Samples {
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, url, body) = (stop.clone(), url.clone(), body.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut samples = Samples::default();
                for _ in 0..max {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let started = Instant::now();
                    if post(&client, &url, &body).await {
                        samples.latencies.push(started.elapsed());
                    } else {
                        samples.errors += 1;
                    }
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        if let Ok(samples) = task.await {
            all.merge(samples);
        }
    }
    all
}

async fn timed(
    seconds: u64,
    scenarios: Vec<(usize, serde_json::Value)>,
    url: &str,
    max: usize,
) -> (Vec<Samples>, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let runs: Vec<_> = scenarios
        .into_iter()
        .map(|(clients, body)| tokio::spawn(drive(clients, max, stop.clone(), url.to_owned(), body)))
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    for run in runs {
        results.push(run.await.unwrap_or_default());
    }
    (results, started.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data_dir = tempfile::tempdir().context("a temporary data directory")?;
    let config =
        Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), args.database_url.clone(), data_dir.path().into());
    let hash_slots = config.password_hash_concurrency();
    let application = Application::build(config).await?;
    let store = application.store().clone();
    let url = format!("http://127.0.0.1:{}/graphql", application.port());
    tokio::spawn(application.run_until(std::future::pending()));

    if args.synthetic_paths > 0 {
        careergraph_domain::synthetic::insert_career_paths(
            store.db(),
            args.synthetic_paths,
            PublicationStatus::Published,
        )
        .await?;
    }
    let passwords = accounts::command_line_passwords().map_err(|e| anyhow::anyhow!("{e}"))?;
    accounts::create_user(&store, &passwords, EMAIL, "Bench", Role::Viewer, SecretString::from(PASSWORD), "password")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let read = json!({ "query": READ_QUERY });
    let login = json!({
        "query": "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
        "variables": { "e": EMAIL, "p": PASSWORD }
    });
    ensure!(post(&reqwest::Client::new(), &url, &read).await, "the read query fails");
    ensure!(post(&reqwest::Client::new(), &url, &login).await, "sign-in fails");

    println!(
        "careergraph benchmark: {} s per scenario, {} readers, {} signers, {} synthetic paths, {} hash slots, {} cores, database {}",
        args.seconds,
        args.readers,
        args.signers,
        args.synthetic_paths,
        hash_slots,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if args.database_url.is_some() { "external" } else { "SQLite (temporary file)" }
    );
    // Warm-up, not reported.
    timed(1, vec![(args.readers, read.clone())], &url, args.max_requests).await;

    let (reads, elapsed) = timed(args.seconds, vec![(args.readers, read.clone())], &url, args.max_requests).await;
    reads[0].report("read query alone", elapsed);
    let (logins, elapsed) = timed(args.seconds, vec![(args.signers, login.clone())], &url, args.max_requests).await;
    logins[0].report("logins alone", elapsed);
    let (both, elapsed) =
        timed(args.seconds, vec![(args.readers, read), (args.signers, login)], &url, args.max_requests).await;
    both[0].report("read query during a login flood", elapsed);
    both[1].report("logins during the read load", elapsed);
    Ok(())
}
