//! Ranked search over career paths, skills and technologies, with the same query syntax on both
//! databases: words (all must match), `"a phrase"`, `-word` (must not match), `a OR b`, and
//! `prefix*`. The text a user types is parsed here, never handed to a database's own query
//! parser: PostgreSQL's `websearch_to_tsquery` has no prefix search and FTS5's syntax treats
//! `-`, `:` and unbalanced quotes as errors, so both receive a query written from the parse,
//! with every word reduced to letters and digits.
//!
//! The index (`search_document`, see the migration) holds one document per object: titles and
//! alternate titles weigh most, then the summary, then the description and tasks. Every change
//! made through [`crate::editing`] refreshes the documents it touches in its own transaction
//! ([`refresh`]); bulk loads and imports rebuild the whole index ([`rebuild`]).

use sea_orm::{ConnectionTrait, DbBackend, Value};
use uuid::Uuid;

use crate::audit::EntityKind;
use crate::sql::statement;
use crate::{Error, Result, Visibility};

/// The longest query accepted, in characters.
pub const MAX_QUERY_LENGTH: usize = 200;

/// What a match in a title or alternate title adds to a SQLite rank (see [`find`]).
const TITLE_BONUS: f64 = 100.0;

/// The most words and phrases a query may have.
pub const MAX_TERMS: usize = 16;

/// What a search may find.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    CareerPath,
    Skill,
    Technology,
}

impl Target {
    pub const ALL: [Self; 3] = [Self::CareerPath, Self::Skill, Self::Technology];

    fn stored(self) -> &'static str {
        match self {
            Self::CareerPath => "CareerPath",
            Self::Skill => "Skill",
            Self::Technology => "Technology",
        }
    }
}

/// One word or phrase of a query.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    /// Words in this order, next to each other (one word is a phrase of one).
    Phrase(Vec<String>),
    /// A word's beginning.
    Prefix(String),
}

/// A parsed query: every group must match (a group is one or more terms joined by OR), and no
/// excluded term may.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    groups: Vec<Vec<Term>>,
    excluded: Vec<Term>,
}

/// The words of `text`: its runs of letters and digits, lowercased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect()
}

impl Query {
    /// Parses what a user typed. Text with no word to look for (empty, only exclusions, only
    /// punctuation), longer than [`MAX_QUERY_LENGTH`] or with more than [`MAX_TERMS`] terms is
    /// refused as invalid input on `query`. Anything else is accepted: an unbalanced quote
    /// quotes to the end, and operators typed where they make no sense are read as text.
    pub fn parse(text: &str) -> Result<Self> {
        if text.chars().count() > MAX_QUERY_LENGTH {
            return Err(Error::invalid("query", format!("must have at most {MAX_QUERY_LENGTH} characters")));
        }
        let mut groups: Vec<Vec<Term>> = Vec::new();
        let mut excluded = Vec::new();
        let mut join_next = false;
        let mut rest = text.trim();
        let mut count = 0;
        while !rest.is_empty() {
            let negated = rest.starts_with('-') && rest.len() > 1;
            if negated {
                rest = &rest[1..];
            }
            let (term, after) = if let Some(quoted) = rest.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                let phrase = words(&quoted[..end]);
                (
                    Some(Term::Phrase(phrase)).filter(|term| !matches!(term, Term::Phrase(w) if w.is_empty())),
                    &quoted[(end + 1).min(quoted.len())..],
                )
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let token = &rest[..end];
                if token == "OR" && !negated {
                    join_next = !groups.is_empty();
                    rest = rest[end..].trim_start();
                    continue;
                }
                let prefix = token.ends_with('*');
                let mut found = words(token);
                let term = match (found.len(), prefix) {
                    (0, _) => None,
                    (1, true) => found.pop().map(Term::Prefix),
                    _ => Some(Term::Phrase(found)),
                };
                (term, &rest[end..])
            };
            rest = after.trim_start();
            let Some(term) = term else { continue };
            count += 1;
            if count > MAX_TERMS {
                return Err(Error::invalid("query", format!("must have at most {MAX_TERMS} words and phrases")));
            }
            match (negated, join_next, groups.last_mut()) {
                (true, _, _) => excluded.push(term),
                (false, true, Some(group)) => group.push(term),
                _ => groups.push(vec![term]),
            }
            join_next = false;
        }
        if groups.is_empty() {
            return Err(Error::invalid("query", "must have a word to look for"));
        }
        Ok(Self { groups, excluded })
    }

    /// The query in PostgreSQL's `to_tsquery` syntax (words are letters and digits only).
    fn to_tsquery(&self) -> String {
        let term = |term: &Term| match term {
            Term::Prefix(word) => format!("{word}:*"),
            Term::Phrase(words) if words.len() == 1 => words[0].clone(),
            Term::Phrase(words) => format!("({})", words.join(" <-> ")),
        };
        let mut parts: Vec<String> = self
            .groups
            .iter()
            .map(|group| format!("({})", group.iter().map(term).collect::<Vec<_>>().join(" | ")))
            .collect();
        parts.extend(self.excluded.iter().map(|excluded| format!("!{}", term(excluded))));
        parts.join(" & ")
    }

    /// The query in SQLite FTS5's syntax: every word a quoted string, so none is an operator.
    fn to_fts5(&self) -> String {
        let term = |term: &Term| match term {
            Term::Prefix(word) => format!("\"{word}\" *"),
            Term::Phrase(words) => format!("\"{}\"", words.join(" ")),
        };
        let wanted: Vec<String> = self
            .groups
            .iter()
            .map(|group| format!("({})", group.iter().map(term).collect::<Vec<_>>().join(" OR ")))
            .collect();
        let mut query = format!("({})", wanted.join(" AND "));
        for excluded in &self.excluded {
            query.push_str(&format!(" NOT {}", term(excluded)));
        }
        query
    }
}

