//! The domain's one error type. The gateway decides what each variant looks like to a client.

use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};

/// Everything a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller supplied a value that breaks a rule; `field` names the input that was wrong.
    #[error("{field} {message}")]
    InvalidInput {
        /// The field at fault, as the domain names it (`expected_version`, `onet_soc_code`); the
        /// gateway maps it to the input path its clients know.
        field: String,
        /// What is wrong with it, fit to show to a person after the field's name: a predicate
        /// ("is already in use", "must be at least 1"), so the message names its subject.
        message: String,
    },
    /// The change clashes with the current state (a taken e-mail, the last admin, a stale version).
    #[error("{field} {message}")]
    Conflict {
        /// The field at fault, as the domain names it.
        field: String,
        /// What clashes, fit to show to a person after the field's name, as for `InvalidInput`.
        message: String,
    },
    /// The row to change does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The bundled dataset does not hold together (a dangling slug, say): a build defect.
    #[error("the bundled dataset is inconsistent: {0}")]
    Dataset(String),
    /// Something failed on our side that is not the database's doing; never shown to a client.
    #[error("{0}")]
    Internal(String),
    /// The database cannot be reached (no connection within the acquire timeout, or the
    /// connection broke): worth retrying shortly, and never a reason to doubt the caller.
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    /// The database failed or refused; never shown to a client verbatim.
    #[error(transparent)]
    Database(DbErr),
}

impl From<DbErr> for Error {
    fn from(error: DbErr) -> Self {
        if unreachable(&error) { Self::Unavailable(error.to_string()) } else { Self::Database(error) }
    }
}

/// Whether a database error means the database could not be reached at all, as opposed to a
/// statement it refused: the connection failed, or the server is going away or not accepting
/// connections yet (PostgreSQL's connection exceptions, class 08, and operator interventions,
/// 57P01–57P05: a shutdown or restart, which ends every connection).
fn unreachable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => true,
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => match runtime {
            RuntimeErr::SqlxError(error) => match &**error {
                sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::Tls(_)
                | sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::WorkerCrashed => true,
                sea_orm::sqlx::Error::Database(database) => {
                    database.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
                }
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

impl Error {
    /// An `InvalidInput` for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), message: message.into() }
    }
}

impl Error {
    /// A `Conflict` on `field`.
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict { field: field.into(), message: message.into() }
    }
}

/// `Result` with the domain's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
