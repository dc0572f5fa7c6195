//! Relay connections over the domain's keyset pages. Cursors are opaque to clients: base64 of
//! the order they were given in, the row's sort value and its id; a cursor of another order, or
//! of the offsets earlier versions gave out, is refused with a message saying so.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ErrorExtensions, Object, OutputType, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use careergraph_domain::page::{Cursor, Page, PageRequest, SortValue};
use careergraph_domain::queries::Direction;

use crate::config::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::graphql::plumbing::error::{Code, bad_input, coded};

/// Sort direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// A to Z, oldest first.
    #[default]
    Asc,
    /// Z to A, newest first.
    Desc,
}

impl OrderDirection {
    /// The name of a sort by `field` in this direction, as a cursor records it.
    pub fn name(self, field: &str) -> String {
        match self {
            OrderDirection::Asc => format!("{field} asc"),
            OrderDirection::Desc => format!("{field} desc"),
        }
    }
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

/// What every cursor of this version starts with; earlier versions' cursors (positions in the
/// list) started with [`OFFSET_PREFIX`].
const CURSOR_PREFIX: &str = "k1";
const OFFSET_PREFIX: &str = "offset:";

/// A cursor for the row at `cursor`, in the list sorted as `order` names it.
/// The cursor of position `position` in a ranked answer named `ranking` (`search`,
/// `careerMoves`): answers ranked afresh per request, whose pages go by position.
pub fn ranked_cursor(ranking: &str, position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{ranking}\n{position}"))
}

/// The position after which the page `cursor` (a [`ranked_cursor`] of `ranking`) points to
/// starts; a cursor of anything else is refused on `after`.
pub fn ranked_after(ranking: &str, cursor: Option<&str>) -> Result<usize> {
    let Some(cursor) = cursor else { return Ok(0) };
    let position = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(ranking)?.strip_prefix('\n')?.parse::<usize>().ok());
    position
        .map(|position| position + 1)
        .ok_or_else(|| bad_input("after", format!("is not a cursor of `{ranking}`; start from the first page")))
}

fn encode(order: &str, cursor: &Cursor) -> String {
    let value = match &cursor.value {
        SortValue::Text(text) => format!("t{text}"),
        SortValue::Time(time) => format!("d{}", time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
    };
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}\n{order}\n{}\n{value}", cursor.id))
}

/// Why a cursor was not taken.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// Not one this server gives out.
    Foreign,
    /// One an earlier version gave out.
    Older,
    /// One of the same list sorted another way.
    OtherOrder,
}

fn decode(order: &str, cursor: &str) -> std::result::Result<Cursor, Refused> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| Refused::Foreign)?;
    let text = String::from_utf8(bytes).map_err(|_| Refused::Foreign)?;
    if text.strip_prefix(OFFSET_PREFIX).is_some_and(|offset| offset.parse::<u64>().is_ok()) {
        return Err(Refused::Older);
    }
    let mut parts = text.splitn(4, '\n');
    let (Some(CURSOR_PREFIX), Some(given_in), Some(id), Some(value)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refused::Foreign);
    };
    if given_in != order {
        return Err(Refused::OtherOrder);
    }
    let id = id.parse().map_err(|_| Refused::Foreign)?;
    let value = match value.split_at_checked(1) {
        Some(("t", text)) => SortValue::Text(text.to_owned()),
        Some(("d", time)) => SortValue::Time(
            chrono::DateTime::parse_from_rfc3339(time).map_err(|_| Refused::Foreign)?.with_timezone(&chrono::Utc),
        ),
        _ => return Err(Refused::Foreign),
    };
    Ok(Cursor { value, id })
}

/// Checks `first` and `after` and turns them into the page to fetch of the list sorted as
/// `order` names it (any stable name of the sort; a cursor is taken only by the same order);
/// the list is counted only when the connection's `totalCount` is selected (directly, or
/// through a fragment).
pub fn page_request(ctx: &Context<'_>, order: &str, first: Option<i32>, after: Option<&str>) -> Result<PageRequest> {
    let mut page = page_window(order, first, after)?;
    page.count_total = ctx.look_ahead().field("totalCount").exists();
    Ok(page)
}

