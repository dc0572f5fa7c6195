//! Writing an import: what every source shares once its files are parsed. Rows and link sets are
//! given as the import wants them, keyed by their key in the source; this module decides, against
//! what the last import wrote (`import_record.written`) and what the row holds now, whether to
//! insert, update, leave alone, remove, or report a conflict with an editor's change.
//!
//! The rows are handled as JSON maps of column values, not as sea-orm models, because the same
//! three-way comparison (last written, current, wanted) applies to every table and link set; the
//! column types ([`Ty`]) say how each value is bound and read.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr, Value as SqlValue};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryResult, QuerySelect,
};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::files::sha256;
use super::outcome::{Action, Plan};
use crate::audit::EntityKind;
use crate::entities::{audit_event, import_record};
use crate::{Error, Result};

/// How a column's value is stored: JSON values are bound and read through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Text,
    Int,
    BigInt,
    Bool,
    Uuid,
    Date,
}

/// A table the import writes rows to, with the columns it may write.
pub(crate) struct Kind {
    pub entity: EntityKind,
    pub table: &'static str,
    pub columns: &'static [(&'static str, Ty)],
}

/// One row as the import wants it: `owned` is what the source says and later imports keep in
/// step; `initial` is set only when the row is created (a slug, a draft status).
pub(crate) struct Wanted {
    pub key: String,
    pub label: String,
    pub owned: Map<String, Json>,
    pub initial: Map<String, Json>,
}

/// One owner's links as a source lists them: the owner's row id and key, then each link's
/// target key and columns.
pub(crate) type OwnerLinks = (Uuid, String, BTreeMap<String, Map<String, Json>>);

/// A link table hanging off one owner row, with the columns the import writes.
pub(crate) struct LinkKind {
    pub name: &'static str,
    pub table: &'static str,
    pub owner: &'static str,
    pub target: &'static str,
    pub columns: &'static [(&'static str, Ty)],
}

/// Rows read or written per statement: below both databases' limits on bound values.
const CHUNK: usize = 500;

/// The writer of one import, inside its transaction.
pub(crate) struct Store<'t> {
    txn: &'t DatabaseTransaction,
    backend: DbBackend,
    source_id: Uuid,
    request_id: String,
    now: DateTime<Utc>,
    /// What earlier imports recorded, without what they wrote: a full release's records hold
    /// tens of megabytes of JSON, which only the rows that changed need (see [`Self::written_of`]).
    records: HashMap<String, Recorded>,
    /// Rows this import created: their links need no new version.
    created: HashSet<Uuid>,
    pub plan: Plan,
}

impl<'t> Store<'t> {
    /// Loads what earlier imports of keys starting with `prefix` wrote.
    pub async fn open(txn: &'t DatabaseTransaction, source_id: Uuid, request_id: String, prefix: &str) -> Result<Self> {
        let records = import_record::Entity::find()
            .select_only()
            .columns([
                import_record::Column::SourceKey,
                import_record::Column::EntityType,
                import_record::Column::EntityId,
                import_record::Column::Hash,
            ])
            .filter(import_record::Column::SourceKey.starts_with(prefix))
            .into_tuple::<(String, String, Uuid, String)>()
            .all(txn)
            .await?
            .into_iter()
            .map(|(key, entity_type, entity_id, hash)| (key, Recorded { entity_type, entity_id, hash }))
            .collect();
        Ok(Self {
            txn,
            backend: txn.get_database_backend(),
            source_id,
            request_id,
            now: Utc::now(),
            records,
            created: HashSet::new(),
            plan: Plan::default(),
        })
    }

    /// The row an earlier import made for `key`, if any.
    pub fn id_of(&self, key: &str) -> Option<Uuid> {
        self.records.get(key).map(|record| record.entity_id)
    }

    /// The rows of `entity` an import made.
    pub fn imported(&self, entity: EntityKind) -> HashSet<Uuid> {
        self.records
            .values()
            .filter(|record| record.entity_type == entity.name())
            .map(|record| record.entity_id)
            .collect()
    }

    /// The key and row id of every row of `entity` an import made.
    pub fn ids_of_kind(&self, entity: EntityKind) -> HashMap<String, Uuid> {
        self.records
            .iter()
            .filter(|(key, record)| record.entity_type == entity.name() && !key.contains('#'))
            .map(|(key, record)| (key.clone(), record.entity_id))
            .collect()
    }

