//! `CAREERGRAPH_DATABASE_READ_URL`: queries read from the replica; mutations, and whatever a
//! request holding a mutation reads, use the primary.

use careergraph_auth::Role;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::on_both_backends;
use crate::prepared::{unguarded_executions, with_metrics};

const CREATE: &str =
    "mutation ($input: CreateCareerPathInput!) { createCareerPath(input: $input) { careerPath { id slug version } } }";
const BY_SLUG: &str = "query ($s: String!) { careerPath(slug: $s) { title } }";

/// A way into the primary's data that cannot write: on PostgreSQL the same database through a
/// role that may only `SELECT`; on SQLite a snapshot of the file, opened read-only (so it also
/// shows which reads went where: the snapshot never sees later writes).
struct Replica {
    url: String,
    /// PostgreSQL: the role, dropped at the end.
    role: Option<String>,
    _snapshot: Option<tempfile::TempDir>,
}

impl Replica {
    async fn of(primary: &TestApp, backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a directory for the snapshot");
                let path = dir.path().join("replica.db");
                let statement = format!("VACUUM INTO '{}'", path.display());
                primary.db().execute_unprepared(&statement).await.expect("a snapshot of the database");
                Self { url: format!("sqlite://{}?mode=ro", path.display()), role: None, _snapshot: Some(dir) }
            }
            Backend::Postgres | Backend::PgBouncer => {
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
                Self { url: url.to_string(), role: Some(role), _snapshot: None }
            }
        }
    }

    async fn drop_role(self, primary: &TestApp) {
        if let Some(role) = self.role {
            primary.db().execute_unprepared(&format!("DROP OWNED BY {role}")).await.expect("privileges revoked");
            primary.db().execute_unprepared(&format!("DROP ROLE {role}")).await.expect("the role is dropped");
        }
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

on_both_backends! {
    async fn with_a_read_only_replica_reads_work_and_every_write_still_succeeds(backend: Backend) {
        let primary = spawn_app(backend).await;
        let replica = Replica::of(&primary, backend).await;
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
        // The operations of a batch run side by side; its query finds the path on the primary
        // (the SQLite replica, a snapshot taken before, has never seen it).
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
        let replica = Replica::of(&primary, backend).await;
        let app = with_replica(backend, &primary, &replica).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let created = app.as_user(&editor, CREATE, json!({ "input": { "slug": "site-reliability-engineer", "title": "Site Reliability Engineer", "summary": "Keeps it up.", "description": "Runs production.", "outlook": { "demand": "HIGH", "summary": "Wanted." } } })).await;
        no_errors(&created, "create");
        match backend {
            // The snapshot never sees the new path: a query that finds nothing read the replica.
            // The second run is prepared, and is known to be a query without parsing it.
            Backend::Sqlite => {
                for (unguarded_after, run) in [(0.0, "first"), (1.0, "prepared")] {
                    let read = app.as_user(&editor, BY_SLUG, json!({ "s": "site-reliability-engineer" })).await;
                    no_errors(&read, "a query");
                    assert_eq!(read["data"]["careerPath"], Value::Null, "the {run} run read the replica: {read}");
                    assert_eq!(unguarded_executions(&app).await, unguarded_after, "after the {run} run");
                }
            }
            // Take the replica's right to read career paths: queries fail, mutations do not.
            Backend::Postgres | Backend::PgBouncer => {
                let role = replica.role.as_deref().expect("a role");
                primary.db().execute_unprepared(&format!("REVOKE SELECT ON career_path FROM {role}")).await.expect("revoked");
                let read = app.as_user(&editor, BY_SLUG, json!({ "s": "site-reliability-engineer" })).await;
                assert!(read.get("errors").is_some(), "the query read the replica, which may no longer: {read}");
            }
        }
        let id = created["data"]["createCareerPath"]["careerPath"]["id"].clone();
        let version = created["data"]["createCareerPath"]["careerPath"]["version"].clone();
        let renamed = app.as_user(&editor, "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"SRE\" }) { careerPath { title } } }", json!({ "id": id, "v": version })).await;
        no_errors(&renamed, "a mutation reads the primary");
        assert_eq!(renamed["data"]["updateCareerPath"]["careerPath"]["title"], "SRE");
        replica.drop_role(&primary).await;
    }
}
