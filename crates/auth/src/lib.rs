//! careergraph's authentication rules: roles, argon2id password hashing, Ed25519 access tokens,
//! and refresh tokens. Knows nothing of HTTP, GraphQL, the database or careers: the gateway
//! stores what this crate produces (the user and refresh-token tables live in the domain crate,
//! beside every other table, so there is one migration history) and enforces what it decides.

pub mod keys;
pub mod password;
pub mod refresh;
pub mod token;

use serde::{Deserialize, Serialize};

/// What a caller may do, from least to most. Each role may do everything the ones before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// No token: published content only.
    Anonymous,
    /// Any signed-in user.
    Viewer,
    /// Curates content, drafts included.
    Editor,
    /// Manages people.
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
}