    /// `ids` without the rows that no longer exist in `table` (an editor deleted them since the
    /// last import): nothing may be linked to or added under them.
    pub async fn existing(&self, table: &'static str, mut ids: HashMap<String, Uuid>) -> Result<HashMap<String, Uuid>> {
        let all: Vec<Uuid> = ids.values().copied().collect();
        let mut found = HashSet::with_capacity(all.len());
        for chunk in all.chunks(CHUNK) {
            let select = Query::select()
                .column(Alias::new("id"))
                .from(Alias::new(table))
                .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
                .to_owned();
            for row in self.txn.query_all_raw(self.backend.build(&select)).await? {
                found.insert(row.try_get_by_index::<Uuid>(0)?);
            }
        }
        ids.retain(|_, id| found.contains(id));
        Ok(ids)
    }

    /// Makes the rows of `kind` match `wanted`, returning each key's row id. Rows the last
    /// import made that `remove_if` picks and `wanted` no longer has are removed, unless an
    /// editor changed them since (then they are reported).
    pub async fn sync_rows(
        &mut self,
        kind: &Kind,
        wanted: Vec<Wanted>,
        remove_if: impl Fn(&str) -> bool,
    ) -> Result<HashMap<String, Uuid>> {
        let mut ids = HashMap::with_capacity(wanted.len());
        let mut inserts = Vec::new();
        let mut changed = Vec::new();
        for row in wanted {
            match self.records.get(&row.key) {
                None => inserts.push(row),
                Some(record) => {
                    ids.insert(row.key.clone(), record.entity_id);
                    if record.hash != digest_map(&row.owned) {
                        changed.push((row, record.entity_id));
                    } else {
                        self.plan.count(kind.entity, Action::Unchanged);
                    }
                }
            }
        }
        let dropped: Vec<(String, Uuid)> = self
            .records
            .iter()
            .filter(|(key, record)| record.entity_type == kind.entity.name() && remove_if(key))
            .filter(|(key, _)| !ids.contains_key(*key))
            .map(|(key, record)| (key.clone(), record.entity_id))
            .collect();

        for chunk in inserts.chunks(CHUNK) {
            let mut columns: Vec<&str> = vec!["id", "version", "created_at", "updated_at"];
            columns.extend(kind.columns.iter().map(|(name, _)| *name).filter(|name| {
                chunk.iter().any(|row| row.owned.contains_key(*name) || row.initial.contains_key(*name))
            }));
            let mut insert = Query::insert();
            insert.into_table(Alias::new(kind.table)).columns(columns.iter().map(|name| Alias::new(*name)));
            let mut records = Vec::with_capacity(chunk.len());
            for row in chunk {
                let id = Uuid::now_v7();
                ids.insert(row.key.clone(), id);
                self.created.insert(id);
                let mut values: Vec<SimpleExpr> = vec![id.into(), 1.into(), self.now.into(), self.now.into()];
                for name in &columns[4..] {
                    let value = row.owned.get(*name).or_else(|| row.initial.get(*name)).unwrap_or(&Json::Null);
                    values.push(bind(type_of(kind.columns, name), value)?.into());
                }
                insert.values(values).map_err(|error| Error::Internal(error.to_string()))?;
                let mut after = row.initial.clone();
                after.extend(row.owned.clone());
                self.audit(kind.entity, id, None, Some(Json::Object(after)));
                records.push(self.record(&row.key, kind.entity, id, &row.owned));
                self.plan.count(kind.entity, Action::Created);
            }
            self.txn.execute_raw(self.backend.build(&insert)).await?;
            self.save_records(records).await?;
        }

        let ids_to_read: Vec<Uuid> =
            changed.iter().map(|(_, id)| *id).chain(dropped.iter().map(|(_, id)| *id)).collect();
        let current = self.read_rows(kind, &ids_to_read).await?;
        let keys: Vec<String> =
            changed.iter().map(|(row, _)| row.key.clone()).chain(dropped.iter().map(|(key, _)| key.clone())).collect();
        let mut written_of = self.written_of(&keys).await?;
        for (row, entity_id) in changed {
            let Some(now) = current.get(&entity_id) else {
                self.plan.conflict(format!("{}: deleted by an editor since the last import; not recreated", row.label));
                continue;
            };
            let written = written_of.remove(&row.key).and_then(into_map).unwrap_or_default();
            let merge = self.merge(&row.label, &written, now, &row.owned);
            if !merge.set.is_empty() {
                let mut update = Query::update();
                update.table(Alias::new(kind.table));
                for (name, value) in &merge.set {
                    update.value(Alias::new(name.as_str()), bind(type_of(kind.columns, name), value)?);
                }
                update
                    .value(Alias::new("version"), Expr::col(Alias::new("version")).add(1))
                    .value(Alias::new("updated_at"), self.now)
                    .and_where(Expr::col(Alias::new("id")).eq(entity_id));
                self.txn.execute_raw(self.backend.build(&update)).await?;
                self.audit(kind.entity, entity_id, Some(merge.before_json()), Some(merge.after_json()));
                self.plan.count(kind.entity, Action::Updated);
            } else {
                self.plan.count(kind.entity, Action::Unchanged);
            }
            if merge.written != written {
                let saved = self.record(&row.key, kind.entity, entity_id, &merge.written);
                self.save_records(vec![saved]).await?;
            }
        }

        for (source_key, entity_id) in dropped {
            let Some(now) = current.get(&entity_id) else {
                self.forget(&source_key).await?;
                continue;
            };
            let written = written_of.remove(&source_key).and_then(into_map).unwrap_or_default();
            if written.iter().any(|(name, value)| now.get(name).is_some_and(|current| current != value)) {
                self.plan.conflict(format!(
                    "{} {}: no longer in the release, but changed by an editor since the last import; kept",
                    kind.entity.noun(),
                    source_key
                ));
                continue;
            }
            let delete = Query::delete()
                .from_table(Alias::new(kind.table))
                .and_where(Expr::col(Alias::new("id")).eq(entity_id))
                .to_owned();
            self.txn.execute_raw(self.backend.build(&delete)).await?;
            self.forget(&source_key).await?;
            self.audit(kind.entity, entity_id, Some(Json::Object(now.clone())), None);
            self.plan.count(kind.entity, Action::Removed);
        }
        self.write_events().await?;
        Ok(ids)
    }

