//! The shape every versioned change shares, written once: validate, claim the version inside
//! the transaction, write, record the audit event, commit.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Actor, EntityKind};
use crate::changes;
use crate::{Db, Error, Result};

/// A table whose rows carry `id`, `version` and `updated_at`, and are audited under a name.
pub trait Editable: EntityTrait
where
    Self::Model: Serialize + Clone + Send + Sync + IntoActiveModel<Self::ActiveModel>,
    Self::ActiveModel: ActiveModelTrait<Entity = Self> + ActiveModelBehavior + Send,
{
    /// What audit events and error messages call a row.
    const KIND: EntityKind;
    /// The primary key column.
    fn id_column() -> Self::Column;
    /// The version column.
    fn version_column() -> Self::Column;
    /// A row's id.
    fn id(model: &Self::Model) -> Uuid;
    /// A row's version.
    fn version(model: &Self::Model) -> i32;
    /// Sets the version and the time of change on a row being written.
    fn touch(row: &mut Self::ActiveModel, version: i32);
    /// How a message names the row to a person: its slug, title or name.
    fn label(model: &Self::Model) -> String;
}

/// The row `id`, checked against the version a change is based on.
pub async fn current<E: Editable>(db: &Db, id: Uuid, expected_version: i32) -> Result<E::Model>
where
    E::Model: Serialize + Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let row =
        E::find().filter(E::id_column().eq(id)).one(db).await?.ok_or_else(|| Error::NotFound(E::KIND.noun().into()))?;
    if E::version(&row) != expected_version {
        return Err(stale::<E>(&row, expected_version));
    }
    Ok(row)
}

/// Inserts `row` with its audit event.
pub async fn insert<E: Editable>(db: &Db, actor: &Actor, row: E::ActiveModel) -> Result<E::Model>
where
    E::Model: Serialize + Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let txn = db.begin().await?;
    let created = row.insert(&txn).await.map_err(unique_violation)?;
    crate::search::refresh(&txn, E::KIND, &created).await?;
    let change = audit::record(&txn, actor, "create", E::KIND, E::id(&created), None, Some(&created)).await?;
    changes::commit(db, txn, [change]).await?;
    Ok(created)
}

/// What the audit event of a change shows, when the row alone does not tell it (a replaced
/// list of links, say): the state before, and a function of the row after.
pub type Snapshot<M> = (serde_json::Value, Box<dyn FnOnce(&M) -> serde_json::Value + Send>);

/// A value as audit JSON, for building a [`Snapshot`].
pub fn to_json(value: &impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|error| Error::Internal(format!("cannot record the change: {error}")))
}

/// Writes `row` over `before` (which is at the expected version): claims the version, runs
/// `also` in the same transaction (to replace links, say), records one audit event (the rows,
/// or the snapshot `also` returns), commits.
pub async fn update<E: Editable, F>(
    db: &Db,
    actor: &Actor,
    action: &str,
    before: E::Model,
    row: E::ActiveModel,
    also: F,
) -> Result<E::Model>
where
    E::Model: Serialize + Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<Option<Snapshot<E::Model>>>,
{
    update_then::<E, F, _>(db, actor, action, before, row, also, async |_: &DatabaseTransaction, _: &E::Model| Ok(()))
        .await
}

/// [`update`], then `then` in the same transaction with the row as written: for what follows
/// from the new row (the derived tables a status change moves, say).
pub async fn update_then<E: Editable, F, G>(
    db: &Db,
    actor: &Actor,
    action: &str,
    before: E::Model,
    mut row: E::ActiveModel,
    also: F,
    then: G,
) -> Result<E::Model>
where
    E::Model: Serialize + Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<Option<Snapshot<E::Model>>>,
    G: AsyncFnOnce(&DatabaseTransaction, &E::Model) -> Result<()>,
{
    let (id, version) = (E::id(&before), E::version(&before));
    let txn = db.begin().await?;
    if !claim_version::<E, _>(&txn, E::id_column(), E::version_column(), id, version).await? {
        return Err(lost_race::<E>(&txn, id, version).await);
    }
    let snapshot = also(&txn).await?;
    E::touch(&mut row, version + 1);
    let after = row.update(&txn).await.map_err(unique_violation)?;
    crate::search::refresh(&txn, E::KIND, &after).await?;
    then(&txn, &after).await?;
    let change = match snapshot {
        Some((old, new)) => audit::record(&txn, actor, action, E::KIND, id, Some(&old), Some(&new(&after))).await?,
        None => audit::record(&txn, actor, action, E::KIND, id, Some(&before), Some(&after)).await?,
    };
    changes::commit(db, txn, [change]).await?;
    Ok(after)
}

