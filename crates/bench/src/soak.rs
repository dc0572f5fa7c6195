//! `--soak MINUTES`: mixed traffic against one server for that long, to show what a benchmark row
//! cannot: whether memory, descriptors or database connections creep, and whether anything
//! fails once in a while. Every minute it prints the server's RSS, open file descriptors and
//! database connections, that minute's p99 latency and errors; at the end the slope of RSS and of
//! descriptors over time (least squares, the first minute left out as warm-up).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{Database, EDITOR_EMAIL, PASSWORD, VIEWER_EMAIL};

/// Clients reading nonstop, each in turn through Q1–Q4 (Q3 also as a viewer).
const READERS: usize = 12;
/// Subscribers of `careerPathPublished`, one of which is replaced every few seconds.
const SUBSCRIBERS: usize = 10;
/// How often the signed-in clients sign in again: well within an access token's 15 minutes.
const SIGN_IN_AGAIN: Duration = Duration::from_secs(5 * 60);

/// An access token that a task renews every [`SIGN_IN_AGAIN`], as a client renews its own.
#[derive(Clone)]
struct Token(Arc<std::sync::RwLock<String>>);

impl Token {
    /// Signs `email` in now and again every [`SIGN_IN_AGAIN`] until `stop`.
    async fn kept_for(client: &Client, email: &'static str, stop: Arc<AtomicBool>) -> anyhow::Result<Self> {
        let (first, _) = client.login(email).await.with_context(|| format!("{email} signs in"))?;
        let token = Self(Arc::new(std::sync::RwLock::new(first)));
        let (renewed, client) = (token.clone(), client.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(SIGN_IN_AGAIN).await;
                if let Some((fresh, _)) = client.login(email).await {
                    *renewed.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
                }
            }
        });
        Ok(token)
    }

    fn get(&self) -> String {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// What the traffic has done in the current minute.
#[derive(Default)]
struct Minute {
    latencies_ms: Mutex<Vec<f64>>,
    errors: AtomicU64,
    events: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Minute {
    fn answered(&self, took: Duration, body: Result<Value, String>) {
        self.latencies_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(took.as_secs_f64() * 1e3);
        let failed = match body {
            Ok(body) if body.get("errors").is_none() => return,
            Ok(body) => body.to_string(),
            Err(error) => error,
        };
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        first.get_or_insert(failed);
    }

    /// This minute's figures, and a fresh start for the next.
    fn take(&self) -> (Vec<f64>, u64, u64, Option<String>) {
        let latencies =
            std::mem::take(&mut *self.latencies_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let first = self.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        (latencies, self.errors.swap(0, Ordering::Relaxed), self.events.swap(0, Ordering::Relaxed), first)
    }
}

/// One client's view of the server.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    graphql: String,
    minute: Arc<Minute>,
}

impl Client {
    /// Sends `body` (as `token`'s caller), records how it went, and returns the answer.
    async fn send(&self, body: &Value, token: Option<&str>) -> Option<Value> {
        let started = Instant::now();
        let mut request = self.http.post(&self.graphql).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = match request.send().await {
            Ok(response) if response.status().is_success() => response.json::<Value>().await.map_err(|e| e.to_string()),
            Ok(response) => Err(format!("HTTP {}", response.status())),
            Err(error) => Err(error.to_string()),
        };
        self.minute.answered(started.elapsed(), answer.clone());
        answer.ok()
    }

    async fn login(&self, email: &str) -> Option<(String, String)> {
        let login = json!({ "query": "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken } }", "variables": { "e": email, "p": PASSWORD } });
        let answer = self.send(&login, None).await?;
        let token = |field: &str| answer["data"]["login"][field].as_str().map(str::to_owned);
        Some((token("accessToken")?, token("refreshToken")?))
    }
}

/// Runs the soak for `minutes` against a fresh server on `database`; returns the Markdown
/// section for bench/RESULTS.md.
pub async fn run(binary: &Path, database: &Database<'_>, paths: u32, minutes: u64) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let careergraph = || crate::careergraph_command(binary, dir.path(), database);
    crate::seed_and_add_users(paths, careergraph, database).await?;
    let mut command = careergraph();
    // As a server runs by default: the response cache on.
    command.env("CAREERGRAPH_RESPONSE_CACHE_MIB", "64");
    let (server, base) = crate::serve(command).await?;
    let pid = server.0.id();
    let minute = Arc::new(Minute::default());
    let client = Client { http: reqwest::Client::new(), graphql: format!("{base}/graphql"), minute: minute.clone() };
    let stop = Arc::new(AtomicBool::new(false));
    let viewer = Token::kept_for(&client, VIEWER_EMAIL, stop.clone()).await?;
    let editor = Token::kept_for(&client, EDITOR_EMAIL, stop.clone()).await?;
    let reads: Vec<(Value, bool)> = crate::rows()
        .into_iter()
        .filter(|row| {
            row.clients == 1 && ["Q1", "Q2", "Q3", "Q3v", "Q4"].iter().any(|name| row.name == format!("{name} c1"))
        })
        .map(|row| (row.body, row.signed_in))
        .collect();
    let mut tasks = Vec::new();
    for reader in 0..READERS {
        let (client, stop, reads, viewer) = (client.clone(), stop.clone(), reads.clone(), viewer.clone());
        tasks.push(tokio::spawn(async move {
            for turn in reader.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (body, signed_in) = &reads[turn % reads.len()];
                let token = signed_in.then(|| viewer.get());
                client.send(body, token.as_deref()).await;
            }
        }));
    }
    tasks.push(tokio::spawn(edit_and_publish(client.clone(), editor, stop.clone())));
    tasks.push(tokio::spawn(sessions(client.clone(), stop.clone())));
    tasks.push(tokio::spawn(subscribers(base.clone(), minute.clone(), stop.clone())));

    let admin = database.counted;
    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    println!("minute  requests   p99 ms  errors  RSS MiB  fds  db connections  events");
    for number in 1..=minutes {
        tokio::time::sleep_until((started + Duration::from_secs(60 * number)).into()).await;
        let (mut latencies, errors, events, first_error) = minute.take();
        latencies.sort_by(f64::total_cmp);
        let p99 = latencies.get(latencies.len().saturating_sub(1) * 99 / 100).copied().unwrap_or_default();
        let connections = match admin {
            Some((admin, name)) => Some(database_connections(admin, name).await?),
            None => None,
        };
        let sample = Sample {
            minute: number,
            requests: latencies.len(),
            p99,
            errors,
            rss: crate::rss_mib(pid)?,
            fds: std::fs::read_dir(format!("/proc/{pid}/fd"))?.count(),
            connections,
            events,
        };
        println!("{}", sample.line());
        if let Some(error) = first_error {
            eprintln!("  first error this minute: {}", error.chars().take(300).collect::<String>());
        }
        samples.push(sample);
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.abort();
    }
    drop(server);
    Ok(report(&samples, minutes, paths, database.url.is_some()))
}

/// One minute's figures.
struct Sample {
    minute: u64,
    requests: usize,
    p99: f64,
    errors: u64,
    rss: f64,
    fds: usize,
    connections: Option<i64>,
    events: u64,
}

impl Sample {
    fn cells(&self) -> [String; 8] {
        [
            self.minute.to_string(),
            self.requests.to_string(),
            format!("{:.1}", self.p99),
            self.errors.to_string(),
            format!("{:.1}", self.rss),
            self.fds.to_string(),
            self.connections.map_or_else(|| "-".to_owned(), |count| count.to_string()),
            self.events.to_string(),
        ]
    }

    fn line(&self) -> String {
        let [minute, requests, p99, errors, rss, fds, connections, events] = self.cells();
        format!("{minute:>6}  {requests:>8}  {p99:>7}  {errors:>6}  {rss:>7}  {fds:>3}  {connections:>14}  {events:>6}")
    }
}

/// The least-squares slope of `values` over `minutes`, per minute.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mean_x, mean_y) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let covariance: f64 = points.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    let variance: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    if variance == 0.0 { 0.0 } else { covariance / variance }
}

