//! Two `careergraph serve` processes on one PostgreSQL database: what one commits, the other
//! serves within a second (its response cache let go by the change feed), tells its subscribers,
//! and still serves nothing older than the promise when its feed connection is killed.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::{FreshDatabase, careergraph_on, free_port, graphql, spawn_server_at};

const PASSWORD: &str = "violet staircase 42";
const TITLE: &str = "{ careerPath(slug: \"backend-developer\") { id version title } }";

fn admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty())
}

/// The `data` of an answer that must have no errors.
async fn ok(base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let (status, body) = graphql(base, token, query, variables).await;
    assert!(status == 200 && body.get("errors").is_none(), "{base}: {status} {body:#}");
    body["data"].clone()
}

/// Retitles the bundled path through `base`, as `editor`.
async fn retitle(base: &str, editor: &str, title: &str) {
    let path = ok(base, Some(editor), TITLE, json!({})).await["careerPath"].clone();
    let mutation = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { title } } }";
    ok(base, Some(editor), mutation, json!({ "id": path["id"], "v": path["version"], "t": title })).await;
}

/// How long until an anonymous reader of `base` sees `title`; panics past `limit`.
async fn seen_within(base: &str, title: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let data = ok(base, None, TITLE, json!({})).await;
        if data["careerPath"]["title"] == title {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{base} still answers {data} after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: two processes share PostgreSQL")]
async fn what_one_process_commits_the_other_serves_within_a_second_and_tells_its_subscribers() {
    let admin_url = admin_url().expect("TEST_DATABASE_URL");
    let database = FreshDatabase::create(&admin_url, "careergraph_live").await;
    let dir = tempfile::tempdir().expect("a directory");
    let key = dir.path().join("jwt-ed25519.pem");
    let cli = |args: &[&str], stdin: &str| careergraph_on(&database.url, &dir.path().join("cli"), args, stdin);
    cli(&["keygen", key.to_str().expect("a UTF-8 path")], "");
    cli(&["seed"], "");
    cli(
        &["user", "add", "--email", "editor@example.com", "--role", "editor", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let mut servers = Vec::new();
    for name in ["a", "b"] {
        let env = [
            ("CAREERGRAPH_DATABASE_URL", database.url.as_str()),
            ("CAREERGRAPH_JWT_KEY_FILE", key.to_str().expect("a UTF-8 path")),
            // The promise's bound, long enough that only the feed can explain a fresh answer.
            ("CAREERGRAPH_PUBLIC_MAX_AGE_SECS", "300"),
        ];
        servers.push(spawn_server_at(free_port(), &dir.path().join(name), &env, Stdio::null()).await);
    }
    let (a, b) = (servers[0].1.clone(), servers[1].1.clone());
    let login = "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }";
    let editor = ok(&a, None, login, json!({ "e": "editor@example.com", "p": PASSWORD })).await["login"]["accessToken"]
        .as_str()
        .expect("a token")
        .to_owned();

    // An editor follows changes on B.
    let url = format!("{}/graphql", b.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("a request");
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("a header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("B upgrades");
    let send = |message: Value| Message::text(message.to_string());
    socket.send(send(json!({ "type": "connection_init", "payload": { "token": editor } }))).await.expect("sent");
    let subscribe = "subscription { contentChanged(entity: CAREER_PATH) { kind action fields } }";
    socket
        .send(send(json!({ "id": "1", "type": "subscribe", "payload": { "query": subscribe } })))
        .await
        .expect("sent");

    // B keeps its anonymous answer; an edit through A replaces it within a second.
    assert_eq!(ok(&b, None, TITLE, json!({})).await["careerPath"]["title"], "Backend Developer");
    assert_eq!(ok(&b, None, TITLE, json!({})).await["careerPath"]["title"], "Backend Developer");
    retitle(&a, &editor, "Server Engineer").await;
    let took = seen_within(&b, "Server Engineer", Duration::from_secs(1)).await;
    eprintln!("B served A's edit after {took:?}");

    // B's subscriber heard of it.
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let Some(Ok(Message::Text(text))) = socket.next().await else { panic!("the socket closed") };
            let message: Value = serde_json::from_str(&text).expect("JSON");
            if message["type"] == "next" && message["payload"]["data"]["contentChanged"]["kind"] == "CHANGED" {
                return message;
            }
        }
    })
    .await
    .expect("an event within five seconds");
    assert_eq!(event["payload"]["data"]["contentChanged"]["action"], "update", "{event}");
    assert_eq!(event["payload"]["data"]["contentChanged"]["fields"], json!(["title"]), "{event}");

    // B's feed connection is killed; an edit made before it is back is not missed.
    let admin = sea_orm::Database::connect(&database.url).await.expect("the database");
    use sea_orm::ConnectionTrait;
    let killed = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        ))
        .await
        .expect("terminated");
    assert_eq!(killed.len(), 2, "both processes listen");
    retitle(&a, &editor, "Platform Engineer").await;
    let took = seen_within(&b, "Platform Engineer", Duration::from_secs(3)).await;
    eprintln!("B served A's edit made while its feed was down after {took:?}");
    // And it listens again: the next edit arrives as the first did.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ok(&b, None, TITLE, json!({})).await;
    retitle(&a, &editor, "Systems Engineer").await;
    seen_within(&b, "Systems Engineer", Duration::from_secs(1)).await;
}
