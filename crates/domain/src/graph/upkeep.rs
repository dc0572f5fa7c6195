//! Keeps the derived tables equal to what the career paths' skills say: a rebuild after bulk
//! loads, and after an edit a refresh that rewrites only what the edit changed, in the edit's
//! own transaction (so the next answer reflects it, and a rolled-back edit leaves no trace).

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
};
use uuid::Uuid;

use super::vectors::{MOVES_PER_PATH, Move, Scope, Scratch, Vectors};
use crate::Result;
use crate::entities::{career_move, career_path_weight, skill_pair, skill_reach};

/// Rows per multi-row insert: well under SQLite's limit on bound parameters.
const ROWS_PER_INSERT: usize = 1_000;
/// The index upkeep finds the lists holding a path by, as the migration names it.
const NEIGHBOUR_INDEX: &str = "idx_career_move_neighbour_id";
/// Ids per `IN (…)` list.
const IDS_PER_STATEMENT: usize = 500;

/// A path's stored lists as comparable rows: (scope, neighbour, intersection, shared, to_learn).
type ListRows = Vec<(i16, Uuid, i64, i32, i32)>;

/// The PostgreSQL advisory lock that serializes upkeep ("graph" in ASCII).
const UPKEEP_LOCK: i64 = 0x67_72_61_70_68;

