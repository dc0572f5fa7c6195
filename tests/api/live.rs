//! Live: the response cache of anonymous answers, kept exactly as fresh as the change feed allows,
//! and subscriptions over WebSocket (graphql-transport-ws), with the protocol's codes for
//! whatever breaks it.

use std::time::Duration;

use careergraph_auth::Role;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::{Backend, PASSWORD, TestApp, spawn_app_with};
use crate::metrics::{scrape, value};
use crate::on_both_backends;

const TITLES: &str = "{ careerPaths(first: 5) { edges { node { title } } } }";
const TECHNOLOGY_NAMES: &str = "{ technologies(first: 3) { edges { node { id name version } } } }";

async fn app_with_metrics(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"))).await
}

async fn cache_counts(app: &TestApp) -> (f64, f64) {
    let scrape = scrape(app).await;
    (
        value(&scrape, "careergraph_response_cache_hits_total", &[]),
        value(&scrape, "careergraph_response_cache_misses_total", &[]),
    )
}

/// A signed-in user with `role`: their access and refresh tokens.
async fn session_for(app: &TestApp, email: &str, role: Role) -> (String, String) {
    app.token_for(email, role).await;
    let login = "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken } }";
    let data = app.query_ok(login, json!({ "e": email, "p": PASSWORD })).await;
    let text = |field: &str| data["login"][field].as_str().expect("a token").to_owned();
    (text("accessToken"), text("refreshToken"))
}

on_both_backends! {
    async fn an_anonymous_answer_is_served_from_memory_until_an_edit_that_touches_it(backend: Backend) {
        let app = app_with_metrics(backend).await;
        let first = app.query_ok(TITLES, json!({})).await;
        let statements = app.statement_count();
        assert_eq!(app.query_ok(TITLES, json!({})).await, first);
        assert_eq!(app.statement_count(), statements, "the second answer reads nothing");
        assert_eq!(cache_counts(&app).await, (1.0, 1.0));

        // GET and an automatic persisted query share the entry.
        let get = app.client.get(format!("{}/graphql", app.address)).query(&[("query", TITLES)]).send().await.expect("GET");
        assert_eq!(get.json::<Value>().await.expect("JSON")["data"], first);
        let hash = {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(TITLES.as_bytes()))
        };
        let apq = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });
        let (_, body) = app.post_json(apq.clone()).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{body}");
        // Registered by a request that carries the text too, though its answer comes from memory.
        let mut register = apq.clone();
        register["query"] = json!(TITLES);
        let (_, body) = app.post_json(register).await;
        assert_eq!(body["data"], first, "{body}");
        let (_, body) = app.post_json(apq).await;
        assert_eq!(body["data"], first, "{body}");
        assert_eq!(app.statement_count(), statements, "neither reads anything");
        // The hash alone, unknown, looked nothing up.
        assert_eq!(cache_counts(&app).await, (4.0, 1.0));

        // A change of another kind leaves the answer in place; one of its kind replaces it at
        // once, before the editor's mutation is even answered.
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let technology = &app.query_ok(TECHNOLOGY_NAMES, json!({})).await["technologies"]["edges"][0]["node"];
        let rename = "mutation ($id: ID!, $v: Int!) { updateTechnology(input: { id: $id, expectedVersion: $v, name: \"AAA Renamed Tech\" }) { technology { name } } }";
        let body = app.as_user(&editor, rename, json!({ "id": technology["id"], "v": technology["version"] })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let statements = app.statement_count();
        app.query_ok(TITLES, json!({})).await;
        assert_eq!(app.statement_count(), statements, "a technology's rename does not touch path titles");
        assert_eq!(app.query_ok(TECHNOLOGY_NAMES, json!({})).await["technologies"]["edges"][0]["node"]["name"], "AAA Renamed Tech");

        let path = "{ careerPath(slug: \"backend-developer\") { id version title } }";
        let before = app.query_ok(path, json!({})).await["careerPath"].clone();
        let retitle = "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Server Engineer\" }) { careerPath { title } } }";
        let body = app.as_user(&editor, retitle, json!({ "id": before["id"], "v": before["version"] })).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(app.query_ok(path, json!({})).await["careerPath"]["title"], "Server Engineer");
        let titles = app.query_ok(TITLES, json!({})).await.to_string();
        assert!(titles.contains("Server Engineer") && !titles.contains("\"Backend Developer\""), "{titles}");

        let evicted = value(&scrape(&app).await, "careergraph_response_cache_evictions_total", &[("cause", "change")]);
        assert!(evicted >= 2.0, "the technologies and the path answers were let go, and counted: {evicted}");
        assert!(value(&scrape(&app).await, "careergraph_response_cache_bytes", &[]) > 0.0);
    }

    async fn errors_signed_in_callers_and_mutations_are_never_served_from_memory(backend: Backend) {
        let app = app_with_metrics(backend).await;
        let failing = "{ careerPath(slug: \"backend-developer\") { title internalNotes } }";
        for _ in 0..2 {
            let body = app.graphql(failing, json!({})).await;
            assert!(body.get("errors").is_some(), "{body}");
        }
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        for _ in 0..2 {
            let body = app.as_user(&editor, TITLES, json!({})).await;
            assert!(body.get("errors").is_none(), "{body}");
        }
        // Two misses for the failing query, nothing looked up for the signed-in one.
        assert_eq!(cache_counts(&app).await, (0.0, 2.0));
    }

    async fn with_no_memory_for_it_the_cache_is_off(backend: Backend) {
        let app = spawn_app_with(backend, |config| {
            config.response_cache_mib = 0;
            config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
        })
        .await;
        app.query_ok(TITLES, json!({})).await;
        let statements = app.statement_count();
        app.query_ok(TITLES, json!({})).await;
        assert!(app.statement_count() > statements, "every answer reads the database");
        assert_eq!(cache_counts(&app).await, (0.0, 0.0));
    }
}

