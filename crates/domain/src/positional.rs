//! Reading the hottest rows by column position: career paths, and the relations a nested page
//! of them follows.
//!
//! sea-orm's derived `FromQueryResult` reads each value by its column's name: sqlx finds the
//! column through a SipHash map, and every NULL read into an `Option` first becomes an error
//! whose message formats the column name (sea-orm's `err_null_idx_col`), which `Option` then
//! throws away. On the nested benchmark query that is over 10,000 hashed lookups and 1,700
//! formatted strings per request: reading by position instead took a sixth off the gateway's
//! instructions per request (callgrind: 23.9 -> 19.9 million). A [`Positional`] model is read
//! by index: `Entity::find()` selects the columns in the order of the entity's `Column` enum,
//! which is the order of the model's fields.
//!
//! The order is checked twice: a unit test compares every positional model's fields with its
//! entity's columns, and debug builds (the whole test suite, on SQLite and PostgreSQL) compare
//! each value's column name with the field it is read into, and its type with the column's.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sqlx::{self, Postgres, Row, Sqlite};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryResult, QuerySelect, QueryTrait, Select};
use uuid::Uuid;

use crate::projection::Columns;

/// A model read by column position, starting at a given column.
pub(crate) trait Positional: Sized {
    /// Its fields, in column order (which a test compares with its entity's columns).
    #[cfg_attr(not(test), expect(dead_code))]
    const FIELDS: &'static [&'static str];

    /// Reads the model from the columns `first..` of `row`, which hold the fields whose bit is
    /// set in `selected` (the `n`th bit for the `n`th field), in order; every other field holds
    /// its [`Unread`] placeholder.
    fn read_selected(row: &QueryResult, first: usize, selected: u64) -> Result<Self, DbErr>;
}

/// What a field holds when its column was not selected (see [`crate::projection`]).
pub(crate) trait Unread {
    fn unread() -> Self;
}

impl<T> Unread for Option<T> {
    fn unread() -> Self {
        None
    }
}

macro_rules! unread_as_default {
    ($($value:ty),+ $(,)?) => {$(
        impl Unread for $value {
            fn unread() -> Self {
                Self::default()
            }
        }
    )+};
}

unread_as_default!(Uuid, String, i32, i64, bool, NaiveDate, DateTime<Utc>);

/// A value that can be read from a column by position, on both backends.
pub(crate) trait Readable: Sized {
    fn read_at(row: &QueryResult, index: usize) -> Result<Self, DbErr>;
}

/// Reads the value at `index`, which must be the column named `field`.
pub(crate) fn read<T: Readable>(row: &QueryResult, index: usize, field: &str) -> Result<T, DbErr> {
    debug_assert_eq!(column_name(row, index), Some(field), "column {index} is not `{field}`");
    T::read_at(row, index).map_err(|error| DbErr::Type(format!("reading `{field}`: {error}")))
}

fn column_name(row: &QueryResult, index: usize) -> Option<&str> {
    use sea_orm::sqlx::Column;
    if let Some(row) = row.try_as_pg_row() {
        return row.columns().get(index).map(|column| column.name());
    }
    row.try_as_sqlite_row()?.columns().get(index).map(|column| column.name())
}

fn sqlx_error(error: sqlx::Error) -> DbErr {
    DbErr::Type(error.to_string())
}

/// Decodes the value at `index`. Debug builds first check the column's type against the
/// value's, as sqlx does by default; release builds leave that check out, as it compared type
/// descriptions for a twelfth of a nested page's instructions. The checked reading runs
/// throughout the test suite on both backends (whose unit tests also compare every positional
/// model's reading with sea-orm's), and the columns are this crate's own migrations.
fn decode<'r, R, T>(row: &'r R, index: usize) -> Result<T, DbErr>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let value = if cfg!(debug_assertions) { row.try_get(index) } else { row.try_get_unchecked(index) };
    value.map_err(sqlx_error)
}

/// The value at `index` of a row of either backend this crate connects to (its sea-orm
/// features enable no other).
fn read_value<'r, T>(row: &'r QueryResult, index: usize) -> Result<T, DbErr>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    if let Some(row) = row.try_as_pg_row() {
        return decode(row, index);
    }
    match row.try_as_sqlite_row() {
        Some(row) => decode(row, index),
        None => Err(DbErr::Type("rows are read by position on PostgreSQL and SQLite only".into())),
    }
}

/// A decoded value, or NULL.
macro_rules! readable {
    ($($value:ty),+ $(,)?) => {$(
        impl Readable for $value {
            fn read_at(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                read_value(row, index)
            }
        }

        impl Readable for Option<$value> {
            fn read_at(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                read_value(row, index)
            }
        }
    )+};
}

