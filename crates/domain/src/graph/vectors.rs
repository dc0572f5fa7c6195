//! Every career path's skills as a weighted vector, held in memory while the derived tables are
//! computed: the similarity of two paths, their top-K lists, a skill's reach and two skills'
//! co-occurrence are all sums over these vectors.

use std::collections::HashMap;

use sea_orm::{ActiveEnum, ConnectionTrait, Statement};
use uuid::Uuid;

use crate::enums::{Importance, PublicationStatus};
use crate::{Error, Result, Visibility};

/// How many moves are kept per path and scope: the most similar paths.
pub const MOVES_PER_PATH: usize = 50;

/// The largest page of any graph answer: one page holds every move of a path.
pub const MAX_FIRST: usize = MOVES_PER_PATH;

/// A graph answer's page when `first` is not given.
pub const DEFAULT_FIRST: i32 = 10;

/// The page size `first` asks for (10 when not given), refused outside 1 to [`MAX_FIRST`]: the
/// one rule of every graph answer, which callers apply before asking.
pub fn page_size(first: Option<i32>) -> Result<usize> {
    usize::try_from(first.unwrap_or(DEFAULT_FIRST))
        .ok()
        .filter(|size| (1..=MAX_FIRST).contains(size))
        .ok_or_else(|| Error::invalid("first", format!("must be between 1 and {MAX_FIRST}")))
}

/// Which paths a derived figure is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every path, drafts too: what editors see.
    All,
    /// Published paths only: what everyone else sees.
    Published,
}

impl Scope {
    /// Both scopes.
    pub const BOTH: [Scope; 2] = [Scope::All, Scope::Published];

    /// How the scope is stored.
    pub fn code(self) -> i16 {
        match self {
            Scope::All => 0,
            Scope::Published => 1,
        }
    }

    /// The scope of what a caller with `visibility` sees.
    pub fn of(visibility: Visibility) -> Self {
        match visibility {
            Visibility::IncludeDrafts => Scope::All,
            Visibility::PublishedOnly => Scope::Published,
        }
    }

    /// The scope a stored code names.
    pub fn of_code(code: i16) -> Self {
        if code == 1 { Scope::Published } else { Scope::All }
    }
}

/// The weight of a path's skill, in half points of O*NET's 0–100 scale (so that the midpoints
/// of the importance bands are whole numbers): twice the importance score where the import
/// gave one, else twice the midpoint of the band the importance names (ESSENTIAL 75–100 → 175,
/// IMPORTANT 50–75 → 125, NICE_TO_HAVE 25–50 → 75). [`weight_sql`] is the same in SQL.
pub fn weight(importance: Importance, score: Option<i32>) -> i64 {
    match score {
        Some(score) => 2 * i64::from(score.clamp(0, 100)),
        None => match importance {
            Importance::Essential => 175,
            Importance::Important => 125,
            Importance::NiceToHave => 75,
        },
    }
}

/// The largest [`weight`]: a score of 100.
pub const MAX_WEIGHT: i64 = 200;

/// [`weight`] of a `career_path_skill` row aliased `alias`, as an SQL expression.
pub fn weight_sql(alias: &str) -> String {
    format!(
        "COALESCE({alias}.importance_score * 2, CASE {alias}.importance WHEN 'ESSENTIAL' THEN 175 \
         WHEN 'IMPORTANT' THEN 125 ELSE 75 END)"
    )
}

/// A weight back on the 0–100 scale.
pub fn score(weight: i64) -> f64 {
    weight as f64 / 2.0
}

/// One path's skills.
#[derive(Clone, Debug)]
pub struct PathVector {
    pub id: Uuid,
    pub published: bool,
    /// Σ of the weights.
    pub total: i64,
    /// (skill number, weight), by skill number.
    pub skills: Vec<(u32, i64)>,
}

/// One move as computed: the target's number and what the similarity is made of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Move {
    pub neighbour: u32,
    pub intersection: i64,
    pub shared: i32,
    pub to_learn: i32,
    pub similarity: f64,
}