    /// Makes the links of `kind` from each owner match what the source lists. `wanted` maps an
    /// owner's row id and key to its links, each a target's key and the link's columns; the link
    /// set is recorded under `<owner key>#<kind name>`. A link an editor added, changed or removed
    /// since the last import stays as the editor left it; one both changed differently is
    /// reported. Each owner whose links change gets a new version and one audit event.
    pub async fn sync_links(
        &mut self,
        kind: &LinkKind,
        owner_kind: EntityKind,
        wanted: Vec<OwnerLinks>,
        targets: &HashMap<String, Uuid>,
    ) -> Result<()> {
        // A link is kept as an array of its columns in `kind.columns` order, then its target's
        // id: far lighter than a map per link (a full O*NET release has 100,000 links), and the
        // id finds a target the release no longer lists (or a curated one, which has no import
        // record) to unlink it.
        let mut targets = targets.clone();
        let mut changed = Vec::new();
        for (owner, owner_key, links) in wanted {
            let key = format!("{owner_key}#{}", kind.name);
            let links: Map<String, Json> = links
                .into_iter()
                .filter_map(|(target, mut columns)| {
                    let id = targets.get(&target)?;
                    let mut values: Vec<Json> =
                        kind.columns.iter().map(|(name, _)| columns.remove(*name).unwrap_or(Json::Null)).collect();
                    values.push(Json::String(id.to_string()));
                    Some((target, Json::Array(values)))
                })
                .collect();
            if self.records.get(&key).is_some_and(|record| record.hash == digest_map(&links)) {
                continue;
            }
            changed.push((owner, owner_key, key, Map::new(), links));
        }
        let keys: Vec<String> = changed.iter().map(|(_, _, key, ..)| key.clone()).collect();
        let mut written_of = self.written_of(&keys).await?;
        for (_, _, key, written, _) in &mut changed {
            *written = written_of.remove(key.as_str()).and_then(into_map).unwrap_or_default();
        }
        for (_, _, _, written, _) in &changed {
            for (target, link) in written {
                if let Some(id) = link_target(link) {
                    targets.entry(target.clone()).or_insert(id);
                }
            }
        }
        let owners: Vec<Uuid> = changed.iter().map(|(owner, ..)| *owner).collect();
        let mut current = self.read_links(kind, &owners, &targets).await?;
        let (mut inserts, mut deletes, mut records, mut touched) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (owner, owner_key, key, mut written, mut links) in changed {
            let now = current.remove(&owner).unwrap_or_default();
            let fresh = self.created.contains(&owner);
            let mut recorded = Map::new();
            let (mut before, mut after) = (Map::new(), Map::new());
            let every: BTreeSet<String> = links.keys().chain(written.keys()).cloned().collect();
            for target in every {
                let Some(&target_id) = targets.get(&target) else { continue };
                let (want, last, has) = (links.remove(&target), written.remove(&target), now.get(&target));
                if want == last {
                    if let Some(last) = last {
                        recorded.insert(target, last);
                    }
                    continue;
                }
                if has != last.as_ref() {
                    // An editor added, changed or removed the link since the last import.
                    if has != want.as_ref() {
                        self.plan.conflict(format!(
                            "{owner_key}: its {} link to {target} was changed by an editor since the last import; kept",
                            kind.name
                        ));
                    }
                    if let Some(kept) = if has == want.as_ref() { want } else { last } {
                        recorded.insert(target, kept);
                    }
                    continue;
                }
                // A changed link is deleted and inserted anew.
                if has.is_some() {
                    deletes.push((owner, target_id));
                }
                // A new owner's links are told by its creation's event, not one of their own.
                if !fresh {
                    before.insert(target.clone(), has.map_or(Json::Null, |has| named(kind, has)));
                    after.insert(target.clone(), want.as_ref().map_or(Json::Null, |want| named(kind, want)));
                }
                self.plan.links(kind.name, usize::from(has.is_some()), usize::from(want.is_some()));
                if let Some(want) = want {
                    inserts.push((owner, target_id, want.clone()));
                    recorded.insert(target, want);
                }
            }
            if !after.is_empty() {
                touched.push(owner);
                self.audit(
                    owner_kind,
                    owner,
                    Some(Json::Object(Map::from_iter([(kind.name.to_owned(), Json::Object(before))]))),
                    Some(Json::Object(Map::from_iter([(kind.name.to_owned(), Json::Object(after))]))),
                );
            }
            records.push(self.new_record(&key, owner_kind, owner, Json::Object(recorded)));
        }
        for (owner, target) in deletes {
            self.delete_link(kind, owner, target).await?;
        }
        for chunk in inserts.chunks(CHUNK) {
            self.insert_links(kind, chunk).await?;
        }
        self.touch(owner_kind, &touched).await?;
        for chunk in records.chunks(CHUNK) {
            self.save_records(chunk.to_vec()).await?;
        }
        self.write_events().await
    }

