//! Where imported rows come from: the data source each import records, and the slugs it gives
//! the rows it makes.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::outcome::ImportError;
use crate::entities::data_source;

/// A data source as recorded: what it is, the credit its licence asks for, the files read.
pub(crate) struct Source {
    pub name: &'static str,
    pub release: String,
    pub licence: &'static str,
    pub url: &'static str,
    pub attribution: String,
    pub files: Vec<(String, String)>,
}

impl Source {
    /// The data source row for this release: found when it was imported before (its file list
    /// brought up to date if the files differ), else created.
    pub(crate) async fn record(&self, db: &impl ConnectionTrait) -> Result<Uuid, ImportError> {
        let files = serde_json::Value::Object(
            self.files.iter().map(|(name, sha)| (name.clone(), serde_json::Value::String(sha.clone()))).collect(),
        );
        let existing = data_source::Entity::find()
            .filter(data_source::Column::Name.eq(self.name))
            .filter(data_source::Column::Release.eq(&self.release))
            .one(db)
            .await?;
        match existing {
            Some(row) if row.files == files && row.attribution == self.attribution => Ok(row.id),
            Some(row) => {
                let id = row.id;
                let mut row: data_source::ActiveModel = row.into();
                row.files = Set(files);
                row.attribution = Set(self.attribution.clone());
                row.imported_at = Set(Utc::now());
                row.update(db).await?;
                Ok(id)
            }
            None => {
                let id = Uuid::now_v7();
                data_source::ActiveModel {
                    id: Set(id),
                    name: Set(self.name.to_owned()),
                    release: Set(self.release.clone()),
                    licence: Set(self.licence.to_owned()),
                    url: Set(self.url.to_owned()),
                    attribution: Set(self.attribution.clone()),
                    files: Set(files),
                    imported_at: Set(Utc::now()),
                }
                .insert(db)
                .await?;
                Ok(id)
            }
        }
    }
}

/// Ends an import's transaction: rolled back in a dry run, else committed and, when it changed
/// anything, followed by what bulk loads need (search documents, the graph tables, fresh
/// planner statistics): an import adds thousands of rows at once, and the same files again add
/// none, so a rerun rewrites nothing.
pub(crate) async fn conclude(
    db: &crate::Db,
    txn: sea_orm::DatabaseTransaction,
    plan: &super::outcome::Plan,
) -> Result<(), ImportError> {
    if plan.dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
        if plan.changes_anything() {
            crate::after_bulk_load(db).await?;
        }
    }
    Ok(())
}

/// A lowercase, hyphenated handle for `text` (at most 80 characters), as slugs are.
pub(crate) fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(crate::editing::MAX_SLUG_LENGTH).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() { "item".to_owned() } else { slug }
}

/// A slug for `text` that `taken` does not hold yet (adding `-2`, `-3` … when it does), which it
/// then holds.
pub(crate) fn unique_slug(text: &str, taken: &mut std::collections::HashSet<String>) -> String {
    let base = slugify(text);
    let mut slug = base.clone();
    let mut counter = 2;
    while !taken.insert(slug.clone()) {
        let suffix = format!("-{counter}");
        let stem: String = base.chars().take(crate::editing::MAX_SLUG_LENGTH - suffix.len()).collect();
        slug = format!("{}{suffix}", stem.trim_end_matches('-'));
        counter += 1;
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_made_of_lowercase_words_and_stay_unique() {
        assert_eq!(slugify("Software Developers"), "software-developers");
        assert_eq!(slugify("C++ / C#"), "c-c");
        assert_eq!(slugify("Café Managers"), "caf-managers");
        let mut taken = std::collections::HashSet::from(["python".to_owned()]);
        assert_eq!(unique_slug("Python", &mut taken), "python-2");
        assert_eq!(unique_slug("Python", &mut taken), "python-3");
        assert!(crate::editing::check_slug("slug", &slugify(&"word ".repeat(40))).is_ok());
    }
}
