//! The HTTP surface: GraphQL over HTTP (`POST` and `GET /graphql`), the GraphiQL playground
//! (see [`crate::playground`]), and the health probes.
//!
//! The GraphQL endpoint is written here rather than taken from async-graphql-axum, whose stock
//! service does not follow the GraphQL-over-HTTP specification (it answers `application/json`
//! requests with another media type and executes mutations sent over GET). This handler
//! negotiates `application/graphql-response+json` or `application/json`, refuses mutations over
//! GET with 405, unsupported bodies with 415 and unacceptable media types with 406, and answers
//! request errors with 400 and no `data` under the newer media type.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Response;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
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
use crate::graphql::execution::{Execution, Operation, execute, reads_only};
use crate::graphql::plumbing::context::Caller;
use crate::graphql::plumbing::error::{
    Code, RETRY_AFTER_OUTAGE_SECS, Rendered, is_request_error, refusal_body, refusal_body_for, render,
};
use crate::metrics::Metrics;
use crate::playground::{self, Playground};
use crate::replica::{Lsn, READ_AFTER_HEADER};
use crate::response_cache::ResponseCache;
use crate::store::Store;

mod caching;
mod client_address;
mod request_log;
mod websocket;

use caching::PublicCaching;
use client_address::client_address;
use request_log::{RequestOutcome, log_request, request_id, with_outcome};
pub use websocket::WebSockets;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    execution: Arc<Execution>,
    store: Store,
    accounts: Arc<Accounts>,
    max_batch: usize,
    trusted_proxies: Arc<[IpNet]>,
    client_address_header: ClientAddressHeader,
    max_complexity: usize,
    playground: Option<Arc<Playground>>,
    metrics: Arc<Metrics>,
    public_caching: PublicCaching,
    responses: Arc<ResponseCache>,
    websockets: Arc<WebSockets>,
}

/// What keeps answers and subscribers in step with the database: the response cache and the
/// database's change feed.
pub struct Live {
    /// Anonymous answers, kept until a change touches them.
    pub responses: Arc<ResponseCache>,
    /// The database's changes, which subscriptions follow.
    pub feed: Arc<careergraph_domain::changes::Feed>,
}

