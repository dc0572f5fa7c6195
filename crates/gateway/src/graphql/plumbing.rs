//! What every operation runs through, whatever it asks for.
//!
//! - [`context`]: what a request carries into every resolver (caller, loaders, database).
//! - [`error`]: every conversion of a failure into a coded error, and the response renderer.
//! - [`policy`], [`limits`], [`expansion`]: who may read what, and the limits async-graphql
//!   lacks; [`guards`] enforces both, and [`prepared`] runs what they have already cleared
//!   without them; [`field_order`] keeps an answer's fields in the order they were asked for.
//! - [`inline`]: lists and objects whose leaf fields resolve without a future each.
//! - [`loaders`], [`gathering`], [`executor`]: batching on the request's own task; [`slots`]: how many
//!   operations execute at once.

pub mod context;
pub mod error;
pub mod executor;
pub mod expansion;
pub mod field_order;
pub mod gathering;
pub mod guards;
pub mod inline;
pub mod limits;
pub mod loaders;
pub mod operation;
pub mod policy;
pub mod prepared;
pub mod projection;
pub mod slots;
pub mod spans;
