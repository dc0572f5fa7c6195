//! Which columns a request reads: each GraphQL object over a table says which columns each of
//! its fields shows ([`projection!`]), and a resolver that loads such objects asks for the
//! columns of the fields selected on them (through fragments too), read by async-graphql's
//! look-ahead. The domain adds the keys and sort columns it needs itself.
//!
//! A field the table does not list reads every column: forgetting one costs speed, never a
//! wrong answer. A test walks the schema to check that every field of these objects is listed,
//! and one asks each field alone and compares it with the whole object (tests/api/projection.rs).

use async_graphql::{Context, SelectionField};
use careergraph_domain::projection::Columns;
use sea_orm::EntityTrait;

/// A GraphQL object over the rows of one table.
pub trait Projected {
    /// The table.
    type Entity: EntityTrait;

    /// The object's fields, every one of which [`Projected::columns_of`] answers.
    const FIELDS: &'static [&'static str];

    /// The columns the field named `field` shows; `None` for a field the object does not have.
    fn columns_of(field: &str) -> Option<Columns<Self::Entity>>;
}

/// The columns the fields in `selection` (asked of a `T`) show.
pub fn columns_of<'a, T: Projected>(selection: impl IntoIterator<Item = SelectionField<'a>>) -> Columns<T::Entity> {
    let mut columns = Columns::none();
    for field in selection {
        match T::columns_of(field.name()) {
            Some(shown) => columns = columns.union(shown),
            None if field.name() == "__typename" => {}
            None => return Columns::all(),
        }
    }
    columns
}

/// The columns of the `T`s the current field returns (itself, or as a list).
pub fn asked<T: Projected>(ctx: &Context<'_>) -> Columns<T::Entity> {
    columns_of::<T>(ctx.field().selection_set())
}

/// The columns of the `T`s found under `path` from the current field: `["skill"]` for the skill
/// of each `CareerPathSkill` a field returns; every occurrence of the path counts, fragments
/// included.
pub fn asked_under<T: Projected>(ctx: &Context<'_>, path: &[&str]) -> Columns<T::Entity> {
    let ahead = path.iter().fold(ctx.look_ahead(), |ahead, name| ahead.field(name));
    ahead
        .selection_fields()
        .iter()
        .fold(Columns::none(), |columns, field| columns.union(columns_of::<T>(field.selection_set())))
}

/// The columns of the `T`s of the connection the current field returns (`edges.node`, `nodes`).
pub fn asked_of_connection<T: Projected>(ctx: &Context<'_>) -> Columns<T::Entity> {
    asked_under::<T>(ctx, &["edges", "node"]).union(asked_under::<T>(ctx, &["nodes"]))
}

/// Declares which columns of `$table` each field of `$object` shows: `"field" => [Column, …]`,
/// with `[]` for a field that shows no column of its own (the id, which every read selects, or a
/// relation, which loads its own rows). Where a read leaves the id out unless asked (a skill's
/// technologies), the id and every field that needs it name `Id`.
macro_rules! projection {
    ($object:ty => $table:ident { $($field:literal => [$($column:ident),* $(,)?]),+ $(,)? }) => {
        impl $crate::graphql::plumbing::projection::Projected for $object {
            type Entity = $table::Entity;

            const FIELDS: &'static [&'static str] = &[$($field),+];

            fn columns_of(field: &str) -> Option<careergraph_domain::projection::Columns<$table::Entity>> {
                Some(match field {
                    $($field => careergraph_domain::projection::Columns::of([$($table::Column::$column),*]),)+
                    _ => return None,
                })
            }
        }
    };
}
pub(crate) use projection;
