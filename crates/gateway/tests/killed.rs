//! Killed at any moment, nothing half done: a server `kill -9`ed twenty times while editors'
//! changes are in flight, and an import killed midway, leave a database in which every change
//! is whole: each row's version counts its audit events, no link points at a missing row, and a
//! SQLite file passes SQLite's own checks.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use careergraph_domain::Db;
use careergraph_domain::entities::{audit_event, career_path, career_path_skill, skill};
use sea_orm::{AccessMode, ConnectionTrait, Database, EntityTrait, IsolationLevel, Statement, TransactionTrait};
use serde_json::{Value, json};

use common::{FreshDatabase, careergraph_on, login, ok, spawn_server, try_graphql};

const PASSWORD: &str = "violet staircase 42";
const EDITOR: &str = "editor@example.com";
const KILLS: u32 = 20;

/// Where a server keeps its data, and the database it serves.
struct Site {
    dir: tempfile::TempDir,
    url: String,
}

impl Site {
    fn new(url: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("a directory");
        let url = url.map_or_else(
            || format!("sqlite://{}?mode=rwc", dir.path().join("careergraph.db").display()),
            str::to_owned,
        );
        careergraph_on(&url, dir.path(), &["seed"], "");
        let add = ["user", "add", "--email", EDITOR, "--role", "editor", "--password-stdin"];
        careergraph_on(&url, dir.path(), &add, &format!("{PASSWORD}\n"));
        Self { dir, url }
    }

    async fn serve(&self) -> (common::Server, String) {
        spawn_server(self.dir.path(), &[("CAREERGRAPH_DATABASE_URL", &self.url)], Stdio::null()).await
    }

    async fn open(&self) -> Db {
        Db::direct(Database::connect(&self.url).await.expect("the database opens"))
    }