    /// Replaces, for each owner, the list of texts in `table` (keyed by owner and position)
    /// when the source's list changed: lists only imports write, such as alternate titles.
    pub async fn sync_list(
        &mut self,
        name: &'static str,
        table: &'static str,
        owner_kind: EntityKind,
        wanted: Vec<(Uuid, String, Vec<String>)>,
    ) -> Result<()> {
        let (mut rows, mut records) = (Vec::new(), Vec::new());
        let mut changed = Vec::new();
        for (owner, owner_key, items) in wanted {
            let key = format!("{owner_key}#{name}");
            let list = Json::Array(items.iter().cloned().map(Json::String).collect());
            if self.records.get(&key).is_some_and(|record| record.hash == digest(&list)) {
                continue;
            }
            changed.push((owner, key, items, list));
        }
        let keys: Vec<String> = changed.iter().map(|(_, key, ..)| key.clone()).collect();
        let mut written_of = self.written_of(&keys).await?;
        for (owner, key, items, list) in changed {
            let last = written_of.remove(&key);
            if !self.created.contains(&owner) {
                let delete = Query::delete()
                    .from_table(Alias::new(table))
                    .and_where(Expr::col(Alias::new("career_path_id")).eq(owner))
                    .to_owned();
                self.txn.execute_raw(self.backend.build(&delete)).await?;
            }
            let removed = last.as_ref().and_then(Json::as_array).map_or(0, Vec::len);
            self.plan.links(name, removed, items.len());
            rows.extend(items.into_iter().enumerate().map(|(position, item)| (owner, position as i32, item)));
            records.push(self.new_record(&key, owner_kind, owner, list));
        }
        for chunk in rows.chunks(CHUNK) {
            let mut insert = Query::insert();
            insert.into_table(Alias::new(table)).columns([
                Alias::new("career_path_id"),
                Alias::new("position"),
                Alias::new("title"),
            ]);
            for (owner, position, item) in chunk {
                let values: Vec<SimpleExpr> = vec![(*owner).into(), (*position).into(), item.clone().into()];
                insert.values(values).map_err(|error| Error::Internal(error.to_string()))?;
            }
            self.txn.execute_raw(self.backend.build(&insert)).await?;
        }
        for chunk in records.chunks(CHUNK) {
            self.save_records(chunk.to_vec()).await?;
        }
        self.write_events().await
    }

