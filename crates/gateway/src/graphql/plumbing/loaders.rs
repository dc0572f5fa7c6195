//! One batch per relation. Each key type names a relation ("the skills of career path X"); the
//! one `Batcher` loads any of them with a single domain call for all keys of a batch.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use careergraph_domain::audit::EntityKind;
use careergraph_domain::entities::{
    app_user, audit_event, benefit, career_path, career_path_skill, career_path_technology, data_source, industry,
    job_zone, learning_resource, responsibility, roadmap_step, salary_record, skill, technology,
};
use careergraph_domain::projection::Columns;
use careergraph_domain::queries::nodes::{self, Found};
use careergraph_domain::queries::{career_paths, skills, technologies};
use careergraph_domain::{Error as DomainError, Visibility};
use itertools::Itertools;
use uuid::Uuid;

use super::executor::Spawner;
use super::gathering::Gathering;
use crate::store::Store;

/// The request's loaders.
pub type Loaders = Gathering<Batcher>;

/// Loads relations for one request, seeing what the request's caller may see.
pub struct Batcher {
    store: Store,
    visibility: Visibility,
}

/// Loaders for one request whose fetches run on `spawner`.
pub fn for_request(store: Store, visibility: Visibility, spawner: Spawner) -> Loaders {
    Gathering::new(Batcher { store, visibility }, spawner)
}

macro_rules! relation_keys {
    ($($(#[$meta:meta])* $name:ident($table:ident);)+) => {$(
        $(#[$meta])*
        /// The key names the columns of the rows to read (see [`super::projection`]); the
        /// keys of one batch are read in one statement, with every column any of them names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub Uuid, pub Columns<$table::Entity>);
    )+};
}

relation_keys! {
    /// A technology by id (the language a framework is built on).
    TechnologyById(technology);
    /// The technologies a career path uses directly (O*NET's technology skills).
    TechnologyUsesOfPath(technology);
    /// The responsibilities of a career path.
    ResponsibilitiesOfPath(responsibility);
    /// The roadmap of a career path.
    RoadmapOfPath(roadmap_step);
    /// The industries of a career path.
    IndustriesOfPath(industry);
    /// The benefits of a career path.
    BenefitsOfPath(benefit);
    /// The related paths of a career path.
    RelatedOfPath(career_path);
    /// The salary records of a career path.
    SalariesOfPath(salary_record);
    /// The learning resources of a roadmap step.
    ResourcesOfStep(learning_resource);
    /// The skills a roadmap step teaches.
    SkillsOfStep(skill);
    /// The technologies of a skill.
    TechnologiesOfSkill(technology);
    /// The career paths that need a skill.
    PathsOfSkill(career_path);
    /// The skills that use a technology.
    SkillsOfTechnology(skill);
    /// An industry by id (the industry of a salary record).
    IndustryById(industry);
    /// A user by id (the actor of an audit event, who last changed an object).
    UserById(app_user);
}

/// The skills of a career path: the columns of each link (how the path needs the skill) and of
/// each skill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SkillsOfPath(pub Uuid, pub (Columns<career_path_skill::Entity>, Columns<skill::Entity>));

/// One of O*NET's job zones by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobZoneByNumber(pub i32);

/// The data sources a career path was imported from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourcesOfPath(pub Uuid);

/// The skills most related to a skill, at most the number given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RelatedSkillsOf(pub Uuid, pub usize);

/// An object of any kind by id (`node`, `nodes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeById(pub Uuid);

/// A loader error: cheap to clone, as every waiting field receives it.
pub type LoadError = Arc<DomainError>;

fn ids<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|key| id(*key)).collect()
}

/// What a key asks to be read: the columns of one table, or of a link and the table it points to.
trait Asked: Copy {
    fn nothing() -> Self;
    fn and(self, other: Self) -> Self;
}

impl<E: sea_orm::EntityTrait> Asked for Columns<E> {
    fn nothing() -> Self {
        Columns::none()
    }

    fn and(self, other: Self) -> Self {
        self.union(other)
    }
}

impl<A: Asked, B: Asked> Asked for (A, B) {
    fn nothing() -> Self {
        (A::nothing(), B::nothing())
    }

    fn and(self, other: Self) -> Self {
        (self.0.and(other.0), self.1.and(other.1))
    }
}

/// One batch's parents, each once, and every column any of its keys asks for. Sorted rather
/// than hashed to find the repeated ones: a batch has hundreds of keys, and a sort of ids costs
/// less than hashing each with std's SipHash.
fn parents_and_columns<A: Asked>(keys: impl Iterator<Item = (Uuid, A)>) -> (Vec<Uuid>, A) {
    let mut columns = A::nothing();
    let mut ids: Vec<Uuid> = keys.inspect(|(_, asked)| columns = columns.and(*asked)).map(|(id, _)| id).collect();
    ids.sort_unstable();
    ids.dedup();
    (ids, columns)
}