    /// Returns once another process has held a write transaction open for a while: on
    /// PostgreSQL one seen in `pg_stat_activity` for 200 ms, on SQLite the write lock found taken
    /// twice, 100 ms apart.
    async fn wait_until_a_transaction_writes(&self) {
        let mut options = sea_orm::ConnectOptions::new(self.url.clone());
        options.max_connections(1).sqlx_logging(false);
        let probe = Database::connect(options).await.expect("the database opens");
        let backend = probe.get_database_backend();
        let run = |sql: &'static str| probe.execute_raw(Statement::from_string(backend, sql));
        let mut seen = 0;
        for _ in 0..1200 {
            let writing = if backend == sea_orm::DatabaseBackend::Postgres {
                let open = "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
                            AND xact_start < now() - interval '200 milliseconds'";
                probe.query_one_raw(Statement::from_string(backend, open)).await.expect("the activity").is_some()
            } else {
                run("PRAGMA busy_timeout = 0").await.expect("the pragma");
                let locked = run("BEGIN IMMEDIATE").await.is_err();
                if !locked {
                    run("ROLLBACK").await.expect("the probe's rollback");
                }
                locked
            };
            seen = if writing { seen + 1 } else { 0 };
            if seen == 2 || (writing && backend == sea_orm::DatabaseBackend::Postgres) {
                probe.close().await.ok();
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no transaction was seen writing within two minutes");
    }
}

/// One editor's stream of changes, each kind in turn: a rename, a new skills list, a new draft
/// path then its publication, a new skill. Refusals (a version another editor moved on) only move
/// on to the next change; the stream ends when the server is gone.
async fn edit_until_stopped(base: String, token: String, editor: u32, skills: Vec<String>, done: Arc<AtomicU32>) {
    let path_query = r#"{ careerPath(slug: "backend-developer") { id version } }"#;
    for step in 0u32.. {
        let answer = match step % 4 {
            0 | 1 => {
                let (_, body) = send(&base, &token, path_query, json!({})).await;
                let path = &body["data"]["careerPath"];
                if step % 4 == 0 {
                    let rename = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { version } } }";
                    let title = format!("Backend Developer {editor}.{step}");
                    send(&base, &token, rename, json!({ "id": path["id"], "v": path["version"], "t": title })).await
                } else {
                    let set = "mutation ($id: ID!, $v: Int!, $s: [SkillRequirementInput!]!) { setCareerPathSkills(input: { id: $id, expectedVersion: $v, skills: $s }) { careerPath { version } } }";
                    let chosen: Vec<Value> = skills
                        .iter()
                        .skip((step as usize / 4) % skills.len().max(1))
                        .take(3)
                        .map(|slug| json!({ "skill": slug, "importance": "IMPORTANT" }))
                        .collect();
                    send(&base, &token, set, json!({ "id": path["id"], "v": path["version"], "s": chosen })).await
                }
            }
            2 => {
                let create = "mutation ($s: String!) { createCareerPath(input: { slug: $s, title: \"Killed\", summary: \"A path made while the server was killed.\", description: \"It exists whole or not at all.\", outlook: { demand: MODERATE, summary: \"Steady.\" } }) { careerPath { id version } } }";
                let slug = format!("killed-{}-{editor}-{step}", uuid::Uuid::now_v7().simple());
                let (status, body) = send(&base, &token, create, json!({ "s": slug })).await;
                let created = &body["data"]["createCareerPath"]["careerPath"];
                if created.is_null() {
                    (status, body)
                } else {
                    let publish = "mutation ($id: ID!, $v: Int!) { publishCareerPath(input: { id: $id, expectedVersion: $v }) { careerPath { version } } }";
                    send(&base, &token, publish, json!({ "id": created["id"], "v": created["version"] })).await
                }
            }
            _ => {
                let create = "mutation ($s: String!) { createSkill(input: { slug: $s, name: $s, category: TECHNICAL, description: \"Made while the server was killed.\" }) { skill { id } } }";
                let slug = format!("killed-{}-{editor}-{step}", uuid::Uuid::now_v7().simple());
                send(&base, &token, create, json!({ "s": slug })).await
            }
        };
        match answer {
            (0, _) => return,
            (200, body) if body.get("errors").is_none() => {
                done.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }
}

/// A request as `token`'s editor; status 0 when no answer came (the server is gone).
async fn send(base: &str, token: &str, query: &str, variables: Value) -> (u16, Value) {
    try_graphql(base, Some(token), query, variables).await.unwrap_or((0, Value::Null))
}

/// The career paths and skills in `db`: before any edit, those the bundled dataset made.
async fn rows_in(db: &Db) -> HashSet<uuid::Uuid> {
    let paths = career_path::Entity::find().all(db).await.expect("the paths").into_iter().map(|path| path.id);
    paths.chain(skill::Entity::find().all(db).await.expect("the skills").into_iter().map(|skill| skill.id)).collect()
}

/// Fails unless every change in `db` is whole; `seeded` are the rows the bundled dataset made
/// (at version 1 with no creation event).
async fn assert_whole(db: &Db, seeded: &HashSet<uuid::Uuid>, when: &str) {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        let integrity = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), "PRAGMA integrity_check"))
            .await
            .expect("the integrity check runs")
            .expect("a verdict");
        assert_eq!(integrity.try_get_by_index::<String>(0).expect("text"), "ok", "{when}");
        let dangling = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), "PRAGMA foreign_key_check"))
            .await
            .expect("the foreign key check runs");
        assert!(dangling.is_empty(), "{when}: {} rows point at missing rows", dangling.len());
    }
    // One snapshot for every read below: a killed server's last COMMIT may still land while they
    // run, and seen between two reads it would look like a row without its audit event.
    let snapshot = db
        .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
        .await
        .expect("a read-only transaction");
    let events = audit_event::Entity::find().all(&snapshot).await.expect("the audit events");
    let mut counted: HashMap<(String, uuid::Uuid), (i32, bool)> = HashMap::new();
    for event in &events {
        let entry = counted.entry((event.entity_type.clone(), event.entity_id)).or_default();
        entry.0 += 1;
        entry.1 |= event.action == "create";
    }
    let versions: Vec<(&str, uuid::Uuid, i32)> = career_path::Entity::find()
        .all(&snapshot)
        .await
        .expect("the paths")
        .into_iter()
        .map(|path| ("CareerPath", path.id, path.version))
        .chain(
            skill::Entity::find()
                .all(&snapshot)
                .await
                .expect("the skills")
                .into_iter()
                .map(|s| ("Skill", s.id, s.version)),
        )
        .collect();
    for (kind, id, version) in &versions {
        let (events, created) = counted.get(&((*kind).to_owned(), *id)).copied().unwrap_or_default();
        assert_eq!(created, !seeded.contains(id), "{when}: {kind} {id}: a creation event for each row made by an edit");
        let expected = if created { events } else { events + 1 };
        assert_eq!(*version, expected, "{when}: {kind} {id} is at version {version} with {events} audit events");
    }
    let existing: HashSet<uuid::Uuid> = versions.iter().map(|(_, id, _)| *id).collect();
    for event in events.iter().filter(|event| matches!(event.entity_type.as_str(), "CareerPath" | "Skill")) {
        assert!(existing.contains(&event.entity_id), "{when}: an audit event of a row that is not there: {event:?}");
    }
    let skills: HashSet<uuid::Uuid> =
        versions.iter().filter(|(kind, ..)| *kind == "Skill").map(|(_, id, _)| *id).collect();
    for link in career_path_skill::Entity::find().all(&snapshot).await.expect("the links") {
        assert!(existing.contains(&link.career_path_id) && skills.contains(&link.skill_id), "{when}: {link:?}");
    }
    snapshot.rollback().await.expect("the snapshot ends");
}

