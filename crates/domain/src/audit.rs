//! The audit log: every change, written in the transaction that makes it.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use crate::changes::{self, Change, ContentChange};
use crate::entities::audit_event;
use crate::page::{self, Page, PageRequest};
use crate::projection::Columns;
use crate::queries::Direction;
use crate::{Error, Result};

/// Who makes a change, and in which request.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    /// The signed-in user; `None` for the command line.
    pub user_id: Option<Uuid>,
    /// The HTTP request id, to match the logs.
    pub request_id: Option<String>,
}

/// Hands every kind of audited object, as `Variant = "noun"` with its doc, to the macro
/// `$then`, so the domain's [`EntityKind`] and the schema's enum of it are written from this one
/// list: a new kind is added here and nowhere else.
#[macro_export]
macro_rules! with_entity_kinds {
    ($then:ident) => {
        $then! {
            /// A career path.
            CareerPath = "career path",
            /// A skill.
            Skill = "skill",
            /// A technology.
            Technology = "technology",
            /// An industry.
            Industry = "industry",
            /// A benefit.
            Benefit = "benefit",
            /// A responsibility of a career path.
            Responsibility = "responsibility",
            /// A roadmap step of a career path.
            RoadmapStep = "roadmap step",
            /// A learning resource of a roadmap step.
            LearningResource = "learning resource",
            /// A salary record of a career path.
            SalaryRecord = "salary record",
            /// A user account.
            User = "user",
        }
    };
}

macro_rules! entity_kind {
    ($($(#[$doc:meta])* $kind:ident = $noun:literal),* $(,)?) => {
        /// The kinds of object whose changes are audited. Stored in each event by
        /// [`EntityKind::name`], which is also the object's GraphQL type name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum EntityKind {
            $($(#[$doc])* $kind,)*
        }

        impl EntityKind {
            /// Every kind.
            pub const ALL: &[Self] = &[$(Self::$kind),*];

            /// The stored name, e.g. `CareerPath`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$kind => stringify!($kind),)*
                }
            }

            /// How messages name one, e.g. "career path".
            pub fn noun(self) -> &'static str {
                match self {
                    $(Self::$kind => $noun,)*
                }
            }
        }
    };
}

with_entity_kinds!(entity_kind);

impl EntityKind {
    /// The kind stored as `name`, if any.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }
}

impl ContentChange {
    /// The kind of row changed, when this version knows it.
    pub fn kind(&self) -> Option<EntityKind> {
        EntityKind::named(&self.entity)
    }
}

fn json(value: Option<&impl Serialize>) -> Result<Option<serde_json::Value>> {
    value
        .map(serde_json::to_value)
        .transpose()
        .map_err(|error| Error::Internal(format!("cannot record the change: {error}")))
}

/// Records one change and publishes it on the change feed ([`crate::changes`]). Call it inside
/// the transaction that makes the change, and commit that with [`crate::changes::commit`] and
/// the change returned.
pub async fn record<T: Serialize>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    entity: EntityKind,
    entity_id: Uuid,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<Change> {
    let (before, after) = (json(before)?, json(after)?);
    let change = ContentChange {
        entity: entity.name().to_owned(),
        id: entity_id,
        action: action.to_owned(),
        version: after
            .as_ref()
            .and_then(|after| after.get("version"))
            .and_then(serde_json::Value::as_i64)
            .and_then(|version| i32::try_from(version).ok()),
        actor_id: actor.user_id,
        fields: changes::changed_fields(before.as_ref(), after.as_ref()),
    };
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_id: Set(actor.user_id),
        action: Set(action.to_owned()),
        entity_type: Set(entity.name().to_owned()),
        entity_id: Set(entity_id),
        before: Set(before),
        after: Set(after),
        occurred_at: Set(Utc::now()),
        request_id: Set(actor.request_id.clone()),
    }
    .insert(db)
    .await?;
    changes::publish(db, Change::Content(change)).await
}

/// Narrows the audit log.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only changes by this user.
    pub actor_id: Option<Uuid>,
    /// Only changes to rows of this kind.
    pub entity_type: Option<EntityKind>,
    /// Only changes to this row.
    pub entity_id: Option<Uuid>,
    /// Only changes at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only changes before this time.
    pub until: Option<DateTime<Utc>>,
}

/// A page of the audit log, newest first.
pub async fn log(
    db: &impl ConnectionTrait,
    filter: &Filter,
    columns: Columns<audit_event::Entity>,
    page: PageRequest,
) -> Result<Page<audit_event::Model>> {
    let mut select = audit_event::Entity::find();
    if let Some(actor) = filter.actor_id {
        select = select.filter(audit_event::Column::ActorId.eq(actor));
    }
    if let Some(entity_type) = filter.entity_type {
        select = select.filter(audit_event::Column::EntityType.eq(entity_type.name()));
    }
    if let Some(entity_id) = filter.entity_id {
        select = select.filter(audit_event::Column::EntityId.eq(entity_id));
    }
    if let Some(since) = filter.since {
        select = select.filter(audit_event::Column::OccurredAt.gte(since));
    }
    if let Some(until) = filter.until {
        select = select.filter(audit_event::Column::OccurredAt.lt(until));
    }
    let order = page::Order {
        column: audit_event::Column::OccurredAt,
        direction: Direction::Desc,
        id: audit_event::Column::Id,
        id_direction: Direction::Desc,
        cursor: |row: &audit_event::Model| page::Cursor { value: page::SortValue::Time(row.occurred_at), id: row.id },
    };
    page::fetch(db, select, order, with_what_policy_reads(columns), page).await
}

/// The changes to each of `entity_ids` (of kind `entity`), newest first, with `columns` read.
pub async fn history(
    db: &impl ConnectionTrait,
    entity: EntityKind,
    entity_ids: &[Uuid],
    columns: Columns<audit_event::Entity>,
) -> Result<Vec<audit_event::Model>> {
    let select = audit_event::Entity::find()
        .filter(audit_event::Column::EntityType.eq(entity.name()))
        .filter(audit_event::Column::EntityId.is_in(entity_ids.iter().copied()))
        .order_by_desc(audit_event::Column::OccurredAt)
        .order_by_desc(audit_event::Column::Id);
    Ok(crate::positional::all_of(select, with_what_policy_reads(columns), db).await?)
}

/// `columns` and what deciding who may read an event's snapshots needs: whose event it is.
fn with_what_policy_reads(columns: Columns<audit_event::Entity>) -> Columns<audit_event::Entity> {
    use audit_event::Column::{EntityId, EntityType, Id};
    columns.with(Id).with(EntityType).with(EntityId)
}
