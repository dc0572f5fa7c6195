//! Traces leave the process: with `CAREERGRAPH_OTLP_ENDPOINT` set, one request's spans reach an
//! OTLP/HTTP collector (here a listener of the test's own that decodes what it receives), in the
//! trace the caller's `traceparent` names, each under its parent, and carrying names only.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use common::{careergraph_with_stdin, graphql, spawn_server, stderr};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

/// One exported span, as the collector received it.
#[derive(Debug)]
struct Received {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    kind: i32,
    attributes: HashMap<String, String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn spans_of(exports: &[Bytes]) -> Vec<Received> {
    let mut spans = Vec::new();
    for export in exports {
        let request = ExportTraceServiceRequest::decode(export.as_ref()).expect("an OTLP/HTTP protobuf export");
        for scope in request.resource_spans.iter().flat_map(|resource| &resource.scope_spans) {
            for span in &scope.spans {
                let attributes = span
                    .attributes
                    .iter()
                    .map(|attribute| {
                        let value = match attribute.value.as_ref().and_then(|value| value.value.as_ref()) {
                            Some(any_value::Value::StringValue(text)) => text.clone(),
                            other => format!("{other:?}"),
                        };
                        (attribute.key.clone(), value)
                    })
                    .collect();
                spans.push(Received {
                    name: span.name.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: span.kind,
                    attributes,
                });
            }
        }
    }
    spans
}

#[tokio::test]
async fn one_requests_spans_reach_the_collector_under_the_callers_trace_with_names_only() {
    let exports: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let collector = axum::Router::new()
        .route(
            "/v1/traces",
            post(|State(exports): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes| async move {
                exports.lock().expect("the exports").push(body);
            }),
        )
        .with_state(exports.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the collector");
    let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let dir = tempfile::tempdir().expect("temp dir");
    let password = "violet staircase 42";
    let added = careergraph_with_stdin(
        &["user", "add", "--email", "ada@example.com", "--role", "viewer", "--password-stdin"],
        dir.path(),
        &format!("{password}\n"),
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let env = [("CAREERGRAPH_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let (mut server, base) = spawn_server(dir.path(), &env, std::process::Stdio::null()).await;
    let login = format!(
        "mutation {{ login(input: {{ email: \"ada@example.com\", password: \"{password}\" }}) {{ accessToken }} }}"
    );
    let (_, body) = graphql(&base, None, &login, serde_json::json!({})).await;
    let token = body["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("no token: {body}")).to_owned();

    let slug = "backend-developer";
    let query = "query PathWithSkills($slug: String!) { careerPath(slug: $slug) { title skills { skill { name } } } }";
    let response = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01"))
        .json(&serde_json::json!({ "query": query, "variables": { "slug": slug }, "operationName": "PathWithSkills" }))
        .send()
        .await
        .expect("an answer");
    let answer: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(answer["data"]["careerPath"]["title"], "Backend Developer", "{answer}");

    // Stopping flushes what the exporter still holds.
    server.terminate();
    assert!(server.exited_within(std::time::Duration::from_secs(20)).await.is_some_and(|status| status.success()));
    let exports = exports.lock().expect("the exports").clone();
    let spans = spans_of(&exports);
    let in_trace: Vec<&Received> = spans.iter().filter(|span| span.trace_id == TRACE_ID).collect();
    let named = |name: &str| {
        in_trace
            .iter()
            .copied()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("no span {name}: {in_trace:#?}"))
    };

    let request = named("POST /graphql");
    assert_eq!(request.parent_span_id, CALLER_SPAN_ID, "the request continues the caller's span");
    assert_eq!(request.kind, SpanKind::Server as i32);
    let operation = named("query PathWithSkills");
    assert_eq!(operation.parent_span_id, request.span_id, "the operation is inside the request");
    assert_eq!(operation.attributes.get("graphql.operation.name").map(String::as_str), Some("PathWithSkills"));
    let field = named("Query.careerPath");
    assert_eq!(field.parent_span_id, operation.span_id, "the root field is inside the operation");
    let statements: Vec<&&Received> = in_trace.iter().filter(|span| span.name == "SELECT").collect();
    assert!(!statements.is_empty(), "no statement spans: {in_trace:#?}");
    for statement in &statements {
        assert_eq!(statement.kind, SpanKind::Client as i32);
        assert!(
            // The caller's account is read by the request itself, before any operation runs.
            [&field.span_id, &operation.span_id, &request.span_id].contains(&&statement.parent_span_id),
            "a statement outside the request: {statement:#?}"
        );
        let text = statement.attributes.get("db.query.text").map(String::as_str).unwrap_or_default();
        assert!(text.starts_with("SELECT"), "{statement:#?}");
    }
    assert!(
        statements.iter().any(|statement| statement.parent_span_id == field.span_id),
        "the lookup is under its field"
    );

    // Names only: what the client sent as variables, its token and its password are nowhere.
    for export in &exports {
        for secret in [slug, token.as_str(), password] {
            assert!(!export.windows(secret.len()).any(|window| window == secret.as_bytes()), "{secret} was exported");
        }
    }
}
