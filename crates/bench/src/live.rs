//! The rows of live updates: anonymous reads answered from the response cache, the cache while
//! an editor writes, the cache's memory when full, and subscriptions (idle connections' memory,
//! one edit's delivery to many subscribers).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::{
    Args, Database, EDITOR_EMAIL, PASSWORD, Q3, Row, TableRow, Target, finish_wrk, measure_row, peak_rss_mib,
    reset_peak_rss, rows, selected, serve, start_wrk,
};

/// The server's own counters, from its metrics listener.
async fn counter(client: &reqwest::Client, metrics: &str, name: &str) -> anyhow::Result<f64> {
    let text = client.get(metrics).send().await?.text().await?;
    Ok(text
        .lines()
        .filter(|line| line.starts_with(name) && !line.starts_with('#'))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// The cached rows and the subscription figures, on a server with the response cache on (as
/// `careergraph serve` starts by default); `careergraph` makes the command of the server the
/// uncached rows ran on, over the same data.
pub(crate) async fn measure(
    args: &Args,
    careergraph: impl Fn() -> Command,
    dir: &Path,
    database: &Database<'_>,
    ticks_per_second: f64,
) -> anyhow::Result<(Vec<TableRow>, Vec<String>)> {
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    let mut command = careergraph();
    command
        .env("CAREERGRAPH_RESPONSE_CACHE_MIB", "64")
        .env("CAREERGRAPH_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
        // The subscription figures open hundreds of connections from this one address.
        .env("CAREERGRAPH_WEBSOCKET_CONNECTIONS_PER_CLIENT", "1000");
    let (server, base) = serve(command).await?;
    let pid = server.0.id();
    let graphql = format!("{base}/graphql");
    let target = Target { graphql: &graphql, pid, database, ticks_per_second, dir };
    let client = reqwest::Client::new();
    let mut table = Vec::new();
    let mut notes = Vec::new();
    let all = rows();
    for name in ["Q0 c32", "Q1 c32", "Q2 c32", "Q3 c32"] {
        let row = all.iter().find(|row| row.name == name).context("a row")?;
        let cached = Row { name: format!("{} cached", &name[..2]), ..row.clone() };
        if selected(args, &cached.name) {
            table.push(measure_row(args, &cached, None, &target).await?);
        }
    }
    if selected(args, "Q3 cached + edits") {
        let row = all.iter().find(|row| row.name == "Q3 c32").context("Q3")?;
        table.push(edits_every_100_ms(args, row, &client, &graphql, &metrics, &target, &mut notes).await?);
    }
    if selected(args, "subscriptions") {
        subscriptions(&client, &base, pid, &mut notes).await?;
    }
    drop(server);
    if selected(args, "full cache") {
        notes.push(full_cache(careergraph, &client).await?);
    }
    Ok((table, notes))
}

/// Q3 at 32 clients on the cached server while an editor renames one of its paths every 100 ms
/// and checks, after each edit, that the next anonymous answer shows the new title.
async fn edits_every_100_ms(
    args: &Args,
    q3: &Row,
    client: &reqwest::Client,
    graphql: &str,
    metrics: &str,
    target: &Target<'_>,
    notes: &mut Vec<String>,
) -> anyhow::Result<TableRow> {
    let login = json!({ "query": "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }", "variables": { "e": EDITOR_EMAIL, "p": PASSWORD } });
    let answer: Value = client.post(graphql).json(&login).send().await?.json().await?;
    let editor = answer["data"]["login"]["accessToken"].as_str().context("the editor signs in")?.to_owned();
    let lookup = json!({ "query": "{ careerPath(slug: \"synthetic-path-00001\") { id version title } }" });
    let path: Value = client.post(graphql).json(&lookup).send().await?.json().await?;
    let id = path["data"]["careerPath"]["id"].as_str().context("the path to edit")?.to_owned();
    let mut version = path["data"]["careerPath"]["version"].as_i64().context("its version")?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (client, graphql, stop) = (client.clone(), graphql.to_owned(), stop.clone());
        tokio::spawn(async move {
            let update = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { version } } }";
            let (mut edits, mut stale) = (0_u64, 0_u64);
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                // Keeps its place in the first 20 by title, which Q3 shows.
                let title = format!("Path 00001 (synthetic) edit {edits}");
                let body = json!({ "query": update, "variables": { "id": id, "v": version, "t": title } });
                let answer: Value = client.post(&graphql).bearer_auth(&editor).json(&body).send().await?.json().await?;
                version = answer["data"]["updateCareerPath"]["careerPath"]["version"]
                    .as_i64()
                    .with_context(|| format!("the edit failed: {answer}"))?;
                edits += 1;
                let read = client.post(&graphql).json(&json!({ "query": Q3 })).send().await?.text().await?;
                if !read.contains(&format!("\"{title}\"")) {
                    stale += 1;
                }
            }
            anyhow::Ok((edits, stale))
        })
    };
    let hits = counter(client, metrics, "careergraph_response_cache_hits_total").await?;
    let misses = counter(client, metrics, "careergraph_response_cache_misses_total").await?;
    reset_peak_rss(target.pid)?;
    let cpu_before = crate::cpu_seconds(target.pid, target.ticks_per_second)?;
    let measured = finish_wrk(start_wrk(q3, None, graphql, args.seconds, &target.dir.join("row.lua"))?)?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (edits, stale) = writer.await??;
    let cpu = crate::cpu_seconds(target.pid, target.ticks_per_second)? - cpu_before;
    let hits = counter(client, metrics, "careergraph_response_cache_hits_total").await? - hits;
    let misses = counter(client, metrics, "careergraph_response_cache_misses_total").await? - misses;
    let hit_rate = hits / (hits + misses).max(1.0) * 100.0;
    let cpu_ms = cpu / (measured.requests + edits).max(1) as f64 * 1e3;
    let what = format!(
        "Q3 cached while an editor renames one of its paths every 100 ms ({edits} edits; hit rate {hit_rate:.1} %; answers after an edit without its title: {stale})"
    );
    notes.push(format!(
        "Q3 cached + edits: {edits} edits, each followed by an anonymous Q3 that had to show the new title: {stale} did not. Hit rate {hit_rate:.1} % ({hits:.0} hits, {misses:.0} misses)."
    ));
    anyhow::ensure!(stale == 0, "{stale} answers after an edit did not show it");
    let row = TableRow::alongside("Q3 cached + edits", what, measured, cpu_ms, peak_rss_mib(target.pid)?);
    println!("{}", row.line());
    Ok(row)
}

