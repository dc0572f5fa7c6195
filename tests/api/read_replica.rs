//! `CAREERGRAPH_DATABASE_READ_URL`: queries read from the replica; mutations, and whatever a
//! request holding a mutation reads, use the primary. A SQLite database refuses a read URL.

use careergraph_auth::Role;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::prepared::{unguarded_executions, with_metrics};
use crate::{on_backends, on_both_backends};

const CREATE: &str =
    "mutation ($input: CreateCareerPathInput!) { createCareerPath(input: $input) { careerPath { id slug version } } }";
const BY_SLUG: &str = "query ($s: String!) { careerPath(slug: $s) { title } }";

/// A way into the primary's data that cannot write: the same database through a role that may
/// only `SELECT` (which careergraph sees as the primary server itself: never behind). The
/// streaming replica of `streaming_replica.rs` lags for real.
struct Replica {
    url: String,
    role: String,
}

impl Replica {
    async fn of(primary: &TestApp) -> Self {
        let role = format!("careergraph_reader_{}", uuid::Uuid::now_v7().simple());
        let mut url = url::Url::parse(&primary.database_url).expect("a URL");
        let database = url.path().trim_start_matches('/').to_owned();
        for statement in [
            format!("CREATE ROLE {role} LOGIN"),
            format!("GRANT CONNECT ON DATABASE {database} TO {role}"),
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"),
        ] {
            primary.db().execute_unprepared(&statement).await.expect("the read-only role is set up");
        }
        url.set_username(&role).expect("a user name");
        Self { url: url.to_string(), role }
    }

    async fn drop_role(self, primary: &TestApp) {
        let role = self.role;
        primary.db().execute_unprepared(&format!("DROP OWNED BY {role}")).await.expect("privileges revoked");
        primary.db().execute_unprepared(&format!("DROP ROLE {role}")).await.expect("the role is dropped");
    }
}

/// A server whose primary is `primary`'s database and whose read URL is `replica`, with its
/// metrics (to tell prepared runs).
async fn with_replica(backend: Backend, primary: &TestApp, replica: &Replica) -> TestApp {
    let (url, read_url) = (primary.database_url.clone(), replica.url.clone());
    spawn_app_with(backend, move |config| {
        config.database_url = Some(url);
        config.database_read_url = Some(read_url);
        with_metrics(config);
    })
    .await
}

fn no_errors(body: &Value, what: &str) {
    assert!(body.get("errors").is_none(), "{what}: {body:#}");
}