/// Twenty times: edits in flight, `kill -9`, restart; after each, the database is whole.
async fn killed_twenty_times(site: Site) {
    let (server, base) = site.serve().await;
    let (token, _) = login(&base, EDITOR, PASSWORD).await;
    let listed = ok(&base, None, "{ skills(first: 12) { nodes { slug } } }", json!({})).await;
    let skills: Vec<String> = listed["skills"]["nodes"]
        .as_array()
        .expect("skills")
        .iter()
        .filter_map(|node| node["slug"].as_str().map(str::to_owned))
        .collect();
    drop(server);
    let seeded = rows_in(&site.open().await).await;
    let done = Arc::new(AtomicU32::new(0));
    for kill in 0..KILLS {
        let (mut server, base) = site.serve().await;
        let editors: Vec<_> = (0..4)
            .map(|editor| {
                let (base, token, skills, done) = (base.clone(), token.clone(), skills.clone(), done.clone());
                tokio::spawn(edit_until_stopped(base, token, editor, skills, done))
            })
            .collect();
        // Points spread over the first 700 ms of each run, in an order that skips about.
        tokio::time::sleep(Duration::from_millis(150 + u64::from(kill * 7 % KILLS) * 30)).await;
        let before = done.load(Ordering::SeqCst);
        server.0.kill().expect("SIGKILL is sent");
        server.0.wait().expect("the server is gone");
        for editor in editors {
            editor.abort();
        }
        let db = site.open().await;
        assert_whole(&db, &seeded, &format!("after kill {} ({before} changes made so far)", kill + 1)).await;
        db.close().await.ok();
    }
    let made = done.load(Ordering::SeqCst);
    eprintln!("{KILLS} kills; {made} changes were made in all");
    assert!(made > KILLS, "changes were in flight: only {made} were made");
    // Served again, it takes changes as before.
    let (_server, base) = site.serve().await;
    let path = ok(&base, None, r#"{ careerPath(slug: "backend-developer") { id version } }"#, json!({})).await;
    let rename = "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Backend Developer\" }) { careerPath { version } } }";
    let (token, _) = login(&base, EDITOR, PASSWORD).await;
    ok(&base, Some(&token), rename, json!({ "id": path["careerPath"]["id"], "v": path["careerPath"]["version"] }))
        .await;
}

/// An O*NET import killed midway leaves the database as it found it.
async fn an_import_killed_midway_changes_nothing(site: Site) {
    let release = tempfile::tempdir().expect("a directory");
    careergraph_domain::synthetic::release::write_release(release.path()).expect("the release is written");
    let db = site.open().await;
    let seeded = rows_in(&db).await;
    let before = careergraph_domain::copy::checksums(&db).await.expect("the checksums");
    let mut import = Command::new(env!("CARGO_BIN_EXE_careergraph"))
        .args(["import", "onet", &release.path().join("db_29_1_text").display().to_string()])
        .env("CAREERGRAPH_DATABASE_URL", &site.url)
        .env("CAREERGRAPH_DATA_DIR", site.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the import starts");
    site.wait_until_a_transaction_writes().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(import.try_wait().expect("the import's state").is_none(), "the import was still running when killed");
    import.kill().expect("SIGKILL is sent");
    import.wait().expect("the import is gone");
    let after = careergraph_domain::copy::checksums(&db).await.expect("the checksums");
    assert_eq!(before, after, "the killed import left changes behind");
    assert_whole(&db, &seeded, "after the import was killed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_twenty_times_mid_edit_leaves_sqlite_whole() {
    killed_twenty_times(Site::new(None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn a_server_killed_twenty_times_mid_edit_leaves_postgres_whole() {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let database = FreshDatabase::create(&admin_url, "careergraph_killed").await;
    killed_twenty_times(Site::new(Some(&database.url))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_midway_leaves_sqlite_as_it_was() {
    an_import_killed_midway_changes_nothing(Site::new(None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn an_import_killed_midway_leaves_postgres_as_it_was() {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let database = FreshDatabase::create(&admin_url, "careergraph_killed_import").await;
    an_import_killed_midway_changes_nothing(Site::new(Some(&database.url))).await;
}
