//! Read operations. Lookups and lists take a [`Visibility`](crate::Visibility); every function
//! that follows a relation takes many parent ids and issues one statement, so the gateway's
//! DataLoaders keep the number of statements bounded by a query's depth.

pub mod career_paths;
pub mod nodes;
pub mod salaries;
pub mod sectors;
pub mod skill_gap;
pub mod skills;
pub mod technologies;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Identity, Iterable, JoinType, ModelTrait, Order, QueryFilter,
    QuerySelect, QueryTrait, Related, Select,
};
use uuid::Uuid;

use crate::positional::Positional;
use crate::projection::Columns;
use crate::{Error, Result};

/// Ascending or descending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// A to Z, oldest first.
    #[default]
    Asc,
    /// Z to A, newest first.
    Desc,
}

impl From<Direction> for Order {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Asc => Order::Asc,
            Direction::Desc => Order::Desc,
        }
    }
}

/// The rows of the link table `L` that `filter` keeps, ordered by `order` (its position, an
/// integer), each with the row of `T` it points to; `link` of the link's columns and `columns` of
/// the target's are read, in one statement. A link read only for whose it is names that one
/// column. Neither the link's column that points to the target (it holds the target's key, read
/// in its place when asked for) nor `order` (read last, for the sort) is selected twice: on the
/// nested benchmark query's skills that was two values in ten of every row PostgreSQL sent. The
/// target's key is read only when `columns` or `link` ask for it.
///
/// sea-orm's `find_also_related` does the same, but selects every column as `A_name` / `B_name`
/// and formats each of those names anew for every column of every row it reads (a string
/// allocation per value; thousands in a nested page). Here both tables' columns keep their own
/// names, which is sound because no link table shares a column name with the table it points to
/// (checked on every call in debug builds, so every pair the tests reach), and the row is read
/// by position: the target's selected columns, then the link's.
pub(crate) async fn linked<L, T>(
    db: &impl ConnectionTrait,
    filter: SimpleExpr,
    order: L::Column,
    link: Columns<L>,
    columns: Columns<T>,
) -> Result<Vec<(L::Model, T::Model)>>
where
    L: EntityTrait + Related<T>,
    T: EntityTrait,
    L::Model: Positional + ModelTrait<Entity = L>,
    T::Model: Positional + ModelTrait<Entity = T>,
{
    debug_assert!(
        share_no_column::<L, T>(),
        "{} and {} share a column name",
        L::default().table_name(),
        T::default().table_name()
    );
    let relation = <L as Related<T>>::to();
    let (pointer, target_key) = match (&relation.from_col, &relation.to_col) {
        (Identity::Unary(pointer), Identity::Unary(key)) => (column_named::<L>(pointer), column_named::<T>(key)),
        _ => (None, None),
    };
    // What the caller asked of the link that is read from elsewhere, set after the row is read.
    let pointer_asked = pointer.zip(target_key).filter(|(pointer, _)| link.contains(*pointer));
    let order_asked = link.contains(order);
    let (link, columns) = match pointer_asked {
        Some((pointer, key)) => (link.without(pointer), columns.with(key)),
        None => (link, columns),
    };
    let link = link.without(order);
    // From the link table, whose filter picks the rows, to the targets by their keys. Given an
    // IN list of a few hundred ids, SQLite's planner chose the other order (every target, each
    // probed for every id: 40x slower in the nested benchmark query). A unary `+` on the link's
    // key is SQLite's way of keeping an index out of a plan: the targets cannot then be scanned
    // first. PostgreSQL plans the join well as it is.
    let mut select = L::find().select_only().columns(columns.iter()).columns(link.iter());
    match (db.get_database_backend(), &relation.from_col, &relation.to_col) {
        (DbBackend::Sqlite, Identity::Unary(link_key), Identity::Unary(target_key)) => {
            let link_key = Expr::col((L::default(), link_key.clone()));
            let target_key = Expr::col((T::default(), target_key.clone()));
            // SQLite's query builder writes `?` for each expression in turn.
            let on = Expr::cust_with_exprs("+? = ?", [link_key, target_key]);
            QueryTrait::query(&mut select).join(JoinType::InnerJoin, T::default().table_ref(), on);
        }
        _ => select = select.join(JoinType::InnerJoin, relation),
    }
    // Ordered here rather than by the database: sorting a batch's few hundred joined rows was a
    // fifth of the nested benchmark query's technologies statement in PostgreSQL, and sorting
    // their positions here costs next to nothing. The order column comes last.
    let statement = select.column(order).filter(filter).build(db.get_database_backend());
    let link_starts_at = columns.bits().count_ones() as usize;
    let order_at = link_starts_at + link.bits().count_ones() as usize;
    let results = db.query_all_raw(statement).await?;
    // The positions are sorted, and each row read once, in its place.
    let mut positions = Vec::with_capacity(results.len());
    for (at, row) in results.iter().enumerate() {
        let position: i32 = crate::positional::read(row, order_at, sea_orm::IdenStatic::as_str(&order))?;
        positions.push((position, at));
    }
    positions.sort_unstable();
    let mut rows = Vec::with_capacity(results.len());
    for (position, at) in positions {
        let row = &results[at];
        let target = T::Model::read_selected(row, 0, columns.bits())?;
        let mut link_row = L::Model::read_selected(row, link_starts_at, link.bits())?;
        if order_asked {
            link_row.try_set(order, position.into())?;
        }
        if let Some((pointer, key)) = pointer_asked {
            link_row.try_set(pointer, target.get(key))?;
        }
        rows.push((link_row, target));
    }
    Ok(rows)
}

