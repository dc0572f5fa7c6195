//! Moving a whole database into another, empty one (a SQLite file outgrown for PostgreSQL,
//! say), and an online backup of a SQLite file.
//!
//! A copy moves every table as its typed rows, so a value means the same on both sides, inside
//! one transaction on each: the source is read as one snapshot (it may still be served
//! meanwhile), and the target shows nothing until everything is there, so a copy that fails
//! leaves it as empty as it found it. Each table is read back from the target before the commit
//! and its row count and checksum compared with the source's.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::SubsecRound;
use futures::TryStreamExt;
use futures::future::BoxFuture;
use sea_orm::sea_query::Value;
use sea_orm::{
    AccessMode, ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, IntoActiveModel,
    IsolationLevel, Iterable, PrimaryKeyToColumn, QueryOrder, Statement, TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::entities::*;
use crate::{Db, Error, Result};

/// One table as copied and verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedTable {
    pub table: &'static str,
    pub rows: u64,
    /// The sum of the rows' SHA-256 digests (their first 128 bits), in hex: the same for the same
    /// rows in any order, as the two databases sort text differently.
    pub checksum: String,
}

/// Copies everything in `source` into `target`, which must hold no rows; both are migrated to
/// this version's schema first. Returns each table's rows and checksum, verified on the target.
pub async fn copy_database(source: &Db, target: &Db) -> Result<Vec<CopiedTable>> {
    crate::migrate(source).await?;
    crate::migrate(target).await?;
    let tables = tables();
    for (which, db) in [("source", source), ("target", target)] {
        refuse_unknown_tables(which, db, &tables).await?;
    }
    for table in &tables {
        let rows = target.query_one_raw(Statement::from_string(
            target.get_database_backend(),
            format!("SELECT 1 FROM {} LIMIT 1", table.name),
        ));
        if rows.await?.is_some() {
            return Err(Error::conflict(
                "target",
                format!("is not empty (table {} has rows): copy only into a new, empty database", table.name),
            ));
        }
    }
    let reading = match source.get_database_backend() {
        DatabaseBackend::Postgres => {
            source.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?
        }
        // In WAL mode a SQLite read transaction sees one commit throughout, and blocks no writer.
        _ => source.begin().await?,
    };
    let writing = target.begin().await?;
    let mut copied = Vec::with_capacity(tables.len());
    for table in &tables {
        let done = (table.copy)(&reading, &writing).await?;
        tracing::info!(table = done.table, rows = done.rows, "copied");
        copied.push(done);
    }
    // The search index is derived from the tables, and its form differs between the databases.
    crate::search::rebuild(&writing).await?;
    writing.commit().await?;
    reading.rollback().await?;
    target.execute_unprepared("ANALYZE").await?;
    Ok(copied)
}

/// Each table's rows and checksum, as [`copy_database`] reports and verifies them, read in one
/// transaction: to tell whether two databases, or one at two moments, hold the same.
pub async fn checksums(db: &Db) -> Result<Vec<CopiedTable>> {
    let reading = db.begin().await?;
    let mut sums = Vec::new();
    for table in tables() {
        let sum = (table.checksum)(&reading).await?;
        sums.push(CopiedTable { table: table.name, rows: sum.rows, checksum: sum.hex() });
    }
    reading.rollback().await?;
    Ok(sums)
}

type CopyFn =
    Box<dyn for<'a> Fn(&'a DatabaseTransaction, &'a DatabaseTransaction) -> BoxFuture<'a, Result<CopiedTable>>>;
type ChecksumFn = Box<dyn for<'a> Fn(&'a DatabaseTransaction) -> BoxFuture<'a, Result<Checksum>>>;

/// A table: how to copy it, and how to sum what it holds.
struct Table {
    name: &'static str,
    copy: CopyFn,
    checksum: ChecksumFn,
}

/// Every table careergraph keeps (the search index and the migrations' own table aside),
/// parents before the rows that refer to them. A table missing here makes [`copy_database`]
/// refuse to start rather than leave it behind.
fn tables() -> Vec<Table> {
    vec![
        table::<data_source::Entity>(None),
        table::<import_record::Entity>(None),
        table::<job_zone::Entity>(None),
        table::<career_path::Entity>(None),
        table::<skill::Entity>(None),
        table::<technology::Entity>(Some(technology::Column::BuiltOnId)),
        table::<industry::Entity>(None),
        table::<benefit::Entity>(None),
        table::<app_user::Entity>(None),
        table::<refresh_token::Entity>(Some(refresh_token::Column::RotatedFromId)),
        table::<login_throttle::Entity>(None),
        table::<audit_event::Entity>(None),
        table::<career_path_skill::Entity>(None),
        table::<skill_technology::Entity>(None),
        table::<responsibility::Entity>(None),
        table::<roadmap_step::Entity>(None),
        table::<roadmap_step_skill::Entity>(None),
        table::<learning_resource::Entity>(None),
        table::<career_path_industry::Entity>(None),
        table::<career_path_benefit::Entity>(None),
        table::<related_career_path::Entity>(None),
        table::<salary_record::Entity>(None),
        table::<career_path_technology::Entity>(None),
        table::<career_path_alternate_title::Entity>(None),
        table::<career_move::Entity>(None),
        table::<career_path_weight::Entity>(None),
        table::<skill_reach::Entity>(None),
        table::<skill_pair::Entity>(None),
    ]
}

