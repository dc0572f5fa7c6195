//! When the database goes away: `/readyz` says so, requests fail fast with a coded error that
//! says to retry (not a hang, not a masked 500, and never a signed-in client told its token is
//! invalid), and service resumes by itself when the database returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use careergraph_auth::Role;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::helpers::{Backend, first_error_code, spawn_app_with};

/// A TCP relay to PostgreSQL that the test can cut and restore.
struct Relay {
    port: u16,
    open: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn to(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a relay port");
        let port = listener.local_addr().expect("an address").port();
        let (open, pipes) = (Arc::new(AtomicBool::new(true)), Arc::new(Mutex::new(Vec::new())));
        let (accepting, piping) = (open.clone(), pipes.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused as good as at once
                }
                piping.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self { port, open, pipes }
    }

    /// Cuts every connection through the relay and refuses new ones.
    async fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for pipe in self.pipes.lock().await.drain(..) {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// An editor's rename of the bundled career path that will wait for the row, which the test holds
/// locked over a connection of its own until it commits `lock`.
struct RenameBlockedByALock {
    editor: String,
    own: careergraph_domain::Db,
    lock: sea_orm::DatabaseTransaction,
    rename: serde_json::Value,
}

async fn rename_blocked_by_a_lock(app: &crate::helpers::TestApp) -> RenameBlockedByALock {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let editor = app.token_for("editor@example.com", Role::Editor).await;
    let path =
        app.query_ok("{ careerPath(slug: \"backend-developer\") { id version } }", json!({})).await["careerPath"]
            .clone();
    let own = careergraph_domain::connect(&app.database_url).await.expect("the test's own connection");
    let lock = own.begin().await.expect("a transaction");
    lock.execute_unprepared("SELECT id FROM career_path WHERE slug = 'backend-developer' FOR UPDATE")
        .await
        .expect("the lock");
    let query = "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Backend Engineer\" }) { careerPath { title } } }";
    let rename = json!({ "query": query, "variables": { "id": path["id"], "v": path["version"] } });
    RenameBlockedByALock { editor, own, lock, rename }
}

/// What a request answered; a hang fails the test (how fast is the benchmark's business, not a
/// test's).
fn answered<T>(what: &str, result: Result<T, tokio::time::error::Elapsed>) -> T {
    result.unwrap_or_else(|_| panic!("{what} did not answer within 15 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn a_database_outage_answers_fast_coded_errors_then_service_resumes() {
    let admin = url::Url::parse(&std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL")).expect("a URL");
    let target = format!("{}:{}", admin.host_str().unwrap_or("127.0.0.1"), admin.port().unwrap_or(5432));
    let target: SocketAddr =
        tokio::net::lookup_host(target).await.expect("the database host").next().expect("an address");
    let relay = Relay::to(target).await;
    let app = spawn_app_with(Backend::Postgres, |config| {
        let mut url = url::Url::parse(config.database_url.as_deref().expect("a database URL")).expect("a URL");
        url.set_port(Some(relay.port)).expect("a port");
        config.database_url = Some(url.to_string());
        config.db_acquire_timeout_secs = 2;
        // Every token is checked against the database, so the outage reaches that path too.
        config.user_cache_secs = 0;
        // And every query: an answer kept in memory would be served through the outage.
        config.response_cache_mib = 0;
    })
    .await;
    let token = app.token_for("viewer@example.com", Role::Viewer).await;
    assert_eq!(app.post_bearer(&token, "{ me { id } }", json!({})).await.0, StatusCode::OK, "the token works");
    let query = "{ careerPath(slug: \"backend-developer\") { title } }";
    assert!(app.graphql(query, json!({})).await.get("errors").is_none());

    relay.cut().await;
    let body = answered("a query", tokio::time::timeout(Duration::from_secs(15), app.graphql(query, json!({}))).await);
    assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
    assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some(), "{body}");
    let ready = app.client.get(format!("{}/readyz", app.address)).send();
    let ready = answered("/readyz", tokio::time::timeout(Duration::from_secs(15), ready).await).expect("answer");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let signed_in =
        tokio::time::timeout(Duration::from_secs(15), app.post_bearer(&token, "{ me { id } }", json!({}))).await;
    let (status, _, body) = answered("a signed-in request", signed_in);
    assert_ne!(status, StatusCode::UNAUTHORIZED, "an outage must not tell a client its token is invalid: {body}");
    assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{body}");

    relay.restore();
    assert!(app.answers_again(query).await, "service resumed without a restart");
    let (status, headers, body) = app.post_bearer(&token, "{ me { id } }", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{headers:?} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn an_exhausted_pool_answers_service_unavailable_after_a_bounded_wait() {
    let app = spawn_app_with(Backend::Postgres, |config| {
        config.db_max_connections = Some(1);
        config.db_acquire_timeout_secs = 1;
    })
    .await;
    // The mutation takes the server's only connection and waits for the row.
    let RenameBlockedByALock { editor, own: _own, lock, rename } = rename_blocked_by_a_lock(&app).await;
    let waiting = {
        let (client, address, editor) = (app.client.clone(), app.address.clone(), editor.clone());
        let body = rename.to_string();
        tokio::spawn(async move {
            let response = client
                .post(format!("{address}/graphql"))
                .header("content-type", "application/json")
                .bearer_auth(editor)
                .body(body)
                .send()
                .await;
            response.expect("an answer").json::<serde_json::Value>().await.expect("JSON")
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let body = answered(
        "a query",
        tokio::time::timeout(Duration::from_secs(15), app.graphql("{ industries { name } }", json!({}))).await,
    );
    assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
    lock.commit().await.expect("the lock is released");
    let renamed = waiting.await.expect("the mutation finished");
    assert_eq!(renamed["data"]["updateCareerPath"]["careerPath"]["title"], "Backend Engineer", "{renamed}");
    assert!(app.graphql("{ industries { name } }", json!({})).await.get("errors").is_none(), "the pool is free again");
}

/// A client that gives up while its mutation is half done must not leave it half done: the
/// operation runs to its end on a task of its own. A dropped operation is also how sqlx 0.9 leaves
/// a pooled connection inside a transaction for the next request (a cancelled `BEGIN`), so no
/// connection may be left "idle in transaction" afterwards either. An operation whose client
/// went away while it still waited for an execution slot has done nothing, and never starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn a_mutation_whose_client_gives_up_still_finishes_and_leaves_no_transaction_open() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app_with(Backend::Postgres, |config| config.max_concurrent_operations = Some(1)).await;
    // The mutation waits for the row inside its transaction.
    let RenameBlockedByALock { editor, own, lock, rename } = rename_blocked_by_a_lock(&app).await;
    let give_up_on = |body: String| {
        app.client
            .post(format!("{}/graphql", app.address))
            .header("content-type", "application/json")
            .bearer_auth(&editor)
            .body(body)
            .timeout(Duration::from_millis(500))
            .send()
    };
    let gave_up = give_up_on(rename.to_string()).await;
    assert!(gave_up.is_err(), "the client gave up before the answer: {gave_up:?}");
    // The only slot is taken by the rename: this one waits for it, and its client goes too.
    let create =
        "mutation { createIndustry(input: { slug: \"never-started\", name: \"Never started\" }) { industry { id } } }";
    let gave_up = give_up_on(json!({ "query": create }).to_string()).await;
    assert!(gave_up.is_err(), "the client gave up before the answer: {gave_up:?}");
    // Let the server notice the closed connections before the row is free.
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.commit().await.expect("the lock is released");

    let query = |sql: &'static str| {
        let own = &own;
        async move {
            let statement = sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql);
            own.query_one_raw(statement).await.expect("a query").expect("a row")
        }
    };
    let mut renamed = false;
    for _ in 0..50 {
        let row = query("SELECT title FROM career_path WHERE slug = 'backend-developer'").await;
        if row.try_get_by_index::<String>(0).expect("a title") == "Backend Engineer" {
            renamed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(renamed, "the mutation finished although its client had gone");
    let created = query("SELECT count(*) FROM industry WHERE slug = 'never-started'").await;
    assert_eq!(created.try_get_by_index::<i64>(0).expect("a count"), 0, "the waiting operation never started");
    let open = query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .await;
    assert_eq!(open.try_get_by_index::<i64>(0).expect("a count"), 0, "no connection is left inside a transaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn connections_the_database_ends_cost_at_most_retryable_errors() {
    // What a restart of PostgreSQL (or of a replica) does to the connections a server holds:
    // each is ended with `57P01 terminating connection due to administrator command`.
    let app = spawn_app_with(Backend::Postgres, |config| config.response_cache_mib = 0).await;
    let query = "{ careerPaths(first: 3) { nodes { title skills { skill { name } } } } }";
    let reads_at_once = || futures::future::join_all((0..16).map(|_| app.graphql(query, json!({}))));
    reads_at_once().await;
    let end_them = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                    WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let ended = app.db().execute_unprepared(end_them).await.expect("connections ended");
    assert!(ended.rows_affected() >= 1, "the server's connections were ended");
    let mut retryable = 0;
    for body in reads_at_once().await {
        if body.get("errors").is_some() {
            assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "never a masked 500: {body}");
            assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some(), "{body}");
            retryable += 1;
        }
    }
    eprintln!("{retryable} of 16 reads answered SERVICE_UNAVAILABLE");
    assert!(app.answers_again(query).await, "service resumed without a restart");
}