/// The column of `E` named `name` (sea-orm derives each column's `FromStr`).
fn column_named<E: EntityTrait>(name: &sea_orm::DynIden) -> Option<E::Column> {
    name.to_string().parse().ok()
}

/// `column` holds one of `ids`, the ids given as a list of rows (`IN (SELECT … FROM (VALUES …))`)
/// on PostgreSQL rather than as an `IN` list of parameters. In a kept plan (see
/// [`crate::open`]) PostgreSQL cannot hash an `IN` list of parameters, so it looks each id up in
/// the index on its own; a list of rows it may hash, and then scan the table once. For the
/// technologies of a nested page's ~180 skills (a link table of the catalog's size) that took
/// the statement from 0.48 to 0.38 ms. Not for every batch: joined to a list of rows, a table
/// cannot be read by a bitmap of its index, and the skills of 20 career paths read the whole
/// `career_path_skill` table instead (0.22 to 0.73 ms). SQLite plans an `IN` list well (see
/// [`linked`]).
pub(crate) fn listed_as_rows<C: ColumnTrait>(backend: DbBackend, column: C, ids: &[Uuid]) -> SimpleExpr {
    if backend != DbBackend::Postgres || ids.is_empty() {
        return column.is_in(ids.iter().copied());
    }
    let rows = ids.iter().map(|id| sea_orm::sea_query::ValueTuple::One((*id).into()));
    let listed = sea_orm::sea_query::Query::select().column("column1").from_values(rows, "ids").to_owned();
    column.in_subquery(listed)
}

/// The rows of `E` whose `column` holds one of `ids`, narrowed or ordered by `refine`, with
/// `columns` and `column` read by position: every lookup by id and every batched read of a
/// relation is one of these.
pub(crate) async fn among<E>(
    db: &impl ConnectionTrait,
    (column, ids): (E::Column, &[Uuid]),
    columns: Columns<E>,
    refine: impl FnOnce(Select<E>) -> Select<E>,
) -> Result<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: Positional,
{
    let select = refine(E::find().filter(column.is_in(ids.iter().copied())));
    Ok(crate::positional::all_of(select, columns.with(column), db).await?)
}

/// Whether no column of `L` has the name of a column of `T`.
fn share_no_column<L: EntityTrait, T: EntityTrait>() -> bool {
    use sea_orm::IdenStatic;
    L::Column::iter().all(|link| T::Column::iter().all(|target| link.as_str() != target.as_str()))
}

/// The longest search text accepted; longer input is refused rather than scanned.
pub const MAX_SEARCH_LENGTH: usize = 200;

/// A case-insensitive "contains" match of `search` against any of `columns`, with `%` and `_`
/// in the search text taken literally. Works the same on SQLite and PostgreSQL.
pub(crate) fn search_condition<C: ColumnTrait>(search: &str, columns: &[C]) -> Result<Option<SimpleExpr>> {
    let needle = search.trim().to_lowercase();
    if needle.chars().count() > MAX_SEARCH_LENGTH {
        return Err(Error::invalid("search", format!("must be at most {MAX_SEARCH_LENGTH} characters")));
    }
    if needle.is_empty() {
        return Ok(None);
    }
    let escaped = needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let condition = columns
        .iter()
        .map(|column| {
            Expr::expr(Func::lower(Expr::col(column.as_column_ref()))).like(LikeExpr::new(&pattern).escape('\\'))
        })
        .reduce(|a, b| a.or(b));
    Ok(condition)
}

#[cfg(test)]
mod tests {
    use crate::entities::{career_path_skill, skill, skill_technology, technology};

    /// The pairs [`super::linked`] reads by their own column names.
    #[test]
    fn linked_tables_share_no_column_name_with_what_they_point_to() {
        assert!(super::share_no_column::<career_path_skill::Entity, skill::Entity>());
        assert!(super::share_no_column::<skill_technology::Entity, technology::Entity>());
        assert!(!super::share_no_column::<skill::Entity, technology::Entity>(), "both have `slug`");
    }
}