/// Every path's vector and, per skill, the paths that list it.
pub struct Vectors {
    pub paths: Vec<PathVector>,
    pub path_numbers: HashMap<Uuid, u32>,
    pub skill_ids: Vec<Uuid>,
    /// By skill number: (path number, weight).
    pub postings: Vec<Vec<(u32, i64)>>,
}

impl Vectors {
    /// Reads every path's skills and status, in two statements joined here: a join in SQL is
    /// planned by the statistics, and right after a bulk load those still describe the tables
    /// as they were (SQLite, told the tables held one row, scanned every path for each link).
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let backend = db.get_database_backend();
        let statuses = db.query_all_raw(Statement::from_string(backend, "SELECT id, status FROM career_path")).await?;
        let mut published: HashMap<Uuid, bool> = HashMap::with_capacity(statuses.len());
        for row in statuses {
            let status: String = row.try_get_by_index(1)?;
            published.insert(row.try_get_by_index(0)?, status == PublicationStatus::Published.as_str());
        }
        let sql = "SELECT career_path_id, skill_id, importance, importance_score FROM career_path_skill";
        let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
        let mut links = Vec::with_capacity(rows.len());
        for row in rows {
            let path: Uuid = row.try_get_by_index(0)?;
            let importance: String = row.try_get_by_index(2)?;
            let importance = <Importance as ActiveEnum>::try_from_value(&importance)?;
            links.push((
                path,
                row.try_get_by_index::<Uuid>(1)?,
                weight(importance, row.try_get_by_index(3)?),
                published.get(&path).copied().unwrap_or(false),
            ));
        }
        Ok(Self::from_links(links))
    }

    /// The vectors of `links`: (path, skill, weight, whether the path is published).
    pub fn from_links(mut links: Vec<(Uuid, Uuid, i64, bool)>) -> Self {
        // Sorted so that numbering, and with it every tie-break, does not depend on row order.
        links.sort_by_key(|&(path, skill, _, _)| (path, skill));
        let mut skill_ids: Vec<Uuid> = links.iter().map(|link| link.1).collect();
        skill_ids.sort();
        skill_ids.dedup();
        let skill_numbers: HashMap<Uuid, u32> = (0..).zip(&skill_ids).map(|(n, id)| (*id, n)).collect();
        let mut paths: Vec<PathVector> = Vec::new();
        let mut path_numbers = HashMap::new();
        let mut postings = vec![Vec::new(); skill_ids.len()];
        for (path, skill, weight, published) in links {
            if paths.last().is_none_or(|last| last.id != path) {
                path_numbers.insert(path, paths.len() as u32);
                paths.push(PathVector { id: path, published, total: 0, skills: Vec::new() });
            }
            let number = paths.len() as u32 - 1;
            let vector = paths.last_mut().expect("pushed above");
            let skill = skill_numbers[&skill];
            vector.total += weight;
            vector.skills.push((skill, weight));
            postings[skill as usize].push((number, weight));
        }
        for vector in &mut paths {
            vector.skills.sort_unstable();
        }
        Self { paths, path_numbers, skill_ids, postings }
    }

    fn in_scope(&self, path: u32, scope: Scope) -> bool {
        scope == Scope::All || self.paths[path as usize].published
    }

    /// The at most [`MOVES_PER_PATH`] paths of `scope` most similar to path `from`, most
    /// similar first (ties by id), with how many skills each asks more of than `from` has.
    pub fn moves(&self, from: u32, scope: Scope, scratch: &mut Scratch) -> Vec<Move> {
        let mut moves = self.similarities(from, scope, scratch);
        let order = |a: &Move, b: &Move| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| self.paths[a.neighbour as usize].id.cmp(&self.paths[b.neighbour as usize].id))
        };
        if moves.len() > MOVES_PER_PATH {
            moves.select_nth_unstable_by(MOVES_PER_PATH - 1, order);
            moves.truncate(MOVES_PER_PATH);
        }
        moves.sort_unstable_by(order);
        let source = &self.paths[from as usize].skills;
        for found in &mut moves {
            found.to_learn = to_learn(source, &self.paths[found.neighbour as usize].skills);
        }
        moves
    }

    /// The similarity of path `from` to every path of `scope` that shares a skill with it, in
    /// no order (`to_learn` left 0). The weighted Jaccard similarity Σ min / Σ max over the
    /// union of two paths' skills is, with Σ max = Σ a + Σ b − Σ min, a sum over the skills
    /// they share: only paths sharing a skill are visited. Symmetric, so it also says how
    /// similar `from` is to each of them.
    pub fn similarities(&self, from: u32, scope: Scope, scratch: &mut Scratch) -> Vec<Move> {
        scratch.fit(self.paths.len());
        let source = &self.paths[from as usize];
        for &(skill, own) in &source.skills {
            for &(path, theirs) in &self.postings[skill as usize] {
                if path == from || !self.in_scope(path, scope) {
                    continue;
                }
                let slot = path as usize;
                if scratch.shared[slot] == 0 {
                    scratch.touched.push(path);
                }
                scratch.intersection[slot] += own.min(theirs);
                scratch.shared[slot] += 1;
            }
        }
        let mut found: Vec<Move> = Vec::with_capacity(scratch.touched.len());
        for &path in &scratch.touched {
            let slot = path as usize;
            let intersection = scratch.intersection[slot];
            let union = source.total + self.paths[slot].total - intersection;
            if intersection > 0 && union > 0 {
                let similarity = intersection as f64 / union as f64;
                found.push(Move {
                    neighbour: path,
                    intersection,
                    shared: scratch.shared[slot],
                    to_learn: 0,
                    similarity,
                });
            }
            scratch.intersection[slot] = 0;
            scratch.shared[slot] = 0;
        }
        scratch.touched.clear();
        found
    }

    /// Each skill's reach over `scope`: Σ over its paths of score × the fit it adds (its weight
    /// over the path's total), so a skill that weighs much in many paths reaches far.
    pub fn reach(&self, scope: Scope) -> HashMap<Uuid, f64> {
        let mut reach = HashMap::new();
        for (skill, postings) in self.skill_ids.iter().zip(&self.postings) {
            let value: f64 = postings
                .iter()
                .filter(|(path, _)| self.in_scope(*path, scope))
                .map(|&(path, weight)| score(weight) * weight as f64 / self.paths[path as usize].total as f64)
                .sum();
            if postings.iter().any(|(path, _)| self.in_scope(*path, scope)) {
                reach.insert(*skill, value);
            }
        }
        reach
    }

    /// How strongly each two skills go together over `scope`: Σ over the paths listing both of
    /// the smaller weight. Both directions.
    pub fn pairs(&self, scope: Scope) -> HashMap<(Uuid, Uuid), i64> {
        let mut strengths: HashMap<(u32, u32), i64> = HashMap::new();
        for (number, path) in self.paths.iter().enumerate() {
            if !self.in_scope(number as u32, scope) {
                continue;
            }
            for (i, &(a, weight_a)) in path.skills.iter().enumerate() {
                for &(b, weight_b) in &path.skills[i + 1..] {
                    *strengths.entry((a, b)).or_default() += weight_a.min(weight_b);
                }
            }
        }
        let mut pairs = HashMap::with_capacity(strengths.len() * 2);
        for ((a, b), strength) in strengths {
            if strength > 0 {
                let (a, b) = (self.skill_ids[a as usize], self.skill_ids[b as usize]);
                pairs.insert((a, b), strength);
                pairs.insert((b, a), strength);
            }
        }
        pairs
    }
}

