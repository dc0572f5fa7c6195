//! Imports of open labour-market data beside the curated content: O*NET's occupations, skills,
//! tasks and technologies ([`onet`]) and the BLS wage statistics ([`oews`]).
//!
//! Every import runs in one transaction and is idempotent: each imported row keeps its key in the
//! source and what the import wrote ([`crate::entities::import_record`]), so the same files again
//! write nothing, a newer release changes only what changed (one audit event per changed row,
//! action `import`), and a field an editor changed since the last import is kept and reported as
//! a conflict. Curated rows (the bundled dataset's) have no import record and are never written.

pub mod files;
pub mod oews;
pub mod onet;
mod outcome;
mod provenance;
mod store;

pub use outcome::{Action, ImportError, Options, Plan};