readable!(Uuid, String, i32, i64, bool, NaiveDate, DateTime<Utc>);

/// A JSON document (the audit trail's snapshots): `jsonb` on PostgreSQL, text on SQLite.
impl Readable for Option<serde_json::Value> {
    fn read_at(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
        let document: Option<sqlx::types::Json<serde_json::Value>> = read_value(row, index)?;
        Ok(document.map(|document| document.0))
    }
}

impl Readable for careergraph_auth::Role {
    fn read_at(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
        read_stored_name(row, index, careergraph_auth::Role::named)?
            .ok_or_else(|| DbErr::Type("unexpected NULL".into()))
    }
}

impl Unread for careergraph_auth::Role {
    /// The role that may do least.
    fn unread() -> Self {
        careergraph_auth::Role::Anonymous
    }
}

/// Reads a stored enum name without allocating it: the text is borrowed from the row.
pub(crate) fn read_stored_name<T>(
    row: &QueryResult,
    index: usize,
    named: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, DbErr> {
    let name: Option<&str> = read_value(row, index)?;
    name.map(|name| named(name).ok_or_else(|| DbErr::Type(format!("{name:?} is not a known value")))).transpose()
}

/// Makes a model [`Positional`]: its fields listed in the order of the entity's columns.
/// Leaving a field out, or naming one twice, does not compile.
macro_rules! positional {
    ($($entity:ident { $($field:ident),+ $(,)? })+) => {$(
        impl $crate::positional::Positional for $crate::entities::$entity::Model {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];

            // The steps past the last field are never read.
            #[allow(unused_assignments)]
            fn read_selected(row: &sea_orm::QueryResult, first: usize, selected: u64) -> Result<Self, sea_orm::DbErr> {
                let mut index = first;
                let mut field = 0;
                Ok(Self {
                    $($field: {
                        let value = if selected & (1 << field) != 0 {
                            index += 1;
                            $crate::positional::read(row, index - 1, stringify!($field))?
                        } else {
                            $crate::positional::Unread::unread()
                        };
                        field += 1;
                        value
                    }),+
                })
            }
        }
    )+};
}

positional! {
    career_path {
        id, slug, title, summary, description, outlook_demand, outlook_summary, status, internal_notes,
        onet_soc_code, job_zone, published_at, version, created_at, updated_at,
    }
    career_path_skill { career_path_id, skill_id, importance, position, importance_score, level_score }
    career_path_technology { career_path_id, technology_id, position, commodity_code, commodity_title, hot, in_demand }
    career_path_industry { career_path_id, industry_id, position }
    career_path_benefit { career_path_id, benefit_id, position }
    related_career_path { career_path_id, related_career_path_id, position, relatedness_tier }
    skill { id, slug, name, category, description, version, created_at, updated_at }
    skill_technology { skill_id, technology_id, position }
    technology { id, slug, name, kind, description, built_on_id, version, created_at, updated_at }
    responsibility { id, career_path_id, position, title, description, version, created_at, updated_at }
    roadmap_step {
        id, career_path_id, position, title, description, recommendation, version, created_at, updated_at,
    }
    learning_resource { id, roadmap_step_id, position, name, kind, url, version, created_at, updated_at }
    industry { id, slug, name, version, created_at, updated_at }
    audit_event { id, actor_id, action, entity_type, entity_id, before, after, occurred_at, request_id }
    app_user {
        id, email, display_name, role, password_hash, disabled, tokens_valid_after, sessions_revoked_at,
        last_login_at, version, created_at, updated_at,
    }
    benefit { id, slug, name, version, created_at, updated_at }
    salary_record {
        id, career_path_id, country, currency, period, experience_level, industry_id, location, average,
        minimum, maximum, percentile_10, percentile_25, median, percentile_75, percentile_90, sample_size,
        employment, source, source_url, as_of, notes, version, created_at, updated_at,
    }
}

