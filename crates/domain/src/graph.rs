//! Answers only a graph of career paths and skills can give: where someone can move from a
//! career ([`moves`]), which skill to learn next ([`next_skills`]), which skills go together
//! ([`related_skills`]).
//!
//! All three are sums over the weighted skill vectors of every path ([`vectors`]). Computing
//! them per request meant joining every path's skills with the asked path's (measured on
//! PostgreSQL at 1,000 paths of 65 skills: 15–17 ms per `careerMoves`), so they are read from
//! tables derived from the skills ([`upkeep`]): each path's most similar paths, each skill's
//! reach, each pair of skills' co-occurrence, each over every path and over published paths
//! only. A bulk load rebuilds them; an edit of a path's skills or status refreshes what it
//! changed in its own transaction.

pub mod moves;
pub mod next_skills;
pub mod related_skills;
pub mod upkeep;
pub mod vectors;

pub use upkeep::{rebuild, refresh};
pub use vectors::{MAX_FIRST, page_size};