/// A batch's rows by parent, hashed with foldhash: the ids are the database's own, not a
/// client's, so nothing is gained by std's DoS-resistant SipHash, which cost a twentieth of a
/// nested page's instructions across the batches' maps.
type ByParent<T> = HashMap<Uuid, T, foldhash::fast::RandomState>;

macro_rules! batch {
    ($key:ident => $value:ty, |$batcher:ident, $ids:ident, $columns:ident| $load:expr, |$row:ident: $row_type:ty| $keyed:expr) => {
        impl Loader<$key> for Batcher {
            type Value = $value;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let $batcher = self;
                let ($ids, $columns) = parents_and_columns(keys.iter().map(|key| (key.0, key.1)));
                let parents = $ids.len();
                let rows = $load.await.map_err(Arc::new)?;
                let mut groups: ByParent<Vec<_>> = ByParent::with_capacity_and_hasher(parents, Default::default());
                for $row in rows {
                    let $row: $row_type = $row;
                    let (parent, item) = $keyed;
                    groups.entry(parent).or_default().push(item);
                }
                let by_parent: ByParent<$value> =
                    groups.into_iter().map(|(parent, items)| (parent, <$value>::from(items))).collect();
                // Keys that differ only in their columns share the rows read for all of them.
                let mut found = HashMap::with_capacity(keys.len());
                for key in keys {
                    if let Some(value) = by_parent.get(&key.0) {
                        found.insert(*key, value.clone());
                    }
                }
                Ok(found)
            }
        }
    };
}

/// A relation's value as every field that asked for it receives its own copy: the rows are
/// shared (`Arc`), so a copy costs a reference count rather than a clone of every string. A
/// group's `Vec` becomes one through std's `From`.
pub type Rows<T> = Arc<[T]>;

/// The row that is the only one for its id, shared like [`Rows`].
#[derive(Debug)]
pub struct One<T>(pub Arc<T>);

impl<T> Clone for One<T> {
    fn clone(&self) -> Self {
        One(Arc::clone(&self.0))
    }
}

impl<T> From<Vec<Arc<T>>> for One<T> {
    fn from(mut group: Vec<Arc<T>>) -> Self {
        // Grouping by primary key leaves exactly one row per group.
        One(group.swap_remove(0))
    }
}

batch!(TechnologyById => One<technology::Model>,
    |b, ids, columns| technologies::by_ids(b.store.db(), &ids, columns), |row: technology::Model| (row.id, Arc::new(row)));
batch!(SkillsOfPath => Rows<(career_path_skill::Model, Arc<skill::Model>)>,
    |b, ids, columns| career_paths::skills(b.store.db(), &ids, columns.0, columns.1),
    |row: (career_path_skill::Model, skill::Model)| (row.0.career_path_id, (row.0, Arc::new(row.1))));
batch!(TechnologyUsesOfPath => Rows<(career_path_technology::Model, Arc<technology::Model>)>,
    |b, ids, columns| career_paths::technology_uses(b.store.db(), &ids, columns),
    |row: (career_path_technology::Model, technology::Model)| (row.0.career_path_id, (row.0, Arc::new(row.1))));
batch!(ResponsibilitiesOfPath => Rows<Arc<responsibility::Model>>,
    |b, ids, columns| career_paths::responsibilities(b.store.db(), &ids, columns),
    |row: responsibility::Model| (row.career_path_id, Arc::new(row)));
batch!(RoadmapOfPath => Rows<Arc<roadmap_step::Model>>,
    |b, ids, columns| career_paths::roadmap(b.store.db(), &ids, columns),
    |row: roadmap_step::Model| (row.career_path_id, Arc::new(row)));
batch!(IndustriesOfPath => Rows<Arc<industry::Model>>,
    |b, ids, columns| career_paths::industries(b.store.db(), &ids, columns),
    |row: (Uuid, industry::Model)| (row.0, Arc::new(row.1)));
batch!(BenefitsOfPath => Rows<Arc<benefit::Model>>,
    |b, ids, columns| career_paths::benefits(b.store.db(), &ids, columns),
    |row: (Uuid, benefit::Model)| (row.0, Arc::new(row.1)));
batch!(RelatedOfPath => Rows<Arc<career_path::Model>>,
    |b, ids, columns| career_paths::related(b.store.db(), b.visibility, &ids, columns),
    |row: (Uuid, career_path::Model)| (row.0, Arc::new(row.1)));
batch!(SalariesOfPath => Rows<Arc<salary_record::Model>>,
    |b, ids, columns| career_paths::salary_records(b.store.db(), &ids, columns),
    |row: salary_record::Model| (row.career_path_id, Arc::new(row)));
batch!(ResourcesOfStep => Rows<Arc<learning_resource::Model>>,
    |b, ids, columns| career_paths::resources(b.store.db(), &ids, columns),
    |row: learning_resource::Model| (row.roadmap_step_id, Arc::new(row)));
batch!(SkillsOfStep => Rows<Arc<skill::Model>>,
    |b, ids, columns| skills::skills_taught(b.store.db(), &ids, columns),
    |row: (Uuid, skill::Model)| (row.0, Arc::new(row.1)));
