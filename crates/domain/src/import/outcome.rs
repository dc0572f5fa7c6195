//! What an import is asked to do and what it reports: its options, its plan of changes, the
//! rows it skipped, and why it stopped.

use std::collections::BTreeMap;
use std::fmt;

use crate::audit::EntityKind;
use crate::entities::audit_event;

/// Why an import did not run to the end. Nothing is written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file or column the import needs is not there, or cannot be read.
    #[error("{0}")]
    Missing(String),
    /// The input is of a kind the import refuses (an unsafe archive entry, an old SOC release).
    #[error("{0}")]
    Refused(String),
    /// More of a file's rows are bad than the import tolerates.
    #[error("{file}: {bad} of {total} rows are bad (more than {limit}); nothing was written\n{examples}")]
    TooManyBadRows { file: String, bad: usize, total: usize, limit: String, examples: String },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] crate::Error),
}

impl ImportError {
    pub(crate) fn missing(message: impl Into<String>) -> Self {
        Self::Missing(message.into())
    }

    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Self::Refused(message.into())
    }

    /// The command line's exit status: 2 for input that is missing or refused, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Missing(_) | Self::Refused(_) => 2,
            Self::TooManyBadRows { .. } | Self::Database(_) => 1,
        }
    }
}

impl From<sea_orm::DbErr> for ImportError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Database(error.into())
    }
}

/// What happened to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Removed,
}

/// How an import runs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Publish new career paths at once (else they are drafts for editors to review).
    pub publish: bool,
    /// Work out and print what would change, then write nothing.
    pub dry_run: bool,
    /// Fail on the first bad row instead of skipping up to 1 % of a file's rows.
    pub strict: bool,
    /// Only occupations whose O*NET-SOC code matches, like `15-*` or `15-1252.00`.
    pub only: Option<String>,
}

/// What an import did (or, in a dry run, would do).
#[derive(Default, Debug)]
pub struct Plan {
    /// The data source and release, e.g. "O*NET 29.1".
    pub source: String,
    /// Each file read, with how many data rows it had.
    pub files: Vec<(String, usize)>,
    /// How many rows of each kind were created, updated, left as they were, removed.
    pub counts: BTreeMap<(&'static str, Action), usize>,
    /// Link sets changed: (links removed or replaced, links added or replaced) per kind.
    pub links: BTreeMap<&'static str, (usize, usize)>,
    /// Rows skipped, as `file:line: why`.
    pub skipped: Vec<String>,
    /// Other counts worth knowing, as sentences.
    pub notes: Vec<String>,
    /// Fields an editor changed that the release would also change: kept as the editor left
    /// them, listed for someone to decide.
    pub conflicts: Vec<String>,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    pub(crate) events: Vec<audit_event::ActiveModel>,
}

impl Plan {
    /// Whether the import changes anything: a row created, updated or removed, or a link set
    /// changed.
    pub fn changes_anything(&self) -> bool {
        self.counts.iter().any(|((_, action), count)| *action != Action::Unchanged && *count > 0)
            || self.links.values().any(|(removed, added)| removed + added > 0)
    }

    pub(crate) fn count(&mut self, kind: EntityKind, action: Action) {
        *self.counts.entry((kind.noun(), action)).or_default() += 1;
    }

    pub(crate) fn links(&mut self, kind: &'static str, removed: usize, added: usize) {
        let entry = self.links.entry(kind).or_default();
        entry.0 += removed;
        entry.1 += added;
    }

    pub(crate) fn conflict(&mut self, message: String) {
        self.conflicts.push(message);
    }

    /// How many rows were `action`ed, over every kind.
    pub fn total(&self, action: Action) -> usize {
        self.counts.iter().filter(|((_, done), _)| *done == action).map(|(_, count)| count).sum()
    }

    /// How many rows of `kind` (its noun, e.g. "career path") were `action`ed.
    pub fn of(&self, kind: &str, action: Action) -> usize {
        self.counts.get(&(kind, action)).copied().unwrap_or_default()
    }