/// Deletes `before` (which is at the expected version), running `detach` first in the same
/// transaction, and records the audit event.
pub async fn delete<E: Editable, F>(db: &Db, actor: &Actor, before: E::Model, detach: F) -> Result<()>
where
    E::Model: Serialize + Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    F: AsyncFnOnce(&DatabaseTransaction) -> Result<()>,
{
    let (id, version) = (E::id(&before), E::version(&before));
    let txn = db.begin().await?;
    if !claim_version::<E, _>(&txn, E::id_column(), E::version_column(), id, version).await? {
        return Err(lost_race::<E>(&txn, id, version).await);
    }
    detach(&txn).await?;
    E::delete_many().filter(E::id_column().eq(id)).exec(&txn).await?;
    crate::search::refresh(&txn, E::KIND, &before).await?;
    let change = audit::record(&txn, actor, "delete", E::KIND, id, Some(&before), None::<&E::Model>).await?;
    changes::commit(db, txn, [change]).await?;
    Ok(())
}

/// Refuses the deletion of `row` that would leave `count` references dangling, unless
/// detaching. `what` names what refers to it, as (one, several): ("career path", "career paths").
pub fn refuse_if_referenced<E: Editable>(row: &E::Model, count: usize, what: (&str, &str), detach: bool) -> Result<()>
where
    E::Model: Serialize + Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    if count > 0 && !detach {
        let (what, verb) = if count == 1 { (what.0, "refers") } else { (what.1, "refer") };
        return Err(Error::conflict(
            "detach",
            format!(
                "is not set, and {count} {what} still {verb} to {} {}: pass detach: true to remove those links",
                E::KIND.noun(),
                E::label(row)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<()>) -> String {
        match result {
            Err(Error::Conflict { message, .. }) => message,
            other => panic!("not a conflict: {other:?}"),
        }
    }

    /// A change that passes the version check and then loses the race to another, inside its
    /// own transaction, must read the row it lost to through that transaction: with one
    /// connection (SQLite's single writer) a read through the pool would wait for the
    /// connection the transaction holds, and answer "unavailable" after the acquire timeout.
    #[tokio::test]
    async fn losing_the_race_inside_a_transaction_is_a_conflict_even_with_one_connection() -> Result<()> {
        use sea_orm::{EntityTrait, IntoActiveModel};

        use crate::entities::career_path;

        let dir = tempfile::tempdir().map_err(|error| Error::Internal(error.to_string()))?;
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("race.db").display());
        let db = crate::connect_with(&url, 1, std::time::Duration::from_secs(1)).await?;
        crate::migrate(&db).await?;
        crate::dataset::load_bundled(&db).await?;
        let stale = career_path::Entity::find().one(&db).await?.ok_or_else(|| Error::NotFound("a path".into()))?;
        let actor = Actor::default();
        let row = stale.clone().into_active_model();
        update::<career_path::Entity, _>(&db, &actor, "update", stale.clone(), row.clone(), async |_| Ok(None)).await?;
        // The same change again, from the version the first one replaced.
        let started = std::time::Instant::now();
        let lost = update::<career_path::Entity, _>(&db, &actor, "update", stale, row, async |_| Ok(None)).await;
        assert!(matches!(&lost, Err(Error::Conflict { field, .. }) if field == "expected_version"), "{lost:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "no wait for a connection");
        Ok(())
    }

    #[test]
    fn references_are_counted_in_words_that_agree_with_the_count_and_name_what_they_refer_to() {
        let what = ("career path", "career paths");
        let industry = crate::entities::industry::Model {
            id: uuid::Uuid::nil(),
            slug: "fintech".into(),
            name: "Fintech".into(),
            version: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let refuse =
            |count, detach| refuse_if_referenced::<crate::entities::industry::Entity>(&industry, count, what, detach);
        assert!(refuse(0, false).is_ok());
        assert!(refuse(3, true).is_ok());
        assert_eq!(
            message(refuse(1, false)),
            "is not set, and 1 career path still refers to industry fintech: pass detach: true to remove those links"
        );
        assert!(
            message(refuse(2, false)).starts_with("is not set, and 2 career paths still refer to industry fintech:")
        );
    }
}

async fn lost_race<E: Editable>(db: &impl ConnectionTrait, id: Uuid, expected: i32) -> Error
where
    E::Model: Serialize + Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    match E::find().filter(E::id_column().eq(id)).one(db).await {
        Ok(Some(row)) => stale::<E>(&row, expected),
        Ok(None) => Error::NotFound(E::KIND.noun().into()),
        Err(error) => error.into(),
    }
}

/// Unique-key violations are input errors on the slug, the only unique input column.
fn unique_violation(error: sea_orm::DbErr) -> Error {
    match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::invalid("slug", "is already in use"),
        _ => error.into(),
    }
}

/// Implements [`Editable`] for an entity module with `id`, `version` and `updated_at` columns.
macro_rules! editable {
    ($module:ident, $kind:ident, $label:expr) => {
        impl $crate::editing::rows::Editable for $crate::entities::$module::Entity {
            const KIND: EntityKind = EntityKind::$kind;
            fn id_column() -> Self::Column {
                $crate::entities::$module::Column::Id
            }
            fn version_column() -> Self::Column {
                $crate::entities::$module::Column::Version
            }
            fn id(model: &Self::Model) -> uuid::Uuid {
                model.id
            }
            fn version(model: &Self::Model) -> i32 {
                model.version
            }
            fn touch(row: &mut Self::ActiveModel, version: i32) {
                row.version = sea_orm::ActiveValue::Set(version);
                row.updated_at = sea_orm::ActiveValue::Set(chrono::Utc::now());
            }
            fn label(model: &Self::Model) -> String {
                let label: fn(&Self::Model) -> String = $label;
                label(model)
            }
        }
    };
}

editable!(career_path, CareerPath, |row| row.slug.clone());
editable!(skill, Skill, |row| row.slug.clone());
editable!(technology, Technology, |row| row.slug.clone());
editable!(industry, Industry, |row| row.slug.clone());
editable!(benefit, Benefit, |row| row.slug.clone());
editable!(responsibility, Responsibility, |row| format!("\"{}\"", row.title));
editable!(roadmap_step, RoadmapStep, |row| format!("\"{}\"", row.title));
editable!(learning_resource, LearningResource, |row| format!("\"{}\"", row.name));
editable!(salary_record, SalaryRecord, |row| match &row.location {
    Some(location) => format!("for {location}, {} as of {}", row.country, row.as_of),
    None => format!("for {} as of {}", row.country, row.as_of),
});

/// The conflict for a change based on version `expected` of `row`, which is at another.
fn stale<E: Editable>(row: &E::Model, expected: i32) -> Error
where
    E::Model: Serialize + Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    Error::conflict(
        "expected_version",
        format!(
            "is {expected}, but {} {} is at version {}: someone else changed it; reload and retry",
            E::KIND.noun(),
            E::label(row),
            E::version(row)
        ),
    )
}

/// Opens the change of one row: bumps its version if, and only if, it is still at `expected`.
/// Returns whether it was. Call first in the transaction, then set the row's new values.
async fn claim_version<E, C>(
    txn: &impl ConnectionTrait,
    id_column: C,
    version_column: C,
    id: Uuid,
    expected: i32,
) -> Result<bool>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let claimed = E::update_many()
        .col_expr(version_column, Expr::col(version_column).add(1))
        .filter(id_column.eq(id))
        .filter(version_column.eq(expected))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(claimed == 1)
}