    /// Writes the audit events still held; called once, before commit.
    pub async fn finish(mut self) -> Result<Plan> {
        self.write_events().await?;
        Ok(self.plan)
    }

    /// Writes the audit events gathered so far, so that they are not all held until the end.
    async fn write_events(&mut self) -> Result<()> {
        let events = std::mem::take(&mut self.plan.events);
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let chunk: Vec<_> = events.by_ref().take(CHUNK).collect();
            audit_event::Entity::insert_many(chunk).exec_without_returning(self.txn).await?;
        }
        Ok(())
    }

    fn merge(
        &mut self,
        label: &str,
        written: &Map<String, Json>,
        now: &Map<String, Json>,
        wanted: &Map<String, Json>,
    ) -> Merge {
        let mut merge = Merge { set: Map::new(), before: Map::new(), written: written.clone() };
        for (name, want) in wanted {
            let last = written.get(name);
            if last == Some(want) {
                continue;
            }
            let has = now.get(name).unwrap_or(&Json::Null);
            if last.is_some_and(|last| last != has) {
                if has == want {
                    merge.written.insert(name.clone(), want.clone());
                } else {
                    self.plan.conflict(format!(
                        "{label}: `{name}` was changed by an editor since the last import; kept {has} over the release's {want}"
                    ));
                }
                continue;
            }
            merge.before.insert(name.clone(), has.clone());
            merge.set.insert(name.clone(), want.clone());
            merge.written.insert(name.clone(), want.clone());
        }
        merge
    }

    fn audit(&mut self, entity: EntityKind, id: Uuid, before: Option<Json>, after: Option<Json>) {
        self.plan.events.push(audit_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            actor_id: Set(None),
            action: Set("import".to_owned()),
            entity_type: Set(entity.name().to_owned()),
            entity_id: Set(id),
            before: Set(before),
            after: Set(after),
            occurred_at: Set(self.now),
            request_id: Set(Some(self.request_id.clone())),
        });
    }

    /// What earlier imports wrote under `keys` (the keys that have a record).
    async fn written_of(&self, keys: &[String]) -> Result<HashMap<String, Json>> {
        let mut written = HashMap::new();
        for chunk in keys.chunks(CHUNK) {
            let rows: Vec<(String, Json)> = import_record::Entity::find()
                .select_only()
                .columns([import_record::Column::SourceKey, import_record::Column::Written])
                .filter(import_record::Column::SourceKey.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(self.txn)
                .await?;
            written.extend(rows);
        }
        Ok(written)
    }

    fn record(&self, key: &str, entity: EntityKind, id: Uuid, written: &Map<String, Json>) -> import_record::Model {
        self.new_record(key, entity, id, Json::Object(written.clone()))
    }

    /// The import record of `key` as this import leaves it. (The loaded records are what earlier
    /// imports left; this one's are only written, not kept.)
    fn new_record(&self, key: &str, entity: EntityKind, id: Uuid, written: Json) -> import_record::Model {
        let hash = digest(&written);
        import_record::Model {
            source_key: key.to_owned(),
            entity_type: entity.name().to_owned(),
            entity_id: id,
            data_source_id: self.source_id,
            written,
            hash,
        }
    }

    async fn save_records(&self, records: Vec<import_record::Model>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = records.iter().map(|record| record.source_key.clone()).collect();
        import_record::Entity::delete_many()
            .filter(import_record::Column::SourceKey.is_in(keys))
            .exec(self.txn)
            .await?;
        let rows = records.into_iter().map(|record| import_record::ActiveModel {
            source_key: Set(record.source_key),
            entity_type: Set(record.entity_type),
            entity_id: Set(record.entity_id),
            data_source_id: Set(record.data_source_id),
            written: Set(record.written),
            hash: Set(record.hash),
        });
        import_record::Entity::insert_many(rows).exec_without_returning(self.txn).await?;
        Ok(())
    }

    async fn forget(&mut self, key: &str) -> Result<()> {
        self.records.remove(key);
        import_record::Entity::delete_by_id(key.to_owned()).exec(self.txn).await?;
        Ok(())
    }

    /// Gives each of `ids` a new version, as their links changed.
    async fn touch(&self, entity: EntityKind, ids: &[Uuid]) -> Result<()> {
        let table = match entity {
            EntityKind::CareerPath => "career_path",
            other => return Err(Error::Internal(format!("no links hang off a {}", other.noun()))),
        };
        let update = Query::update()
            .table(Alias::new(table))
            .value(Alias::new("version"), Expr::col(Alias::new("version")).add(1))
            .value(Alias::new("updated_at"), self.now)
            .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().copied()))
            .to_owned();
        if !ids.is_empty() {
            self.txn.execute_raw(self.backend.build(&update)).await?;
        }
        Ok(())
    }

    async fn insert_links(&self, kind: &LinkKind, links: &[(Uuid, Uuid, Json)]) -> Result<()> {
        let mut names = vec![kind.owner, kind.target];
        names.extend(kind.columns.iter().map(|(name, _)| *name));
        let mut insert = Query::insert();
        insert.into_table(Alias::new(kind.table)).columns(names.into_iter().map(Alias::new));
        for (owner, target, columns) in links {
            let mut values: Vec<SimpleExpr> = vec![(*owner).into(), (*target).into()];
            for (index, (_, ty)) in kind.columns.iter().enumerate() {
                values.push(bind(*ty, columns.get(index).unwrap_or(&Json::Null))?.into());
            }
            insert.values(values).map_err(|error| Error::Internal(error.to_string()))?;
        }
        self.txn.execute_raw(self.backend.build(&insert)).await?;
        Ok(())
    }

    async fn delete_link(&self, kind: &LinkKind, owner: Uuid, target: Uuid) -> Result<()> {
        let delete = Query::delete()
            .from_table(Alias::new(kind.table))
            .and_where(Expr::col(Alias::new(kind.owner)).eq(owner))
            .and_where(Expr::col(Alias::new(kind.target)).eq(target))
            .to_owned();
        self.txn.execute_raw(self.backend.build(&delete)).await?;
        Ok(())
    }

    /// The import's columns of the rows `ids` of `kind`, as JSON maps.
    async fn read_rows(&self, kind: &Kind, ids: &[Uuid]) -> Result<HashMap<Uuid, Map<String, Json>>> {
        let mut rows = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let select = Query::select()
                .column(Alias::new("id"))
                .columns(kind.columns.iter().map(|(name, _)| Alias::new(*name)))
                .from(Alias::new(kind.table))
                .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
                .to_owned();
            for row in self.txn.query_all_raw(self.backend.build(&select)).await? {
                let id: Uuid = row.try_get_by_index(0)?;
                let mut values = Map::new();
                for (index, (name, ty)) in kind.columns.iter().enumerate() {
                    values.insert((*name).to_owned(), read(&row, index + 1, *ty)?);
                }
                rows.insert(id, values);
            }
        }
        Ok(rows)
    }

    /// The links of `kind` from each of `owners`, keyed by the target's key in `targets`.
    async fn read_links(
        &self,
        kind: &LinkKind,
        owners: &[Uuid],
        targets: &HashMap<String, Uuid>,
    ) -> Result<HashMap<Uuid, Map<String, Json>>> {
        let key_of: HashMap<Uuid, &String> = targets.iter().map(|(key, id)| (*id, key)).collect();
        let mut links: HashMap<Uuid, Map<String, Json>> = HashMap::new();
        for chunk in owners.chunks(CHUNK) {
            let select = Query::select()
                .columns([Alias::new(kind.owner), Alias::new(kind.target)])
                .columns(kind.columns.iter().map(|(name, _)| Alias::new(*name)))
                .from(Alias::new(kind.table))
                .and_where(Expr::col(Alias::new(kind.owner)).is_in(chunk.iter().copied()))
                .to_owned();
            for row in self.txn.query_all_raw(self.backend.build(&select)).await? {
                let owner: Uuid = row.try_get_by_index(0)?;
                let target: Uuid = row.try_get_by_index(1)?;
                let Some(key) = key_of.get(&target) else { continue };
                let mut values = Vec::with_capacity(kind.columns.len() + 1);
                for (index, (_, ty)) in kind.columns.iter().enumerate() {
                    values.push(read(&row, index + 2, *ty)?);
                }
                values.push(Json::String(target.to_string()));
                links.entry(owner).or_default().insert((*key).clone(), Json::Array(values));
            }
        }
        Ok(links)
    }
}