/// Every row `select` finds, with only `columns` selected: `Select::all` for the fields a
/// request shows (see [`crate::projection`]).
pub(crate) async fn all_of<E>(
    select: Select<E>,
    columns: Columns<E>,
    db: &impl ConnectionTrait,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Positional,
{
    let statement = select.select_only().columns(columns.iter()).build(db.get_database_backend());
    let rows = db.query_all_raw(statement).await?;
    rows.iter().map(|row| E::Model::read_selected(row, 0, columns.bits())).collect()
}

/// The first row `select` finds, with only `columns` selected: `Select::one`, projected.
pub(crate) async fn one_of<E>(
    select: Select<E>,
    columns: Columns<E>,
    db: &impl ConnectionTrait,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Positional,
{
    Ok(all_of(select.limit(1), columns, db).await?.pop())
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable, ModelTrait, QueryOrder};

    use super::Positional;
    use crate::entities::{
        app_user, audit_event, benefit, career_path, career_path_benefit, career_path_industry, career_path_skill,
        career_path_technology, industry, learning_resource, related_career_path, responsibility, roadmap_step,
        salary_record, skill, skill_technology, technology,
    };
    use crate::projection::Columns;

    fn columns<E: EntityTrait>() -> Vec<&'static str> {
        E::Column::iter().map(|column| column.as_str()).collect()
    }

    /// A positional model reads each column into the field of the same name.
    #[test]
    fn positional_fields_are_in_column_order() {
        assert_eq!(career_path::Model::FIELDS, columns::<career_path::Entity>());
        assert_eq!(career_path_skill::Model::FIELDS, columns::<career_path_skill::Entity>());
        assert_eq!(skill::Model::FIELDS, columns::<skill::Entity>());
        assert_eq!(skill_technology::Model::FIELDS, columns::<skill_technology::Entity>());
        assert_eq!(technology::Model::FIELDS, columns::<technology::Entity>());
        assert_eq!(salary_record::Model::FIELDS, columns::<salary_record::Entity>());
        assert_eq!(responsibility::Model::FIELDS, columns::<responsibility::Entity>());
        assert_eq!(roadmap_step::Model::FIELDS, columns::<roadmap_step::Entity>());
        assert_eq!(learning_resource::Model::FIELDS, columns::<learning_resource::Entity>());
        assert_eq!(industry::Model::FIELDS, columns::<industry::Entity>());
        assert_eq!(benefit::Model::FIELDS, columns::<benefit::Entity>());
        assert_eq!(app_user::Model::FIELDS, columns::<app_user::Entity>());
        assert_eq!(audit_event::Model::FIELDS, columns::<audit_event::Entity>());
        assert_eq!(career_path_industry::Model::FIELDS, columns::<career_path_industry::Entity>());
        assert_eq!(career_path_benefit::Model::FIELDS, columns::<career_path_benefit::Entity>());
        assert_eq!(related_career_path::Model::FIELDS, columns::<related_career_path::Entity>());
        assert_eq!(career_path_technology::Model::FIELDS, columns::<career_path_technology::Entity>());
    }

    /// Every row of `E`, read by position, equals sea-orm's reading of it by name.
    async fn reads_like_sea_orm<E>(db: &crate::Db) -> Vec<E::Model>
    where
        E: EntityTrait,
        E::Model: Positional + FromQueryResult + ModelTrait<Entity = E> + PartialEq + Debug + Send + Sync,
    {
        // In one order every time: by every column PostgreSQL can sort (not JSON).
        let sortable = |column: &E::Column| {
            !matches!(column.def().get_column_type(), sea_orm::ColumnType::Json | sea_orm::ColumnType::JsonBinary)
        };
        let sorted =
            || E::Column::iter().filter(sortable).fold(E::find(), |select, column| select.order_by_asc(column));
        let by_name = sorted().all(db).await.expect("read by name");
        let by_position = super::all_of(sorted(), Columns::all(), db).await.expect("read by position");
        assert!(!by_name.is_empty(), "{} has rows to compare", E::default().table_name());
        assert_eq!(by_position, by_name);
        // Each column read alone holds what the whole row holds, and the row's other fields
        // hold the placeholders a row of only its first column holds (a select names at least
        // one column).
        let first = E::Column::iter().next().expect("a column");
        let placeholders = super::all_of(sorted(), Columns::of([first]), db).await.expect("the first column");
        for column in E::Column::iter() {
            let alone = super::all_of(sorted(), Columns::of([column]), db).await.expect("one column");
            assert_eq!(alone.len(), by_name.len());
            for ((alone, whole), placeholders) in alone.iter().zip(&by_name).zip(&placeholders) {
                for other in E::Column::iter().skip(1) {
                    let expected = if other.as_str() == column.as_str() { whole } else { placeholders };
                    assert_eq!(alone.get(other), expected.get(other), "`{}` read alone", column.as_str());
                }
            }
        }
        by_name
    }

    /// The bundled dataset and some synthetic paths, read both ways, including the joined reads
    /// of `linked` (a link's columns after its target's).
    async fn positional_reads_equal_sea_orms(db: &crate::Db) {
        crate::migrate(db).await.expect("migrated");
        crate::dataset::load_bundled(db).await.expect("the bundled dataset");
        crate::synthetic::load_benchmark_data(db, 3).await.expect("synthetic paths");

        reads_like_sea_orm::<responsibility::Entity>(db).await;
        reads_like_sea_orm::<roadmap_step::Entity>(db).await;
        reads_like_sea_orm::<learning_resource::Entity>(db).await;
        reads_like_sea_orm::<industry::Entity>(db).await;
        reads_like_sea_orm::<benefit::Entity>(db).await;
        let user = crate::accounts::NewUser {
            email: "positional@example.com".into(),
            display_name: "Positional".into(),
            role: careergraph_auth::Role::Editor,
            password_hash: "$argon2id$not-a-real-hash".into(),
        };
        let user = crate::accounts::create_user(db, user).await.expect("a user");
        let (before, after) = (serde_json::json!({ "role": "VIEWER" }), serde_json::json!({ "role": "EDITOR" }));
        let actor = crate::audit::Actor::default();
        let kind = crate::audit::EntityKind::User;
        crate::audit::record(db, &actor, "set_role", kind, user.id, Some(&before), Some(&after))
            .await
            .expect("an event");
        crate::audit::record::<serde_json::Value>(db, &actor, "disable", kind, user.id, None, None)
            .await
            .expect("one more");
        reads_like_sea_orm::<app_user::Entity>(db).await;
        let events = reads_like_sea_orm::<audit_event::Entity>(db).await;
        assert!(events.iter().any(|event| event.after.is_some()), "a snapshot is compared");
        let paths = reads_like_sea_orm::<career_path::Entity>(db).await;
        assert!(paths.iter().any(|p| p.published_at.is_some()) && paths.iter().any(|p| p.internal_notes.is_none()));
        let path_skills = reads_like_sea_orm::<career_path_skill::Entity>(db).await;
        let skills = reads_like_sea_orm::<skill::Entity>(db).await;
        let skill_technologies = reads_like_sea_orm::<skill_technology::Entity>(db).await;
        let technologies = reads_like_sea_orm::<technology::Entity>(db).await;
        let records = reads_like_sea_orm::<salary_record::Entity>(db).await;
        // NULL and non-NULL both occur in the optional columns compared above.
        assert!(records.iter().any(|r| r.median.is_some()) && records.iter().any(|r| r.median.is_none()));
        assert!(
            technologies.iter().any(|t| t.built_on_id.is_some())
                && technologies.iter().any(|t| t.built_on_id.is_none())
        );

        let path_ids: Vec<_> = path_skills.iter().map(|link| link.career_path_id).collect();
        let mut joined = crate::queries::career_paths::skills(db, &path_ids, Columns::all(), Columns::all())
            .await
            .expect("joined read");
        let mut expected: Vec<_> = path_skills
            .iter()
            .map(|link| (link.clone(), skills.iter().find(|s| s.id == link.skill_id).cloned().expect("its skill")))
            .collect();
        joined.sort_by_key(|(link, _)| (link.career_path_id, link.skill_id));
        expected.sort_by_key(|(link, _)| (link.career_path_id, link.skill_id));
        assert_eq!(joined, expected);

        let skill_ids: Vec<_> = skill_technologies.iter().map(|link| link.skill_id).collect();
        let mut joined =
            crate::queries::skills::technologies(db, &skill_ids, Columns::all()).await.expect("joined read");
        let mut expected: Vec<_> = skill_technologies
            .iter()
            .map(|link| {
                (
                    link.skill_id,
                    technologies.iter().find(|t| t.id == link.technology_id).cloned().expect("its technology"),
                )
            })
            .collect();
        joined.sort_by_key(|(skill, technology)| (*skill, technology.id));
        expected.sort_by_key(|(skill, technology)| (*skill, technology.id));
        assert_eq!(joined, expected);
    }

    #[tokio::test]
    async fn positional_reads_equal_sea_orms_on_sqlite() {
        let file = std::env::temp_dir().join(format!("careergraph-positional-{}.db", uuid::Uuid::now_v7().simple()));
        let db = crate::connect(&format!("sqlite://{}?mode=rwc", file.display())).await.expect("SQLite");
        positional_reads_equal_sea_orms(&db).await;
        db.close().await.ok();
        std::fs::remove_file(&file).ok();
    }

    #[tokio::test]
    async fn positional_reads_equal_sea_orms_on_postgres() {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("SKIPPED the PostgreSQL half of the positional reads: TEST_DATABASE_URL is not set");
            return;
        };
        let database = careergraph_test_support::FreshDatabase::create(&admin_url, "positional").await;
        let db = crate::connect(&database.url).await.expect("PostgreSQL");
        positional_reads_equal_sea_orms(&db).await;
        db.close().await.ok();
    }
}
