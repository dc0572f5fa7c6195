//! A real streaming replica (`pg_basebackup -R`, a cluster of the test's own that applies the
//! primary's log only after a delay) behind `CAREERGRAPH_DATABASE_READ_URL`: queries read it
//! and see its lag, but a writer never reads older than their own last write, on the instance
//! that took it or another; past the lag bound, and while the replica is down, queries read the
//! primary, and they go back to the replica by themselves.

use std::time::{Duration, Instant};

use careergraph_auth::Role;
use careergraph_test_support::Standby;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, first_error_code, spawn_app, spawn_app_with};
use crate::metrics::{scrape, value};

const TITLE: &str = "query { careerPath(slug: \"backend-developer\") { id version title } }";
const RENAME: &str = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { title version } } }";
const READ_AFTER: &str = "careergraph-read-after";

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set")
}

/// A gateway whose primary is `primary`'s database, reading `standby`, signing with `primary`'s
/// key (so that tokens work on every instance), queries falling back to the primary past
/// `max_lag`.
async fn gateway(primary: &TestApp, standby: &Standby, max_lag: Duration) -> TestApp {
    let (url, key) = (primary.database_url.clone(), primary.data_dir.join("jwt-ed25519.pem"));
    let read_url = standby.url_of(&url);
    spawn_app_with(Backend::Postgres, move |config| {
        config.database_url = Some(url);
        config.database_read_url = Some(read_url);
        config.database_read_max_lag_ms = u64::try_from(max_lag.as_millis()).expect("a bound");
        config.jwt_key_file = Some(key);
        config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await
}

async fn readyz(app: &TestApp) -> (StatusCode, String) {
    let response = app.client.get(format!("{}/readyz", app.address)).send().await.expect("an answer");
    (response.status(), response.text().await.expect("text"))
}

/// Waits until `app`'s `/readyz` says `what` about the replica (within `within`); panics with
/// what it last said otherwise.
async fn until_ready_says(app: &TestApp, what: &str, within: Duration) {
    let start = Instant::now();
    loop {
        let (status, text) = readyz(app).await;
        if status == StatusCode::OK && text.contains(what) {
            return;
        }
        assert!(start.elapsed() < within, "/readyz never said {what:?} within {within:?}; it says {status} {text:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const SERVES: &str = "queries read it";

/// The title as a caller with `token` (anonymous without one), sending `read_after`, reads it.
async fn title(app: &TestApp, token: Option<&str>, read_after: Option<&str>) -> String {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(json!({ "query": TITLE }).to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(position) = read_after {
        request = request.header(READ_AFTER, position);
    }
    let body: Value = request.send().await.expect("an answer").json().await.expect("JSON");
    assert!(body.get("errors").is_none(), "a read: {body}");
    body["data"]["careerPath"]["title"].as_str().expect("a title").to_owned()
}

/// Renames the path as `token` on `app`; the response's `Careergraph-Read-After`.
async fn rename(app: &TestApp, token: &str, to: &str) -> String {
    let path = app.as_user(token, TITLE, json!({})).await;
    let path = &path["data"]["careerPath"];
    let (status, headers, body) =
        app.post_bearer(token, RENAME, json!({ "id": path["id"], "v": path["version"], "t": to })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["updateCareerPath"]["careerPath"]["title"], to, "renamed: {body}");
    let position = headers.get(READ_AFTER).expect("a write is answered with Careergraph-Read-After");
    position.to_str().expect("ASCII").to_owned()
}

/// The title as the standby itself holds it now.
async fn on_the_standby(standby: &Standby, primary: &TestApp) -> String {
    let db = sea_orm::Database::connect(standby.url_of(&primary.database_url)).await.expect("the standby");
    let sql = "SELECT title FROM career_path WHERE slug = 'backend-developer'";
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("a read");
    let title = row.expect("the path").try_get::<String>("", "title").expect("a title");
    db.close().await.ok();
    title
}

async fn routed(app: &TestApp, to: &str, reason: &str) -> f64 {
    value(&scrape(app).await, "careergraph_read_routes_total", &[("to", to), ("reason", reason)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(replica_tests),
    ignore = "needs TEST_DATABASE_URL and replication connections to its server (.ci/run allows them)"
)]
async fn a_lagging_replica_serves_queries_and_a_writer_reads_their_own_write_on_any_instance() {
    const DELAY: Duration = Duration::from_secs(5);
    // The primary's own server only owns the database and hands out tokens.
    let primary = spawn_app(Backend::Postgres).await;
    let editor = primary.token_for("writer@example.com", Role::Editor).await;
    let colleague = primary.token_for("colleague@example.com", Role::Editor).await;
    let standby = Standby::start(&admin_url(), DELAY).await;
    let first = gateway(&primary, &standby, Duration::from_secs(60)).await;
    let second = gateway(&primary, &standby, Duration::from_secs(60)).await;
    for app in [&first, &second] {
        until_ready_says(app, SERVES, Duration::from_secs(30)).await;
    }
    assert_eq!(title(&first, None, None).await, "Backend Developer");

    let position = rename(&first, &editor, "Backend Engineer").await;
    // Anyone else reads the replica, on either instance, and sees its lag.
    assert_eq!(title(&first, None, None).await, "Backend Developer", "an anonymous read of the replica");
    assert_eq!(title(&second, None, None).await, "Backend Developer", "an anonymous read of the replica");
    assert_eq!(title(&second, Some(&colleague), None).await, "Backend Developer", "another editor's read");
    // The writer reads their write at once: on the instance that took it, and on another with
    // the header sent back,
    assert_eq!(title(&first, Some(&editor), None).await, "Backend Engineer");
    assert_eq!(title(&second, Some(&editor), Some(&position)).await, "Backend Engineer");
    assert_eq!(title(&second, None, Some(&position)).await, "Backend Engineer", "the header alone is enough");
    // and on another without it once the change feed has told that instance who wrote.
    let start = Instant::now();
    while title(&second, Some(&editor), None).await != "Backend Engineer" {
        assert!(start.elapsed() < Duration::from_secs(2), "the feed told the second instance who wrote");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        on_the_standby(&standby, &primary).await,
        "Backend Developer",
        "the standby had not applied the write yet: the writer's reads came from the primary"
    );
    assert!(routed(&first, "replica", "fresh").await >= 2.0);
    assert!(routed(&first, "primary", "own_write").await >= 1.0);
    assert!(routed(&second, "primary", "own_write").await >= 3.0);

    // Once applied, everyone reads it from the replica (no stale answer was kept by the
    // response cache meanwhile), the writer included.
    let start = Instant::now();
    while title(&first, None, None).await != "Backend Engineer"
        || title(&second, None, None).await != "Backend Engineer"
    {
        assert!(start.elapsed() < DELAY + Duration::from_secs(10), "the replica applied the write");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(on_the_standby(&standby, &primary).await, "Backend Engineer");
    let start = Instant::now();
    loop {
        let fresh = routed(&first, "replica", "fresh").await;
        assert_eq!(title(&first, Some(&editor), None).await, "Backend Engineer");
        if routed(&first, "replica", "fresh").await == fresh + 1.0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "the writer reads the replica again once it has the write");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (status, text) = readyz(&first).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.starts_with("ready\nreplica: following, "), "{text}");
    let lag = value(&scrape(&first).await, "careergraph_replica_lag_seconds", &[]);
    assert!((0.0..=60.0).contains(&lag), "the lag is measured: {lag}");
    assert_eq!(value(&scrape(&first).await, "careergraph_replica_serving", &[]), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(replica_tests),
    ignore = "needs TEST_DATABASE_URL and replication connections to its server (.ci/run allows them)"
)]
async fn past_the_lag_bound_queries_read_the_primary_until_the_replica_catches_up() {
    let primary = spawn_app(Backend::Postgres).await;
    let editor = primary.token_for("writer@example.com", Role::Editor).await;
    let standby = Standby::start(&admin_url(), Duration::ZERO).await;
    let app = gateway(&primary, &standby, Duration::from_secs(1)).await;
    until_ready_says(&app, SERVES, Duration::from_secs(30)).await;

    // From now on the standby applies each commit 30 s after it was made.
    standby.set_apply_delay(Duration::from_secs(30));
    rename(&app, &editor, "Backend Engineer").await;
    until_ready_says(&app, "queries read the primary", Duration::from_secs(5)).await;
    let lagging = routed(&app, "primary", "lagging").await;
    assert_eq!(title(&app, None, None).await, "Backend Engineer", "past the bound, the primary answers");
    assert_eq!(routed(&app, "primary", "lagging").await, lagging + 1.0);
    assert_eq!(on_the_standby(&standby, &primary).await, "Backend Developer", "the standby is 30 s behind");
    assert_eq!(value(&scrape(&app).await, "careergraph_replica_serving", &[]), 0.0);
    assert!(value(&scrape(&app).await, "careergraph_replica_lag_seconds", &[]) > 1.0);

    // It catches up: queries read it again, without a restart.
    standby.set_apply_delay(Duration::ZERO);
    until_ready_says(&app, SERVES, Duration::from_secs(30)).await;
    let fresh = routed(&app, "replica", "fresh").await;
    assert_eq!(title(&app, None, None).await, "Backend Engineer");
    assert_eq!(routed(&app, "replica", "fresh").await, fresh + 1.0, "read from the replica again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(replica_tests),
    ignore = "needs TEST_DATABASE_URL and replication connections to its server (.ci/run allows them)"
)]
async fn a_stopped_replica_costs_at_most_retryable_errors_and_queries_come_back_to_it() {
    let primary = spawn_app(Backend::Postgres).await;
    let editor = primary.token_for("writer@example.com", Role::Editor).await;
    // A signed-in reader's answers are never kept in the response cache: each of their reads
    // goes to a database.
    let reader = primary.token_for("reader@example.com", Role::Viewer).await;
    let standby = Standby::start(&admin_url(), Duration::ZERO).await;
    let app = gateway(&primary, &standby, Duration::from_secs(5)).await;
    until_ready_says(&app, SERVES, Duration::from_secs(30)).await;
    assert_eq!(title(&app, Some(&reader), None).await, "Backend Developer");

    standby.stop();
    // The probe after the stop finds it unreachable at once (a pool would retry the refused
    // connection until its timeout, and the replica would look healthy for that long).
    until_ready_says(&app, "replica: unreachable", Duration::from_millis(500)).await;
    // Reads in flight as it stops may fail, with a code to retry on; within moments every read
    // is answered, from the primary.
    let start = Instant::now();
    let mut retryable = 0;
    loop {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&reader)
            .header("content-type", "application/json")
            .body(json!({ "query": TITLE }).to_string())
            .send()
            .await
            .expect("an answer");
        let retry_after = response.headers().get("retry-after").is_some();
        let body: Value = response.json().await.expect("JSON");
        if body.get("errors").is_none() {
            assert_eq!(body["data"]["careerPath"]["title"], "Backend Developer", "never a wrong answer");
            break;
        }
        assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
        assert!(retry_after, "a Retry-After with it");
        retryable += 1;
        assert!(start.elapsed() < Duration::from_secs(5), "reads went to the primary");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("{retryable} retryable errors while the replica stopped");
    let before = routed(&app, "primary", "unavailable").await;
    for _ in 0..5 {
        assert_eq!(title(&app, Some(&reader), None).await, "Backend Developer");
    }
    let (status, text) = readyz(&app).await;
    assert_eq!(status, StatusCode::OK, "still ready: the primary answers");
    assert!(text.contains("replica: unreachable"), "{text}");
    assert_eq!(routed(&app, "primary", "unavailable").await, before + 5.0, "read from the primary");
    // Writes never needed it.
    rename(&app, &editor, "Backend Engineer").await;
    assert_eq!(title(&app, Some(&reader), None).await, "Backend Engineer");

    standby.start_again().await;
    until_ready_says(&app, SERVES, Duration::from_secs(30)).await;
    // Back within the bound it may serve others the title from before the write, but never the
    // writer.
    assert_eq!(title(&app, Some(&editor), None).await, "Backend Engineer", "the writer reads their own write");
    let start = Instant::now();
    while on_the_standby(&standby, &primary).await != "Backend Engineer" {
        assert!(start.elapsed() < Duration::from_secs(30), "the replica caught up with the write made while down");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh = routed(&app, "replica", "fresh").await;
    assert_eq!(title(&app, Some(&reader), None).await, "Backend Engineer");
    assert_eq!(routed(&app, "replica", "fresh").await, fresh + 1.0, "read from the replica again");
}
