//! Changes to content. Every change is validated first, runs in one transaction together with
//! its audit event, and names the version it was based on: a change based on a stale version
//! fails with a conflict instead of overwriting someone else's work.
//!
//! Updates check the version twice: once against the row just read (to fail fast and to keep
//! that row as the audit's "before"), and again in the `UPDATE … WHERE version = ?` that opens
//! the transaction, which is what makes two concurrent editors unable to both succeed. Opening
//! with the write also spares SQLite a read-to-write lock upgrade, which it would refuse rather
//! than wait for.

pub mod career_paths;
pub mod catalog;
pub mod path_content;
pub mod rows;
pub mod salaries;

use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::{Error, Result};

/// Longest slug accepted.
pub const MAX_SLUG_LENGTH: usize = 80;

/// Checks a slug: 1 to 80 characters of lowercase letters, digits and single hyphens inside.
pub fn check_slug(field: &str, slug: &str) -> Result<String> {
    let slug = slug.trim();
    let valid = !slug.is_empty()
        && slug.len() <= MAX_SLUG_LENGTH
        && slug
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if valid {
        Ok(slug.to_owned())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "must be 1 to {MAX_SLUG_LENGTH} lowercase letters, digits and single inner hyphens, like `backend-developer`"
            ),
        ))
    }
}

/// Trims `value` and checks that it has between `min` and `max` characters.
pub fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let value = value.trim();
    let length = value.chars().count();
    if length < min {
        return Err(Error::invalid(
            field,
            if min == 1 { "must not be empty".to_owned() } else { format!("must have at least {min} characters") },
        ));
    }
    if length > max {
        return Err(Error::invalid(field, format!("must have at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// Like [`check_text`] for an optional value; empty text counts as none.
pub fn check_optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => check_text(field, value, 1, max).map(Some),
    }
}

/// Longest URL accepted.
pub const MAX_URL: usize = 2_000;

/// A value a creation needs; `field` names it when it is missing.
pub(crate) fn required<T>(field: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| Error::invalid(field, "is required"))
}

/// Checks that the career path a new item belongs to exists.
pub(crate) async fn path_exists(db: &impl ConnectionTrait, id: Uuid) -> Result<()> {
    crate::entities::career_path::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|_| ())
        .ok_or_else(|| Error::invalid("career_path_id", "is no career path's id"))
}

/// Checks an optional URL: http or https, with a host, at most [`MAX_URL`] characters.
pub(crate) fn check_url(field: &str, url: Option<&str>) -> Result<Option<String>> {
    let Some(url) = check_optional_text(field, url, MAX_URL)? else { return Ok(None) };
    match url::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => Ok(Some(url)),
        _ => Err(Error::invalid(field, "must be an http or https URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_single_hyphens() {
        for good in ["backend-developer", "a", "web3", "x-1-y"] {
            assert!(check_slug("slug", good).is_ok(), "{good}");
        }
        for bad in ["", "Backend", "back--end", "-back", "back-", "back end", "bäck", &"a".repeat(81)] {
            assert!(check_slug("slug", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded_in_characters() -> Result<()> {
        assert_eq!(check_text("title", "  Backend  ", 1, 10)?, "Backend");
        assert!(check_text("title", "   ", 1, 10).is_err());
        assert!(check_text("title", &"é".repeat(11), 1, 10).is_err());
        assert_eq!(check_optional_text("notes", Some("  "), 10)?, None);
        Ok(())
    }
}
