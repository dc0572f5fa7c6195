//! The one place where failures become GraphQL errors with a machine-readable
//! `extensions.code`. Database and internal messages never reach a client: they are logged
//! here and the client gets a masked error that names the request id.

use async_graphql::{ErrorExtensions, Value};
use careergraph_domain::Error as DomainError;

/// Machine-readable error codes, as `extensions.code` carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// No valid token, and the operation needs one.
    Unauthenticated,
    /// Signed in, but the role is too low.
    Forbidden,
    /// Input breaks a rule; `extensions.field` names it.
    BadUserInput,
    /// The thing to change does not exist.
    NotFound,
    /// The change clashes with the current state; `extensions.field` names the input.
    Conflict,
    /// Too many attempts; `extensions.retryAfterSeconds` says how long to wait.
    RateLimited,
    /// Something failed on our side.
    Internal,
}

impl Code {
    /// The code's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL_SERVER_ERROR",
        }
    }
}

/// An error with `code` and a message fit for people.
pub fn coded(code: Code, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, extensions| extensions.set("code", code.as_str()))
}

/// An error with `code` that names the input `field` at fault.
pub fn on_field(code: Code, field: &str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, extensions| {
        extensions.set("code", code.as_str());
        extensions.set("field", field);
    })
}

/// An input error on `field`.
pub fn bad_input(field: &str, message: impl Into<String>) -> async_graphql::Error {
    on_field(Code::BadUserInput, field, message)
}

/// Converts a domain failure into what the client sees.
pub fn from_domain(error: DomainError) -> async_graphql::Error {
    match error {
        DomainError::InvalidInput { field, message } => bad_input(&field, message),
        DomainError::Conflict { field, message } => on_field(Code::Conflict, &field, message),
        DomainError::NotFound(what) => coded(Code::NotFound, format!("No such {what}")),
        internal => {
            tracing::error!(error = %internal, "request failed");
            internal_error()
        }
    }
}

/// The masked error for anything that failed on our side. The HTTP layer adds the request id.
pub fn internal_error() -> async_graphql::Error {
    async_graphql::Error::new("Internal server error").extend_with(|_, extensions| {
        extensions.set("code", Code::Internal.as_str());
    })
}

/// Whether an error carries `code`.
pub fn has_code(extensions: Option<&async_graphql::ErrorExtensionValues>, code: Code) -> bool {
    extensions.and_then(|e| e.get("code")).is_some_and(|value| *value == Value::from(code.as_str()))
}

/// Lets resolvers write `domain_call().await.api()?`.
pub trait ApiResult<T> {
    /// Maps the domain error to the client-facing one.
    fn api(self) -> async_graphql::Result<T>;
}

impl<T> ApiResult<T> for Result<T, DomainError> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(from_domain)
    }
}

impl<T> ApiResult<T> for Result<T, std::sync::Arc<DomainError>> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(|error| match std::sync::Arc::try_unwrap(error) {
            Ok(error) => from_domain(error),
            Err(shared) => match &*shared {
                DomainError::InvalidInput { field, message } => bad_input(field, message.clone()),
                internal => {
                    tracing::error!(error = %internal, "batched load failed");
                    internal_error()
                }
            },
        })
    }
}