/// The slice `first` and `after` name, uncounted.
fn page_window(order: &str, first: Option<i32>, after: Option<&str>) -> Result<PageRequest> {
    let limit = match first {
        None => DEFAULT_PAGE_SIZE,
        Some(first) => usize::try_from(first)
            .ok()
            .filter(|first| *first <= MAX_PAGE_SIZE)
            .ok_or_else(|| bad_input("first", format!("must be between 0 and {MAX_PAGE_SIZE}")))?,
    };
    let after = match after.map(|cursor| decode(order, cursor)).transpose() {
        Ok(after) => after,
        Err(Refused::Foreign) => return Err(bad_input("after", "is not a cursor this list gave out")),
        // The words users of the earlier versions were told to expect (CHANGELOG.md).
        Err(Refused::Older) => {
            let message = "this cursor is from an older version; start from the first page";
            return Err(
                coded(Code::BadUserInput, message).extend_with(|_, extensions| extensions.set("field", "after"))
            );
        }
        Err(Refused::OtherOrder) => {
            return Err(bad_input("after", "is a cursor of this list sorted another way; start from the first page"));
        }
    };
    Ok(PageRequest { after, limit: limit as u64, count_total: false })
}

/// Wraps one fetched page as a connection, mapping each row to its GraphQL type.
pub fn connection<M, T: OutputType>(
    order: &str,
    request: &PageRequest,
    page: Page<M>,
    node: impl Fn(M) -> T,
) -> Paged<T> {
    let mut connection = Connection::with_additional_fields(
        request.after.is_some(),
        page.has_next,
        ConnectionTotal { total_count: page.total },
    );
    connection.edges.extend(page.items.into_iter().map(|(cursor, item)| Edge::new(encode(order, &cursor), node(item))));
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(value: SortValue) -> Cursor {
        Cursor { value, id: uuid::Uuid::now_v7() }
    }

    #[test]
    fn a_cursor_round_trips_and_the_next_page_starts_after_it() -> async_graphql::Result<()> {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-06T10:11:12.123456Z")?.with_timezone(&chrono::Utc);
        for after in [cursor(SortValue::Text("Dev\nOps: a title".into())), cursor(SortValue::Time(at))] {
            let given = encode("title", &after);
            assert_eq!(
                page_window("title", Some(5), Some(&given))?,
                PageRequest { after: Some(after), limit: 5, count_total: false }
            );
        }
        Ok(())
    }

    fn refusal(order: &str, cursor: &str) -> String {
        page_window(order, None, Some(cursor)).expect_err("refused").message
    }

    #[test]
    fn out_of_range_sizes_and_foreign_cursors_are_refused() {
        assert!(page_window("title", Some(-1), None).is_err());
        assert!(page_window("title", Some(MAX_PAGE_SIZE as i32 + 1), None).is_err());
        assert_eq!(refusal("title", "not-a-cursor"), "after is not a cursor this list gave out");
        assert_eq!(refusal("title", &URL_SAFE_NO_PAD.encode("offset:x")), "after is not a cursor this list gave out");
        assert_eq!(
            refusal("title", &URL_SAFE_NO_PAD.encode("k1\ntitle\nnot-a-uuid\ntX")),
            "after is not a cursor this list gave out"
        );
        assert_eq!(
            refusal("title", &encode("created_at", &cursor(SortValue::Text("x".into())))),
            "after is a cursor of this list sorted another way; start from the first page"
        );
    }

    #[test]
    fn an_offset_cursor_of_an_earlier_version_says_so() {
        let old = URL_SAFE_NO_PAD.encode("offset:19");
        assert_eq!(refusal("title", &old), "this cursor is from an older version; start from the first page");
    }
}