fn report(samples: &[Sample], minutes: u64, paths: u32, postgres: bool) -> String {
    // The first minute, while caches fill, is left out, unless it is all there is.
    let settled: Vec<&Sample> = match samples.len() {
        0 | 1 => samples.iter().collect(),
        _ => samples.iter().filter(|sample| sample.minute > 1).collect(),
    };
    let rss_slope = slope(&settled.iter().map(|s| (s.minute as f64, s.rss)).collect::<Vec<_>>());
    let fd_slope = slope(&settled.iter().map(|s| (s.minute as f64, s.fds as f64)).collect::<Vec<_>>());
    let rss_range =
        settled.iter().map(|s| s.rss).fold((f64::MAX, f64::MIN), |(lo, hi), rss| (lo.min(rss), hi.max(rss)));
    let errors: u64 = samples.iter().map(|s| s.errors).sum();
    let requests: usize = samples.iter().map(|s| s.requests).sum();
    println!(
        "RSS slope {rss_slope:+.3} MiB/min (minutes 2-{minutes}, {:.1}-{:.1} MiB), descriptors {fd_slope:+.3}/min; {errors} errors in {requests} requests",
        rss_range.0, rss_range.1
    );
    let mut text = format!(
        "## Soak (`--soak {minutes}`)\n\n\
         - date: {}\n- machine: {}\n- commit: {}\n\
         - data: {paths} synthetic career paths on {}; the server as it runs by default (response cache on)\n\
         - traffic, all at once for {minutes} minutes: {READERS} clients reading nonstop (Q1, Q2, Q3, Q3 as a viewer with \
         salary detail, Q4, in turn); an editor renaming a path every 200 ms and creating and publishing one every 10 s; \
         a session signing in, refreshing twice and signing out, over and over; {SUBSCRIBERS} WebSocket subscribers \
         of `careerPathPublished`, one replaced by a new connection every 5 s; the viewer and the editor sign in \
         again every 5 minutes, as clients renew their 15-minute access tokens\n\n\
         | minute | requests | p99 ms | errors | RSS MiB | open descriptors | database connections | events delivered |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        crate::machine(),
        crate::commit(),
        if postgres { "PostgreSQL" } else { "SQLite" },
    );
    for sample in samples {
        text.push_str(&format!("| {} |\n", sample.cells().join(" | ")));
    }
    text.push_str(&format!(
        "\nRSS over minutes 2–{minutes}: {:.1}–{:.1} MiB, slope **{rss_slope:+.3} MiB/min** (least squares; the first \
         minute, while caches fill, left out); open descriptors slope **{fd_slope:+.3}/min**; **{errors} errors** in \
         {requests} requests.\n",
        rss_range.0, rss_range.1
    ));
    text
}

