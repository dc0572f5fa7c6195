//! careergraph's authentication rules: roles, argon2id password hashing, Ed25519 access tokens,
//! and refresh tokens. Knows nothing of HTTP, GraphQL, the database or careers: the gateway
//! stores what this crate produces (the user and refresh-token tables live in the domain crate,
//! beside every other table, so there is one migration history) and enforces what it decides.
//!
//! [`Role`] is the project's one role type. So that the schema, the command line and the user
//! table need no copies of it, optional features add the derive each of them needs: `graphql`
//! (the `Role` enum of the schema), `cli` (clap's `ValueEnum`) and `storage` (a sea-orm column
//! stored as the role's name). None of them changes what a role means.

pub mod keys;
pub mod password;
pub mod refresh;
pub mod token;

use serde::{Deserialize, Serialize};
// Named by the column type that `storage`'s derive writes out.
#[cfg(feature = "storage")]
use sea_orm::sea_query::StringLen;

/// What a caller may do, from least to most. Each role may do everything the ones before it may.
/// A stored user is never `ANONYMOUS`: that is the role of a caller without a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[cfg_attr(feature = "storage", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "storage", sea_orm(rs_type = "String", db_type = "String(StringLen::None)"))]
pub enum Role {
    /// Anyone, without a token: published content only.
    #[cfg_attr(feature = "cli", value(skip))]
    #[cfg_attr(feature = "storage", sea_orm(string_value = "ANONYMOUS"))]
    Anonymous,
    /// Any signed-in user: also salary details and their own account.
    #[cfg_attr(feature = "storage", sea_orm(string_value = "VIEWER"))]
    Viewer,
    /// Also curates content, drafts included, and reads the audit trail.
    #[cfg_attr(feature = "storage", sea_orm(string_value = "EDITOR"))]
    Editor,
    /// Also manages people.
    #[cfg_attr(feature = "storage", sea_orm(string_value = "ADMIN"))]
    Admin,
}

impl Role {
    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "ANONYMOUS",
            Self::Viewer => "VIEWER",
            Self::Editor => "EDITOR",
            Self::Admin => "ADMIN",
        }
    }

    /// The role named `name` (its wire name, as [`Role::as_str`] gives it).
    pub fn named(name: &str) -> Option<Self> {
        [Self::Anonymous, Self::Viewer, Self::Editor, Self::Admin].into_iter().find(|role| role.as_str() == name)
    }

    /// Whether this role includes everything `required` may do.
    pub fn satisfies(self, required: Role) -> bool {
        self >= required
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_from_anonymous_to_admin() {
        assert!(Role::Admin.satisfies(Role::Editor));
        assert!(Role::Editor.satisfies(Role::Viewer));
        assert!(Role::Viewer.satisfies(Role::Viewer));
        assert!(!Role::Viewer.satisfies(Role::Editor));
        assert!(!Role::Anonymous.satisfies(Role::Viewer));
    }

    #[test]
    fn a_role_is_found_by_its_wire_name() {
        assert_eq!(Role::named("EDITOR"), Some(Role::Editor));
        assert_eq!(Role::named("editor"), None);
    }
}