on_backends! {
    [postgres]
    async fn with_a_read_only_replica_reads_work_and_every_write_still_succeeds(backend: Backend) {
        let primary = spawn_app(backend).await;
        let replica = Replica::of(&primary).await;
        let app = with_replica(backend, &primary, &replica).await;

        let titles = app.query_ok("{ careerPaths(first: 5) { edges { node { title } } } }", json!({})).await;
        assert_eq!(titles["careerPaths"]["edges"][0]["node"]["title"], "Backend Developer");

        // Every kind of write: accounts, sessions, editing, deleting, and a batch.
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let session = app.query_ok("mutation ($p: String!) { login(input: { email: \"editor@example.com\", password: $p }) { refreshToken } }", json!({ "p": PASSWORD })).await;
        let refresh = session["login"]["refreshToken"].as_str().expect("a refresh token");
        let rotated = app.query_ok("mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { refreshToken } }", json!({ "t": refresh })).await;
        let rotated = rotated["refreshSession"]["refreshToken"].as_str().expect("a rotated token");
        app.query_ok("mutation ($t: String!) { logout(input: { refreshToken: $t }) { loggedOut } }", json!({ "t": rotated })).await;
        let created = app.as_user(&editor, CREATE, json!({ "input": { "slug": "data-engineer", "title": "Data Engineer", "summary": "Builds pipelines.", "description": "Moves data.", "outlook": { "demand": "HIGH", "summary": "Wanted." } } })).await;
        no_errors(&created, "create");
        let path = &created["data"]["createCareerPath"]["careerPath"];
        assert_eq!(path["slug"], "data-engineer", "the mutation's answer reads its own write");
        let (id, version) = (path["id"].clone(), path["version"].clone());
        let renamed = app.as_user(&editor, "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Data Platform Engineer\" }) { careerPath { title version } } }", json!({ "id": id, "v": version })).await;
        no_errors(&renamed, "update");
        assert_eq!(renamed["data"]["updateCareerPath"]["careerPath"]["title"], "Data Platform Engineer");
        let version = renamed["data"]["updateCareerPath"]["careerPath"]["version"].clone();
        // The operations of a batch run side by side; its query finds the path on the primary.
        let batch = json!([
            { "query": "mutation ($id: ID!, $v: Int!) { publishCareerPath(input: { id: $id, expectedVersion: $v }) { careerPath { version } } }", "variables": { "id": id, "v": version } },
            { "query": "query ($s: String!) { careerPath(slug: $s) { slug } }", "variables": { "s": "data-engineer" } },
        ]);
        let response = app.client.post(format!("{}/graphql", app.address)).header("content-type", "application/json").bearer_auth(&editor).body(batch.to_string()).send().await.expect("an answer");
        let answers: Value = response.json().await.expect("JSON");
        no_errors(&answers[0], "a mutation in a batch");
        no_errors(&answers[1], "a query in a batch that writes");
        assert_eq!(answers[1]["data"]["careerPath"]["slug"], "data-engineer", "a batch that writes reads from the primary");
        let version = answers[0]["data"]["publishCareerPath"]["careerPath"]["version"].clone();
        let deleted = app.as_user(&editor, "mutation ($id: ID!, $v: Int!) { deleteCareerPath(input: { id: $id, expectedVersion: $v }) { deletedId } }", json!({ "id": id, "v": version })).await;
        no_errors(&deleted, "delete");
        let changed = app.as_user(&editor, "mutation ($p: String!) { changePassword(input: { currentPassword: $p, newPassword: \"amber lighthouse 77\" }) { accessToken } }", json!({ "p": PASSWORD })).await;
        no_errors(&changed, "changePassword");

        // The primary holds every write.
        let kept = primary.query_ok("{ careerPaths(first: 5) { totalCount } }", json!({})).await;
        assert_eq!(kept["careerPaths"]["totalCount"], 1, "created and deleted on the primary");
        replica.drop_role(&primary).await;
    }

    async fn queries_read_from_the_replica_and_mutations_from_the_primary(backend: Backend) {
        let primary = spawn_app(backend).await;
        let replica = Replica::of(&primary).await;
        let app = with_replica(backend, &primary, &replica).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let created = app.as_user(&editor, CREATE, json!({ "input": { "slug": "site-reliability-engineer", "title": "Site Reliability Engineer", "summary": "Keeps it up.", "description": "Runs production.", "outlook": { "demand": "HIGH", "summary": "Wanted." } } })).await;
        no_errors(&created, "create");
        // The second run is prepared, and is known to be a query without parsing it.
        for (unguarded_after, run) in [(0.0, "first"), (1.0, "prepared")] {
            let read = app.as_user(&editor, BY_SLUG, json!({ "s": "site-reliability-engineer" })).await;
            no_errors(&read, "a query");
            assert_eq!(unguarded_executions(&app).await, unguarded_after, "after the {run} run");
        }
        // Take the replica's right to read career paths: queries fail, first or prepared, and
        // mutations do not.
        let role = &replica.role;
        primary.db().execute_unprepared(&format!("REVOKE SELECT ON career_path FROM {role}")).await.expect("revoked");
        for run in ["first", "prepared"] {
            let read = app.as_user(&editor, BY_SLUG, json!({ "s": "site-reliability-engineer" })).await;
            assert!(read.get("errors").is_some(), "the {run} run read the replica, which may no longer: {read}");
        }
        let id = created["data"]["createCareerPath"]["careerPath"]["id"].clone();
        let version = created["data"]["createCareerPath"]["careerPath"]["version"].clone();
        let renamed = app.as_user(&editor, "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"SRE\" }) { careerPath { title } } }", json!({ "id": id, "v": version })).await;
        no_errors(&renamed, "a mutation reads the primary");
        assert_eq!(renamed["data"]["updateCareerPath"]["careerPath"]["title"], "SRE");
        replica.drop_role(&primary).await;
    }
}

#[tokio::test]
async fn a_sqlite_database_refuses_a_read_url() {
    let data = tempfile::tempdir().expect("a data directory");
    let mut config =
        careergraph_gateway::Config::new("127.0.0.1:0".parse().expect("an address"), None, data.path().join("data"));
    config.database_read_url = Some(format!("sqlite://{}/copy.db?mode=ro", data.path().display()));
    let refused = careergraph_gateway::Application::build(config).await.err().expect("the server refuses to start");
    let message = format!("{refused:#}");
    assert!(message.contains("CAREERGRAPH_DATABASE_READ_URL must be a PostgreSQL streaming replica"), "{message}");
    assert!(!data.path().join("data").exists(), "refused before anything was written");
}

