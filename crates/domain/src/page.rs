//! Offset pages over a sorted query, with the total the API reports as `totalCount` when a
//! client asks for it.

use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QuerySelect, Select};

use crate::Result;
use crate::positional::{ByPosition, Positional};

/// Which slice of a sorted list to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// How many rows to skip.
    pub offset: u64,
    /// How many rows to return at most.
    pub limit: u64,
    /// Whether to count the whole list too (a second statement, so only when it is wanted).
    pub count_total: bool,
}

/// One slice of a list and the size of the whole list.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The rows in this slice, in order.
    pub items: Vec<T>,
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

/// Runs `select` for one page, fetching one row more than the page holds to learn whether
/// another follows; counts the whole list in a second statement only if `page.count_total`.
pub async fn fetch<E, C>(db: &C, select: Select<E>, page: PageRequest) -> Result<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Sized + Send + Sync,
    C: ConnectionTrait,
{
    fetch_as(db, select, page).await
}

/// [`fetch`], reading the rows by position (see [`crate::positional`]).
pub(crate) async fn fetch_by_position<E, C>(db: &C, select: Select<E>, page: PageRequest) -> Result<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Positional + FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let Page { items, has_next, total } = fetch_as::<E, ByPosition<E::Model>, C>(db, select, page).await?;
    Ok(Page { items: items.into_iter().map(|ByPosition(model)| model).collect(), has_next, total })
}

/// [`fetch`], each row read as an `M`.
async fn fetch_as<E, M, C>(db: &C, select: Select<E>, page: PageRequest) -> Result<Page<M>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Sized + Send + Sync,
    M: FromQueryResult + Sized + Send + Sync,
    C: ConnectionTrait,
{
    let total = match page.count_total {
        true => Some(select.clone().count(db).await?),
        false => None,
    };
    let mut items = match total {
        Some(total) if page.offset >= total => Vec::new(),
        _ => select.offset(page.offset).limit(page.limit.saturating_add(1)).into_model::<M>().all(db).await?,
    };
    let has_next = items.len() as u64 > page.limit;
    items.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
    Ok(Page { items, has_next, total })
}