/// An earlier import's record, without what it wrote.
struct Recorded {
    entity_type: String,
    entity_id: Uuid,
    hash: String,
}

fn into_map(json: Json) -> Option<Map<String, Json>> {
    match json {
        Json::Object(map) => Some(map),
        _ => None,
    }
}

/// SHA-256 (hex) of `value` written with every object's keys in order, so that the same content
/// has the same digest however its maps were built.
fn digest(value: &Json) -> String {
    let mut text = String::new();
    canonical(value, &mut text);
    sha256(text.as_bytes())
}

fn digest_map(map: &Map<String, Json>) -> String {
    let mut text = String::new();
    canonical_map(map, &mut text);
    sha256(text.as_bytes())
}

fn canonical(value: &Json, out: &mut String) {
    match value {
        Json::Object(map) => canonical_map(map, out),
        Json::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn canonical_map(map: &Map<String, Json>, out: &mut String) {
    let mut entries: Vec<(&String, &Json)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (index, (key, value)) in entries.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&Json::String(key.clone()).to_string());
        out.push(':');
        canonical(value, out);
    }
    out.push('}');
}

struct Merge {
    set: Map<String, Json>,
    before: Map<String, Json>,
    written: Map<String, Json>,
}

impl Merge {
    fn before_json(&self) -> Json {
        Json::Object(self.before.clone())
    }

