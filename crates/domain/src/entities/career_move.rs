//! One precomputed career move: a path among the most similar paths of another, with what the
//! similarity is made of. Derived from the paths' skills by [`crate::graph`], never edited.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "career_move")]
pub struct Model {
    /// The path a move starts from.
    #[sea_orm(primary_key, auto_increment = false)]
    pub career_path_id: Uuid,
    /// Which paths the list was drawn from: 0 every path, 1 published paths only.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: i16,
    /// The path a move leads to.
    #[sea_orm(primary_key, auto_increment = false)]
    pub neighbour_id: Uuid,
    /// Σ over shared skills of the smaller weight (in half points of the 0–100 scale).
    pub intersection: i64,
    /// How many skills both paths list.
    pub shared: i32,
    /// How many skills the target weighs more than the source does (absent counts as 0).
    pub to_learn: i32,
    /// The weighted Jaccard similarity, from 0 to 1.
    pub similarity: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
