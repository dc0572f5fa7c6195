//! Growing out of the embedded default without losing anything: `careergraph copy` moves a
//! SQLite database, accounts and sessions included, into PostgreSQL, and `careergraph backup`
//! copies the SQLite file while the server writes to it.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use common::{FreshDatabase, careergraph, careergraph_with_stdin, login, ok, spawn_server, stderr, stdout};

const PASSWORD: &str = "violet staircase 42";
const EDITOR: &str = "editor@example.com";
/// What an editor sees of one career path, its history included.
const PATH: &str = r#"{ careerPath(slug: "backend-developer") { id title version history { action after } } }"#;
const RENAME: &str = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { version } } }";
const REFRESH: &str =
    "mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";

/// A data directory with an editor in it.
fn data_dir_with_an_editor() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a directory");
    let args = ["user", "add", "--email", EDITOR, "--role", "editor", "--password-stdin"];
    let added = careergraph_with_stdin(&args, dir.path(), &format!("{PASSWORD}\n"));
    assert!(added.status.success(), "{}", stderr(&added));
    dir
}

/// Renames the bundled career path as `token`'s editor; returns its new version.
async fn rename(base: &str, token: &str, id: &Value, version: i64, title: &str) -> i64 {
    let data = ok(base, Some(token), RENAME, json!({ "id": id, "v": version, "t": title })).await;
    data["updateCareerPath"]["careerPath"]["version"].as_i64().expect("a version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: the copy goes into PostgreSQL")]