async fn database_connections(admin: &careergraph_domain::Db, name: &str) -> anyhow::Result<i64> {
    let count = admin
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
            [name.into()],
        ))
        .await?
        .context("a count")?;
    Ok(count.try_get_by_index(0)?)
}

/// An editor renames one path every 200 ms and creates and publishes a new one every 10 s.
async fn edit_and_publish(client: Client, token: Token, stop: Arc<AtomicBool>) {
    let editor = token.get();
    let find = json!({ "query": "{ careerPath(slug: \"synthetic-path-00007\") { id version } }" });
    let Some(path) = client.send(&find, Some(&editor)).await else { return };
    let id = path["data"]["careerPath"]["id"].clone();
    let mut version = path["data"]["careerPath"]["version"].as_i64().unwrap_or(1);
    let mut last_publication = Instant::now();
    for turn in 0u64.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let editor = token.get();
        let rename = json!({ "query": "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { version } } }", "variables": { "id": id, "v": version, "t": format!("Soaked path {turn}") } });
        if let Some(answer) = client.send(&rename, Some(&editor)).await
            && let Some(next) = answer["data"]["updateCareerPath"]["careerPath"]["version"].as_i64()
        {
            version = next;
        }
        if last_publication.elapsed() >= Duration::from_secs(10) {
            last_publication = Instant::now();
            let create = json!({ "query": "mutation ($s: String!) { createCareerPath(input: { slug: $s, title: \"Soak\", summary: \"s.\", description: \"d.\", outlook: { demand: HIGH, summary: \"w.\" } }) { careerPath { id } } }", "variables": { "s": format!("soak-{turn}") } });
            if let Some(created) = client.send(&create, Some(&editor)).await {
                let publish = json!({ "query": "mutation ($id: ID!) { publishCareerPath(input: { id: $id, expectedVersion: 1 }) { careerPath { version } } }", "variables": { "id": created["data"]["createCareerPath"]["careerPath"]["id"] } });
                client.send(&publish, Some(&editor)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A session signs in, refreshes twice and signs out, over and over.
async fn sessions(client: Client, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let Some((_, mut refresh)) = client.login(VIEWER_EMAIL).await else { continue };
        for _ in 0..2 {
            let rotate = json!({ "query": "mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { refreshToken } }", "variables": { "t": refresh } });
            match client.send(&rotate, None).await {
                Some(answer) => {
                    refresh = answer["data"]["refreshSession"]["refreshToken"].as_str().unwrap_or_default().to_owned()
                }
                None => break,
            }
        }
        let logout = json!({ "query": "mutation ($t: String!) { logout(input: { refreshToken: $t }) { __typename } }", "variables": { "t": refresh } });
        client.send(&logout, None).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// [`SUBSCRIBERS`] subscribers of `careerPathPublished`; every 5 s the oldest is closed and a new
/// one connects, so connections come and go as they do in service.
async fn subscribers(base: String, minute: Arc<Minute>, stop: Arc<AtomicBool>) {
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { careerPathPublished { slug } }" } });
    let mut running: std::collections::VecDeque<tokio::task::JoinHandle<()>> = std::collections::VecDeque::new();
    while !stop.load(Ordering::Relaxed) {
        while running.len() < SUBSCRIBERS {
            let (base, minute, subscribe) = (base.clone(), minute.clone(), subscribe.clone());
            running.push_back(tokio::spawn(async move {
                let started = Instant::now();
                let mut socket = match crate::live::connect(&base).await {
                    Ok(socket) => socket,
                    Err(error) => return minute.answered(started.elapsed(), Err(error.to_string())),
                };
                if let Err(error) = socket.send(Message::text(subscribe.to_string())).await {
                    return minute.answered(started.elapsed(), Err(error.to_string()));
                }
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message
                        && text.contains("\"next\"")
                    {
                        minute.events.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        if let Some(oldest) = running.pop_front() {
            oldest.abort();
        }
    }
    for task in running {
        task.abort();
    }
}
