//! The embedded SQLite default as it serves: in WAL mode, with readers of their own, so a writer
//! holding the file's write lock does not stop reads.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use sea_orm::sqlx::{Connection, SqliteConnection};
use serde_json::json;

use crate::helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_database_is_in_wal_mode_and_reads_go_on_while_a_writer_holds_the_lock() {
    let app = spawn_app(Backend::Sqlite).await;
    let mode = app
        .db()
        .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "PRAGMA journal_mode"))
        .await
        .expect("the pragma answers")
        .and_then(|row| row.try_get_by_index::<String>(0).ok());
    assert_eq!(mode.as_deref(), Some("wal"));

    // Another writer takes the write lock and keeps it (in the rollback journal, an EXCLUSIVE
    // lock shuts every reader out until it ends).
    let mut writer = SqliteConnection::connect(&app.database_url).await.expect("a second connection");
    sea_orm::sqlx::query("BEGIN EXCLUSIVE").execute(&mut writer).await.expect("the write lock");
    sea_orm::sqlx::query("UPDATE career_path SET title = 'Held' WHERE slug = 'backend-developer'")
        .execute(&mut writer)
        .await
        .expect("an uncommitted change");
    let started = Instant::now();
    let data = app.query_ok("{ careerPath(slug: \"backend-developer\") { title } }", json!({})).await;
    assert_eq!(data["careerPath"]["title"], "Backend Developer", "the last commit, not the uncommitted change");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the read did not wait for the writer: {:?}",
        started.elapsed()
    );
    sea_orm::sqlx::query("ROLLBACK").execute(&mut writer).await.expect("the lock released");
}
