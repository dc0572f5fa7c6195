//! The schema's custom scalars, named as GraphQL tools know them and each tied to its
//! specification with `@specifiedBy`, so codegen can map them without guessing. (async-graphql's
//! own chrono and JSON scalars cannot carry `@specifiedBy`, and one of them is named after a Rust
//! type, `NaiveDate`.)

use async_graphql::{InputType, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

use crate::graphql::plumbing::error::unreadable_input;

/// A value a scalar cannot read is the client's to fix. Scalars also say so in `is_valid`, so
/// that validation refuses such values before anything runs; this code covers the rest.
fn unreadable<T: InputType>(message: String) -> InputValueError<T> {
    unreadable_input(InputValueError::custom(message))
}

/// A value of the wrong kind altogether (a number for a date, say).
fn wrong_kind<T: InputType>(value: Value) -> InputValueError<T> {
    unreadable_input(InputValueError::expected_type(value))
}

/// A calendar date without a time zone, ISO 8601 `YYYY-MM-DD`, e.g. `2023-03-01`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time zone, ISO 8601 `YYYY-MM-DD`, e.g. `2023-03-01`.
#[Scalar(name = "Date", specified_by_url = "https://scalars.graphql.org/andimarek/local-date.html")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| unreadable(format!("{text:?} is not a date like 2023-03-01"))),
            _ => Err(wrong_kind(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(iso_date(self.0))
    }
}

/// `date` as ISO 8601 `YYYY-MM-DD`. chrono's `Display` writes the same through the formatting
/// machinery one character at a time, into a string that grows as it goes: about a thousand
/// instructions a date, and a nested page has a hundred and fifty of them. Years outside
/// 0–9999, which ISO 8601 writes with a sign, are left to chrono.
fn iso_date(date: NaiveDate) -> String {
    use chrono::Datelike;
    let year = date.year();
    if !(0..=9999).contains(&year) {
        return date.to_string();
    }
    let digits = |value: u32, places: usize| (0..places).rev().map(move |place| digit(value / 10u32.pow(place as u32)));
    let mut text = String::with_capacity(10);
    text.extend(digits(year as u32, 4));
    text.push('-');
    text.extend(digits(date.month(), 2));
    text.push('-');
    text.extend(digits(date.day(), 2));
    text
}

/// The last decimal digit of `value`.
fn digit(value: u32) -> char {
    char::from(b'0' + (value % 10) as u8)
}

/// An instant: an RFC 3339 date and time with its offset, e.g. `2023-03-01T12:00:00Z`. Answers
/// are in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant: an RFC 3339 date and time with its offset, e.g. `2023-03-01T12:00:00Z`. Answers
/// are in UTC.
#[Scalar(name = "DateTime", specified_by_url = "https://scalars.graphql.org/andimarek/date-time.html")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => {
                chrono::DateTime::parse_from_rfc3339(text).map(|instant| DateTime(instant.with_timezone(&Utc))).map_err(
                    |_| unreadable(format!("{text:?} is not an RFC 3339 date and time like 2023-03-01T12:00:00Z")),
                )
            }
            _ => Err(wrong_kind(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok())
    }

    fn to_value(&self) -> Value {
        // In UTC as `Z`, to the microsecond on both backends: PostgreSQL keeps microseconds,
        // SQLite would give nine digits for the same instant.
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(instant: chrono::DateTime<Utc>) -> Self {
        Self(instant)
    }
}

/// Any JSON value (RFC 8259), as it was recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Json(pub serde_json::Value);

/// Any JSON value (RFC 8259), as it was recorded.
#[Scalar(name = "JSON", specified_by_url = "https://www.rfc-editor.org/rfc/rfc8259")]
impl ScalarType for Json {
    fn parse(value: Value) -> InputValueResult<Self> {
        value.into_json().map(Json).map_err(|error| unreadable(error.to_string()))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants_read_what_they_write() {
        let date = <Date as ScalarType>::parse(Value::String("2023-03-01".into())).ok();
        assert_eq!(date.map(|date| ScalarType::to_value(&date)), Some(Value::String("2023-03-01".into())));
        assert!(<Date as ScalarType>::parse(Value::String("2023-13-01".into())).is_err());
        assert!(<Date as ScalarType>::parse(Value::String("01/03/2023".into())).is_err());
        let instant = <DateTime as ScalarType>::parse(Value::String("2023-03-01T13:00:00+01:00".into())).ok();
        assert_eq!(
            instant.map(|instant| ScalarType::to_value(&instant)),
            Some(Value::String("2023-03-01T12:00:00.000000Z".into()))
        );
        assert!(<DateTime as ScalarType>::parse(Value::String("2023-03-01 12:00".into())).is_err());
        assert!(!<Date as ScalarType>::is_valid(&Value::String("yesterday".into())));
        assert!(!<DateTime as ScalarType>::is_valid(&Value::from(20230301)));
    }

    #[test]
    fn a_date_is_written_as_its_iso_8601_format_says_for_every_year() {
        for year in [-10_000, -1, 0, 1, 99, 999, 1970, 2023, 9999, 10_000, 262_142] {
            for (month, day) in [(1, 1), (2, 28), (10, 9), (12, 31)] {
                let date = NaiveDate::from_ymd_opt(year, month, day).expect("a real date");
                let written = ScalarType::to_value(&Date(date));
                assert_eq!(written, Value::String(date.format("%Y-%m-%d").to_string()), "{date:?}");
            }
        }
    }

    #[test]
    fn a_value_a_scalar_cannot_read_is_the_clients_to_fix() {
        use crate::graphql::plumbing::error::Code;
        let code = |error: InputValueError<DateTime>| {
            error.into_server_error(async_graphql::Pos::default()).extensions.and_then(|e| e.get("code").cloned())
        };
        let refused = <DateTime as ScalarType>::parse(Value::String("yesterday".into())).err().map(code);
        assert_eq!(refused, Some(Some(Value::from(Code::BadUserInput.as_str()))));
    }
}
