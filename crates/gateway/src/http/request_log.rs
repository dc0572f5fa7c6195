//! The request log: one line per GraphQL request, written once its response is ready, from
//! what the handler attached to the response.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use careergraph_auth::Role;

use crate::graphql::plumbing::error::{Code, Rendered};
use crate::metrics::Metrics;

/// What the request log says of a GraphQL request, attached to its response by the handler.
#[derive(Clone, Debug, Default)]
pub(super) struct RequestOutcome {
    /// Type and name of each operation (several for a batch).
    pub operations: Vec<(&'static str, String)>,
    pub role: Option<Role>,
    pub codes: Vec<String>,
}

impl RequestOutcome {
    /// The outcome of a request refused before any operation ran.
    pub fn refused(code: Code) -> Self {
        Self { operations: Vec::new(), role: None, codes: vec![code.as_str().to_owned()] }
    }

    /// Adds the error codes of a rendered answer.
    pub fn codes_of(&mut self, rendered: &Rendered) {
        self.codes.extend(rendered.codes.iter().cloned());
    }
}

/// One log line per GraphQL request (its id, operations, caller's role, duration, status and
/// error codes; never the query's variables, a token or a password), and its metrics.
pub(super) async fn log_request(
    State(metrics): State<Arc<Metrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let id = request_id(request.headers());
    let mut response = next.run(request).await;
    let outcome = response.extensions_mut().remove::<RequestOutcome>().unwrap_or_default();
    let join = |part: fn(&(&'static str, String)) -> String| {
        let parts: Vec<String> = outcome.operations.iter().map(part).collect();
        if parts.is_empty() { "-".to_owned() } else { parts.join(",") }
    };
    tracing::info!(
        target: "careergraph::request",
        request_id = %id,
        operation = %join(|(_, name)| name.clone()),
        operation_type = %join(|(kind, _)| (*kind).to_owned()),
        role = outcome.role.map_or("-", Role::as_str),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        status = response.status().as_u16(),
        codes = %outcome.codes.join(","),
        "GraphQL request"
    );
    metrics.request(&outcome.operations, started.elapsed(), &outcome.codes);
    response
}

/// The request's id, as the request-id layer set it (or the client sent it).
pub(super) fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or("unknown").to_owned()
}

/// Attaches `outcome` to `response` for the request log.
pub(super) fn with_outcome(
    mut response: axum::response::Response,
    outcome: RequestOutcome,
) -> axum::response::Response {
    response.extensions_mut().insert(outcome);
    response
}
