//! careergraph's authentication and authorization rules: roles now; password hashing, tokens
//! and refresh-token rotation as they arrive. Knows nothing of HTTP, GraphQL or careers.

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
