//! The HTTP surface: GraphQL over HTTP (`POST` and `GET /graphql`), the GraphiQL playground
//! (see [`crate::playground`]), and the health probes.
//!
//! The GraphQL endpoint is written here rather than taken from async-graphql-axum, whose stock
//! service does not follow the GraphQL-over-HTTP specification (it answers `application/json`
//! requests with another media type and executes mutations sent over GET). This handler
//! negotiates `application/graphql-response+json` or `application/json`, refuses mutations over
//! GET with 405, unsupported bodies with 415 and unacceptable media types with 406, and answers
//! request errors with 400 and no `data` under the newer media type.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, Variables};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use careergraph_auth::Role;
use ipnet::IpNet;
use serde_json::{Map, Value};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::authentication::{Accounts, BearerError, Principal};
use crate::config::{ClientAddressHeader, Config};
use crate::graphql::error::{
    Code, RETRY_AFTER_OUTAGE_SECS, Rendered, refusal_body, refusal_body_for, render, request_refused,
};
use crate::graphql::executor::request_tasks;
use crate::graphql::expansion::Expansion;
use crate::graphql::field_order::OrderSlot;
use crate::graphql::limits::BudgetKey;
use crate::graphql::policy::FieldErrors;
use crate::graphql::prepared::{Learning, Prepaid, Prepared, PreparedOperations, resolved_fields};
use crate::graphql::request::{OperationLog, RequestContext, SharedBudget, chosen_operation};
use crate::graphql::{Checks, Executable, loaders};
use crate::metrics::Metrics;
use crate::persisted::{PersistedQueries, Refusal, Registration};
use crate::playground::{self, Playground};
use crate::store::Store;

mod caching;

use caching::PublicCaching;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    graphql: Arc<Executable>,
    store: Store,
    accounts: Arc<Accounts>,
    max_batch: usize,
    trusted_proxies: Arc<[IpNet]>,
    client_address_header: ClientAddressHeader,
    max_complexity: usize,
    playground: Option<Arc<Playground>>,
    metrics: Arc<Metrics>,
    persisted: Arc<PersistedQueries>,
    public_caching: PublicCaching,
}

/// The whole HTTP application, with its middleware.
pub fn router(
    graphql: Executable,
    store: Store,
    accounts: Arc<Accounts>,
    playground: Option<Arc<Playground>>,
    metrics: Arc<Metrics>,
    persisted: Arc<PersistedQueries>,
    config: &Config,
) -> Router {
    let routes = match playground {
        Some(_) => Router::new()
            .route("/", get(playground_page))
            .route(playground::BOOTSTRAP_PATH, get(playground_script))
            .route(&format!("{}/{{*path}}", playground::ASSETS_PATH), get(playground_asset)),
        None => Router::new(),
    };
    let state = AppState {
        graphql: Arc::new(graphql),
        store,
        accounts,
        max_batch: config.max_batch,
        trusted_proxies: config.trusted_proxies.clone().into(),
        client_address_header: config.client_address_header,
        max_complexity: config.max_complexity,
        playground,
        metrics: metrics.clone(),
        persisted,
        public_caching: PublicCaching::new(config.public_max_age_secs),
    };
    routes
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .layer(axum::middleware::from_fn(caching::private_unless_marked))
                .layer(axum::middleware::from_fn_with_state(state.clone(), log_request)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::map_request(drop_malformed_request_id))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    // The path only: a GET's query string carries the operation's variables.
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.request_timeout()))
                .layer(CompressionLayer::new())
                .layer(
                    CorsLayer::new()
                        .allow_origin(allowed_origins(&config.cors_origins))
                        .allow_methods([Method::GET, Method::POST])
                        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
                        .max_age(Duration::from_secs(3600)),
                ),
        )
}

/// The origins browsers may call from: any (the default: the API reads bearer tokens a page must
/// attach itself, never cookies, so no credentials are allowed either way), or exactly those
/// configured. An origin that is not a valid header value can never match, and is left out.
fn allowed_origins(origins: &[String]) -> AllowOrigin {
    if origins.is_empty() {
        return AllowOrigin::from(Any);
    }
    AllowOrigin::list(origins.iter().filter_map(|origin| HeaderValue::from_str(origin.trim()).ok()))
}

