//! GraphQL subscriptions over WebSocket at `/graphql`, with the graphql-transport-ws protocol
//! (the one the `graphql-ws` client speaks).
//!
//! async-graphql's protocol engine ([`async_graphql::http::WebSocket`]) runs the subscriptions;
//! this module stands between it and the socket and does what it leaves out: it checks the
//! origin and how many connections an address holds before upgrading; reads the access token
//! from `connection_init` (`{"Authorization": "Bearer …"}` or `{"token": "…"}`; none is an
//! anonymous connection); holds each message to the protocol (`4400` for a malformed one, `4401`
//! for a subscribe before the acknowledgement, `4408` when no `connection_init` comes in time,
//! `4409` for an id already in use, `4403` for a refused token) and each connection to its
//! number of subscriptions; runs subscriptions only (a query or a mutation belongs on HTTP); turns
//! an operation refused as a whole into the protocol's `error` message; and closes the
//! connection with `4403` when its token expires, its session ends or its user is disabled or
//! demoted — at once on the change feed, and within `CAREERGRAPH_USER_CACHE_SECS` otherwise.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{ClientMessage, WebSocketProtocols, WsMessage};
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use careergraph_domain::changes::{Change, Feed};
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::authentication::{Accounts, BearerError, Principal};
use crate::graphql::plumbing::context::{PublishedPaths, Subscriber};
use crate::graphql::plumbing::error::{Code, classify_errors, refusal_body, request_refused};
use crate::graphql::plumbing::operation::chosen_operation;
use crate::graphql::schema::CareerGraphSchema;

/// The one subprotocol spoken.
const GRAPHQL_TRANSPORT_WS: &str = "graphql-transport-ws";
/// How long a connection may wait before its `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages read but not yet taken by the protocol engine; a client that sends faster is closed.
const INPUT_QUEUE: usize = 64;
/// How long sending one message may take before the client is deemed gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the server pings an open connection: below the read timeouts of proxies in front
/// (`deploy/nginx.conf` has 35 s), so an idle subscription is not cut, and a client that has gone
/// without closing is noticed.
const PING_EVERY: Duration = Duration::from_secs(20);
/// A connection's read buffer, which grows for a larger message.
const CONNECTION_BUFFER: usize = 4 * 1024;
/// The most a connection's unsent output may grow to.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// What WebSocket connections share: the schema they run on, the accounts that check their
/// tokens, the metrics, the database and its feed, and the limits and settings.
pub struct WebSockets {
    /// The schema and the services subscriptions use.
    pub services: Services,
    /// The largest message a client may send, in bytes.
    pub max_message_bytes: usize,
    per_client: usize,
    subscriptions_per_connection: usize,
    buffer_events: usize,
    user_cache: Duration,
    origins: Vec<String>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl WebSockets {
    /// Connections for `services`, with the limits `config` sets.
    pub fn new(services: Services, config: &crate::config::Config) -> Self {
        Self {
            services,
            max_message_bytes: config.max_body_bytes,
            per_client: config.websocket_connections_per_client,
            subscriptions_per_connection: config.subscriptions_per_connection,
            buffer_events: config.subscription_buffer_events,
            user_cache: Duration::from_secs(config.user_cache_secs),
            origins: config.cors_origins.iter().map(|origin| origin.trim().to_owned()).collect(),
            open: Mutex::default(),
        }
    }

    /// A place for one more connection from `address`, held until dropped; `None` past the
    /// limit.
    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Admitted> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(address).or_default();
        if *count >= self.per_client {
            return None;
        }
        *count += 1;
        Some(Admitted { sockets: self.clone(), address })
    }

    /// Whether a browser page of this origin may connect. Clients that send no `Origin` are not
    /// browsers, which is all an origin check can tell apart, as for HTTP (CORS).
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else { return true };
        self.origins.is_empty()
            || origin.to_str().is_ok_and(|origin| self.origins.iter().any(|allowed| allowed == origin))
    }
}

/// What subscriptions run with.
pub struct Services {
    /// The schema, guarded.
    pub schema: CareerGraphSchema,
    /// What checks tokens.
    pub accounts: Arc<Accounts>,
    /// Where connections and events are counted.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The database.
    pub store: crate::store::Store,
    /// The database's change feed.
    pub feed: Arc<Feed>,
    /// What publication events read, once for every subscriber.
    pub published: Arc<PublishedPaths>,
}

