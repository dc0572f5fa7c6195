//! One refresh token of a session. A session is a family of tokens, each rotated from the last.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_token")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// Shared by every token of one session, from sign-in on.
    pub family_id: Uuid,
    /// SHA-256 of the token; the token itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The token this one replaced.
    pub rotated_from_id: Option<Uuid>,
    /// The session's absolute end; rotation does not extend it.
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// When it was exchanged for its successor.
    pub used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