/// `E`'s table; `parent` is its column that refers to another row of the same table, if any.
fn table<E>(parent: Option<E::Column>) -> Table
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send + Sync,
{
    Table {
        name: E::default().table_name(),
        copy: Box::new(move |source, target| Box::pin(copy_table::<E>(source, target, parent))),
        checksum: Box::new(|db| Box::pin(checksum_of::<E>(db))),
    }
}

/// Fails when `db` has a table [`tables`] does not list: a newer migration's, which this
/// function must learn to copy before it may claim to have copied everything.
async fn refuse_unknown_tables(which: &str, db: &Db, tables: &[Table]) -> Result<()> {
    let backend = db.get_database_backend();
    let listing = match backend {
        DatabaseBackend::Postgres => "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()",
        _ => "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    let known: HashSet<&str> = tables.iter().map(|table| table.name).collect();
    let mut unknown = Vec::new();
    for row in db.query_all_raw(Statement::from_string(backend, listing)).await? {
        let name: String = row.try_get("", "name")?;
        // The search index (and SQLite's FTS5 tables behind it) is rebuilt, not copied.
        if !known.contains(name.as_str()) && name != "seaql_migrations" && !name.starts_with("search_document") {
            unknown.push(name);
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::Internal(format!(
        "the {which} database has tables this careergraph does not know ({}): copy with the careergraph that created them",
        unknown.join(", ")
    )))
}

/// How many rows go into one INSERT: within SQLite's 32,766 bound parameters and PostgreSQL's
/// 65,535, and large enough that a round trip carries many rows.
fn rows_per_insert(columns: usize) -> usize {
    (30_000 / columns.max(1)).clamp(1, 1_000)
}

async fn copy_table<E>(
    source: &DatabaseTransaction,
    target: &DatabaseTransaction,
    parent: Option<E::Column>,
) -> Result<CopiedTable>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send + Sync,
{
    let name = E::default().table_name();
    let batch = rows_per_insert(E::Column::iter().count());
    let mut sum = Checksum::default();
    match parent {
        None => {
            let mut rows = std::pin::pin!(in_key_order::<E>().stream(source).await?);
            let mut pending = Vec::with_capacity(batch);
            while let Some(model) = rows.try_next().await? {
                let row = normalized(model.into_active_model());
                sum.add(&row);
                pending.push(row);
                if pending.len() == batch {
                    E::insert_many(std::mem::take(&mut pending)).exec_without_returning(target).await?;
                }
            }
            if !pending.is_empty() {
                E::insert_many(pending).exec_without_returning(target).await?;
            }
        }
        Some(parent) => {
            let rows: Vec<E::ActiveModel> = in_key_order::<E>()
                .all(source)
                .await?
                .into_iter()
                .map(|model| normalized(model.into_active_model()))
                .collect();
            rows.iter().for_each(|row| sum.add(row));
            for wave in parents_first::<E>(name, rows, parent)? {
                for chunk in chunks(wave, batch) {
                    E::insert_many(chunk).exec_without_returning(target).await?;
                }
            }
        }
    }
    // What the target holds now, read back as the source was read.
    let stored = checksum_of::<E>(target).await?;
    if stored != sum {
        return Err(Error::Internal(format!(
            "table {name}: the target holds {} rows (checksum {}) after {} were copied (checksum {})",
            stored.rows,
            stored.hex(),
            sum.rows,
            sum.hex()
        )));
    }
    Ok(CopiedTable { table: name, rows: sum.rows, checksum: sum.hex() })
}

async fn checksum_of<E>(db: &DatabaseTransaction) -> Result<Checksum>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
{
    let mut sum = Checksum::default();
    let mut rows = std::pin::pin!(in_key_order::<E>().stream(db).await?);
    while let Some(model) = rows.try_next().await? {
        sum.add(&normalized(model.into_active_model()));
    }
    Ok(sum)
}

fn in_key_order<E: EntityTrait>() -> sea_orm::Select<E> {
    E::PrimaryKey::iter().fold(E::find(), |select, key| select.order_by_asc(key.into_column()))
}

fn chunks<T>(rows: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut rows = rows.into_iter().peekable();
    let mut chunks = Vec::new();
    while rows.peek().is_some() {
        chunks.push(rows.by_ref().take(size).collect());
    }
    chunks
}

/// The rows of a table that refers to itself, in waves: each wave's rows refer only to rows of
/// earlier waves (or to none), as the foreign key checks every statement on its own.
fn parents_first<E>(name: &str, rows: Vec<E::ActiveModel>, parent: E::Column) -> Result<Vec<Vec<E::ActiveModel>>>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
{
    let id_column = E::PrimaryKey::iter().next().map(PrimaryKeyToColumn::into_column);
    let uuid_of = |row: &E::ActiveModel, column: Option<E::Column>| match column.and_then(|c| row.get(c).into_value()) {
        Some(Value::Uuid(Some(id))) => Some(id),
        _ => None,
    };
    let mut placed = HashSet::new();
    let mut waves = Vec::new();
    let mut waiting = rows;
    while !waiting.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) = waiting
            .into_iter()
            .partition(|row| uuid_of(row, Some(parent)).is_none_or(|parent| placed.contains(&parent)));
        if ready.is_empty() {
            return Err(Error::Internal(format!(
                "table {name}: {} rows refer to rows that are missing or refer back to them",
                rest.len()
            )));
        }
        placed.extend(ready.iter().filter_map(|row| uuid_of(row, id_column)));
        waves.push(ready);
        waiting = rest;
    }
    Ok(waves)
}