/// What the request log says of a GraphQL request, attached to its response by the handler.
#[derive(Clone, Debug, Default)]
struct RequestOutcome {
    /// Type and name of each operation (several for a batch).
    operations: Vec<(&'static str, String)>,
    role: Option<Role>,
    codes: Vec<String>,
}

impl RequestOutcome {
    /// The outcome of a request refused before any operation ran.
    fn refused(code: Code) -> Self {
        Self { operations: Vec::new(), role: None, codes: vec![code.as_str().to_owned()] }
    }

    /// Adds the error codes of a rendered answer.
    fn codes_of(&mut self, rendered: &Rendered) {
        self.codes.extend(rendered.codes.iter().cloned());
    }
}

/// One log line per GraphQL request (its id, operations, caller's role, duration, status and
/// error codes; never the query's variables, a token or a password), and its metrics.
async fn log_request(
    State(state): State<AppState>,
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
    state.metrics.request(&outcome.operations, started.elapsed(), &outcome.codes);
    response
}

/// What the metrics listener serves: `/metrics` only.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                match metrics.render() {
                    Ok(text) => {
                        ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot render the metrics");
                        StatusCode::INTERNAL_SERVER_ERROR.into_response()
                    }
                }
            }
        }),
    )
}

/// Adds `Retry-After` to a response whose answers ask the client to wait.
fn with_retry_after(mut response: axum::response::Response, seconds: Option<u64>) -> axum::response::Response {
    if let Some(seconds) = seconds {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Attaches `outcome` to `response` for the request log.
fn with_outcome(mut response: axum::response::Response, outcome: RequestOutcome) -> axum::response::Response {
    response.extensions_mut().insert(outcome);
    response
}

/// Longest request id a client may choose.
const MAX_REQUEST_ID_LENGTH: usize = 64;

/// Keeps a client's `X-Request-Id` only when it is well-formed (1 to 64 of `[A-Za-z0-9._-]`):
/// it is echoed in the response, written to the log and stored in audit events. Anything else
/// is dropped here, so that the next layer gives the request a fresh id.
async fn drop_malformed_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let well_formed = request.headers().get("x-request-id").is_none_or(|value| {
        let bytes = value.as_bytes();
        (1..=MAX_REQUEST_ID_LENGTH).contains(&bytes.len())
            && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(byte))
    });
    if !well_formed {
        request.headers_mut().remove("x-request-id");
    }
    request
}

/// The playground page, under its Content-Security-Policy.
fn page(playground: &Playground) -> axum::response::Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, playground.policy()),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (headers, playground.page().to_owned()).into_response()
}

async fn playground_page(State(state): State<AppState>) -> axum::response::Response {
    match &state.playground {
        Some(playground) => page(playground),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn playground_script() -> impl IntoResponse {
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, playground::BOOTSTRAP)
}

/// A pinned asset: its path names the package and version, so it may be cached for good.
async fn playground_asset(
    State(state): State<AppState>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> axum::response::Response {
    match state.playground.as_ref().and_then(|playground| playground.asset(&path)) {
        Some((content_type, content)) => {
            let headers = [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ];
            (headers, content.clone()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(state.accounts.jwks()))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    for db in state.store.pools() {
        if let Err(error) = careergraph_domain::ping(db).await {
            tracing::warn!(%error, "database not reachable");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
        }
    }
    (StatusCode::OK, "ready")
}

/// Which media type the response uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `application/graphql-response+json`: status codes tell request errors apart.
    GraphqlResponse,
    /// `application/json`: the legacy format; 200 for anything the server understood.
    Json,
}

impl Format {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
            Self::Json => JSON,
        })
    }
}