/// The whole HTTP application, with its middleware.
pub fn router(
    execution: Arc<Execution>,
    store: Store,
    accounts: Arc<Accounts>,
    playground: Option<Arc<Playground>>,
    metrics: Arc<Metrics>,
    live: Live,
    config: &Config,
) -> Router {
    let Live { responses, feed } = live;
    let routes = match playground {
        Some(_) => Router::new()
            .route("/", get(playground_page))
            .route(playground::BOOTSTRAP_PATH, get(playground_script))
            .route(&format!("{}/{{*path}}", playground::ASSETS_PATH), get(playground_asset)),
        None => Router::new(),
    };
    let websockets = Arc::new(WebSockets::new(
        websocket::Services {
            schema: execution.subscriptions().clone(),
            accounts: accounts.clone(),
            metrics: metrics.clone(),
            store: store.clone(),
            feed,
            published: Arc::default(),
        },
        config,
    ));
    let state = AppState {
        execution,
        store,
        accounts,
        max_batch: config.max_batch,
        trusted_proxies: config.trusted_proxies.clone().into(),
        client_address_header: config.client_address_header,
        max_complexity: config.max_complexity,
        playground,
        metrics: metrics.clone(),
        public_caching: PublicCaching::new(config.public_max_age_secs),
        responses,
        websockets,
    };
    routes
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .layer(axum::middleware::from_fn(caching::private_unless_marked))
                .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), log_request)),
        )
        .route("/careers/{file}", get(career_json_ld))
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
                    let span = tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                        otel.name = tracing::field::Empty,
                        otel.kind = tracing::field::Empty,
                    );
                    crate::traces::continue_trace(&span, request);
                    span
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.request_timeout()))
                .layer(CompressionLayer::new())
                .layer(
                    CorsLayer::new()
                        .allow_origin(allowed_origins(&config.cors_origins))
                        .allow_methods([Method::GET, Method::POST])
                        .allow_headers([
                            header::AUTHORIZATION,
                            header::CONTENT_TYPE,
                            header::ACCEPT,
                            // A front end's own tracing continues into the server's spans.
                            header::HeaderName::from_static("traceparent"),
                            header::HeaderName::from_static("tracestate"),
                            header::HeaderName::from_static(READ_AFTER_HEADER),
                        ])
                        .expose_headers([header::HeaderName::from_static(READ_AFTER_HEADER)])
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

/// A pinned asset: its path names the package and version, so it may be cached for good. Sent
/// compressed as the browser accepts.
async fn playground_asset(
    State(state): State<AppState>,
    axum::extract::Path(path): axum::extract::Path<String>,
    request_headers: HeaderMap,
) -> axum::response::Response {
    let Some(served) = state.playground.as_ref().and_then(|playground| playground.asset(&path)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (encoding, content) = served.encoded(request_headers.get(header::ACCEPT_ENCODING));
    let mut response = (
        [
            (header::CONTENT_TYPE, served.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::VARY, "accept-encoding"),
        ],
        content,
    )
        .into_response();
    if let Some(coding) = encoding.header() {
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

/// `GET /careers/{slug}.jsonld`: a published career path as a schema.org `Occupation` (the
/// API's `CareerPath.jsonLd`, as an anonymous caller sees it), for search engines and linked
/// data; `?country=` picks the salaries (default US). A draft or unknown slug is 404.
async fn career_json_ld(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    request_headers: HeaderMap,
) -> axum::response::Response {
    use careergraph_domain::queries::career_paths;
    let Some(slug) = file.strip_suffix(".jsonld") else { return StatusCode::NOT_FOUND.into_response() };
    let db = state.store.db();
    let columns = careergraph_domain::projection::Columns::all();
    let found = career_paths::by_slug(db, careergraph_domain::Visibility::PublishedOnly, slug, columns).await;
    let document = match found {
        Ok(Some(path)) => {
            let country = query.get("country").map_or("US", String::as_str);
            careergraph_domain::jsonld::occupation(db, &path, country, false).await
        }
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => Err(error),
    };
    match document {
        Ok(document) => {
            let body = serde_json::to_vec_pretty(&document).unwrap_or_default();
            caching::document(
                &state.public_caching,
                &request_headers,
                HeaderValue::from_static("application/ld+json"),
                body,
            )
        }
        Err(error) => {
            tracing::error!(%error, "cannot build a career's JSON-LD");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(state.accounts.jwks()))
}

/// Ready while the primary database answers; a read replica's state and lag follow on a line
/// of their own, for people (a replica that is down or lagging does not make the server
/// unready: queries read the primary meanwhile).
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let replica = state.store.replica().map(|replica| format!("\n{}", replica.status())).unwrap_or_default();
    if let Err(error) = careergraph_domain::ping(state.store.db()).await {
        tracing::warn!(%error, "database not reachable");
        return (StatusCode::SERVICE_UNAVAILABLE, format!("database unreachable{replica}"));
    }
    (StatusCode::OK, format!("ready{replica}"))
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
    websocket: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    params: Result<Query<GetParams>, axum::extract::rejection::QueryRejection>,
) -> axum::response::Response {
    // Subscriptions: the same path, upgraded (see `websocket`).
    if let Ok(upgrade) = websocket {
        let address = client_address(peer.ip(), &headers, state.client_address_header, &state.trusted_proxies);
        return websocket::upgrade(state.websockets.clone(), upgrade, &headers, address);
    }
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
    let mut operation = match state.execution.read(Value::Object(fields)) {
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
    let position = match read_after(&headers) {
        Ok(position) => position,
        Err(message) => return reject(StatusCode::BAD_REQUEST, format, &message),
    };
    let principal = match authenticate(&state, &headers, format).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let id = request_id(&headers);
    let caller = caller(&state, principal, peer, &headers, &id, true, position);
    // Without a token the answer is what every anonymous caller gets: a shared cache may keep
    // it. One that must be at least as fresh as a write of the client's is made anew.
    let shared = caller.principal == Principal::ANONYMOUS && position.is_none();
    let public = shared.then_some((&state.public_caching, &headers));
    answer_single(&state, format, operation, &caller, &id, position.is_none(), public).await
}

/// Runs one operation and answers it; an anonymous query's answer comes from the response cache
/// when it holds a fresh one and `from_memory` allows (the request only reads, with no write of
/// its own to wait for), and is kept there when it is made without errors.
async fn answer_single(
    state: &AppState,
    format: Format,
    mut operation: Operation,
    caller: &Caller,
    request_id: &str,
    from_memory: bool,
    public: Option<(&PublicCaching, &HeaderMap)>,
) -> axum::response::Response {
    let cacheable = from_memory && caller.principal == Principal::ANONYMOUS && state.responses.enabled();
    let Some(key) = cacheable.then(|| state.execution.cache_key(&operation)).flatten() else {
        let (response, operation) = execute(&state.execution, caller, operation).await;
        return single_response(format, response, operation, caller, request_id, public);
    };
    if let Some(answer) = state.responses.get(&key) {
        if let Err(refusal) = state.execution.charge(caller, answer.complexity) {
            let refused = Response::from_errors(vec![refusal]);
            return single_response(format, refused, answer.operation.clone(), caller, request_id, None);
        }
        state.execution.answered_from_memory(caller, &mut operation);
        let outcome = RequestOutcome {
            operations: vec![answer.operation.clone()],
            role: Some(caller.principal.role),
            codes: Vec::new(),
        };
        let response = match public {
            Some((caching, request)) => caching.answer(request, format.content_type(), answer.body.clone()),
            None => ([(header::CONTENT_TYPE, format.content_type())], answer.body.clone()).into_response(),
        };
        return with_outcome(response, outcome);
    }
    let ticket = state.responses.ticket();
    let reads = state.execution.reads(&mut operation);
    let (response, operation) = execute(&state.execution, caller, operation).await;
    // What a replica read before it held the last change heard of may be older than that change.
    let current = ticket.last_change().is_none_or(|changed| caller.store.holds_commits_before(changed));
    let keep = current && response.errors.is_empty() && response.extensions.is_empty() && !is_request_error(&response);
    let mut rendered = render(response, request_id);
    let body = Bytes::from(std::mem::take(&mut rendered.json));
    if keep && rendered.codes.is_empty() {
        let complexity = caller.budget.complexity_spent();
        state.responses.insert(key, body.clone(), operation.clone(), complexity, reads, ticket);
    }
    rendered_response(format, &rendered, body, operation, caller, public)
}

/// The caller of a request from `peer`: its address as the trusted proxies name it, and the
/// database its operations use (the read replica, if any, when none of them writes, fresh enough
/// for its client, who asked to read no older than `read_after`).
fn caller(
    state: &AppState,
    principal: Principal,
    peer: SocketAddr,
    headers: &HeaderMap,
    request_id: &str,
    reads_only: bool,
    read_after: Option<Lsn>,
) -> Caller {
    let address = client_address(peer.ip(), headers, state.client_address_header, &state.trusted_proxies);
    let store = if reads_only {
        let (store, route) = state.store.reads(principal.user_id, read_after);
        if let Some(route) = route {
            state.metrics.read_routed(route);
        }
        store
    } else {
        state.store.clone()
    };
    Caller::new(principal, address, request_id, store, state.max_complexity)
}

/// The position in the request's `Careergraph-Read-After` header, if it has one; a header that
/// is not one fails the request (with the message returned), as a client bug that would
/// otherwise read stale data unseen.
fn read_after(headers: &HeaderMap) -> Result<Option<Lsn>, String> {
    let Some(value) = headers.get(READ_AFTER_HEADER) else { return Ok(None) };
    let parsed = value.to_str().map_err(|_| "it is not ASCII".to_owned()).and_then(|text| text.trim().parse::<Lsn>());
    parsed.map(Some).map_err(|why| {
        format!(
            "Careergraph-Read-After must be a WAL position as a response's Careergraph-Read-After header gave it: {why}"
        )
    })
}

/// Answers a request that wrote, of `user` (`None`: anonymous), with the position its reads
/// must wait for on the read replica, if there is one.
async fn with_read_after(
    state: &AppState,
    user: Option<uuid::Uuid>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    if let Some(position) = state.store.wrote(user).await
        && let Ok(value) = HeaderValue::from_str(&position.to_string())
    {
        response.headers_mut().insert(READ_AFTER_HEADER, value);
    }
    response
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
    let position = match read_after(&headers) {
        Ok(position) => position,
        Err(message) => return reject(StatusCode::BAD_REQUEST, format, &message),
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
                match state.execution.read(item) {
                    Ok(operation) => requests.push(operation),
                    Err(message) => return reject(StatusCode::BAD_REQUEST, format, &message),
                }
            }
            // A batch that writes reads from the primary throughout: its queries see its writes.
            let reads_only = reads_only(&mut requests);
            let caller = caller(&state, principal, peer, &headers, &id, reads_only, position);
            let responses = futures::future::join_all(
                requests.into_iter().map(|request| execute(&state.execution, &caller, request)),
            )
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
            let response = with_outcome(with_retry_after(response, wait), outcome);
            match reads_only {
                true => response,
                false => with_read_after(&state, caller.principal.user_id, response).await,
            }
        }
        single => match state.execution.read(single) {
            Ok(mut operation) => {
                let reads_only = reads_only(std::slice::from_mut(&mut operation));
                let caller = caller(&state, principal, peer, &headers, &id, reads_only, position);
                let from_memory = reads_only && position.is_none();
                let response = answer_single(&state, format, operation, &caller, &id, from_memory, None).await;
                match reads_only {
                    true => response,
                    false => with_read_after(&state, caller.principal.user_id, response).await,
                }
            }
            Err(message) => reject(StatusCode::BAD_REQUEST, format, &message),
        },
    }
}

fn single_response(
    format: Format,
    response: Response,
    operation: (&'static str, String),
    caller: &Caller,
    request_id: &str,
    public: Option<(&PublicCaching, &HeaderMap)>,
) -> axum::response::Response {
    let mut rendered = render(response, request_id);
    let body = Bytes::from(std::mem::take(&mut rendered.json));
    rendered_response(format, &rendered, body, operation, caller, public)
}

/// The answer `rendered` describes, with its `body`.
fn rendered_response(
    format: Format,
    rendered: &Rendered,
    body: Bytes,
    operation: (&'static str, String),
    caller: &Caller,
    public: Option<(&PublicCaching, &HeaderMap)>,
) -> axum::response::Response {
    let wait = rendered.retry_after;
    let status = match (rendered.request_error && format == Format::GraphqlResponse, wait) {
        (true, Some(_)) => StatusCode::TOO_MANY_REQUESTS,
        (true, None) => StatusCode::BAD_REQUEST,
        (false, _) => StatusCode::OK,
    };
    let mut outcome =
        RequestOutcome { operations: vec![operation], role: Some(caller.principal.role), codes: Vec::new() };
    outcome.codes_of(rendered);
    let response = match public {
        Some((caching, request)) if status == StatusCode::OK && rendered.codes.is_empty() => {
            caching.answer(request, format.content_type(), body)
        }
        _ => (status, [(header::CONTENT_TYPE, format.content_type())], body).into_response(),
    };
    with_outcome(with_retry_after(response, wait), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