/// One object found, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub target: Target,
    pub id: Uuid,
    /// How well it matches: higher is better. Comparable within one answer only.
    pub rank: f64,
    /// A snippet of its text with each matched word as `**word**`.
    pub highlight: String,
}

/// Finds what matches `query` among `targets`, `limit` hits from position `offset` of the
/// ranking, seen as `visibility` allows (drafts only for those who may see them).
pub async fn find(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    query: &Query,
    targets: &[Target],
    limit: u64,
    offset: u64,
) -> Result<Vec<Hit>> {
    let targets = if targets.is_empty() { &Target::ALL[..] } else { targets };
    let types = targets.iter().map(|target| format!("'{}'", target.stored())).collect::<Vec<_>>().join(", ");
    let drafts = visibility == Visibility::IncludeDrafts;
    let (sql, text) = if db.get_database_backend() == DbBackend::Postgres {
        (
            format!(
                "SELECT d.entity_type, d.entity_id, ts_rank_cd(d.document, q)::float8 AS rank, \
                 ts_headline('english', concat_ws(' — ', d.title, d.alternate, d.summary, d.body), q, \
                 'StartSel=**, StopSel=**, MaxWords=24, MinWords=8, MaxFragments=1') AS highlight \
                 FROM search_document d, to_tsquery('english', ?) q \
                 WHERE d.document @@ q AND (d.published OR ?) AND d.entity_type IN ({types}) \
                 ORDER BY rank DESC, d.entity_type, d.entity_id LIMIT ? OFFSET ?"
            ),
            query.to_tsquery(),
        )
    } else {
        (
            format!(
                "SELECT entity_type, entity_id, \
                 -bm25(search_document, 0, 0, 0, 10.0, 8.0, 3.0, 1.0) \
                 + CASE WHEN rowid IN (SELECT rowid FROM search_document WHERE search_document MATCH ?) THEN {TITLE_BONUS} ELSE 0 END AS rank, \
                 snippet(search_document, -1, '**', '**', '…', 16) AS highlight \
                 FROM search_document WHERE search_document MATCH ? AND (published OR ?) AND entity_type IN ({types}) \
                 ORDER BY rank DESC, entity_type, entity_id LIMIT ? OFFSET ?"
            ),
            query.to_fts5(),
        )
    };
    let mut values: Vec<Value> = Vec::with_capacity(5);
    if db.get_database_backend() != DbBackend::Postgres {
        // FTS5's bm25 weighs a word by how long the whole document is, so a long career path
        // whose title matches ranks below a short skill that mentions the word once; a match in
        // a title or alternate title is therefore ranked above any other, as on PostgreSQL,
        // whose weights do not depend on length.
        values.push(format!("{{title alternate}} : ({text})").into());
    }
    values.extend([text.into(), drafts.into(), (limit as i64).into(), (offset as i64).into()]);
    let rows = db.query_all_raw(statement(db, &sql, values)).await?;
    rows.iter()
        .map(|row| {
            let stored: String = row.try_get_by_index(0)?;
            let target = Target::ALL
                .into_iter()
                .find(|target| target.stored() == stored)
                .ok_or_else(|| Error::Internal(format!("a search document of unknown type {stored}")))?;
            Ok(Hit {
                target,
                id: row.try_get_by_index(1)?,
                rank: row.try_get_by_index(2)?,
                highlight: row.try_get_by_index(3)?,
            })
        })
        .collect()
}