/// Picks the response format from `Accept`, by quality then order. No header means JSON, as the
/// specification advises for clients that predate the newer media type.
fn negotiate(headers: &HeaderMap) -> Option<Format> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()) else {
        return Some(Format::Json);
    };
    let mut candidates: Vec<(f32, usize, Format)> = Vec::new();
    for (index, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let quality =
            parts.filter_map(|param| param.strip_prefix("q=")).find_map(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
        let format = match media.as_str() {
            "application/graphql-response+json" => Format::GraphqlResponse,
            "application/json" | "application/*" | "*/*" => Format::Json,
            _ => continue,
        };
        if quality > 0.0 {
            candidates.push((quality, index, format));
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    candidates.first().map(|(_, _, format)| *format)
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or("unknown").to_owned()
}

/// A response for a request the server could not even read as GraphQL.
fn reject(status: StatusCode, format: Format, message: &str) -> axum::response::Response {
    let body = refusal_body(Code::BadUserInput, message);
    let response = (status, [(header::CONTENT_TYPE, format.content_type())], body.to_string()).into_response();
    with_outcome(response, RequestOutcome::refused(Code::BadUserInput))
}

fn not_acceptable() -> axum::response::Response {
    let message = "Accept must allow application/graphql-response+json or application/json";
    reject(StatusCode::NOT_ACCEPTABLE, Format::Json, message)
}

/// Who the request speaks for. No `Authorization` header means anonymous; a header that is
/// present but not a valid bearer token fails the whole request, so that a client never gets
/// anonymous data while believing it is signed in.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    format: Format,
) -> Result<Principal, axum::response::Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Principal::ANONYMOUS) };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    let Some(token) = token else {
        return Err(unauthenticated(
            format,
            "invalid_request",
            "Send the access token as `Authorization: Bearer <token>`",
        ));
    };
    state.accounts.authenticate(token).await.map_err(|error| match error {
        BearerError::Invalid(error) => {
            tracing::debug!(%error, "bearer token refused");
            unauthenticated(
                format,
                "invalid_token",
                "The access token is invalid or expired; refresh the session or sign in again",
            )
        }
        BearerError::Unchecked(error) => {
            tracing::warn!(%error, "bearer token not checked: the database is unreachable");
            let message = "The database is unreachable right now, so the token could not be checked; retry in a moment";
            let body = refusal_body_for(Code::ServiceUnavailable, message, RETRY_AFTER_OUTAGE_SECS);
            let headers = [
                (header::CONTENT_TYPE, format.content_type()),
                (header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_OUTAGE_SECS)),
            ];
            let response = (StatusCode::SERVICE_UNAVAILABLE, headers, body.to_string()).into_response();
            with_outcome(response, RequestOutcome::refused(Code::ServiceUnavailable))
        }
    })
}

fn unauthenticated(format: Format, error: &str, message: &str) -> axum::response::Response {
    let body = refusal_body(Code::Unauthenticated, message);
    let challenge = format!("Bearer realm=\"careergraph\", error=\"{error}\"");
    let mut response =
        (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, format.content_type())], body.to_string()).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    with_outcome(response, RequestOutcome::refused(Code::Unauthenticated))
}

