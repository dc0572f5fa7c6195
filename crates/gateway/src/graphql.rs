//! GraphQL, in two halves and the door between them:
//!
//! - [`schema`]: the schema's types and resolvers, thin over the domain: one query and one
//!   mutation object per area merged into the root, one DataLoader batch per relation.
//! - [`plumbing`]: what every operation runs through, whatever it asks: the request context,
//!   errors, the field policy, the limits and the guards that enforce both, prepared operations,
//!   field order, loaders, the executor and its slots.
//! - [`execution`]: the front door: runs one operation of a request on the schema, through the
//!   plumbing, and knows nothing of HTTP.

pub mod execution;
pub mod plumbing;
pub mod schema;