async fn a_sqlite_database_copied_into_postgres_serves_the_same_content_accounts_and_sessions() {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let dir = data_dir_with_an_editor();

    // A while on the embedded default: a session refreshed once (so its tokens form a chain),
    // and two edits with their history.
    let (before, access, refresh) = {
        let (_server, base) = spawn_server(dir.path(), &[], Stdio::null()).await;
        let (_, first) = login(&base, EDITOR, PASSWORD).await;
        let rotated = ok(&base, None, REFRESH, json!({ "t": first })).await;
        let token = |field: &str| rotated["refreshSession"][field].as_str().expect("a token").to_owned();
        let (access, refresh) = (token("accessToken"), token("refreshToken"));
        let path = ok(&base, Some(&access), PATH, json!({})).await["careerPath"].clone();
        let version =
            rename(&base, &access, &path["id"], path["version"].as_i64().expect("a version"), "Backend Engineer").await;
        rename(&base, &access, &path["id"], version, "Backend Software Engineer").await;
        (ok(&base, Some(&access), PATH, json!({})).await, access, refresh)
    };
    assert_eq!(before["careerPath"]["history"].as_array().map(Vec::len), Some(2), "{before}");

    let database = FreshDatabase::create(&admin_url, "careergraph_copy").await;
    let copied = careergraph(&["copy", "--to", &database.url], dir.path());
    assert!(copied.status.success(), "{}", stderr(&copied));
    let report = stdout(&copied);
    let rows_of = |table: &str| {
        let line = report.lines().find(|line| line.split_whitespace().next() == Some(table));
        line.and_then(|line| line.split_whitespace().nth(1)).and_then(|rows| rows.parse::<u64>().ok())
    };
    assert_eq!(rows_of("refresh_token"), Some(2), "{report}");
    assert_eq!(rows_of("app_user"), Some(1), "{report}");
    assert!(rows_of("audit_event").is_some_and(|rows| rows >= 2), "{report}");
    assert!(rows_of("career_path").is_some_and(|rows| rows >= 1), "{report}");
    assert!(report.contains("each verified there"), "{report}");

    // Table by table, the two databases hold the same rows, as the test reckons them itself.
    let sqlite = format!("sqlite://{}?mode=ro", dir.path().join("careergraph.db").display());
    let sums = |url: String| async move {
        let db = careergraph_domain::Db::direct(sea_orm::Database::connect(&url).await.expect("the database opens"));
        careergraph_domain::copy::checksums(&db).await.expect("its checksums")
    };
    let (source, target) = (sums(sqlite).await, sums(database.url.clone()).await);
    assert_eq!(source, target);
    for table in &source {
        assert_eq!(rows_of(table.table), Some(table.rows), "{report}");
        assert!(report.contains(&table.checksum), "{report}");
    }

    // And back again, into a new SQLite file: the same once more.
    let back = format!("sqlite://{}?mode=rwc", dir.path().join("back.db").display());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_careergraph"));
    command.args(["copy", "--to", &back]).env("CAREERGRAPH_DATABASE_URL", &database.url);
    let returned = command.env("CAREERGRAPH_DATA_DIR", dir.path()).output().expect("the binary runs");
    assert!(returned.status.success(), "{}", stderr(&returned));
    assert_eq!(sums(back).await, source);

    // A second copy finds the target full, and changes nothing there.
    let again = careergraph(&["copy", "--to", &database.url], dir.path());
    assert!(!again.status.success(), "a second copy into the same database is refused");
    assert!(stderr(&again).contains("is not empty"), "{}", stderr(&again));

    // Served from PostgreSQL (the same data directory, so the same signing key): the same
    // answer, the same access token, the refresh token the session was at, the same password.
    let (_server, base) = spawn_server(dir.path(), &[("CAREERGRAPH_DATABASE_URL", &database.url)], Stdio::null()).await;
    assert_eq!(ok(&base, Some(&access), PATH, json!({})).await, before, "the same content and history");
    let rotated = ok(&base, None, REFRESH, json!({ "t": refresh })).await;
    let access = rotated["refreshSession"]["accessToken"].as_str().expect("a token").to_owned();
    assert_eq!(ok(&base, Some(&access), "{ me { email } }", json!({})).await["me"]["email"], EDITOR);
    let (access, _) = login(&base, EDITOR, PASSWORD).await;
    let path = &before["careerPath"];
    let version = path["version"].as_i64().expect("a version");
    assert_eq!(rename(&base, &access, &path["id"], version, "Backend Developer").await, version + 1);

    // Backups are SQLite's; PostgreSQL has its own tools, and the command says so.
    let mut backup = std::process::Command::new(env!("CARGO_BIN_EXE_careergraph"));
    backup.args(["backup", &dir.path().join("pg.db").display().to_string()]);
    let refused = backup.env("CAREERGRAPH_DATABASE_URL", &database.url).output().expect("the binary runs");
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("pg_dump"), "{}", stderr(&refused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_an_editor_writes_opens_whole_with_every_edit_and_its_history_together() {
    let dir = data_dir_with_an_editor();
    let (server, base) = spawn_server(dir.path(), &[], Stdio::null()).await;
    let (access, _) = login(&base, EDITOR, PASSWORD).await;
    let path = ok(&base, Some(&access), PATH, json!({})).await["careerPath"].clone();

    // An editor renames the path back to back until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let edits = Arc::new(AtomicU32::new(0));
    let writer = {
        let (stop, edits, base, access) = (stop.clone(), edits.clone(), base.clone(), access.clone());
        let (id, mut version) = (path["id"].clone(), path["version"].as_i64().expect("a version"));
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let title = format!("Backend Developer {}", edits.load(Ordering::SeqCst) + 1);
                version = rename(&base, &access, &id, version, &title).await;
                edits.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while edits.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let file = dir.path().join("backups").join("careergraph.db");
    std::fs::create_dir_all(file.parent().expect("a folder")).expect("the backups folder");
    let edits_before = edits.load(Ordering::SeqCst);
    let backup = {
        let (dir, file) = (dir.path().to_owned(), file.clone());
        tokio::task::spawn_blocking(move || careergraph(&["backup", file.to_str().expect("a UTF-8 path")], &dir))
            .await
            .expect("the backup ran")
    };
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert!(stdout(&backup).contains("integrity checked"), "{}", stdout(&backup));
    while edits.load(Ordering::SeqCst) < edits_before + 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("the editor's edits all succeeded");
    drop(server);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("the backup").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds password hashes: its owner's only");
    }
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().expect("a folder"))
        .expect("the folder")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("careergraph.db")], "nothing but the backup is left");
    let again = careergraph(&["backup", file.to_str().expect("a UTF-8 path")], dir.path());
    assert!(!again.status.success() && stderr(&again).contains("already exists"), "{}", stderr(&again));

    // The copy, served: one moment of the database, each edit with its audit event.
    let copy_dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}", file.display());
    let (_copy, copy_base) = spawn_server(copy_dir.path(), &[("CAREERGRAPH_DATABASE_URL", &url)], Stdio::null()).await;
    let (access, _) = login(&copy_base, EDITOR, PASSWORD).await;
    let copied = ok(&copy_base, Some(&access), PATH, json!({})).await["careerPath"].clone();
    let history = copied["history"].as_array().expect("a history");
    let version = copied["version"].as_i64().expect("a version");
    assert!(history.len() >= 20, "the edits before the backup are in it: {}", history.len());
    assert_eq!(history.len() as i64, version - path["version"].as_i64().expect("a version"), "{copied}");
    let last = history.iter().find(|event| event["after"]["version"].as_i64() == Some(version));
    assert_eq!(
        last.map(|event| &event["after"]["title"]),
        Some(&copied["title"]),
        "the row and its last audit event agree"
    );
}