    /// Whether the import changes nothing.
    pub fn is_empty(&self) -> bool {
        self.total(Action::Created) + self.total(Action::Updated) + self.total(Action::Removed) == 0
            && self.links.is_empty()
    }
}

/// How many skipped rows and conflicts the summary lists one by one.
const LISTED: usize = 20;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would import (dry run: nothing written)" } else { "imported" };
        writeln!(f, "{} {verb}", self.source)?;
        for (file, rows) in &self.files {
            writeln!(f, "  read {file}: {rows} rows")?;
        }
        let mut kinds: Vec<&str> = self.counts.keys().map(|(kind, _)| *kind).collect();
        kinds.dedup();
        for kind in kinds {
            let [created, updated, unchanged, removed] =
                [Action::Created, Action::Updated, Action::Unchanged, Action::Removed]
                    .map(|action| self.of(kind, action));
            writeln!(f, "  {kind}: {created} new, {updated} updated, {unchanged} unchanged, {removed} removed")?;
        }
        for (kind, (removed, added)) in &self.links {
            writeln!(f, "  {kind} links: {added} written, {removed} replaced or removed")?;
        }
        if self.is_empty() {
            writeln!(f, "  nothing changed")?;
        }
        for note in &self.notes {
            writeln!(f, "  {note}")?;
        }
        list(f, "rows skipped", &self.skipped)?;
        list(f, "conflicts with editors' changes (kept the editors' values)", &self.conflicts)
    }
}

fn list(f: &mut fmt::Formatter<'_>, title: &str, items: &[String]) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(f, "{} {title}:", items.len())?;
    for item in items.iter().take(LISTED) {
        writeln!(f, "  {item}")?;
    }
    if items.len() > LISTED {
        writeln!(f, "  … and {} more", items.len() - LISTED)?;
    }
    Ok(())
}

/// The bad rows of one file, so the import can refuse a file that is mostly wrong.
pub(crate) struct BadRows {
    file: String,
    total: usize,
    bad: Vec<String>,
    strict: bool,
}

/// The share of a file's rows that may be bad before the import fails: 1 %.
const BAD_ROW_LIMIT: f64 = 0.01;

impl BadRows {
    pub(crate) fn new(file: &str, total: usize, strict: bool) -> Self {
        Self { file: file.to_owned(), total, bad: Vec::new(), strict }
    }

    /// Notes row `line` as bad for `reason`; in strict mode, fails at once.
    pub(crate) fn bad(&mut self, line: usize, reason: impl fmt::Display) -> Result<(), ImportError> {
        self.bad.push(format!("{}:{line}: {reason}", self.file));
        if self.strict { self.check() } else { Ok(()) }
    }

    /// Fails when more than 1 % of the rows are bad (any, in strict mode).
    pub(crate) fn check(&self) -> Result<(), ImportError> {
        let limit = if self.strict { 0.0 } else { BAD_ROW_LIMIT * self.total as f64 };
        if self.bad.len() as f64 > limit {
            return Err(ImportError::TooManyBadRows {
                file: self.file.clone(),
                bad: self.bad.len(),
                total: self.total,
                limit: if self.strict { "none, with --strict".into() } else { "1 %".into() },
                examples: self.bad.iter().take(LISTED).cloned().collect::<Vec<_>>().join("\n"),
            });
        }
        Ok(())
    }

    pub(crate) fn into_skipped(self) -> Vec<String> {
        self.bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_may_have_one_bad_row_in_a_hundred() {
        let mut rows = BadRows::new("Skills.txt", 200, false);
        assert!(rows.bad(3, "no").is_ok() && rows.bad(4, "no").is_ok());
        assert!(rows.check().is_ok());
        assert!(rows.bad(5, "no").is_ok());
        assert!(rows.check().is_err());
        let mut strict = BadRows::new("Skills.txt", 200, true);
        assert!(strict.bad(3, "no").is_err());
    }
}