/// One admitted connection, counted against its address until dropped.
struct Admitted {
    sockets: Arc<WebSockets>,
    address: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut open) = self.sockets.open.lock()
            && let Some(count) = open.get_mut(&self.address)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Answers a WebSocket handshake at `/graphql` from `address`.
pub(super) fn upgrade(
    sockets: Arc<WebSockets>,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    address: IpAddr,
) -> axum::response::Response {
    let refuse = |status: StatusCode, code: Code, message: &str| {
        let body = refusal_body(code, message).to_string();
        (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
    };
    if !sockets.origin_allowed(headers) {
        return refuse(StatusCode::FORBIDDEN, Code::Forbidden, "This origin may not open WebSocket connections");
    }
    let Some(admitted) = sockets.admit(address) else {
        let message =
            format!("This address already holds {} WebSocket connections; close one first", sockets.per_client);
        return refuse(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited, &message);
    };
    let upgrade = upgrade.protocols([GRAPHQL_TRANSPORT_WS]);
    let agreed = upgrade.selected_protocol().is_some();
    upgrade
        .max_message_size(sockets.max_message_bytes)
        // Messages here are small and mostly idle: tungstenite's default 128 KiB read and write
        // buffers made an idle connection cost 135 KiB (500 connections: 31 -> 97 MiB).
        .read_buffer_size(CONNECTION_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| async move {
            let _admitted = admitted;
            if !agreed {
                close(socket, 4406, "Subprotocol not acceptable").await;
                return;
            }
            let metrics = sockets.services.metrics.clone();
            metrics.websocket_connections(1);
            Connection::new(&sockets).serve(socket).await;
            metrics.websocket_connections(-1);
        })
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// Who a connection was signed in as, set by its `connection_init`.
#[derive(Default)]
struct SignedIn {
    /// The caller and the token they signed in with (none: anonymous).
    caller: Option<(Principal, Option<String>)>,
    /// Why `connection_init` was refused, when it was.
    refused: Option<String>,
}

/// One connection's state between the socket and the protocol engine.
struct Connection {
    schema: CareerGraphSchema,
    accounts: Arc<Accounts>,
    subscriber: Subscriber,
    max_subscriptions: usize,
    user_cache: Duration,
    signed_in: Arc<Mutex<SignedIn>>,
    /// Whether `connection_init` has come (the init timeout no longer applies).
    initialising: bool,
    acknowledged: bool,
    /// The ids of the subscriptions running.
    active: HashSet<String>,
    /// Ids whose operation ended otherwise (refused with an `error` message, or completed by
    /// the client): the engine's `complete` for them is not sent, as the protocol has it.
    ended: HashSet<String>,
}

/// What to do with a message a client sent.
enum Verdict {
    /// Hand it to the protocol engine.
    Pass,
    /// Answer it with this message, and go on.
    Reply(String),
    /// Close the connection with this code and reason.
    Close(u16, String),
}

impl Connection {
    fn new(sockets: &WebSockets) -> Self {
        let services = &sockets.services;
        let subscriber = Subscriber {
            principal: Principal::ANONYMOUS,
            buffer_events: sockets.buffer_events,
            metrics: services.metrics.clone(),
            store: services.store.clone(),
            feed: services.feed.clone(),
            published: services.published.clone(),
        };
        Self {
            schema: services.schema.clone(),
            accounts: services.accounts.clone(),
            subscriber,
            max_subscriptions: sockets.subscriptions_per_connection,
            user_cache: sockets.user_cache,
            signed_in: Arc::default(),
            initialising: false,
            acknowledged: false,
            active: HashSet::new(),
            ended: HashSet::new(),
        }
    }

    async fn serve(mut self, socket: WebSocket) {
        let (mut sink, mut source) = socket.split();
        let (to_engine, engine_input) = mpsc::channel::<String>(INPUT_QUEUE);
        let input = futures::stream::unfold(engine_input, |mut input| async move {
            input.recv().await.map(|message| (message, input))
        })
        .boxed();
        let on_init = {
            let (accounts, subscriber, signed_in) =
                (self.accounts.clone(), self.subscriber.clone(), self.signed_in.clone());
            move |payload: Value| initialise(accounts, subscriber, signed_in, payload)
        };
        let mut engine = async_graphql::http::WebSocket::new(
            SubscriptionsOnly(self.schema.clone()),
            input,
            WebSocketProtocols::GraphQLWS,
        )
        .on_connection_init(on_init);
        let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
        tokio::pin!(init_deadline);
        // Armed once a signed-in connection is acknowledged.
        let expiry = tokio::time::sleep(INIT_TIMEOUT);
        tokio::pin!(expiry);
        let mut watch = Watch::default();
        let mut pings = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let closing = loop {
            tokio::select! {
                _ = pings.tick() => {
                    let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Default::default()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break None;
                    }
                }
                incoming = source.next() => match incoming {
                    Some(Ok(Message::Text(text))) => match self.check(text.as_str()) {
                        Verdict::Pass => {
                            if to_engine.try_send(text.to_string()).is_err() {
                                break Some((4429, "Too many messages".to_owned()));
                            }
                        }
                        Verdict::Reply(reply) => {
                            if !send(&mut sink, reply).await {
                                break None;
                            }
                        }
                        Verdict::Close(code, reason) => break Some((code, reason)),
                    },
                    Some(Ok(Message::Binary(_))) => break Some((4400, "Invalid message received: binary".to_owned())),
                    // tungstenite answers pings itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                },
                outgoing = engine.next() => match outgoing {
                    Some(WsMessage::Text(text)) => {
                        let Some(text) = self.observe(text, &mut watch) else { continue };
                        if let Some(at) = watch.expires {
                            expiry.as_mut().reset(at);
                        }
                        if !send(&mut sink, text).await {
                            break None;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => break Some(self.closing_code(code, reason)),
                    None => break None,
                },
                () = &mut init_deadline, if !self.acknowledged && !self.initialising => {
                    break Some((4408, "Connection initialisation timeout".to_owned()));
                }
                () = &mut expiry, if watch.expires.is_some() => {
                    break Some((4403, "Forbidden: the access token has expired".to_owned()));
                }
                change = watch.change(), if watch.feed.is_some() => {
                    if let Some(reason) = self.still_allowed(&mut watch, change).await {
                        break Some((4403, format!("Forbidden: {reason}")));
                    }
                }
            }
        };
        if let Some((code, reason)) = closing {
            let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
            let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
        }
    }

    /// Holds a client's message to the protocol and the connection's limits.
    fn check(&mut self, text: &str) -> Verdict {
        let invalid = || Verdict::Close(4400, "Invalid message received".to_owned());
        // The engine's own reading: what it could not read, it would close on with a code of its
        // own (1002) rather than the protocol's.
        let Ok(message) = ClientMessage::from_bytes(text.as_bytes()) else { return invalid() };
        match message {
            ClientMessage::Start { id, .. } => {
                if !self.acknowledged {
                    return Verdict::Close(4401, "Unauthorized".to_owned());
                }
                if id.is_empty() {
                    return invalid();
                }
                if self.active.contains(&id) {
                    return Verdict::Close(4409, format!("Subscriber for {id} already exists"));
                }
                if self.active.len() >= self.max_subscriptions {
                    let message = format!(
                        "This connection already has {} subscriptions; complete one before starting another",
                        self.max_subscriptions
                    );
                    let errors = [request_refused(Code::BadUserInput, message)];
                    return Verdict::Reply(json!({ "id": id, "type": "error", "payload": errors }).to_string());
                }
                self.active.insert(id);
                Verdict::Pass
            }
            ClientMessage::Stop { id } => {
                if self.active.remove(&id) {
                    self.ended.insert(id);
                }
                Verdict::Pass
            }
            ClientMessage::ConnectionInit { .. } => {
                self.initialising = true;
                Verdict::Pass
            }
            ClientMessage::Ping { .. } | ClientMessage::Pong { .. } => Verdict::Pass,
            // subscriptions-transport-ws's, not this protocol's.
            ClientMessage::ConnectionTerminate => invalid(),
        }
    }

    /// Looks at a message the engine sends: notes the acknowledgement (and starts watching the
    /// caller), turns an operation refused as a whole into an `error` message, and drops the
    /// `complete` that follows it. `None`: send nothing.
    fn observe(&mut self, text: String, watch: &mut Watch) -> Option<String> {
        let message: Value = serde_json::from_str(&text).ok()?;
        let id = message.get("id").and_then(Value::as_str).map(str::to_owned);
        match (message.get("type").and_then(Value::as_str), id) {
            (Some("connection_ack"), _) => {
                self.acknowledged = true;
                let caller = self.signed_in.lock().ok().and_then(|signed_in| signed_in.caller.clone());
                if let Some((principal, Some(token))) = caller {
                    watch.start(&self.accounts, principal, token, self.user_cache, &self.subscriber.feed);
                }
            }
            (Some("next"), Some(id)) => {
                let payload = message.get("payload")?;
                let failed = payload.get("data").is_none_or(Value::is_null);
                if let (true, Some(errors)) = (failed, payload.get("errors")) {
                    self.active.remove(&id);
                    self.ended.insert(id.clone());
                    return Some(json!({ "id": id, "type": "error", "payload": errors }).to_string());
                }
            }
            (Some("complete"), Some(id)) => {
                self.active.remove(&id);
                if self.ended.remove(&id) {
                    return None;
                }
            }
            _ => {}
        }
        Some(text)
    }

    /// The close code to send for the engine's: a refused `connection_init` is the protocol's
    /// `4403 Forbidden`.
    fn closing_code(&self, code: u16, reason: String) -> (u16, String) {
        let refused = self.signed_in.lock().ok().and_then(|signed_in| signed_in.refused.clone());
        match refused {
            Some(reason) => (4403, format!("Forbidden: {reason}")),
            None => (code, reason),
        }
    }

    /// Whether the connection's caller may still hold it after `change` (or the periodic
    /// recheck, on `None`); the reason to close it when not.
    async fn still_allowed(&self, watch: &mut Watch, change: Option<Arc<Change>>) -> Option<String> {
        let (principal, token) = watch.caller.clone()?;
        if let Some(change) = &change {
            let mine = match &**change {
                Change::User { id } => Some(*id) == principal.user_id,
                Change::SessionEnded { id } => {
                    if Some(*id) == watch.session {
                        return Some("the session has ended".to_owned());
                    }
                    false
                }
                Change::Content(content) => content.entity == "User" && Some(content.id) == principal.user_id,
                Change::Everything => true,
            };
            if !mine {
                return None;
            }
            // The feed's own consumer may not have applied it yet.
            self.accounts.apply(change);
        }
        watch.checked();
        match self.accounts.authenticate(&token).await {
            Ok(now) if now.role == principal.role => None,
            Ok(_) => Some("the account's role has changed; connect again".to_owned()),
            Err(BearerError::Invalid(error)) => Some(error.to_string()),
            // The database is unreachable: keep what was known, and check again later.
            Err(BearerError::Unchecked(_)) => None,
        }
    }
}

/// Reads the access token from `connection_init`'s payload, and makes the connection's data:
/// the caller, as [`Subscriber`].
async fn initialise(
    accounts: Arc<Accounts>,
    mut subscriber: Subscriber,
    signed_in: Arc<Mutex<SignedIn>>,
    payload: Value,
) -> async_graphql::Result<Data> {
    let token = token_of(&payload);
    let refuse = |reason: String| {
        if let Ok(mut signed_in) = signed_in.lock() {
            signed_in.refused = Some(reason.clone());
        }
        Err(async_graphql::Error::new(reason))
    };
    let principal = match &token {
        Err(reason) => return refuse((*reason).to_owned()),
        Ok(None) => Principal::ANONYMOUS,
        Ok(Some(token)) => match accounts.authenticate(token).await {
            Ok(principal) => principal,
            Err(BearerError::Invalid(_)) => {
                return refuse("the access token is invalid or expired; refresh the session or sign in again".into());
            }
            Err(BearerError::Unchecked(_)) => {
                return refuse("the database is unreachable, so the token could not be checked; retry".into());
            }
        },
    };
    if let Ok(mut signed_in) = signed_in.lock() {
        signed_in.caller = Some((principal, token.ok().flatten()));
    }
    subscriber.principal = principal;
    let mut data = Data::default();
    data.insert(subscriber);
    Ok(data)
}

/// The access token a `connection_init` payload carries: `Authorization` (any case) as
/// `Bearer <token>`, or `token`. `Ok(None)`: none, an anonymous connection.
fn token_of(payload: &Value) -> Result<Option<String>, &'static str> {
    let Some(fields) = payload.as_object() else { return Ok(None) };
    let authorization =
        fields.iter().find(|(key, _)| key.eq_ignore_ascii_case("authorization")).map(|(_, value)| value);
    if let Some(value) = authorization {
        let token = value
            .as_str()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty());
        return match token {
            Some(token) => Ok(Some(token.to_owned())),
            None => Err("send the access token as `Authorization: Bearer <token>` in connection_init's payload"),
        };
    }
    match fields.get("token") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(token)) if !token.is_empty() => Ok(Some(token.clone())),
        Some(_) => Err("`token` in connection_init's payload must be the access token"),
    }
}