/// The documents as the tables hold them, for one kind; `{only}` is replaced by a condition
/// on the row's id (or nothing).
fn documents(backend: DbBackend, target: Target) -> String {
    let concat = |expression: &str, order: &str| match backend {
        DbBackend::Postgres => format!("string_agg({expression}, ' ' ORDER BY {order})"),
        _ => format!("group_concat({expression}, ' ')"),
    };
    match target {
        Target::CareerPath => format!(
            "SELECT 'CareerPath', p.id, p.status = 'PUBLISHED', p.title, \
             COALESCE((SELECT {} FROM career_path_alternate_title a WHERE a.career_path_id = p.id), ''), \
             p.summary, \
             p.description || ' ' || COALESCE((SELECT {} FROM responsibility r WHERE r.career_path_id = p.id), '') \
             FROM career_path p {{only}}",
            concat("a.title", "a.position"),
            concat("r.title || ' ' || r.description", "r.position")
        ),
        Target::Skill => "SELECT 'Skill', s.id, TRUE, s.name, '', s.description, '' FROM skill s {only}".to_owned(),
        Target::Technology => {
            "SELECT 'Technology', t.id, TRUE, t.name, '', COALESCE(t.description, ''), '' FROM technology t {only}"
                .to_owned()
        }
    }
}

const INSERT: &str =
    "INSERT INTO search_document (entity_type, entity_id, published, title, alternate, summary, body) ";

/// Writes every document anew, from what the tables hold: after bulk loads and imports.
pub async fn rebuild(db: &impl ConnectionTrait) -> Result<()> {
    let backend = db.get_database_backend();
    db.execute_unprepared("DELETE FROM search_document").await?;
    for target in Target::ALL {
        db.execute_unprepared(&format!("{INSERT}{}", documents(backend, target).replace("{only}", ""))).await?;
    }
    Ok(())
}

/// Refreshes the documents a change to `row` (of kind `kind`) touches: the object's own, or its
/// career path's for a responsibility. Call it in the change's transaction, after the write (a
/// deleted object's document is then removed). The row is read as its audit JSON, and only for
/// the kinds that have documents: every other change costs nothing here.
pub async fn refresh(db: &impl ConnectionTrait, kind: EntityKind, row: &impl serde::Serialize) -> Result<()> {
    let (target, id_field, alias) = match kind {
        EntityKind::CareerPath => (Target::CareerPath, "id", "p"),
        EntityKind::Responsibility => (Target::CareerPath, "career_path_id", "p"),
        EntityKind::Skill => (Target::Skill, "id", "s"),
        EntityKind::Technology => (Target::Technology, "id", "t"),
        _ => return Ok(()),
    };
    let row =
        serde_json::to_value(row).map_err(|error| Error::Internal(format!("cannot index the change: {error}")))?;
    let Some(id) = row.get(id_field).and_then(serde_json::Value::as_str).and_then(|id| Uuid::parse_str(id).ok()) else {
        return Ok(());
    };
    let delete = "DELETE FROM search_document WHERE entity_type = ? AND entity_id = ?";
    db.execute_raw(statement(db, delete, vec![target.stored().into(), id.into()])).await?;
    let insert = format!(
        "{INSERT}{}",
        documents(db.get_database_backend(), target).replace("{only}", &format!("WHERE {alias}.id = ?"))
    );
    db.execute_raw(statement(db, &insert, vec![id.into()])).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_read_words_phrases_exclusions_alternatives_and_prefixes() -> Result<()> {
        let query = Query::parse(r#"backend "web server" -php python OR ruby dev*"#)?;
        assert_eq!(query.to_tsquery(), "(backend) & ((web <-> server)) & (python | ruby) & (dev:*) & !php");
        assert_eq!(
            query.to_fts5(),
            r#"(("backend") AND ("web server") AND ("python" OR "ruby") AND ("dev" *)) NOT "php""#
        );
        Ok(())
    }

    #[test]
    fn what_users_type_never_reaches_a_database_parser_as_syntax() -> Result<()> {
        let query = Query::parse(r#"c++ "unbalanced NEAR( title: ' ; DROP"#)?;
        assert_eq!(query.to_fts5(), r#"(("c") AND ("unbalanced near title drop"))"#);
        assert_eq!(query.to_tsquery(), "(c) & ((unbalanced <-> near <-> title <-> drop))");
        assert_eq!(Query::parse("OR python")?.to_tsquery(), "(python)");
        for refused in ["", "   ", "-python", "*** ---", &"word ".repeat(41)] {
            assert!(Query::parse(refused).is_err(), "{refused:?}");
        }
        assert!(Query::parse(&"a ".repeat(MAX_TERMS + 1)).is_err());
        Ok(())
    }
}
