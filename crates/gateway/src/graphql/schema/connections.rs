//! Relay connections over the domain's offset pages. Cursors are opaque to clients (base64 of
//! the position in the sorted list), so the encoding can change without breaking them.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, Object, OutputType, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use careergraph_domain::page::{Page, PageRequest};
use careergraph_domain::queries::Direction;

use crate::config::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::graphql::plumbing::error::bad_input;

/// Sort direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// A to Z, oldest first.
    #[default]
    Asc,
    /// Z to A, newest first.
    Desc,
}

impl From<OrderDirection> for Direction {
    fn from(direction: OrderDirection) -> Self {
        match direction {
            OrderDirection::Asc => Direction::Asc,
            OrderDirection::Desc => Direction::Desc,
        }
    }
}

/// Fields every connection carries besides its edges.
pub struct ConnectionTotal {
    /// Counted only when the request selects `totalCount` (see [`page_request`]).
    total_count: Option<u64>,
}

#[Object]
impl ConnectionTotal {
    /// How many items the whole list has, across all pages.
    async fn total_count(&self) -> Result<u64> {
        // `page_request` looks ahead for this field; reaching it uncounted would be our bug.
        self.total_count.ok_or_else(|| async_graphql::Error::new("totalCount was not counted for this list"))
    }
}

/// A connection of `T` with cursors as strings and a total count.
pub type Paged<T> = Connection<String, T, ConnectionTotal>;

const CURSOR_PREFIX: &str = "offset:";

fn encode(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{offset}"))
}

fn decode(cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix(CURSOR_PREFIX)?.parse().ok()
}

/// Checks `first` and `after` and turns them into the page to fetch; the list is counted only
/// when the connection's `totalCount` is selected (directly, or through a fragment).
pub fn page_request(ctx: &Context<'_>, first: Option<i32>, after: Option<&str>) -> Result<PageRequest> {
    let mut page = page_window(first, after)?;
    page.count_total = ctx.look_ahead().field("totalCount").exists();
    Ok(page)
}

/// The slice `first` and `after` name, uncounted.
fn page_window(first: Option<i32>, after: Option<&str>) -> Result<PageRequest> {
    let limit = match first {
        None => DEFAULT_PAGE_SIZE,
        Some(first) => usize::try_from(first)
            .ok()
            .filter(|first| *first <= MAX_PAGE_SIZE)
            .ok_or_else(|| bad_input("first", format!("must be between 0 and {MAX_PAGE_SIZE}")))?,
    };
    let offset = match after {
        None => 0,
        // Checked: a cursor past the end of any list names no next page, and must not wrap
        // around to the first one. Offsets are signed 64-bit integers in SQL.
        Some(cursor) => decode(cursor)
            .and_then(|position| position.checked_add(1))
            .filter(|offset| i64::try_from(*offset).is_ok_and(|offset| offset < i64::MAX))
            .ok_or_else(|| bad_input("after", "is not a cursor this list gave out"))?,
    };
    Ok(PageRequest { offset, limit: limit as u64, count_total: false })
}

/// Wraps one fetched page as a connection, mapping each row to its GraphQL type.
pub fn connection<M, T: OutputType>(request: PageRequest, page: Page<M>, node: impl Fn(M) -> T) -> Paged<T> {
    let mut connection = Connection::with_additional_fields(
        request.offset > 0,
        page.has_next,
        ConnectionTotal { total_count: page.total },
    );
    connection
        .edges
        .extend((request.offset..).zip(page.items).map(|(offset, item)| Edge::new(encode(offset), node(item))));
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_the_next_page_starts_after_it() -> async_graphql::Result<()> {
        let cursor = encode(41);
        assert_eq!(page_window(Some(5), Some(&cursor))?, PageRequest { offset: 42, limit: 5, count_total: false });
        Ok(())
    }

    #[test]
    fn out_of_range_sizes_and_foreign_cursors_are_refused() {
        assert!(page_window(Some(-1), None).is_err());
        assert!(page_window(Some(MAX_PAGE_SIZE as i32 + 1), None).is_err());
        assert!(page_window(None, Some("not-a-cursor")).is_err());
        assert!(page_window(None, Some(&URL_SAFE_NO_PAD.encode("offset:x"))).is_err());
        for largest in [u64::MAX, i64::MAX as u64, i64::MAX as u64 - 1] {
            assert!(page_window(None, Some(&encode(largest))).is_err(), "{largest}");
        }
    }
}
