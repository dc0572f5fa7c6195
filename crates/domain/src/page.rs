//! Keyset pages over a sorted query, with the total the API reports as `totalCount` when a
//! client asks for it.
//!
//! A page starts after the row a [`Cursor`] names by its sort value and id, not after a count of
//! rows: the database finds that place in the order's index, so the page at position 100,000
//! costs what the first one does (an offset made it read and throw away 100,000 rows), and a row
//! inserted or deleted before the cursor does not shift the next page.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};
use uuid::Uuid;

use crate::Result;
use crate::positional::{self, Positional};
use crate::projection::Columns;
use crate::queries::Direction;

/// Which slice of a sorted list to return.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRequest {
    /// Start after this row; the first page when `None`.
    pub after: Option<Cursor>,
    /// How many rows to return at most.
    pub limit: u64,
    /// Whether to count the whole list too (a second statement, so only when it is wanted).
    pub count_total: bool,
}

/// A row's place in a sorted list: its sort value and, for rows that share it, its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The value the list is sorted by.
    pub value: SortValue,
    /// The row's id, which orders rows of equal value.
    pub id: Uuid,
}

/// A value a list is sorted by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortValue {
    /// A title, name or e-mail address.
    Text(String),
    /// An instant.
    Time(DateTime<Utc>),
}

impl From<SortValue> for sea_orm::Value {
    fn from(value: SortValue) -> Self {
        match value {
            SortValue::Text(text) => text.into(),
            SortValue::Time(time) => time.into(),
        }
    }
}

/// One slice of a list and the size of the whole list.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The rows in this slice, in order, each with the cursor of its place.
    pub items: Vec<(Cursor, T)>,
    /// Whether rows follow this slice.
    pub has_next: bool,
    /// How many rows the whole list has, when it was counted.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// A page with no rows, of a list with none.
    pub fn empty() -> Self {
        Self { items: Vec::new(), has_next: false, total: Some(0) }
    }
}

/// How a list of `E` is sorted: by `column` in `direction`, then by `id` in `id_direction`;
/// `cursor` reads a row's place.
pub(crate) struct Order<E: EntityTrait> {
    pub column: E::Column,
    pub direction: Direction,
    pub id: E::Column,
    pub id_direction: Direction,
    pub cursor: fn(&E::Model) -> Cursor,
}

impl<E: EntityTrait> Order<E> {
    /// The rows after `cursor`. Written as `column >= value AND (column > value OR id > id)`
    /// (for ascending order) so the first half is a range the index on `(column, id)` starts
    /// from; SQLite and PostgreSQL both seek to it, where the `OR` alone is a filter on a scan.
    fn after(&self, cursor: Cursor) -> SimpleExpr {
        let (column, id) = (Expr::col(self.column.as_column_ref()), Expr::col(self.id.as_column_ref()));
        let value = sea_orm::Value::from(cursor.value);
        let (reached, past) = match self.direction {
            Direction::Asc => (column.clone().gte(value.clone()), column.gt(value.clone())),
            Direction::Desc => (column.clone().lte(value.clone()), column.lt(value.clone())),
        };
        let id_past = match self.id_direction {
            Direction::Asc => id.gt(cursor.id),
            Direction::Desc => id.lt(cursor.id),
        };
        reached.and(past.or(id_past))
    }
}

/// Runs `select` for one page in `order`, reading `columns` (and the order's own), fetching one
/// row more than the page holds to learn whether another follows; counts the whole list in a
/// second statement only if `page.count_total`.
pub(crate) async fn fetch<E, C>(
    db: &C,
    select: Select<E>,
    order: Order<E>,
    columns: Columns<E>,
    page: PageRequest,
) -> Result<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Positional + Send + Sync,
    C: ConnectionTrait,
{
    let total = count(db, &select, &page).await?;
    if total == Some(0) {
        return Ok(Page::empty());
    }
    let columns = columns.with(order.column).with(order.id);
    let rows = positional::all_of(window(select, &order, &page), columns, db).await?;
    Ok(finish(rows, &order, &page, total))
}

async fn count<E: EntityTrait>(db: &impl ConnectionTrait, select: &Select<E>, page: &PageRequest) -> Result<Option<u64>>
where
    E::Model: FromQueryResult + Send + Sync,
{
    Ok(match page.count_total {
        true => Some(select.clone().count(db).await?),
        false => None,
    })
}

/// `select` sorted, from the page's cursor on, with one row more than the page holds.
fn window<E: EntityTrait>(select: Select<E>, order: &Order<E>, page: &PageRequest) -> Select<E> {
    let mut select =
        select.order_by(order.column, order.direction.into()).order_by(order.id, order.id_direction.into());
    if let Some(cursor) = &page.after {
        select = select.filter(order.after(cursor.clone()));
    }
    select.limit(page.limit.saturating_add(1))
}

fn finish<E: EntityTrait>(
    mut rows: Vec<E::Model>,
    order: &Order<E>,
    page: &PageRequest,
    total: Option<u64>,
) -> Page<E::Model> {
    let has_next = rows.len() as u64 > page.limit;
    rows.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
    let items = rows.into_iter().map(|row| ((order.cursor)(&row), row)).collect();
    Page { items, has_next, total }
}
