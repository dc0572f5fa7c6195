//! The one place where failures become what a client sees: every error carries a
//! machine-readable `extensions.code`, domain and account failures are converted here, and
//! [`render`] is the one renderer of responses. Database and internal messages never reach a
//! client: they are logged here and the client gets a masked error that names the request id.

use async_graphql::{ErrorExtensionValues, ErrorExtensions, PathSegment, Response, ServerError, Value};
use careergraph_auth::Role;
use careergraph_domain::Error as DomainError;
use serde_json::json;

use crate::authentication::AccountError;

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
    /// The database cannot be reached right now; `extensions.retryAfterSeconds` says when to
    /// try again.
    ServiceUnavailable,
    /// Something failed on our side.
    Internal,
    /// The persisted-query hash is not known here: send the query text with it.
    PersistedQueryNotFound,
    /// Safelist mode: the persisted-operation id names no listed operation.
    PersistedQueryNotInList,
    /// Safelist mode: the query text is not a listed operation's.
    QueryNotInSafelist,
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
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL_SERVER_ERROR",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
            Self::QueryNotInSafelist => "QUERY_NOT_IN_SAFELIST",
        }
    }
}

/// An error with `code` and a message fit for people.
pub fn coded(code: Code, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, extensions| extensions.set("code", code.as_str()))
}

/// An error with `code` that names the input `field` at fault, in `extensions.field` and in the
/// message: `predicate` is read after the field's name ("is already in use"), so the message
/// stands alone where a client shows only it. A mutation's `input.` is left out of the message.
pub fn on_field(code: Code, field: &str, predicate: impl Into<String>) -> async_graphql::Error {
    let subject = field.strip_prefix("input.").unwrap_or(field);
    async_graphql::Error::new(format!("{subject} {}", predicate.into())).extend_with(|_, extensions| {
        extensions.set("code", code.as_str());
        extensions.set("field", field);
    })
}

/// An input error on `field`; `predicate` as for [`on_field`].
pub fn bad_input(field: &str, predicate: impl Into<String>) -> async_graphql::Error {
    on_field(Code::BadUserInput, field, predicate)
}

/// The masked error for anything that failed on our side. [`render`] adds the request id.
pub fn internal_error() -> async_graphql::Error {
    coded(Code::Internal, "Internal server error")
}

/// The error while the database cannot be reached: retry in a moment.
pub fn unavailable() -> async_graphql::Error {
    coded(Code::ServiceUnavailable, "The database is unreachable right now; retry in a moment")
        .extend_with(|_, extensions| extensions.set("retryAfterSeconds", RETRY_AFTER_OUTAGE_SECS))
}

/// How long a client should wait before retrying during an outage.
pub const RETRY_AFTER_OUTAGE_SECS: u64 = 1;

/// What a refusal names: a field read, a mutation run, or an enum value passed as an argument.
#[derive(Clone, Copy, Debug)]
pub enum Refused<'a> {
    /// `parent.name`, read.
    Field {
        /// The type the field is on.
        parent: &'a str,
        /// The field.
        name: &'a str,
    },
    /// A mutation, run.
    Mutation(&'a str),
    /// An enum value, passed.
    Value {
        /// The enum.
        enumeration: &'a str,
        /// The value.
        value: &'a str,
    },
}

/// The error for a caller whose role is below what `refused` takes: UNAUTHENTICATED without a
/// token, saying as whom to sign in; FORBIDDEN with one, saying which role it takes and who
/// grants roles. The message stands alone, for clients that show only the message.
pub fn denied(caller: Role, required: Role, refused: Refused<'_>) -> async_graphql::Error {
    let (verb, gerund, what) = match refused {
        Refused::Field { parent, name } => ("see", "Seeing", format!("{parent}.{name}")),
        Refused::Mutation(name) => ("run", "Running", name.to_owned()),
        Refused::Value { enumeration, value } => ("pass", "Passing", format!("{value} as a {enumeration}")),
    };
    if caller == Role::Anonymous {
        let who = match required {
            Role::Admin => "an administrator",
            Role::Editor => "an editor",
            Role::Viewer | Role::Anonymous => "a viewer",
        };
        return coded(Code::Unauthenticated, format!("Sign in as {who} to {verb} {what}"));
    }
    let article = if matches!(caller, Role::Editor | Role::Admin) { "an" } else { "a" };
    let message = format!(
        "{gerund} {what} takes the {} role and you are {article} {}; an administrator grants roles (setUserRole)",
        required.as_str(),
        caller.as_str()
    );
    coded(Code::Forbidden, message)
}

/// A whole request refused before it ran (a limit, say), as the parser and validator refuse.
pub fn request_refused(code: Code, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code.as_str());
    error
}

/// [`request_refused`], asking the client to retry after `seconds` (`extensions.retryAfterSeconds`).
pub fn request_refused_for(code: Code, message: impl Into<String>, seconds: u64) -> ServerError {
    let mut error = request_refused(code, message);
    error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("retryAfterSeconds", seconds);
    error
}