/// A graphql-transport-ws connection, initialised.
pub(crate) async fn connect(
    base: &str,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>> {
    let mut request = format!("{}/graphql", base.replacen("http://", "ws://", 1)).into_client_request()?;
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    socket.send(Message::text(json!({ "type": "connection_init" }).to_string())).await?;
    loop {
        let message = socket.next().await.context("the connection closed")??;
        if let Message::Text(text) = message
            && text.contains("connection_ack")
        {
            return Ok(socket);
        }
    }
}

/// 500 idle connections (the server's memory per connection), then one publication delivered to
/// 100 subscribers of `careerPathPublished` (the time from the mutation's answer to each event).
async fn subscriptions(client: &reqwest::Client, base: &str, pid: u32, notes: &mut Vec<String>) -> anyhow::Result<()> {
    const IDLE: usize = 500;
    const SUBSCRIBERS: usize = 100;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = crate::rss_mib(pid)?;
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(connect(base).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = crate::rss_mib(pid)?;
    let per_connection_kib = (after - before) * 1024.0 / IDLE as f64;
    println!("{IDLE} idle WebSocket connections: RSS {before:.1} -> {after:.1} MiB, {per_connection_kib:.1} KiB each");
    notes.push(format!(
        "{IDLE} idle WebSocket connections (initialised, graphql-transport-ws): server RSS {before:.1} → {after:.1} MiB, **{per_connection_kib:.1} KiB per connection**."
    ));

    let query = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { careerPathPublished { careerPathId slug } }" } });
    for socket in idle.iter_mut().take(SUBSCRIBERS) {
        socket.send(Message::text(query.to_string())).await?;
    }
    let (sender, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    for mut socket in idle.drain(..SUBSCRIBERS) {
        let sender = sender.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message
                    && text.contains("\"next\"")
                    && text.contains("bench-published")
                {
                    let _ = sender.send(Instant::now());
                }
            }
        });
    }
    drop(sender);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let graphql = format!("{base}/graphql");
    let login = json!({ "query": "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }", "variables": { "e": EDITOR_EMAIL, "p": PASSWORD } });
    let answer: Value = client.post(&graphql).json(&login).send().await?.json().await?;
    let editor = answer["data"]["login"]["accessToken"].as_str().context("the editor signs in")?.to_owned();
    let create = json!({ "query": "mutation { createCareerPath(input: { slug: \"bench-published\", title: \"Bench published\", summary: \"s.\", description: \"d.\", outlook: { demand: HIGH, summary: \"w.\" } }) { careerPath { id } } }" });
    let created: Value = client.post(&graphql).bearer_auth(&editor).json(&create).send().await?.json().await?;
    let id = created["data"]["createCareerPath"]["careerPath"]["id"].as_str().context("a draft")?.to_owned();
    let publish = json!({ "query": "mutation ($id: ID!) { publishCareerPath(input: { id: $id, expectedVersion: 1 }) { careerPath { version } } }", "variables": { "id": id } });
    let sent = Instant::now();
    let published: Value = client.post(&graphql).bearer_auth(&editor).json(&publish).send().await?.json().await?;
    anyhow::ensure!(published.get("errors").is_none(), "the publication failed: {published}");
    let mut delays = Vec::with_capacity(SUBSCRIBERS);
    while delays.len() < SUBSCRIBERS {
        let arrived = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
            .await
            .context("every subscriber hears of the publication within 10 s")?
            .context("a subscriber's connection ended")?;
        delays.push(arrived.duration_since(sent).as_secs_f64() * 1e3);
    }
    delays.sort_by(f64::total_cmp);
    let (p50, p99) = (delays[delays.len() / 2], delays[delays.len() * 99 / 100]);
    println!(
        "one publication to {SUBSCRIBERS} subscribers: p50 {p50:.1} ms, p99 {p99:.1} ms from the mutation's request"
    );
    notes.push(format!(
        "One publication delivered to {SUBSCRIBERS} subscribers of `careerPathPublished`: every one received it; from sending the mutation to each event, p50 **{p50:.1} ms**, p99 **{p99:.1} ms** (the mutation's own round trip included)."
    ));
    Ok(())
}

