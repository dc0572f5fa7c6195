//! Offset pages over a sorted query, with the total the API reports as `totalCount`.

use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QuerySelect, Select};

use crate::Result;

/// Which slice of a sorted list to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// How many rows to skip.
    pub offset: u64,
    /// How many rows to return at most.
    pub limit: u64,
}

/// One slice of a list and the size of the whole list.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The rows in this slice, in order.
    pub items: Vec<T>,
    /// How many rows the whole list has.
    pub total: u64,
}

/// Runs `select` for one page, and counts the whole list in a second statement.
pub async fn fetch<E, C>(db: &C, select: Select<E>, page: PageRequest) -> Result<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Sized + Send + Sync,
    C: ConnectionTrait,
{
    let total = select.clone().count(db).await?;
    let items = if page.limit == 0 || page.offset >= total {
        Vec::new()
    } else {
        select.offset(page.offset).limit(page.limit).all(db).await?
    };
    Ok(Page { items, total })
}
