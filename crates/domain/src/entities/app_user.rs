//! A person who can sign in. (`user` is a reserved word in PostgreSQL.)

use sea_orm::entity::prelude::*;

use careergraph_auth::Role;

versioned_entity! {
    table_name = "app_user";
    /// Trimmed and lowercased; unique.
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// argon2id, as a PHC string. Never serialised, so never in an audit event.
    #[serde(skip)]
    pub password_hash: String,
    pub disabled: bool,
    /// Access tokens issued before this instant (to the second) are no longer accepted.
    pub tokens_valid_after: DateTimeUtc,
    /// When the user's sessions were last revoked, precisely: a sign-in that began earlier must
    /// not open a session.
    pub sessions_revoked_at: Option<DateTimeUtc>,
    pub last_login_at: Option<DateTimeUtc>,
}