/// A graphql-transport-ws connection.
struct Socket(tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>);

impl Socket {
    /// Opens a connection, not yet initialised.
    async fn open(app: &TestApp) -> Self {
        Self::open_with(app, "graphql-transport-ws").await.expect("the upgrade succeeds")
    }

    async fn open_with(app: &TestApp, protocol: &str) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let url = format!("{}/graphql", app.address.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("a request");
        request.headers_mut().insert("sec-websocket-protocol", protocol.parse().expect("a header"));
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self(stream))
    }

    /// Opens and initialises a connection with `payload`, expecting the acknowledgement.
    async fn initialised(app: &TestApp, payload: Value) -> Self {
        let mut socket = Self::open(app).await;
        socket.send(json!({ "type": "connection_init", "payload": payload })).await;
        assert_eq!(socket.next().await["type"], "connection_ack");
        socket
    }

    async fn send(&mut self, message: Value) {
        self.0.send(Message::text(message.to_string())).await.expect("sent");
    }

    async fn send_text(&mut self, text: &str) {
        self.0.send(Message::text(text)).await.expect("sent");
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } })).await;
    }

    /// The next message, within ten seconds; panics on a close or a timeout.
    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.0.next())
                .await
                .expect("a message within ten seconds")
                .expect("the connection is open")
                .expect("a message");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// The next event of subscription `id` whose payload satisfies `wanted` (others, such as
    /// changes other tests make on this process's feed, are skipped).
    async fn event(&mut self, id: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self.next().await;
            if message["id"] == id && message["type"] == "next" && wanted(&message["payload"]) {
                return message["payload"].clone();
            }
        }
    }

    /// The close code the server ends the connection with, within ten seconds.
    async fn closed(&mut self) -> (u16, String) {
        loop {
            let message =
                tokio::time::timeout(Duration::from_secs(10), self.0.next()).await.expect("closed within ten seconds");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
                Some(Ok(Message::Close(None))) => return (u16::from(CloseCode::Status), String::new()),
                Some(Ok(_)) => {}
                Some(Err(error)) => panic!("closed without a frame: {error}"),
                None => panic!("closed without a frame"),
            }
        }
    }
}