/// Waits until no other transaction is keeping the tables, and keeps them until this one ends.
/// Two edits' upkeep at once would each compute from a state without the other's change and
/// rewrite the same lists: the later one would fail on rows the earlier one inserted, or leave
/// a list that misses a change. On PostgreSQL a transaction-level advisory lock orders them;
/// the next one reads what the previous one committed (each statement of a READ COMMITTED
/// transaction sees what has committed before it). SQLite has one writer at a time already.
async fn hold_upkeep_lock(db: &impl ConnectionTrait) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [UPKEEP_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Computes every derived table anew from the skills of every path.
pub async fn rebuild(db: &impl ConnectionTrait) -> Result<()> {
    hold_upkeep_lock(db).await?;
    let vectors = Vectors::load(db).await?;
    for table in ["career_move", "career_path_weight", "skill_reach", "skill_pair"] {
        db.execute_unprepared(&format!("DELETE FROM {table}")).await?;
    }
    insert_weights(db, &vectors, vectors.paths.iter().map(|path| path.id)).await?;
    // The rows go in in key order, but the index by neighbour would take them in random order:
    // on SQLite, beyond its page cache, each insert then walks pages anew (a 100,000-path seed
    // spent over ten minutes in its b-tree code). Built once afterwards, it is one sort. Not on
    // PostgreSQL, where dropping an index would hold readers until the rebuild commits.
    let sqlite = db.get_database_backend() == DbBackend::Sqlite;
    if sqlite {
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {NEIGHBOUR_INDEX}")).await?;
    }
    let mut scratch = Scratch::default();
    let mut rows = Vec::new();
    for number in 0..vectors.paths.len() as u32 {
        let source = vectors.paths[number as usize].id;
        rows.extend(list_rows(&vectors, number, &mut scratch).into_iter().map(|row| move_row(&vectors, source, row)));
        if rows.len() >= ROWS_PER_INSERT * 10 {
            insert_moves(db, std::mem::take(&mut rows)).await?;
        }
    }
    insert_moves(db, rows).await?;
    if sqlite {
        db.execute_unprepared(&format!("CREATE INDEX IF NOT EXISTS {NEIGHBOUR_INDEX} ON career_move (neighbour_id)"))
            .await?;
    }
    for scope in Scope::BOTH {
        insert_reach(db, scope, vectors.reach(scope).into_iter().collect()).await?;
        insert_pairs(db, scope, vectors.pairs(scope).into_iter().collect()).await?;
    }
    Ok(())
}

/// Brings the derived tables in step after the skills or the status of the paths `changed`
/// changed (or they were deleted). A path's list changes only if a changed path is in it or
/// now belongs in it, so only those lists are recomputed; reach and pairs are recomputed in
/// memory and only the rows that differ are written.
pub async fn refresh(db: &impl ConnectionTrait, changed: &[Uuid]) -> Result<()> {
    hold_upkeep_lock(db).await?;
    let vectors = Vectors::load(db).await?;
    for chunk in changed.chunks(IDS_PER_STATEMENT) {
        career_path_weight::Entity::delete_many()
            .filter(career_path_weight::Column::CareerPathId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    insert_weights(db, &vectors, changed.iter().copied().filter(|id| vectors.path_numbers.contains_key(id))).await?;

    let mut scratch = Scratch::default();
    let affected = affected_lists(db, &vectors, changed, &mut scratch).await?;
    let stored = stored_lists(db, &affected).await?;
    let mut stale = Vec::new();
    let mut rows = Vec::new();
    for source in &affected {
        let wanted: ListRows = match vectors.path_numbers.get(source) {
            Some(&number) => list_rows(&vectors, number, &mut scratch),
            None => Vec::new(),
        };
        if stored.get(source).map_or(&[][..], Vec::as_slice) != wanted.as_slice() {
            stale.push(*source);
            rows.extend(wanted.into_iter().map(|row| move_row(&vectors, *source, row)));
        }
    }
    for chunk in stale.chunks(IDS_PER_STATEMENT) {
        career_move::Entity::delete_many()
            .filter(career_move::Column::CareerPathId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    insert_moves(db, rows).await?;

    for scope in Scope::BOTH {
        refresh_reach(db, scope, vectors.reach(scope)).await?;
        refresh_pairs(db, scope, vectors.pairs(scope)).await?;
    }
    Ok(())
}

/// The paths whose lists may differ now: the changed paths, the paths whose lists hold a
/// changed path, and the paths whose lists a changed path now belongs in (it is at least as
/// similar as their least similar move, or their list is not full).
async fn affected_lists(
    db: &impl ConnectionTrait,
    vectors: &Vectors,
    changed: &[Uuid],
    scratch: &mut Scratch,
) -> Result<Vec<Uuid>> {
    let mut affected: HashSet<Uuid> = changed.iter().copied().collect();
    for chunk in changed.chunks(IDS_PER_STATEMENT) {
        let holders: Vec<Uuid> = career_move::Entity::find()
            .select_only()
            .column(career_move::Column::CareerPathId)
            .distinct()
            .filter(career_move::Column::NeighbourId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        affected.extend(holders);
    }
    let floors: Vec<(Uuid, i16, i64, f64)> = career_move::Entity::find()
        .select_only()
        .column(career_move::Column::CareerPathId)
        .column(career_move::Column::Scope)
        .expr(Expr::col(career_move::Column::NeighbourId).count())
        .expr(Expr::col(career_move::Column::Similarity).min())
        .group_by(career_move::Column::CareerPathId)
        .group_by(career_move::Column::Scope)
        .into_tuple()
        .all(db)
        .await?;
    let floors: HashMap<(Uuid, i16), (usize, f64)> =
        floors.into_iter().map(|(path, scope, count, floor)| ((path, scope), (count as usize, floor))).collect();
    // A published path without a stored published list has the list of every path.
    let floor_of = |path: Uuid, scope: Scope| {
        let stored = floors.get(&(path, scope.code())).or_else(|| floors.get(&(path, Scope::All.code())));
        stored.copied().unwrap_or((0, 0.0))
    };
    for id in changed {
        let Some(&number) = vectors.path_numbers.get(id) else { continue };
        let published = vectors.paths[number as usize].published;
        for Move { neighbour, similarity, .. } in vectors.similarities(number, Scope::All, scratch) {
            let other = &vectors.paths[neighbour as usize];
            let mut scopes = vec![Scope::All];
            if published && other.published {
                scopes.push(Scope::Published);
            }
            let belongs = scopes.into_iter().any(|scope| {
                let (count, floor) = floor_of(other.id, scope);
                count < MOVES_PER_PATH || similarity >= floor
            });
            if belongs {
                affected.insert(other.id);
            }
        }
    }
    let mut affected: Vec<Uuid> = affected.into_iter().collect();
    affected.sort();
    Ok(affected)
}

/// The stored lists of `sources`, as [`list_rows`] makes them.
async fn stored_lists(db: &impl ConnectionTrait, sources: &[Uuid]) -> Result<HashMap<Uuid, ListRows>> {
    let mut lists: HashMap<Uuid, ListRows> = HashMap::new();
    for chunk in sources.chunks(IDS_PER_STATEMENT) {
        let rows = career_move::Entity::find()
            .filter(career_move::Column::CareerPathId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for row in rows {
            lists.entry(row.career_path_id).or_default().push((
                row.scope,
                row.neighbour_id,
                row.intersection,
                row.shared,
                row.to_learn,
            ));
        }
    }
    for list in lists.values_mut() {
        list.sort_by_key(|row| (row.0, row.1));
    }
    Ok(lists)
}

/// The lists of path `number` as rows: every path's list, and the published paths' list where
/// the path is published and its list differs (a reader who sees published paths only reads
/// the list of every path otherwise: when that list holds no draft, the two are the same).
fn list_rows(vectors: &Vectors, number: u32, scratch: &mut Scratch) -> ListRows {
    let every = vectors.moves(number, Scope::All, scratch);
    let mut rows: ListRows = Vec::with_capacity(every.len());
    let row = |scope: Scope, found: &Move| {
        let neighbour = vectors.paths[found.neighbour as usize].id;
        (scope.code(), neighbour, found.intersection, found.shared, found.to_learn)
    };
    // When every move of the list is to a published path, the published paths' list is the
    // same (its paths are among every path), and need not be computed.
    let holds_a_draft = every.iter().any(|found| !vectors.paths[found.neighbour as usize].published);
    if vectors.paths[number as usize].published && holds_a_draft {
        let published = vectors.moves(number, Scope::Published, scratch);
        if published != every {
            rows.extend(published.iter().map(|found| row(Scope::Published, found)));
        }
    }
    rows.extend(every.iter().map(|found| row(Scope::All, found)));
    rows.sort_by_key(|row| (row.0, row.1));
    rows
}

/// The stored row of a move of path `source` (both it and the neighbour have vectors: the
/// move was computed from them).
fn move_row(
    vectors: &Vectors,
    source: Uuid,
    (scope, neighbour, intersection, shared, to_learn): (i16, Uuid, i64, i32, i32),
) -> career_move::ActiveModel {
    let total = |id: &Uuid| vectors.paths[vectors.path_numbers[id] as usize].total;
    let union = total(&source) + total(&neighbour) - intersection;
    career_move::ActiveModel {
        career_path_id: Set(source),
        scope: Set(scope),
        neighbour_id: Set(neighbour),
        intersection: Set(intersection),
        shared: Set(shared),
        to_learn: Set(to_learn),
        similarity: Set(intersection as f64 / union as f64),
    }
}

async fn insert_moves(db: &impl ConnectionTrait, rows: Vec<career_move::ActiveModel>) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        career_move::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

async fn insert_weights(db: &impl ConnectionTrait, vectors: &Vectors, ids: impl Iterator<Item = Uuid>) -> Result<()> {
    let rows: Vec<career_path_weight::ActiveModel> = ids
        .map(|id| career_path_weight::ActiveModel {
            career_path_id: Set(id),
            total: Set(vectors.paths[vectors.path_numbers[&id] as usize].total),
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        career_path_weight::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

async fn insert_reach(db: &impl ConnectionTrait, scope: Scope, reach: Vec<(Uuid, f64)>) -> Result<()> {
    let rows: Vec<skill_reach::ActiveModel> = reach
        .into_iter()
        .map(|(skill, value)| skill_reach::ActiveModel {
            skill_id: Set(skill),
            scope: Set(scope.code()),
            value: Set(value),
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        skill_reach::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

async fn insert_pairs(db: &impl ConnectionTrait, scope: Scope, pairs: Vec<((Uuid, Uuid), i64)>) -> Result<()> {
    let rows: Vec<skill_pair::ActiveModel> = pairs
        .into_iter()
        .map(|((skill, other), strength)| skill_pair::ActiveModel {
            skill_id: Set(skill),
            scope: Set(scope.code()),
            other_id: Set(other),
            strength: Set(strength),
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        skill_pair::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

/// Rewrites the reach of the skills of `scope` whose value is not what is stored.
async fn refresh_reach(db: &impl ConnectionTrait, scope: Scope, wanted: HashMap<Uuid, f64>) -> Result<()> {
    let stored: HashMap<Uuid, f64> = skill_reach::Entity::find()
        .select_only()
        .column(skill_reach::Column::SkillId)
        .column(skill_reach::Column::Value)
        .filter(skill_reach::Column::Scope.eq(scope.code()))
        .into_tuple::<(Uuid, f64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let stale: Vec<Uuid> = stored
        .iter()
        .filter(|(skill, value)| wanted.get(skill).is_none_or(|new| !same(*new, **value)))
        .map(|(skill, _)| *skill)
        .collect();
    let fresh: Vec<(Uuid, f64)> =
        wanted.into_iter().filter(|(skill, value)| stored.get(skill).is_none_or(|old| !same(*old, *value))).collect();
    for chunk in stale.chunks(IDS_PER_STATEMENT) {
        skill_reach::Entity::delete_many()
            .filter(skill_reach::Column::Scope.eq(scope.code()))
            .filter(skill_reach::Column::SkillId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    insert_reach(db, scope, fresh).await
}

/// Rewrites the pairs of skills of `scope` whose strength is not what is stored.
async fn refresh_pairs(db: &impl ConnectionTrait, scope: Scope, wanted: HashMap<(Uuid, Uuid), i64>) -> Result<()> {
    let stored: HashMap<(Uuid, Uuid), i64> = skill_pair::Entity::find()
        .select_only()
        .column(skill_pair::Column::SkillId)
        .column(skill_pair::Column::OtherId)
        .column(skill_pair::Column::Strength)
        .filter(skill_pair::Column::Scope.eq(scope.code()))
        .into_tuple::<(Uuid, Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(skill, other, strength)| ((skill, other), strength))
        .collect();
    let stale: Vec<(Uuid, Uuid)> =
        stored.iter().filter(|(key, strength)| wanted.get(key) != Some(strength)).map(|(key, _)| *key).collect();
    let fresh: Vec<((Uuid, Uuid), i64)> =
        wanted.into_iter().filter(|(key, strength)| stored.get(key) != Some(strength)).collect();
    // Grouped by skill, so that each statement names one skill and a list of others.
    let mut by_skill: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (skill, other) in stale {
        by_skill.entry(skill).or_default().push(other);
    }
    let conditions: Vec<Condition> = by_skill
        .into_iter()
        .map(|(skill, others)| {
            Condition::all().add(skill_pair::Column::SkillId.eq(skill)).add(skill_pair::Column::OtherId.is_in(others))
        })
        .collect();
    for chunk in conditions.chunks(50) {
        let any = chunk.iter().cloned().fold(Condition::any(), Condition::add);
        skill_pair::Entity::delete_many()
            .filter(skill_pair::Column::Scope.eq(scope.code()))
            .filter(any)
            .exec(db)
            .await?;
    }
    insert_pairs(db, scope, fresh).await
}