/// The body of an HTTP response that refuses a request the server could not run at all.
pub fn refusal_body(code: Code, message: &str) -> serde_json::Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] })
}

/// [`refusal_body`], asking the client to retry after `seconds`.
pub fn refusal_body_for(code: Code, message: &str, seconds: u64) -> serde_json::Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str(), "retryAfterSeconds": seconds } }] })
}

/// An input value a scalar cannot read (`error`): the client's to fix, coded as such where
/// async-graphql reports it.
pub fn unreadable_input<T: async_graphql::InputType>(
    error: async_graphql::InputValueError<T>,
) -> async_graphql::InputValueError<T> {
    error.with_extension("code", Code::BadUserInput.as_str())
}

/// The input path of a field the domain names: `expected_version` is `expectedVersion`, and
/// within an argument (`prefix` = `filter`) `search` is `filter.search`.
pub fn input_path(prefix: Option<&str>, field: &str) -> String {
    let mut path = prefix.map(|prefix| format!("{prefix}.")).unwrap_or_default();
    let mut words = field.split('_');
    path.extend(words.next());
    for word in words {
        let mut letters = word.chars();
        path.extend(letters.next().map(|first| first.to_ascii_uppercase()));
        path.extend(letters);
    }
    path
}

/// Converts a domain failure into what the client sees; `prefix` is the argument the input
/// came in, for failures of a query's arguments.
pub fn from_domain(error: &DomainError, prefix: Option<&str>) -> async_graphql::Error {
    match error {
        DomainError::InvalidInput { field, message } => bad_input(&input_path(prefix, field), message.clone()),
        DomainError::Conflict { field, message } => {
            on_field(Code::Conflict, &input_path(prefix, field), message.clone())
        }
        DomainError::NotFound(what) => coded(Code::NotFound, format!("No such {what}")),
        DomainError::Unavailable(_) => {
            tracing::warn!(%error, "the database is unreachable");
            unavailable()
        }
        DomainError::Dataset(_) | DomainError::Internal(_) | DomainError::Database(_) => {
            tracing::error!(%error, "request failed");
            internal_error()
        }
    }
}

/// Converts an account failure into what the client sees.
pub fn from_account(error: AccountError) -> async_graphql::Error {
    match error {
        AccountError::InvalidCredentials
        | AccountError::Disabled
        | AccountError::InvalidRefreshToken
        | AccountError::NotSignedIn => coded(Code::Unauthenticated, error.to_string()),
        AccountError::RegistrationClosed => coded(Code::Forbidden, error.to_string()),
        AccountError::RateLimited { retry_after_secs } => coded(Code::RateLimited, error.to_string())
            .extend_with(|_, extensions| extensions.set("retryAfterSeconds", retry_after_secs)),
        AccountError::WeakPassword { field, reason } => bad_input(field, reason.to_string()),
        AccountError::Domain(error) => from_domain(&error, None),
        AccountError::Internal(message) => {
            tracing::error!(%message, "account operation failed");
            internal_error()
        }
    }
}

/// Lets resolvers write `domain_call().await.api()?`.
pub trait ApiResult<T> {
    /// Maps the domain error to the client-facing one.
    fn api(self) -> async_graphql::Result<T>;

    /// Like [`ApiResult::api`], for a call whose input came in the argument `argument`.
    fn api_in(self, argument: &str) -> async_graphql::Result<T>;
}

impl<T> ApiResult<T> for Result<T, DomainError> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(|error| from_domain(&error, None))
    }

    fn api_in(self, argument: &str) -> async_graphql::Result<T> {
        self.map_err(|error| from_domain(&error, Some(argument)))
    }
}

/// Batched loads share one error among every field that waited for it.
impl<T> ApiResult<T> for Result<T, std::sync::Arc<DomainError>> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(|error| from_domain(&error, None))
    }

    fn api_in(self, argument: &str) -> async_graphql::Result<T> {
        self.map_err(|error| from_domain(&error, Some(argument)))
    }
}

/// Lets account resolvers write `accounts.login(…).await.api()?`.
impl<T> ApiResult<T> for Result<T, AccountError> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(from_account)
    }

    fn api_in(self, _argument: &str) -> async_graphql::Result<T> {
        self.api()
    }
}

/// A GraphQL response, rendered: its JSON text, and what the HTTP layer needs to know of it.
pub struct Rendered {
    /// Whether the request failed as a whole (no `data`: it could not be parsed, validated, or
    /// was refused before it ran).
    pub request_error: bool,
    /// The response body.
    pub json: Vec<u8>,
    /// The `extensions.code` of every error, in order; empty when the answer has no errors.
    pub codes: Vec<String>,
    /// The longest `retryAfterSeconds` of its `RATE_LIMITED` errors, if any.
    pub retry_after: Option<u64>,
}