batch!(TechnologiesOfSkill => Rows<Arc<technology::Model>>,
    |b, ids, columns| skills::technologies(b.store.db(), &ids, columns),
    |row: (Uuid, technology::Model)| (row.0, Arc::new(row.1)));
batch!(PathsOfSkill => Rows<(career_path_skill::Model, Arc<career_path::Model>)>,
    |b, ids, columns| skills::career_paths(b.store.db(), b.visibility, &ids, columns),
    |row: (career_path_skill::Model, career_path::Model)| (row.0.skill_id, (row.0, Arc::new(row.1))));
batch!(SkillsOfTechnology => Rows<Arc<skill::Model>>,
    |b, ids, columns| technologies::skills(b.store.db(), &ids, columns),
    |row: (Uuid, skill::Model)| (row.0, Arc::new(row.1)));
batch!(IndustryById => One<industry::Model>,
    |b, ids, columns| careergraph_domain::queries::sectors::industries_by_ids(b.store.db(), &ids, columns),
    |row: industry::Model| (row.id, Arc::new(row)));

batch!(UserById => One<app_user::Model>,
    |b, ids, columns| careergraph_domain::accounts::users_by_ids(b.store.db(), &ids, columns),
    |row: app_user::Model| (row.id, Arc::new(row)));

impl Loader<JobZoneByNumber> for Batcher {
    type Value = Arc<job_zone::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[JobZoneByNumber]) -> Result<HashMap<JobZoneByNumber, Self::Value>, LoadError> {
        let zones: Vec<i32> = keys.iter().map(|key| key.0).collect();
        let found = career_paths::job_zones(self.store.db(), &zones).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|zone| (JobZoneByNumber(zone.zone), Arc::new(zone))).collect())
    }
}

impl Loader<SourcesOfPath> for Batcher {
    type Value = Rows<Arc<data_source::Model>>;
    type Error = LoadError;

    async fn load(&self, keys: &[SourcesOfPath]) -> Result<HashMap<SourcesOfPath, Self::Value>, LoadError> {
        let found = career_paths::sources(self.store.db(), &ids(keys, |key| key.0)).await.map_err(Arc::new)?;
        let by_path = found.into_iter().map(|(path, source)| (path, Arc::new(source))).into_group_map();
        Ok(by_path.into_iter().map(|(path, sources)| (SourcesOfPath(path), Rows::from(sources))).collect())
    }
}

impl Loader<RelatedSkillsOf> for Batcher {
    type Value = Rows<(Arc<skill::Model>, f64)>;
    type Error = LoadError;

    async fn load(&self, keys: &[RelatedSkillsOf]) -> Result<HashMap<RelatedSkillsOf, Self::Value>, LoadError> {
        // One statement for the batch, as many as the largest page asks; smaller pages are cut.
        let most = keys.iter().map(|key| key.1).max().unwrap_or(1);
        let related = careergraph_domain::graph::related_skills::related_skills(
            self.store.db(),
            self.visibility,
            &ids(keys, |key| key.0).into_iter().unique().collect::<Vec<_>>(),
            most,
        )
        .await
        .map_err(Arc::new)?;
        let shared: HashMap<Uuid, Vec<(Arc<skill::Model>, f64)>> = related
            .into_iter()
            .map(|(skill, found)| (skill, found.into_iter().map(|r| (Arc::new(r.skill), r.strength)).collect()))
            .collect();
        Ok(keys
            .iter()
            .map(|key| {
                let found = shared.get(&key.0).map_or(&[][..], Vec::as_slice);
                (*key, Rows::from(&found[..found.len().min(key.1)]))
            })
            .collect())
    }
}

impl Loader<NodeById> for Batcher {
    type Value = Found;
    type Error = LoadError;

    async fn load(&self, keys: &[NodeById]) -> Result<HashMap<NodeById, Found>, LoadError> {
        let found = nodes::by_ids(self.store.db(), self.visibility, &ids(keys, |key| key.0)).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|found| (NodeById(found.id()), found)).collect())
    }
}

/// The audit events of one object of a kind, with the columns to read (as in [`relation_keys!`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub EntityKind, pub Uuid, pub Columns<audit_event::Entity>);

impl Loader<HistoryOf> for Batcher {
    type Value = Vec<audit_event::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[HistoryOf]) -> Result<HashMap<HistoryOf, Self::Value>, Self::Error> {
        // One statement per type in the batch: a batch rarely mixes more than one.
        let by_type = keys.iter().map(|key| (key.0, (key.1, key.2))).into_group_map();
        let mut events: HashMap<(EntityKind, Uuid), Self::Value> = HashMap::new();
        for (entity_type, keys) in by_type {
            let (ids, columns) = parents_and_columns(keys.into_iter());
            for event in careergraph_domain::audit::history(self.store.db(), entity_type, &ids, columns)
                .await
                .map_err(Arc::new)?
            {
                events.entry((entity_type, event.entity_id)).or_default().push(event);
            }
        }
        Ok(keys.iter().filter_map(|key| Some((*key, events.get(&(key.0, key.1))?.clone()))).collect())
    }
}