on_both_backends! {
    async fn an_editor_follows_changes_and_anyone_follows_publications(app) {
        let (editor, _) = session_for(&app, "editor@example.com", Role::Editor).await;
        let mut editors = Socket::initialised(&app, json!({ "Authorization": format!("Bearer {editor}") })).await;
        editors.subscribe("paths", "subscription { contentChanged(entity: CAREER_PATH) { kind entity entityId action version actorId fields } }").await;
        let mut anyone = Socket::initialised(&app, json!({})).await;
        anyone.subscribe("published", "subscription { careerPathPublished { kind careerPathId slug title publishedAt } }").await;
        // Subscriptions start as their `subscribe` is read: a query on HTTP afterwards orders
        // them before the edit.
        tokio::time::sleep(Duration::from_millis(200)).await;

        let create = r#"mutation { createCareerPath(input: { slug: "live-engineer", title: "Live Engineer", summary: "s.", description: "d.", outlook: { demand: "HIGH", summary: "w." } }) { careerPath { id version } } }"#;
        let body = app.as_user(&editor, create, json!({})).await;
        let id = body["data"]["createCareerPath"]["careerPath"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
        let created = editors.event("paths", |payload| payload["data"]["contentChanged"]["entityId"] == id.as_str()).await;
        let event = &created["data"]["contentChanged"];
        assert_eq!(event["kind"], "CHANGED");
        assert_eq!(event["entity"], "CAREER_PATH");
        assert_eq!(event["action"], "create");
        assert_eq!(event["version"], 1);
        assert!(event["actorId"].is_string(), "{event}");

        let publish = "mutation ($id: ID!) { publishCareerPath(input: { id: $id, expectedVersion: 1 }) { careerPath { version } } }";
        let body = app.as_user(&editor, publish, json!({ "id": id })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let published = editors.event("paths", |payload| payload["data"]["contentChanged"]["entityId"] == id.as_str()).await;
        assert_eq!(published["data"]["contentChanged"]["action"], "publish");
        assert_eq!(published["data"]["contentChanged"]["version"], 2);
        let fields = published["data"]["contentChanged"]["fields"].as_array().expect("fields").clone();
        assert_eq!(fields, [json!("publishedAt"), json!("status")]);

        let news = anyone.event("published", |payload| payload["data"]["careerPathPublished"]["careerPathId"] == id.as_str()).await;
        assert_eq!(news["data"]["careerPathPublished"]["slug"], "live-engineer");
        assert_eq!(news["data"]["careerPathPublished"]["title"], "Live Engineer");
        assert!(news["data"]["careerPathPublished"]["publishedAt"].is_string(), "{news}");

        // Completing a subscription stops it; the connection goes on.
        editors.send(json!({ "id": "paths", "type": "complete" })).await;
        editors.send(json!({ "type": "ping" })).await;
        loop {
            let message = editors.next().await;
            if message["type"] == "pong" {
                break;
            }
            assert_ne!(message["id"], "paths", "nothing more for a completed subscription: {message}");
        }
    }

    async fn the_protocol_is_held_and_every_breach_gets_its_code(app) {
        // Not JSON, and a type the protocol does not have: 4400.
        let mut socket = Socket::initialised(&app, json!({})).await;
        socket.send_text("{not json").await;
        assert_eq!(socket.closed().await.0, 4400);
        let mut socket = Socket::initialised(&app, json!({})).await;
        socket.send(json!({ "type": "shout" })).await;
        assert_eq!(socket.closed().await.0, 4400);

        // A subscription before the acknowledgement: 4401.
        let mut socket = Socket::open(&app).await;
        socket.subscribe("1", "subscription { careerPathPublished { kind } }").await;
        assert_eq!(socket.closed().await.0, 4401);

        // An id already in use: 4409.
        let mut socket = Socket::initialised(&app, json!({})).await;
        socket.subscribe("same", "subscription { careerPathPublished { kind } }").await;
        socket.subscribe("same", "subscription { careerPathPublished { kind } }").await;
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 4409, "{reason}");

        // A token that does not verify: 4403. A second connection_init: 4429.
        let mut socket = Socket::open(&app).await;
        socket.send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nonsense" } })).await;
        assert_eq!(socket.closed().await.0, 4403);
        let mut socket = Socket::initialised(&app, json!({})).await;
        socket.send(json!({ "type": "connection_init" })).await;
        assert_eq!(socket.closed().await.0, 4429);

        // No subprotocol agreed: 4406.
        let url = format!("{}/graphql", app.address.replacen("http://", "ws://", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("upgraded");
        assert_eq!(Socket(stream).closed().await.0, 4406);

        // Operation errors end that operation only, with the protocol's `error` message and a code.
        let mut socket = Socket::initialised(&app, json!({})).await;
        for (id, query, code) in [
            ("unknown", "subscription { somethingElse { kind } }", "BAD_USER_INPUT"),
            ("anonymous", "subscription { contentChanged { kind } }", "UNAUTHENTICATED"),
            ("query", "{ careerPaths(first: 1) { totalCount } }", "BAD_USER_INPUT"),
            ("mutation", "mutation { logout(input: { refreshToken: \"x\" }) { loggedOut } }", "BAD_USER_INPUT"),
        ] {
            socket.subscribe(id, query).await;
            let message = socket.next().await;
            assert_eq!((message["id"].as_str(), message["type"].as_str()), (Some(id), Some("error")), "{message}");
            assert_eq!(message["payload"][0]["extensions"]["code"], code, "{id}: {message}");
        }
        // A viewer is signed in, and still not an editor.
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let mut socket = Socket::initialised(&app, json!({ "token": viewer })).await;
        socket.subscribe("viewer", "subscription { contentChanged { kind } }").await;
        let message = socket.next().await;
        assert_eq!(message["type"], "error", "{message}");
        assert_eq!(message["payload"][0]["extensions"]["code"], "FORBIDDEN");

        // A flood of subscriptions: past the connection's limit each gets an error; the ones
        // admitted keep working, and so does the server.
        let mut socket = Socket::initialised(&app, json!({})).await;
        for index in 0..40 {
            socket.subscribe(&format!("s{index}"), "subscription { careerPathPublished { kind } }").await;
        }
        let mut refused = 0;
        while refused < 8 {
            let message = socket.next().await;
            if message["type"] == "next" {
                // An admitted subscription's event (another test's publication, say).
                continue;
            }
            assert_eq!(message["type"], "error", "{message}");
            assert_eq!(message["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
            refused += 1;
        }
        socket.send(json!({ "type": "ping" })).await;
        while socket.next().await["type"] != "pong" {}
        app.query_ok("{ careerPaths(first: 1) { totalCount } }", json!({})).await;
    }

    async fn a_connection_ends_with_its_session_or_its_users_role(app) {
        let (editor, refresh) = session_for(&app, "editor@example.com", Role::Editor).await;
        let mut socket = Socket::initialised(&app, json!({ "Authorization": format!("Bearer {editor}") })).await;
        socket.subscribe("changes", "subscription { contentChanged { kind } }").await;
        let logout = "mutation ($t: String!) { logout(input: { refreshToken: $t }) { loggedOut } }";
        let body = app.graphql(logout, json!({ "t": refresh })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 4403, "{reason}");

        let (other, _) = session_for(&app, "other@example.com", Role::Editor).await;
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let mut socket = Socket::initialised(&app, json!({ "Authorization": format!("Bearer {other}") })).await;
        socket.subscribe("changes", "subscription { contentChanged { kind } }").await;
        let me = app.as_user(&other, "{ me { id } }", json!({})).await;
        let demote = "mutation ($id: ID!) { setUserRole(input: { userId: $id, role: VIEWER }) { user { role } } }";
        let body = app.as_user(&admin, demote, json!({ "id": me["data"]["me"]["id"] })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 4403, "{reason}");
    }

    async fn connections_subscriptions_and_events_are_counted(backend: Backend) {
        let app = app_with_metrics(backend).await;
        let (editor, _) = session_for(&app, "editor@example.com", Role::Editor).await;
        let mut socket = Socket::initialised(&app, json!({ "token": editor })).await;
        socket.subscribe("mine", "subscription { contentChanged(entity: CAREER_PATH) { entityId } }").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let create = r#"mutation { createCareerPath(input: { slug: "counted", title: "Counted", summary: "s.", description: "d.", outlook: { demand: "LOW", summary: "w." } }) { careerPath { id } } }"#;
        let body = app.as_user(&editor, create, json!({})).await;
        let id = body["data"]["createCareerPath"]["careerPath"]["id"].clone();
        socket.event("mine", |payload| payload["data"]["contentChanged"]["entityId"] == id).await;
        let counted = scrape(&app).await;
        assert_eq!(value(&counted, "careergraph_websocket_connections", &[]), 1.0);
        assert_eq!(value(&counted, "careergraph_subscriptions", &[]), 1.0);
        assert!(value(&counted, "careergraph_subscription_events_total", &[]) >= 1.0);
        drop(socket);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while value(&scrape(&app).await, "careergraph_websocket_connections", &[]) > 0.0 {
            assert!(std::time::Instant::now() < deadline, "a closed connection is no longer counted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(value(&scrape(&app).await, "careergraph_subscriptions", &[]), 0.0);
    }

    async fn connections_per_address_are_bounded(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.websocket_connections_per_client = 2).await;
        let _one = Socket::initialised(&app, json!({})).await;
        let _two = Socket::initialised(&app, json!({})).await;
        let third = Socket::open_with(&app, "graphql-transport-ws").await;
        match third {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
            Err(error) => panic!("refused with 429, not {error}"),
            Ok(_) => panic!("a third connection from one address is refused"),
        }
    }

    async fn origins_are_checked_as_for_http(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.cors_origins = vec!["https://app.example.com".into()]).await;
        let url = format!("{}/graphql", app.address.replacen("http://", "ws://", 1));
        for (origin, allowed) in [("https://app.example.com", true), ("https://evil.example.com", false)] {
            let mut request = url.clone().into_client_request().expect("a request");
            request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("a header"));
            request.headers_mut().insert("origin", origin.parse().expect("a header"));
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => assert!(allowed, "{origin} may not connect"),
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert!(!allowed, "{origin} may connect");
                    assert_eq!(response.status(), 403);
                }
                Err(error) => panic!("{error}"),
            }
        }
    }
}