/// The body as the GraphQL-over-HTTP specification shapes it: no `data` for a request error.
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
}

/// Renders a response: every error gets a code (internal ones are masked, with the request id
/// to quote), and the body is written straight to JSON text, without an intermediate
/// `serde_json::Value` (a nested answer is thousands of values).
pub fn render(mut response: Response, request_id: &str) -> Rendered {
    let request_error = is_request_error(&response);
    for error in &mut response.errors {
        classify(error, request_error, request_id);
    }
    let code_of = |error: &ServerError| match error.extensions.as_ref().and_then(|e| e.get("code")) {
        Some(Value::String(code)) => code.clone(),
        _ => Code::Internal.as_str().to_owned(),
    };
    let codes = response.errors.iter().map(code_of).collect();
    let retry_after = response
        .errors
        .iter()
        .filter(|error| has_code(error.extensions.as_ref(), Code::RateLimited))
        .filter_map(|error| match error.extensions.as_ref()?.get("retryAfterSeconds")? {
            Value::Number(seconds) => seconds.as_u64(),
            _ => None,
        })
        .max();
    let body = Body {
        data: (!request_error).then_some(&response.data),
        extensions: &response.extensions,
        errors: &response.errors,
    };
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| {
        refusal_body(Code::Internal, &format!("Internal server error (request id {request_id})"))
            .to_string()
            .into_bytes()
    });
    Rendered { request_error, json, codes, retry_after }
}

/// Gives every error of `response` its code, as [`render`] does for HTTP answers: for answers
/// sent another way (a subscription's events).
pub fn classify_errors(response: &mut Response, request_id: &str) {
    let request_error = is_request_error(response);
    for error in &mut response.errors {
        classify(error, request_error, request_id);
    }
}

/// Whether `response` failed as a whole: no `data`, because its document could not be parsed or
/// validated, or it was refused before it ran. (An error with a path is a field's.)
pub fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// Gives an error the code it lacks, and masks internal ones.
fn classify(error: &mut ServerError, request_error: bool, request_id: &str) {
    let input_value_error = is_input_value_error(error);
    let extensions = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
    if extensions.get("code").is_none() {
        if request_error || input_value_error {
            // The parser's and validator's own errors, and an argument's value its type cannot
            // read: the request was at fault.
            extensions.set("code", Code::BadUserInput.as_str());
        } else {
            // An error nobody classified may carry internals: log it, show nothing of it.
            let path: Vec<String> = error.path.iter().map(segment).collect();
            tracing::error!(message = %error.message, ?path, "unclassified error");
            extensions.set("code", Code::Internal.as_str());
        }
    }
    if has_code(error.extensions.as_ref(), Code::Internal) {
        error.message = format!("Internal server error (request id {request_id})");
        error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("requestId", request_id);
    }
}

/// Whether async-graphql refused an input value as it read an argument. Its validation (7.2)
/// lets some values through that the argument's type then cannot read: any non-object value
/// for an input object (`filter: "text"`), and an `Int` past 32 bits where the schema's `Int`
/// was registered by a wider Rust type. They surface as the field resolves, with no code and the
/// wording of async-graphql's `InputValueError` (`expected_type`, `custom` and the derives'
/// messages, which `propagate` only extends), and are the caller's fault as much as the values
/// validation refuses. The wording is async-graphql's, so the suite's schema-wide test of bad
/// arguments is what notices if it changes.
fn is_input_value_error(error: &ServerError) -> bool {
    ["Failed to parse \"", "Expected input type \"", "Invalid value for argument"]
        .iter()
        .any(|prefix| error.message.starts_with(prefix))
}

fn has_code(extensions: Option<&ErrorExtensionValues>, code: Code) -> bool {
    extensions.and_then(|e| e.get("code")).is_some_and(|value| *value == Value::from(code.as_str()))
}

fn segment(segment: &PathSegment) -> String {
    match segment {
        PathSegment::Field(name) => name.clone(),
        PathSegment::Index(index) => index.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_field_names_become_input_paths() {
        assert_eq!(input_path(None, "expected_version"), "expectedVersion");
        assert_eq!(input_path(None, "percentile_10"), "percentile10");
        assert_eq!(input_path(None, "slug"), "slug");
        assert_eq!(input_path(Some("filter"), "search"), "filter.search");
    }

    #[test]
    fn a_shared_domain_error_keeps_its_code() {
        let conflict = DomainError::conflict("expected_version", "is stale");
        let error = from_domain(&conflict, None);
        let extensions = error.extensions.as_ref();
        assert!(has_code(extensions, Code::Conflict));
        assert_eq!(extensions.and_then(|e| e.get("field")), Some(&Value::from("expectedVersion")));
        assert!(has_code(
            from_domain(&DomainError::NotFound("skill".into()), None).extensions.as_ref(),
            Code::NotFound
        ));
    }
}