/// The server's peak RSS with its response cache full: a server with a 32 MiB cache, sent
/// distinct nested queries (Q3 with a comment that makes each one new) until the cache holds its
/// bound, then as many more.
async fn full_cache(careergraph: impl Fn() -> Command, client: &reqwest::Client) -> anyhow::Result<String> {
    const BOUND_MIB: u64 = 32;
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    let mut command = careergraph();
    command
        .env("CAREERGRAPH_RESPONSE_CACHE_MIB", BOUND_MIB.to_string())
        .env("CAREERGRAPH_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"));
    let (server, base) = serve(command).await?;
    let pid = server.0.id();
    let graphql = format!("{base}/graphql");
    let started = crate::rss_mib(pid)?;
    let mut sent = 0_u64;
    let mut full_at = None;
    while sent < 20_000 {
        let body = json!({ "query": format!("# {sent}\n{Q3}") });
        let answer = client.post(&graphql).json(&body).send().await?;
        anyhow::ensure!(answer.status().is_success(), "a query failed");
        answer.bytes().await?;
        sent += 1;
        if sent.is_multiple_of(100) {
            let bytes = counter(client, &metrics, "careergraph_response_cache_bytes").await?;
            if full_at.is_none() && bytes >= (BOUND_MIB * 1024 * 1024) as f64 * 0.95 {
                full_at = Some(sent);
            }
            if full_at.is_some_and(|full| sent >= full * 2) {
                break;
            }
        }
    }
    let bytes = counter(client, &metrics, "careergraph_response_cache_bytes").await? / 1024.0 / 1024.0;
    let evicted = counter(client, &metrics, "careergraph_response_cache_evictions_total").await?;
    let peak = peak_rss_mib(pid)?;
    drop(server);
    let line = format!(
        "Full cache: a server with `CAREERGRAPH_RESPONSE_CACHE_MIB={BOUND_MIB}` sent {sent} distinct Q3 queries (full after {}): the cache holds {bytes:.1} MiB, {evicted:.0} answers evicted for size; server RSS {started:.1} MiB at start, **peak {peak:.1} MiB** = bound + {:.1} MiB.",
        full_at.map_or_else(|| "never".to_owned(), |at| at.to_string()),
        peak - BOUND_MIB as f64,
    );
    println!("{line}");
    Ok(line)
}
