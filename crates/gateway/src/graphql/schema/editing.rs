//! Editing over GraphQL, one module per area as in the domain's `editing`. Every editing
//! mutation follows one style (see [`conventions`]): it takes one `input`; updates name the
//! `expectedVersion` they are based on; in an update an omitted field stays as it is, an
//! explicit `null` clears an optional field (and is refused for a required one); every deletion
//! takes a `DeleteInput`.

mod career_paths;
mod catalog;
pub mod conventions;
mod path_content;
mod salaries;

use async_graphql::MergedObject;

/// Every editing mutation, merged into the root.
#[derive(MergedObject, Default)]
pub struct EditingMutation(
    career_paths::CareerPathMutation,
    catalog::CatalogMutation,
    path_content::PathContentMutation,
    salaries::SalaryMutation,
);
