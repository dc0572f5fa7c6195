//! Read operations. Lookups and lists take a [`Visibility`](crate::Visibility); every function
//! that follows a relation takes many parent ids and issues one statement, so the gateway's
//! DataLoaders keep the number of statements bounded by a query's depth.

pub mod career_paths;
pub mod salaries;
pub mod sectors;
pub mod skill_gap;
pub mod skills;
pub mod technologies;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{ColumnTrait, Order};

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