/// How many skills `target` weighs more than `source` (both sorted by skill number).
fn to_learn(source: &[(u32, i64)], target: &[(u32, i64)]) -> i32 {
    let mut count = 0;
    let mut own = source.iter().peekable();
    for &(skill, wanted) in target {
        while own.next_if(|(other, _)| *other < skill).is_some() {}
        let have = own.peek().filter(|(other, _)| *other == skill).map_or(0, |(_, weight)| *weight);
        if wanted > have {
            count += 1;
        }
    }
    count
}

/// Per-path accumulators reused from one source path to the next, so that a rebuild allocates
/// them once rather than once per path.
#[derive(Default)]
pub struct Scratch {
    intersection: Vec<i64>,
    shared: Vec<i32>,
    touched: Vec<u32>,
}

impl Scratch {
    fn fit(&mut self, paths: usize) {
        if self.shared.len() < paths {
            self.intersection.resize(paths, 0);
            self.shared.resize(paths, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Paths 1–3 over skills 10–12: 1 = {10: 100, 11: 50}, 2 = {10: 50, 12: 50}, 3 = {11: 50} (draft).
    fn sample() -> Vectors {
        Vectors::from_links(vec![
            (id(1), id(10), 100, true),
            (id(1), id(11), 50, true),
            (id(2), id(10), 50, true),
            (id(2), id(12), 50, true),
            (id(3), id(11), 50, false),
        ])
    }

    #[test]
    fn similarity_is_the_weighted_jaccard_of_the_two_paths() {
        let vectors = sample();
        let moves = vectors.moves(vectors.path_numbers[&id(1)], Scope::All, &mut Scratch::default());
        // 1 → 3: min 50 / (150 + 50 − 50) = 1/3; 1 → 2: min 50 / (150 + 100 − 50) = 1/4.
        assert_eq!(moves.iter().map(|m| vectors.paths[m.neighbour as usize].id).collect::<Vec<_>>(), [id(3), id(2)]);
        assert!((moves[0].similarity - 1.0 / 3.0).abs() < 1e-12);
        assert!((moves[1].similarity - 0.25).abs() < 1e-12);
        // 2 weighs skill 12 more (50 > 0); 10 less (50 < 100).
        assert_eq!(moves[1].to_learn, 1);
        let published = vectors.moves(vectors.path_numbers[&id(1)], Scope::Published, &mut Scratch::default());
        assert_eq!(published.len(), 1, "the draft is left out of the published scope");
    }

    #[test]
    fn reach_and_pairs_sum_over_the_paths_of_the_scope() {
        let vectors = sample();
        let reach = vectors.reach(Scope::All);
        // Skill 10: 50 × 100/150 + 25 × 50/100.
        assert!((reach[&id(10)] - (50.0 * 100.0 / 150.0 + 25.0 * 0.5)).abs() < 1e-9);
        // In the published scope skill 11 counts only in path 1: 25 × 50/150.
        assert!((vectors.reach(Scope::Published)[&id(11)] - 25.0 * 50.0 / 150.0).abs() < 1e-9);
        let pairs = vectors.pairs(Scope::All);
        assert_eq!(pairs[&(id(10), id(11))], 50);
        assert_eq!(pairs[&(id(12), id(10))], 50);
        assert!(!pairs.contains_key(&(id(11), id(12))));
    }

    #[test]
    fn the_weight_sql_says_what_the_weight_function_does() {
        for (importance, text, midpoint) in [
            (Importance::Essential, "'ESSENTIAL' THEN 175", 175),
            (Importance::Important, "'IMPORTANT' THEN 125", 125),
            (Importance::NiceToHave, "ELSE 75", 75),
        ] {
            assert_eq!(weight(importance, None), midpoint);
            assert!(weight_sql("l").contains(text), "{text}");
        }
        assert_eq!(weight(Importance::NiceToHave, Some(90)), 180);
        assert_eq!(weight(Importance::Essential, Some(120)), MAX_WEIGHT, "scores are clamped to 100");
        assert!(weight_sql("l").contains("l.importance_score * 2"));
    }
}