/// The GET parameters of a GraphQL request; `variables` and `extensions` arrive as JSON text.
#[derive(serde::Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    params: Result<Query<GetParams>, axum::extract::rejection::QueryRejection>,
) -> axum::response::Response {
    let asks_for_an_operation =
        params.as_ref().is_ok_and(|Query(params)| params.query.is_some() || params.extensions.is_some());
    if !asks_for_an_operation
        && wants_html(&headers)
        && let Some(playground) = &state.playground
    {
        return page(playground);
    }
    let Some(format) = negotiate(&headers) else { return not_acceptable() };
    let Ok(Query(params)) = params else {
        return reject(StatusCode::BAD_REQUEST, format, "The query string is not a GraphQL request");
    };
    let mut fields = Map::new();
    if let Some(query) = params.query {
        fields.insert("query".into(), Value::String(query));
    }
    if let Some(name) = params.operation_name {
        fields.insert("operationName".into(), Value::String(name));
    }
    for (key, text) in [("variables", params.variables), ("extensions", params.extensions)] {
        if let Some(text) = text {
            match serde_json::from_str::<Value>(&text) {
                Ok(value) => fields.insert(key.into(), value),
                Err(_) => return reject(StatusCode::BAD_REQUEST, format, &format!("`{key}` is not valid JSON")),
            };
        }
    }
    let mut operation = match read_request(Value::Object(fields), &state.persisted, &state.graphql.prepared) {
        Ok(operation) => operation,
        Err(message) => return reject(StatusCode::BAD_REQUEST, format, &message),
    };
    // Only queries may run over GET: a GET can be replayed by caches, links and prefetchers.
    if !reads_only(std::slice::from_mut(&mut operation)) {
        let mut response =
            reject(StatusCode::METHOD_NOT_ALLOWED, format, "Only queries may be sent with GET; use POST");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let principal = match authenticate(&state, &headers, format).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let id = request_id(&headers);
    let caller = Caller::new(principal, peer, &headers, &state, true);
    let (response, operation) = execute(&state, &caller, &id, operation).await;
    // Without a token the answer is what every anonymous caller gets: a shared cache may keep it.
    let public = (caller.principal == Principal::ANONYMOUS).then_some((&state.public_caching, &headers));
    single_response(format, response, operation, &caller, &id, public)
}

/// Who sent a request, from where, and what its operations share.
#[derive(Clone)]
struct Caller {
    principal: Principal,
    address: IpAddr,
    budget: Arc<SharedBudget>,
    /// The database the request's operations use: the read replica, if any, when none of them
    /// writes.
    store: Store,
}

impl Caller {
    fn new(principal: Principal, peer: SocketAddr, headers: &HeaderMap, state: &AppState, reads_only: bool) -> Self {
        let address = client_address(peer.ip(), headers, state.client_address_header, &state.trusted_proxies);
        let store = if reads_only { state.store.reads() } else { state.store.clone() };
        // The complexity limit also bounds the fields a request really resolves.
        Self { principal, address, budget: Arc::new(SharedBudget::new(state.max_complexity)), store }
    }
}

/// Whether none of `operations` is a mutation (or a subscription). A document that does not
/// parse, or names no operation it holds, runs nothing, so it writes nothing either. A prepared
/// operation is a query, and is not parsed again.
fn reads_only(operations: &mut [Operation]) -> bool {
    operations.iter_mut().filter_map(|operation| operation.as_mut().ok()).all(|Ready { request, prepared, .. }| {
        if prepared.is_some() {
            return true;
        }
        let name = request.operation_name.clone();
        let Ok(document) = request.parsed_query() else { return true };
        chosen_operation(document, name.as_deref())
            .is_none_or(|(_, operation)| operation.node.ty == OperationType::Query)
    })
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then, walking the
/// forwarding header (the one header the proxies write) from the nearest hop back, the first
/// address that is not a trusted proxy itself. Only the hops that trusted proxies appended are
/// believed: whatever a client wrote into the header itself sits further back and is never
/// reached, and a header the proxies do not write is never read at all.
fn client_address(peer: IpAddr, headers: &HeaderMap, header: ClientAddressHeader, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |address: &IpAddr| {
        let address = address.to_canonical();
        trusted_proxies.iter().any(|network| network.contains(&address))
    };
    let mut client = peer;
    if trusted(&client) {
        for hop in forwarded_chain(headers, header).into_iter().rev() {
            client = hop;
            if !trusted(&hop) {
                break;
            }
        }
    }
    client
}

/// The addresses a request came through, the client first, as `header` lists them. Hops that
/// name no address (`unknown`, obfuscated names) are left out.
fn forwarded_chain(headers: &HeaderMap, header: ClientAddressHeader) -> Vec<IpAddr> {
    let values = |name| headers.get_all(name).into_iter().filter_map(|value| value.to_str().ok());
    match header {
        ClientAddressHeader::Forwarded => values(header::FORWARDED)
            .flat_map(|value| value.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, node) = pair.trim().split_once('=')?;
                    key.trim().eq_ignore_ascii_case("for").then(|| forwarded_node(node)).flatten()
                })
            })
            .collect(),
        ClientAddressHeader::XForwardedFor => values(header::HeaderName::from_static("x-forwarded-for"))
            .flat_map(|value| value.split(','))
            .filter_map(forwarded_node)
            .collect(),
    }
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"` or `2001:db8::1`.
fn forwarded_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Some(bracketed) = node.strip_prefix('[') {
        return bracketed.split(']').next()?.parse().ok();
    }
    node.parse::<IpAddr>().ok().or_else(|| node.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let Some(format) = negotiate(&headers) else { return not_acceptable() };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let mut params = content_type.split(';').map(str::trim);
    let media = params.next().unwrap_or("").to_ascii_lowercase();
    let charset_ok = params
        .filter_map(|param| param.to_ascii_lowercase().strip_prefix("charset=").map(|c| c.trim_matches('"').to_owned()))
        .all(|charset| charset == "utf-8");
    if media != "application/json" || !charset_ok {
        let message = "Send GraphQL requests as application/json (UTF-8)";
        return reject(StatusCode::UNSUPPORTED_MEDIA_TYPE, format, message);
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return reject(StatusCode::BAD_REQUEST, format, "The body is not valid JSON");
    };
    let principal = match authenticate(&state, &headers, format).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let id = request_id(&headers);
    match body {
        Value::Array(items) => {
            if items.is_empty() || items.len() > state.max_batch {
                let message = format!("A batch must hold between 1 and {} requests", state.max_batch);
                return reject(StatusCode::BAD_REQUEST, format, &message);
            }
            let mut requests = Vec::with_capacity(items.len());
            for item in items {
                match read_request(item, &state.persisted, &state.graphql.prepared) {
                    Ok(operation) => requests.push(operation),
                    Err(message) => return reject(StatusCode::BAD_REQUEST, format, &message),
                }
            }
            // A batch that writes reads from the primary throughout: its queries see its writes.
            let reads_only = reads_only(&mut requests);
            let caller = Caller::new(principal, peer, &headers, &state, reads_only);
            let responses =
                futures::future::join_all(requests.into_iter().map(|request| execute(&state, &caller, &id, request)))
                    .await;
            let mut outcome = RequestOutcome { role: Some(caller.principal.role), ..RequestOutcome::default() };
            let mut json = b"[".to_vec();
            let mut wait = None;
            for (index, (response, operation)) in responses.into_iter().enumerate() {
                let rendered = render(response, &id);
                outcome.operations.push(operation);
                outcome.codes_of(&rendered);
                wait = wait.max(rendered.retry_after);
                if index > 0 {
                    json.push(b',');
                }
                json.extend_from_slice(&rendered.json);
            }
            json.push(b']');
            let response = (StatusCode::OK, [(header::CONTENT_TYPE, format.content_type())], json).into_response();
            with_outcome(with_retry_after(response, wait), outcome)
        }
        single => match read_request(single, &state.persisted, &state.graphql.prepared) {
            Ok(mut operation) => {
                let reads_only = reads_only(std::slice::from_mut(&mut operation));
                let caller = Caller::new(principal, peer, &headers, &state, reads_only);
                let (response, operation) = execute(&state, &caller, &id, operation).await;
                single_response(format, response, operation, &caller, &id, None)
            }
            Err(message) => reject(StatusCode::BAD_REQUEST, format, &message),
        },
    }
}