    fn after_json(&self) -> Json {
        Json::Object(self.set.clone())
    }
}

/// The target id a recorded link ends with.
fn link_target(link: &Json) -> Option<Uuid> {
    link.as_array()?.last()?.as_str().and_then(|id| Uuid::parse_str(id).ok())
}

/// A recorded link as its columns by name, for the audit log.
fn named(kind: &LinkKind, link: &Json) -> Json {
    let values = link.as_array().map(Vec::as_slice).unwrap_or_default();
    Json::Object(
        kind.columns.iter().zip(values).map(|((name, _), value)| ((*name).to_owned(), value.clone())).collect(),
    )
}

fn type_of(columns: &[(&str, Ty)], name: &str) -> Ty {
    columns.iter().find(|(column, _)| *column == name).map_or(Ty::Text, |(_, ty)| *ty)
}

fn bind(ty: Ty, value: &Json) -> Result<SqlValue> {
    let wrong = || Error::Internal(format!("the import produced {value} for a {ty:?} column"));
    Ok(match (ty, value) {
        (Ty::Text, Json::Null) => Option::<String>::None.into(),
        (Ty::Text, Json::String(text)) => text.clone().into(),
        (Ty::Int, Json::Null) => Option::<i32>::None.into(),
        (Ty::Int, Json::Number(number)) => {
            number.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(wrong)?.into()
        }
        (Ty::BigInt, Json::Null) => Option::<i64>::None.into(),
        (Ty::BigInt, Json::Number(number)) => number.as_i64().ok_or_else(wrong)?.into(),
        (Ty::Bool, Json::Bool(flag)) => (*flag).into(),
        (Ty::Uuid, Json::Null) => Option::<Uuid>::None.into(),
        (Ty::Uuid, Json::String(text)) => Uuid::parse_str(text).map_err(|_| wrong())?.into(),
        (Ty::Date, Json::String(text)) => text.parse::<NaiveDate>().map_err(|_| wrong())?.into(),
        _ => return Err(wrong()),
    })
}

fn read(row: &QueryResult, index: usize, ty: Ty) -> Result<Json> {
    Ok(match ty {
        Ty::Text => row.try_get_by_index::<Option<String>>(index)?.map_or(Json::Null, Json::String),
        Ty::Int => row.try_get_by_index::<Option<i32>>(index)?.map_or(Json::Null, Json::from),
        Ty::BigInt => row.try_get_by_index::<Option<i64>>(index)?.map_or(Json::Null, Json::from),
        Ty::Bool => row.try_get_by_index::<Option<bool>>(index)?.map_or(Json::Null, Json::Bool),
        Ty::Uuid => row.try_get_by_index::<Option<Uuid>>(index)?.map_or(Json::Null, |id| Json::String(id.to_string())),
        Ty::Date => {
            row.try_get_by_index::<Option<NaiveDate>>(index)?.map_or(Json::Null, |date| Json::String(date.to_string()))
        }
    })
}
