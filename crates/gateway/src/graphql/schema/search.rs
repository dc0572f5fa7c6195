//! Ranked search across career paths, skills and technologies.

use std::collections::HashMap;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, Object, Result, Union};
use careergraph_auth::Role;
use careergraph_domain::projection::Columns;
use careergraph_domain::queries::{career_paths, skills, technologies};
use careergraph_domain::search::{self, Hit, Target};
use uuid::Uuid;

use super::connections::{ranked_after, ranked_cursor};
use super::graph::{CareerPath, Skill, Technology};
use crate::config::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::graphql::plumbing::context::{request, store};
use crate::graphql::plumbing::error::{ApiResult, bad_input};
use crate::graphql::plumbing::policy::auth;

/// What `search` may look for.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SearchType {
    /// Career paths (their titles, alternate titles, summaries, descriptions and tasks).
    CareerPath,
    /// Skills (names and descriptions).
    Skill,
    /// Technologies (names and descriptions).
    Technology,
}

impl From<SearchType> for Target {
    fn from(wanted: SearchType) -> Self {
        match wanted {
            SearchType::CareerPath => Target::CareerPath,
            SearchType::Skill => Target::Skill,
            SearchType::Technology => Target::Technology,
        }
    }
}

/// Something a search found.
#[derive(Union)]
pub enum SearchItem {
    CareerPath(CareerPath),
    Skill(Skill),
    Technology(Technology),
}

/// One search result: what was found, how well it matches, and where.
pub struct SearchResult {
    item: SearchItem,
    rank: f64,
    highlight: String,
}

#[Object(directive = auth::apply(Role::Anonymous))]
impl SearchResult {
    /// The career path, skill or technology found.
    async fn item(&self) -> &SearchItem {
        &self.item
    }

    /// How well it matches the query: higher is better. Results come best first; the values
    /// compare results of one search only.
    async fn rank(&self) -> f64 {
        self.rank
    }

    /// A snippet of its text around the matched words, each matched word as `**word**`.
    async fn highlight(&self) -> &str {
        &self.highlight
    }
}

/// Search queries.
#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Career paths, skills and technologies that match `query`, best first (at most 100 per
    /// page). The syntax is the same on every database: words (all must match, in any form:
    /// "developing" finds "developer"), `"a phrase"`, `-word` (must not match), `a OR b`, and
    /// `prefix*`. At most 200 characters and 16 words or phrases. Drafts appear only to editors.
    #[graphql(
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity",
        directive = auth::apply(Role::Anonymous)
    )]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        types: Option<Vec<SearchType>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, SearchResult, EmptyFields, EmptyFields>> {
        let parsed = search::Query::parse(&query).api()?;
        let size = first.unwrap_or(DEFAULT_PAGE_SIZE as i32);
        if !(1..=MAX_PAGE_SIZE as i32).contains(&size) {
            return Err(bad_input("first", format!("must be between 1 and {MAX_PAGE_SIZE}")));
        }
        let start = ranked_after("search", after.as_deref())?;
        let targets: Vec<Target> = types.unwrap_or_default().into_iter().map(Target::from).collect();
        let db = store(ctx).db();
        let visibility = request(ctx).visibility;
        // One more than asked tells whether there is a next page.
        let mut hits = search::find(db, visibility, &parsed, &targets, size as u64 + 1, start as u64).await.api()?;
        let has_next = hits.len() > size as usize;
        hits.truncate(size as usize);
        let items = load(ctx, &hits).await?;
        let mut connection = Connection::new(start > 0, has_next);
        for (offset, hit) in hits.into_iter().enumerate() {
            let Some(item) = items.get(&hit.id) else { continue };
            let item = match item {
                Loaded::CareerPath(row) => SearchItem::CareerPath(CareerPath::from(row.clone())),
                Loaded::Skill(row) => SearchItem::Skill(Skill::from(row.clone())),
                Loaded::Technology(row) => SearchItem::Technology(Technology::from(row.clone())),
            };
            let result = SearchResult { item, rank: hit.rank, highlight: hit.highlight };
            connection.edges.push(Edge::new(ranked_cursor("search", start + offset), result));
        }
        Ok(connection)
    }
}

enum Loaded {
    CareerPath(careergraph_domain::entities::career_path::Model),
    Skill(careergraph_domain::entities::skill::Model),
    Technology(careergraph_domain::entities::technology::Model),
}

/// The objects `hits` found, one statement per kind.
async fn load(ctx: &Context<'_>, hits: &[Hit]) -> Result<HashMap<Uuid, Loaded>> {
    let db = store(ctx).db();
    let ids = |target: Target| hits.iter().filter(|hit| hit.target == target).map(|hit| hit.id).collect::<Vec<_>>();
    let mut loaded = HashMap::new();
    let paths = ids(Target::CareerPath);
    if !paths.is_empty() {
        let rows = career_paths::by_ids(db, request(ctx).visibility, &paths, Columns::all()).await.api()?;
        loaded.extend(rows.into_iter().map(|row| (row.id, Loaded::CareerPath(row))));
    }
    let skill_ids = ids(Target::Skill);
    if !skill_ids.is_empty() {
        let rows = skills::by_ids(db, &skill_ids, Columns::all()).await.api()?;
        loaded.extend(rows.into_iter().map(|row| (row.id, Loaded::Skill(row))));
    }
    let technology_ids = ids(Target::Technology);
    if !technology_ids.is_empty() {
        let rows = technologies::by_ids(db, &technology_ids, Columns::all()).await.api()?;
        loaded.extend(rows.into_iter().map(|row| (row.id, Loaded::Technology(row))));
    }
    Ok(loaded)
}