/// Sends `text`; `false` when the client is gone or too slow to take it.
async fn send(sink: &mut futures::stream::SplitSink<WebSocket, Message>, text: String) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(Utf8Bytes::from(text)))).await, Ok(Ok(())))
}

/// What a signed-in connection watches to know when it must close.
#[derive(Default)]
struct Watch {
    caller: Option<(Principal, String)>,
    session: Option<uuid::Uuid>,
    expires: Option<Instant>,
    feed: Option<broadcast::Receiver<Arc<Change>>>,
    recheck_every: Duration,
    next_check: Option<Instant>,
}

impl Watch {
    fn start(
        &mut self,
        accounts: &Accounts,
        principal: Principal,
        token: String,
        recheck_every: Duration,
        feed: &Feed,
    ) {
        let now_secs = chrono::Utc::now().timestamp().unsigned_abs();
        if let Some((expires, session)) = accounts.token_bounds(&token) {
            self.expires = Some(Instant::now() + Duration::from_secs(expires.saturating_sub(now_secs)));
            self.session = session;
        }
        self.recheck_every = recheck_every.max(Duration::from_secs(1));
        self.next_check = Some(Instant::now() + self.recheck_every);
        self.caller = Some((principal, token));
        self.feed = Some(feed.subscribe());
    }