/// One operation of a request, read: ready to run, or refused with a coded error that is that
/// operation's response (in a batch, the others still run).
type Operation = Result<Ready, async_graphql::ServerError>;

/// An operation ready to run, with its prepared form when one is kept (see `graphql::prepared`):
/// looked up once, where the request is read, both to choose its database and to run it.
struct Ready {
    request: Request,
    prepared: Option<Arc<Prepared>>,
    /// The size of the parsed document once expanded: checked before anything walks it
    /// (see `graphql::expansion`). `None` for a prepared operation, measured when it was
    /// learned, and for a document that does not parse, which goes no further than the parser.
    expansion: Option<Expansion>,
    /// A persisted query to keep once it has run without a request error.
    registration: Option<Registration>,
}

/// Reads one GraphQL request object, checking every parameter's type, and finds its document:
/// its `query`, or the persisted one its hash or `documentId` names, and its prepared form. A
/// malformed object is an `Err` (the whole HTTP request is refused); an unknown or unlisted
/// document is a refused [`Operation`].
fn read_request(value: Value, persisted: &PersistedQueries, kept: &PreparedOperations) -> Result<Operation, String> {
    let Value::Object(mut fields) = value else {
        return Err("A GraphQL request must be a JSON object".into());
    };
    let query = match fields.remove("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(query)) => Some(query),
        Some(_) => return Err("`query` must be a string".into()),
    };
    let document_id = match fields.remove("documentId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(_) => return Err("`documentId` must be a string".into()),
    };
    let operation_name = match fields.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("`operationName` must be a string".into()),
    };
    let variables = match fields.remove("variables") {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => Some(Variables::from_json(value)),
        Some(_) => return Err("`variables` must be an object".into()),
    };
    let extensions = match fields.remove("extensions") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(extensions)) => extensions,
        Some(_) => return Err("`extensions` must be an object".into()),
    };
    let (query, registration) = match persisted.resolve(query, &extensions, document_id.as_deref()) {
        Ok(Some(resolved)) => resolved,
        Ok(None) => return Err("A GraphQL request needs a `query`".into()),
        Err(Refusal::Malformed(message)) => return Err(message.into()),
        Err(refusal) => return Ok(Err(refused(refusal))),
    };
    let mut request = Request::new(query);
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = variables {
        request = request.variables(variables);
    }
    for (key, value) in extensions {
        let value = async_graphql::Value::from_json(value).map_err(|_| "`extensions` is not valid".to_owned())?;
        request.extensions.insert(key, value);
    }
    let prepared = kept.find(&request);
    // Parsed once, here: the parsed document goes on with the request.
    let expansion = match prepared {
        Some(_) => None,
        None => request.parsed_query().ok().map(Expansion::of),
    };
    Ok(Ok(Ready { prepared, request, expansion, registration }))
}