/// `row` with every column set (so the insert writes each) and each value as both databases keep
/// it: timestamps to the microsecond, PostgreSQL's precision.
fn normalized<A: ActiveModelTrait>(mut row: A) -> A {
    for column in <A::Entity as EntityTrait>::Column::iter() {
        if let Some(value) = row.get(column).into_value() {
            let value = match value {
                Value::ChronoDateTimeUtc(Some(time)) => Value::ChronoDateTimeUtc(Some(time.trunc_subsecs(6))),
                other => other,
            };
            row.set(column, value);
        }
    }
    row
}

/// A table's rows, counted and summed.
#[derive(Default, PartialEq, Eq)]
struct Checksum {
    rows: u64,
    sum: u128,
}

impl Checksum {
    fn add<A: ActiveModelTrait>(&mut self, row: &A) {
        let mut hasher = Sha256::new();
        for column in <A::Entity as EntityTrait>::Column::iter() {
            let value = row.get(column).into_value();
            let text = match &value {
                // PostgreSQL's jsonb keeps an object's keys in an order of its own.
                Some(Value::Json(Some(json))) => canonical_json(json),
                other => format!("{other:?}"),
            };
            hasher.update(text.as_bytes());
            hasher.update([0x1f]);
        }
        let digest = hasher.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        self.rows += 1;
        self.sum = self.sum.wrapping_add(u128::from_be_bytes(first));
    }

    fn hex(&self) -> String {
        format!("{:032x}", self.sum)
    }
}

/// `json` with every object's keys sorted.
fn canonical_json(json: &serde_json::Value) -> String {
    fn sorted(json: &serde_json::Value) -> serde_json::Value {
        match json {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(
                    entries.into_iter().map(|(key, value)| (key.clone(), sorted(value))).collect(),
                )
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(json).to_string()
}

/// A finished backup.
#[derive(Clone, Debug)]
pub struct Backup {
    pub file: PathBuf,
    pub bytes: u64,
}

/// Writes a consistent copy of the SQLite database `db` to `file`, which must not exist, while
/// the database stays in use: `VACUUM INTO` reads one snapshot (in WAL mode writers go on
/// meanwhile). The copy is written beside `file` under a temporary name, checked with `PRAGMA
/// integrity_check`, synced, and only then renamed to `file`, so an interrupted backup never
/// leaves a file that looks whole. It is readable by its owner only, as the database is.
pub async fn backup_sqlite(db: &Db, file: &Path) -> Result<Backup> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Err(Error::invalid(
            "database",
            "is PostgreSQL: back it up with PostgreSQL's own tools (pg_dump, or pg_basebackup for a whole cluster)",
        ));
    }
    if file.exists() {
        return Err(Error::conflict("file", format!("{} already exists", file.display())));
    }
    let name = file.file_name().ok_or_else(|| Error::invalid("file", "names no file"))?;
    let partial = file.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let _ = std::fs::remove_file(&partial);
    let io =
        |what: &str, error: std::io::Error| Error::Internal(format!("cannot {what} {}: {error}", partial.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&partial).map_err(|error| io("create", error))?;
    let written = async {
        let path = partial.to_str().ok_or_else(|| Error::invalid("file", "is not a UTF-8 path"))?;
        db.execute_raw(Statement::from_sql_and_values(DatabaseBackend::Sqlite, "VACUUM INTO ?", [path.into()])).await?;
        let copy = crate::connect_sqlite_reader(&format!("sqlite://{path}"), 1, crate::DEFAULT_ACQUIRE_TIMEOUT).await?;
        let check = copy.query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, "PRAGMA integrity_check"));
        let verdict: String = match check.await? {
            Some(row) => row.try_get_by_index(0)?,
            None => String::new(),
        };
        copy.close().await?;
        if verdict != "ok" {
            return Err(Error::Internal(format!("the copy fails SQLite's integrity check: {verdict}")));
        }
        std::fs::File::open(&partial).and_then(|copy| copy.sync_all()).map_err(|error| io("sync", error))?;
        std::fs::rename(&partial, file).map_err(|error| io("rename", error))?;
        if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::File::open(dir).and_then(|dir| dir.sync_all()).map_err(|error| io("sync the folder of", error))?;
        }
        Ok(())
    };
    if let Err(error) = written.await {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    let bytes = std::fs::metadata(file).map(|meta| meta.len()).unwrap_or_default();
    Ok(Backup { file: file.to_owned(), bytes })
}
