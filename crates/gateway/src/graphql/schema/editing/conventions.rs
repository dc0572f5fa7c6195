//! What every editing mutation shares: the deletion's input and payload, and how an update
//! reads an omitted field and an explicit `null`.

use async_graphql::{ID, InputObject, MaybeUndefined, Result, SimpleObject};
use careergraph_auth::Role;

use crate::graphql::plumbing::error::bad_input;
use crate::graphql::plumbing::policy::auth;

/// Names an object to delete, and the version the deletion is based on.
#[derive(InputObject)]
pub struct DeleteInput {
    /// The object.
    pub id: ID,
    /// The `version` the deletion is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// Also remove the links from whatever still refers to the object (other career paths,
    /// skills, salary records). Without it, an object something refers to is not deleted
    /// (CONFLICT on `detach`). Objects that nothing can refer to (responsibilities, roadmap
    /// steps, learning resources, salary records) are deleted either way.
    #[graphql(default)]
    pub detach: bool,
}

/// The result of a deletion.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct DeletePayload {
    /// The id of the deleted object.
    pub deleted_id: ID,
}

impl DeleteInput {
    /// The payload that reports this deletion.
    pub(super) fn deleted(self) -> Option<DeletePayload> {
        Some(DeletePayload { deleted_id: self.id })
    }
}

/// An optional field of an update: omitted keeps it (`None`), `null` clears it (`Some(None)`).
pub(super) fn clearable<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// A required field of an update: omitted keeps it (`None`); it has no `null` to be.
pub(super) fn required<T>(field: &str, value: MaybeUndefined<T>) -> Result<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(bad_input(field, "cannot be null: omit it to keep the current value")),
        MaybeUndefined::Value(value) => Ok(Some(value)),
    }
}