/// The coded error for a document that cannot be found or may not run.
fn refused(refusal: Refusal) -> async_graphql::ServerError {
    match refusal {
        // Apollo's clients recognise the miss by this message as well as by its code.
        Refusal::NotFound => request_refused(Code::PersistedQueryNotFound, "PersistedQueryNotFound"),
        Refusal::HashMismatch => {
            request_refused(Code::BadUserInput, "The query's SHA-256 is not the `sha256Hash` sent with it")
        }
        Refusal::Malformed(message) => request_refused(Code::BadUserInput, message),
        Refusal::NotInList => request_refused(
            Code::PersistedQueryNotInList,
            "This server runs only its listed operations, and none has this id",
        ),
        Refusal::NotInSafelist => request_refused(
            Code::QueryNotInSafelist,
            "This server runs only its listed operations, and this is none of them",
        ),
    }
}

/// A persisted query's registration costs a complexity point for each of these bytes it keeps.
const REGISTRATION_BYTES_PER_POINT: usize = 64;

/// Runs one request with its own loaders, on the request's own task (see `graphql::executor`);
/// returns its response and, for the log, its operation's type and name.
async fn execute(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    operation: Operation,
) -> (Response, (&'static str, String)) {
    let mut operation = match operation {
        Ok(operation) => operation,
        Err(refusal) => return (Response::from_errors(vec![refusal]), ("?", "-".into())),
    };
    let log = Arc::new(OperationLog::new(operation.request.operation_name.clone()));
    let client = BudgetKey::of(caller.principal.user_id, Some(caller.address));
    if let Some(expansion) = operation.expansion {
        if let Err(refusal) = state.graphql.limits.check_expansion(client, expansion) {
            return (Response::from_errors(vec![refusal]), log.describe());
        }
        log.expanded(expansion);
    }
    let registration = operation.registration.take();
    let response = run(state, caller, request_id, &log, operation).await;
    let parsed_and_validated =
        response.data != async_graphql::Value::Null || response.errors.iter().any(|error| !error.path.is_empty());
    if let Some(registration) = registration
        && parsed_and_validated
        // What it keeps in memory is spent from the client's budget, as complexity is.
        && state.graphql.limits.spend_client(client, registration.bytes() / REGISTRATION_BYTES_PER_POINT).is_ok()
    {
        state.persisted.register(registration);
    }
    (response, log.describe())
}

/// Runs one operation on a task of its own, which finishes even if the client goes away or the
/// request times out: an operation dropped half-way would leave its work half done, and sqlx 0.9
/// can leave a pooled connection inside a transaction when a `BEGIN` in flight is dropped
/// (transact-rs/sqlx issue 4393, fixed upstream but not released), for the next request to run in.
async fn run(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    log: &Arc<OperationLog>,
    operation: Ready,
) -> Response {
    let (state, caller, request_id, log) = (state.clone(), caller.clone(), request_id.to_owned(), log.clone());
    // Dropped with this future: an operation still waiting for a slot when its client has gone
    // has done nothing yet and is not started.
    let awaited = Arc::new(());
    let still_awaited = Arc::downgrade(&awaited);
    let execution = tokio::spawn(async move {
        let _slot = state.graphql.slots.enter().await;
        if still_awaited.strong_count() == 0 {
            return Response::from_errors(vec![request_refused(Code::ServiceUnavailable, "The client went away")]);
        }
        run_to_completion(&state, &caller, &request_id, log, operation).await
    });
    let outcome = execution.await;
    drop(awaited);
    match outcome {
        Ok(response) => response,
        // A panic goes on to the panic layer, which answers 500 as before.
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Only a runtime shutting down cancels the task.
        Err(_) => Response::from_errors(vec![request_refused(Code::ServiceUnavailable, "The server is stopping")]),
    }
}

/// Runs an operation unguarded when the guards have cleared it for this caller before (see
/// `graphql::prepared`), guarded otherwise; then holds the request to its field limit.
async fn run_to_completion(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    log: Arc<OperationLog>,
    Ready { request, prepared, .. }: Ready,
) -> Response {
    let graphql = &state.graphql;
    let (mut response, order) = match prepared.filter(|prepared| prepared.may_run(caller.principal.role)) {
        Some(prepared) => {
            (run_prepared(state, caller, request_id, log, request, &prepared).await, prepared.order.clone())
        }
        None => {
            // What the guards learn of an operation short enough to keep, to run it unguarded
            // next time.
            let learning = graphql.prepared.key_of(&request).map(|key| (key, Arc::new(Learning::default())));
            let order = Arc::new(OrderSlot::new(request.operation_name.clone()));
            let mut request = request.data(log.clone()).data(order.clone());
            if let Some((_, learning)) = &learning {
                request = request.data(learning.clone());
            }
            let response = execute_on(Checks::Guarded, state, caller, request_id, request).await;
            let order = order.order();
            if let (Some((key, learning)), Some(("query", name))) = (learning, log.recorded())
                && response.errors.is_empty()
            {
                graphql.prepared.learn(key, &learning, name, order.clone());
            }
            (response, order)
        }
    };
    if let Some(order) = order {
        order.apply(&mut response.data);
    }
    if caller.budget.exhausted() {
        let message = format!(
            "The request resolves more than {} fields (its lists are longer than its complexity estimated); ask for fewer",
            caller.budget.max_fields()
        );
        return Response::from_errors(vec![request_refused(Code::BadUserInput, message)]);
    }
    response
}

/// Runs a prepared operation: spends what the guards would, runs it unguarded, and counts its
/// fields; an answer with errors is made again guarded, where failed fields become `null`.
async fn run_prepared(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    log: Arc<OperationLog>,
    request: Request,
    prepared: &Prepared,
) -> Response {
    let graphql = &state.graphql;
    log.prepared(prepared.logged_name());
    let client = BudgetKey::of(caller.principal.user_id, Some(caller.address));
    let spent = graphql
        .limits
        .spend_aliases(Some(&caller.budget), prepared.aliases)
        .and_then(|()| graphql.limits.spend(client, Some(&caller.budget), prepared.complexity, 0));
    if let Err(refusal) = spent {
        return Response::from_errors(vec![refusal]);
    }
    let response = execute_on(Checks::Unguarded, state, caller, request_id, prepared.parsed(request)).await;
    if response.errors.is_empty() {
        caller.budget.spend_fields(resolved_fields(&response.data));
        return response;
    }
    let again = prepared.request().data(log).data(Prepaid);
    execute_on(Checks::Guarded, state, caller, request_id, again).await
}

/// Executes `request` on the schema with `checks`, with the request's own loaders, database and
/// caller.
async fn execute_on(checks: Checks, state: &AppState, caller: &Caller, request_id: &str, request: Request) -> Response {
    let context = RequestContext::new(caller.principal, Some(caller.address), request_id.to_owned());
    let visibility = context.visibility;
    let (spawner, tasks) = request_tasks();
    let field_errors = Arc::new(FieldErrors::default());
    let request = request
        .data(context)
        .data(loaders::for_request(caller.store.clone(), visibility, spawner))
        .data(state.accounts.clone())
        .data(caller.budget.clone())
        .data(state.metrics.clone())
        .data(caller.store.clone())
        .data(field_errors.clone());
    state.metrics.executed(checks);
    let mut response = tasks.run(state.graphql.schema(checks).execute(request)).await;
    response.errors.extend(field_errors.take());
    response
}

fn single_response(
    format: Format,
    response: Response,
    operation: (&'static str, String),
    caller: &Caller,
    request_id: &str,
    public: Option<(&PublicCaching, &HeaderMap)>,
) -> axum::response::Response {
    let rendered = render(response, request_id);
    let wait = rendered.retry_after;
    let status = match (rendered.request_error && format == Format::GraphqlResponse, wait) {
        (true, Some(_)) => StatusCode::TOO_MANY_REQUESTS,
        (true, None) => StatusCode::BAD_REQUEST,
        (false, _) => StatusCode::OK,
    };
    let mut outcome =
        RequestOutcome { operations: vec![operation], role: Some(caller.principal.role), codes: Vec::new() };
    outcome.codes_of(&rendered);
    let response = match public {
        Some((caching, request)) if status == StatusCode::OK && rendered.codes.is_empty() => {
            caching.answer(request, format.content_type(), rendered.json)
        }
        _ => (status, [(header::CONTENT_TYPE, format.content_type())], rendered.json).into_response(),
    };
    with_outcome(with_retry_after(response, wait), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn negotiation_follows_quality_then_order() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(Format::Json));
        assert_eq!(negotiate(&accept("application/graphql-response+json")), Some(Format::GraphqlResponse));
        assert_eq!(
            negotiate(&accept("application/json;q=0.9, application/graphql-response+json")),
            Some(Format::GraphqlResponse)
        );
        assert_eq!(negotiate(&accept("application/json, application/graphql-response+json")), Some(Format::Json));
        assert_eq!(negotiate(&accept("*/*")), Some(Format::Json));
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(negotiate(&accept("application/json;q=0")), None);
    }

    #[test]
    fn forwarding_headers_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("a network")];
        let with = |name: &'static str, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static(value));
            headers
        };
        let proxy: IpAddr = "10.1.2.3".parse().expect("an address");
        let stranger: IpAddr = "203.0.113.9".parse().expect("an address");
        let (xff, rfc7239) = (ClientAddressHeader::XForwardedFor, ClientAddressHeader::Forwarded);
        let spoofed = with("x-forwarded-for", "198.51.100.1, 198.51.100.2");
        assert_eq!(client_address(stranger, &spoofed, xff, &trusted), stranger, "an untrusted peer is the client");
        assert_eq!(
            client_address(proxy, &spoofed, xff, &trusted).to_string(),
            "198.51.100.2",
            "the nearest untrusted hop"
        );
        let chained = with("x-forwarded-for", "198.51.100.1, 10.9.9.9");
        assert_eq!(
            client_address(proxy, &chained, xff, &trusted).to_string(),
            "198.51.100.1",
            "trusted hops are walked past"
        );
        let forwarded = with("forwarded", "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"");
        assert_eq!(client_address(proxy, &forwarded, rfc7239, &trusted).to_string(), "2001:db8:cafe::17");
        assert_eq!(client_address(proxy, &forwarded, xff, &trusted), proxy, "the header the proxy does not write");
        let unknown = with("forwarded", "for=unknown");
        assert_eq!(client_address(proxy, &unknown, rfc7239, &trusted), proxy, "nothing to believe");
    }

    #[test]
    fn request_objects_with_wrongly_typed_parameters_are_refused() {
        let persisted = PersistedQueries::automatic();
        let kept = PreparedOperations::default();
        let read = |value| read_request(value, &persisted, &kept);
        assert!(read(json!({ "query": "{a}" })).is_ok_and(|operation| operation.is_ok()));
        assert!(read(json!({ "query": "{a}", "variables": null, "operationName": null })).is_ok());
        assert!(read(json!({})).is_err());
        assert!(read(json!({ "query": 1 })).is_err());
        assert!(read(json!({ "query": "{a}", "variables": "x" })).is_err());
        assert!(read(json!({ "query": "{a}", "operationName": 3 })).is_err());
        assert!(read(json!({ "query": "{a}", "extensions": [] })).is_err());
        assert!(read(json!({ "query": "{a}", "documentId": 7 })).is_err());
        assert!(read(json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": "00" } } })).is_err());
        assert!(read(json!("query")).is_err());
    }
}
