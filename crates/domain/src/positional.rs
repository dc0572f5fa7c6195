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
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryResult, Select};
use uuid::Uuid;

/// A model read by column position, starting at a given column.
pub(crate) trait Positional: Sized {
    /// Its fields, in column order.
    const FIELDS: &'static [&'static str];

    /// Reads the model from the columns `first..first + FIELDS.len()` of `row`.
    fn read(row: &QueryResult, first: usize) -> Result<Self, DbErr>;
}

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

readable!(Uuid, String, i32, i64, NaiveDate, DateTime<Utc>);

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

            // The step past the last field is never read.
            #[allow(unused_assignments)]
            fn read(row: &sea_orm::QueryResult, first: usize) -> Result<Self, sea_orm::DbErr> {
                let mut index = first;
                Ok(Self {
                    $($field: {
                        let value = $crate::positional::read(row, index, stringify!($field))?;
                        index += 1;
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
        onet_soc_code, published_at, version, created_at, updated_at,
    }
    career_path_skill { career_path_id, skill_id, importance, position }
    skill { id, slug, name, category, description, version, created_at, updated_at }
    skill_technology { skill_id, technology_id, position }
    technology { id, slug, name, kind, description, built_on_id, version, created_at, updated_at }
    salary_record {
        id, career_path_id, country, currency, period, experience_level, industry_id, location, average,
        minimum, maximum, percentile_10, percentile_25, median, percentile_75, percentile_90, sample_size,
        source, source_url, as_of, notes, version, created_at, updated_at,
    }
}

/// A model read by position from the start of each row: what `into_model` takes to read a
/// plain `Entity::find()` this way.
pub(crate) struct ByPosition<M>(pub M);

impl<M: Positional> FromQueryResult for ByPosition<M> {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        M::read(row, 0).map(ByPosition)
    }
}

/// Every row `select` finds, read by position: `Select::all`.
pub(crate) async fn all<E>(select: Select<E>, db: &impl ConnectionTrait) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Positional + Send + Sync,
{
    let rows = select.into_model::<ByPosition<E::Model>>().all(db).await?;
    Ok(rows.into_iter().map(|ByPosition(model)| model).collect())
}

/// The first row `select` finds, read by position: `Select::one`.
pub(crate) async fn one<E>(select: Select<E>, db: &impl ConnectionTrait) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Positional + Send + Sync,
{
    Ok(select.into_model::<ByPosition<E::Model>>().one(db).await?.map(|ByPosition(model)| model))
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use sea_orm::{DatabaseConnection, EntityTrait, FromQueryResult, IdenStatic, Iterable};

    use super::Positional;
    use crate::entities::{career_path, career_path_skill, salary_record, skill, skill_technology, technology};

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
    }

    /// Every row of `E`, read by position, equals sea-orm's reading of it by name.
    async fn reads_like_sea_orm<E>(db: &DatabaseConnection) -> Vec<E::Model>
    where
        E: EntityTrait,
        E::Model: Positional + FromQueryResult + PartialEq + Debug + Send + Sync,
    {
        let by_name = E::find().all(db).await.expect("read by name");
        let by_position = super::all(E::find(), db).await.expect("read by position");
        assert!(!by_name.is_empty(), "{} has rows to compare", E::default().table_name());
        assert_eq!(by_position, by_name);
        by_name
    }

    /// The bundled dataset and some synthetic paths, read both ways, including the joined reads
    /// of `linked` (a link's columns after its target's).
    async fn positional_reads_equal_sea_orms(db: &DatabaseConnection) {
        crate::migrate(db).await.expect("migrated");
        crate::dataset::load_bundled(db).await.expect("the bundled dataset");
        crate::synthetic::load_benchmark_data(db, 3).await.expect("synthetic paths");

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
        let mut joined = crate::queries::career_paths::skills(db, &path_ids).await.expect("joined read");
        let mut expected: Vec<_> = path_skills
            .iter()
            .map(|link| (link.clone(), skills.iter().find(|s| s.id == link.skill_id).cloned().expect("its skill")))
            .collect();
        joined.sort_by_key(|(link, _)| (link.career_path_id, link.skill_id));
        expected.sort_by_key(|(link, _)| (link.career_path_id, link.skill_id));
        assert_eq!(joined, expected);

        let skill_ids: Vec<_> = skill_technologies.iter().map(|link| link.skill_id).collect();
        let mut joined = crate::queries::skills::technologies(db, &skill_ids).await.expect("joined read");
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
