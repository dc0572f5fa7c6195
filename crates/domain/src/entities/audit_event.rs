//! One change: who did what to which row, with the row before and after, and when.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user who made the change; `None` for the command line or a deleted user.
    pub actor_id: Option<Uuid>,
    /// `create`, `update`, `delete`, `publish`, `unpublish`, `set_skills`, `set_role`, …
    pub action: String,
    /// The GraphQL type name of the changed row, e.g. `CareerPath`.
    pub entity_type: String,
    pub entity_id: Uuid,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub occurred_at: DateTimeUtc,
    /// The HTTP request that made the change, to match logs.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