on_both_backends! {
    async fn a_read_after_header_that_is_not_a_wal_position_is_refused(backend: Backend) {
        let app = spawn_app(backend).await;
        for bad in ["yesterday", "0/", "1/2/3", "0/1 extra", "+1/2"] {
            for get in [false, true] {
                let request = match get {
                    true => app.client.get(format!("{}/graphql?query=%7B__typename%7D", app.address)),
                    false => app
                        .client
                        .post(format!("{}/graphql", app.address))
                        .header("content-type", "application/json")
                        .body(json!({ "query": "{ __typename }" }).to_string()),
                };
                let response = request.header("careergraph-read-after", bad).send().await.expect("an answer");
                assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST, "{bad:?}");
                let body: Value = response.json().await.expect("JSON");
                assert_eq!(crate::helpers::first_error_code(&body), "BAD_USER_INPUT", "{bad:?}: {body}");
            }
        }
        // A well-formed one is accepted, and without a replica a write is answered without one.
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let (status, headers, body) = app.post_bearer(&editor, CREATE, json!({ "input": { "slug": "qa-engineer", "title": "QA Engineer", "summary": "Tests.", "description": "Finds bugs.", "outlook": { "demand": "HIGH", "summary": "Wanted." } } })).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        no_errors(&body, "create");
        assert!(headers.get("careergraph-read-after").is_none(), "no replica, nothing to wait for");
        let response = app.client.get(format!("{}/graphql?query=%7B__typename%7D", app.address)).header("careergraph-read-after", "16/B374D848").send().await.expect("an answer");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
}

on_backends! {
    [postgres]
    async fn a_write_is_answered_with_the_position_to_read_after(backend: Backend) {
        let primary = spawn_app(backend).await;
        let replica = Replica::of(&primary).await;
        let app = with_replica(backend, &primary, &replica).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let (_, headers, body) = app.post_bearer(&editor, CREATE, json!({ "input": { "slug": "qa-engineer", "title": "QA Engineer", "summary": "Tests.", "description": "Finds bugs.", "outlook": { "demand": "HIGH", "summary": "Wanted." } } })).await;
        no_errors(&body, "create");
        let position = headers.get("careergraph-read-after").expect("the position after the write").to_str().expect("ASCII").to_owned();
        assert!(position.contains('/'), "{position}");
        let read = app.client.post(format!("{}/graphql", app.address)).header("content-type", "application/json").header("careergraph-read-after", &position).bearer_auth(&editor).body(json!({ "query": BY_SLUG, "variables": { "s": "qa-engineer" } }).to_string()).send().await.expect("an answer");
        let vary = read.headers().get("vary").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert!(vary.contains("Careergraph-Read-After"), "a shared cache keys on it: {vary}");
        let read: Value = read.json().await.expect("JSON");
        assert_eq!(read["data"]["careerPath"]["title"], "QA Engineer");
        replica.drop_role(&primary).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn a_read_url_that_is_not_a_replica_of_the_database_stops_the_server_at_start() {
    let primary = spawn_app(Backend::Postgres).await;
    let data = tempfile::tempdir().expect("a data directory");
    let mut config = careergraph_gateway::Config::new(
        "127.0.0.1:0".parse().expect("an address"),
        Some(primary.database_url.clone()),
        data.path().join("data"),
    );
    // Another database of the same server: it answers, but holds other rows.
    let other = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let other_name = url::Url::parse(&other).expect("a URL").path().trim_start_matches('/').to_owned();
    config.database_read_url = Some(other);
    let refused = careergraph_gateway::Application::build(config).await.err().expect("the server refuses to start");
    let message = format!("{refused:#}");
    assert!(message.contains("is not a streaming replica of the database URL's server"), "{message}");
    assert!(message.contains(&format!("it serves database {other_name},")), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn a_read_url_nothing_answers_at_start_leaves_queries_on_the_primary() {
    let primary = spawn_app(Backend::Postgres).await;
    let mut read_url = url::Url::parse(&primary.database_url).expect("a URL");
    read_url.set_port(Some(careergraph_test_support::free_port())).expect("a port");
    let (url, read_url) = (primary.database_url.clone(), read_url.to_string());
    let app = spawn_app_with(Backend::Postgres, move |config| {
        config.database_url = Some(url);
        config.database_read_url = Some(read_url);
    })
    .await;
    let response = app.client.get(format!("{}/readyz", app.address)).send().await.expect("an answer");
    assert_eq!(response.status(), reqwest::StatusCode::OK, "ready: the primary answers");
    let text = response.text().await.expect("text");
    assert!(text.contains("replica: unreachable"), "{text}");
    // Known from the one refused attempt, not from a pool that retried it until its timeout.
    assert!(text.contains("Connection refused"), "{text}");
    let body = app.graphql(BY_SLUG, json!({ "s": "backend-developer" })).await;
    assert_eq!(body["data"]["careerPath"]["title"], "Backend Developer", "{body}");
}
