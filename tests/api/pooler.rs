//! Behind PgBouncer in transaction pooling mode (Debian's 1.18, which does not carry prepared
//! statements from one transaction to the next): more clients than PgBouncer has servers read,
//! edit, sign in and refresh at once without an error, and a PgBouncer restart costs coded,
//! retryable errors, then service resumes without restarting careergraph. The read, edit and
//! sign-in tests run through PgBouncer too (`on_every_backend!`).

use careergraph_auth::Role;
use careergraph_test_support::PgBouncer;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, PGBOUNCER_SERVERS, first_error_code, spawn_app_with};

/// Clients at once: many more than PgBouncer's servers.
const CLIENTS: usize = 24;
const _: () = assert!(CLIENTS > PGBOUNCER_SERVERS as usize * 4, "the clients outnumber PgBouncer's servers");

const NESTED: &str = "{ careerPaths(first: 5) { nodes { title skills { skill { name technologies { name } } } } } }";

fn no_errors(body: &Value, what: &str) {
    assert!(body.get("errors").is_none() && !body["data"].is_null(), "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pgbouncer_tests),
    ignore = "needs TEST_DATABASE_URL and pgbouncer (apt-get install pgbouncer; .ci/run does)"
)]
async fn more_clients_than_pgbouncer_servers_read_edit_and_sign_in_at_once() {
    // Every client signs up from the same address; the limit on sign-ups per address is not
    // what this test is about.
    let app = spawn_app_with(Backend::PgBouncer, |config| config.register_free_per_address = 1_000).await;
    let app = std::sync::Arc::new(app);
    let editor = app.token_for("editor@example.com", Role::Editor).await;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (app, editor) = (app.clone(), editor.clone());
            tokio::spawn(async move {
                // Each client its own account and its own skill, so that nothing refuses
                // another's change: every answer must be a success.
                let email = format!("client-{client}@example.com");
                let register = "mutation ($e: String!, $p: String!) { register(input: { email: $e, password: $p, displayName: \"Client\" }) { refreshToken } }";
                let registered = app.graphql(register, json!({ "e": email, "p": PASSWORD })).await;
                no_errors(&registered, "register");
                let mut refresh = registered["data"]["register"]["refreshToken"].as_str().expect("a token").to_owned();
                let create = "mutation ($s: String!) { createSkill(input: { slug: $s, name: $s, category: TECHNICAL, description: \"Pooled.\" }) { skill { id version } } }";
                let created = app.as_user(&editor, create, json!({ "s": format!("pooled-{client}") })).await;
                no_errors(&created, "createSkill");
                let id = created["data"]["createSkill"]["skill"]["id"].clone();
                let mut version = created["data"]["createSkill"]["skill"]["version"].as_i64().expect("a version");
                for round in 0..4 {
                    no_errors(&app.graphql(NESTED, json!({})).await, "the nested read");
                    let update = "mutation ($id: ID!, $v: Int!, $n: String!) { updateSkill(input: { id: $id, expectedVersion: $v, name: $n }) { skill { version } } }";
                    let name = format!("Pooled {client}.{round}");
                    let updated = app.as_user(&editor, update, json!({ "id": id, "v": version, "n": name })).await;
                    no_errors(&updated, "updateSkill");
                    version = updated["data"]["updateSkill"]["skill"]["version"].as_i64().expect("a version");
                    let rotate = "mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";
                    let rotated = app.graphql(rotate, json!({ "t": refresh })).await;
                    no_errors(&rotated, "refreshSession");
                    refresh = rotated["data"]["refreshSession"]["refreshToken"].as_str().expect("a token").to_owned();
                    let access = rotated["data"]["refreshSession"]["accessToken"].as_str().expect("a token");
                    let me = app.as_user(access, "{ me { email } }", json!({})).await;
                    assert_eq!(me["data"]["me"]["email"], email.as_str(), "{me}");
                }
                let read = app.graphql("query ($id: ID!) { node(id: $id) { ... on Skill { name version } } }", json!({ "id": id })).await;
                assert_eq!(read["data"]["node"]["name"], format!("Pooled {client}.3"), "{read}");
                assert_eq!(read["data"]["node"]["version"], 5, "{read}");
            })
        })
        .collect();
    for client in clients {
        client.await.expect("every client's requests succeeded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pgbouncer_tests),
    ignore = "needs TEST_DATABASE_URL and pgbouncer (apt-get install pgbouncer; .ci/run does)"
)]
async fn a_pgbouncer_restart_gets_coded_retryable_errors_then_service_resumes() {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let mut bouncer = PgBouncer::start(&admin_url, PGBOUNCER_SERVERS).await;
    let app = spawn_app_with(Backend::Postgres, |config| {
        let direct = config.database_url.clone().expect("a database URL");
        config.database_url = Some(bouncer.url_of(&direct));
        config.database_listen_url = Some(direct);
        config.db_acquire_timeout_secs = 2;
        config.response_cache_mib = 0;
    })
    .await;
    let query = r#"{ careerPath(slug: "backend-developer") { title } }"#;
    no_errors(&app.graphql(query, json!({})).await, "before the restart");

    bouncer.stop();
    let (status, body) = app.post_json(json!({ "query": query })).await;
    assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE", "{status} {body}");
    assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some(), "{body}");

    let _bouncer = PgBouncer::start_on(&admin_url, PGBOUNCER_SERVERS, bouncer.port()).await;
    assert!(app.answers_again(query).await, "service resumed without restarting careergraph");
    let editor = app.token_for("editor@example.com", Role::Editor).await;
    let create = "mutation { createSkill(input: { slug: \"after-restart\", name: \"After\", category: TECHNICAL, description: \"Made after PgBouncer came back.\" }) { skill { version } } }";
    let (status, _, body) = app.post_bearer(&editor, create, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    no_errors(&body, "a change after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pgbouncer_tests),
    ignore = "needs TEST_DATABASE_URL and pgbouncer (apt-get install pgbouncer; .ci/run does)"
)]
async fn behind_pgbouncer_the_change_feed_needs_a_direct_listen_url_that_hears_the_pool() {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let bouncer = PgBouncer::start(&admin_url, PGBOUNCER_SERVERS).await;
    let fresh = careergraph_test_support::FreshDatabase::create(&admin_url, "careergraph_test").await;
    let data = tempfile::tempdir().expect("a directory");
    let start = |listen_url: Option<String>| {
        let mut config = careergraph_gateway::Config::new(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            Some(bouncer.url_of(&fresh.url)),
            data.path().join("data"),
        );
        config.database_listen_url = listen_url;
        careergraph_gateway::Application::build(config)
    };
    // Only the pooler's URL: the feed's LISTEN has nowhere to go.
    let error = start(None).await.err().expect("the server refuses to start").to_string();
    assert!(error.contains("CAREERGRAPH_DATABASE_LISTEN_URL"), "{error}");
    // A listen URL that does not hear what the pool publishes (another database's): refused.
    let other = careergraph_test_support::FreshDatabase::create(&admin_url, "careergraph_test").await;
    let error = format!("{:#}", start(Some(other.url.clone())).await.err().expect("the server refuses to start"));
    assert!(error.contains("did not hear a test notification"), "{error}");
    // The direct URL: it starts.
    assert!(start(Some(fresh.url.clone())).await.is_ok(), "with a direct LISTEN URL the server starts");
}

crate::on_backends! {
    [postgres, pgbouncer]
    /// A direct connection keeps one plan per prepared statement (`plan_cache_mode`): left to
    /// choose, PostgreSQL planned a nested page's batch of ids and its page anew on every request,
    /// which cost more than running them. Behind PgBouncer nothing is set: statements are not
    /// kept there, and a pooler refuses startup options.
    async fn a_direct_connection_keeps_each_statements_plan_and_a_pooled_one_is_left_as_it_is(backend: Backend) {
        use sea_orm::ConnectionTrait as _;
        let app = crate::helpers::spawn_app(backend).await;
        no_errors(&app.graphql(NESTED, json!({})).await, "the nested read");
        let asked = sea_orm::Statement::from_string(
            app.db().get_database_backend(),
            "SELECT current_setting('plan_cache_mode')",
        );
        let row = app.db().query_one_raw(asked).await.expect("a setting").expect("a row");
        let mode: String = row.try_get_by_index(0).expect("text");
        let expected = if matches!(backend, crate::helpers::Backend::PgBouncer) { "auto" } else { "force_generic_plan" };
        assert_eq!(mode, expected);
    }
}