    fn checked(&mut self) {
        self.next_check = Some(Instant::now() + self.recheck_every);
    }

    /// The next change on the feed (`Everything` when some were missed), or `None` when it is
    /// time for the periodic recheck.
    async fn change(&mut self) -> Option<Arc<Change>> {
        let next_check = self.next_check.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let feed = self.feed.as_mut()?;
        tokio::select! {
            received = feed.recv() => match received {
                Ok(change) => Some(change),
                Err(_) => Some(Arc::new(Change::Everything)),
            },
            () = tokio::time::sleep_until(next_check) => None,
        }
    }
}

/// The schema, running subscriptions only: a query or a mutation sent over the socket is refused
/// (it belongs on HTTP, where the request's limits, caching and logging apply). Every error of
/// an event gets its code, as on HTTP.
#[derive(Clone)]
struct SubscriptionsOnly(CareerGraphSchema);

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        Response::from_errors(vec![only_subscriptions()])
    }

    fn execute_stream(&self, mut request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let name = request.operation_name.clone();
        let is_subscription = match request.parsed_query() {
            Ok(document) => chosen_operation(document, name.as_deref())
                .is_none_or(|(_, operation)| operation.node.ty == OperationType::Subscription),
            // The schema reports what does not parse.
            Err(_) => true,
        };
        if !is_subscription {
            return futures::stream::once(async { Response::from_errors(vec![only_subscriptions()]) }).boxed();
        }
        let id = uuid::Uuid::now_v7().to_string();
        Executor::execute_stream(&self.0, request, session_data)
            .map(move |mut response| {
                classify_errors(&mut response, &id);
                response
            })
            .boxed()
    }
}

fn only_subscriptions() -> async_graphql::ServerError {
    request_refused(Code::BadUserInput, "Only subscriptions run over WebSocket; send queries and mutations over HTTP")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_authorization_or_token() {
        assert_eq!(token_of(&json!({ "Authorization": "Bearer abc" })), Ok(Some("abc".into())));
        assert_eq!(token_of(&json!({ "authorization": "bearer abc" })), Ok(Some("abc".into())));
        assert_eq!(token_of(&json!({ "token": "abc" })), Ok(Some("abc".into())));
        assert_eq!(token_of(&json!({})), Ok(None));
        assert_eq!(token_of(&Value::Null), Ok(None));
        assert!(token_of(&json!({ "Authorization": "abc" })).is_err());
        assert!(token_of(&json!({ "token": 7 })).is_err());
    }
}
