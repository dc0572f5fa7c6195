//! Persisted queries: Apollo's Automatic Persisted Queries over POST and GET, and the safelist
//! mode that runs only the operations of a client build's manifest.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, first_error_code, spawn_app_with};
use crate::on_both_backends;

const TITLE_QUERY: &str = "query Title { careerPath(slug: \"backend-developer\") { title } }";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn apq_extension(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn get_graphql(app: &TestApp, params: &[(&str, String)]) -> (StatusCode, Value) {
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "application/graphql-response+json")
        .query(params)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

/// Starts a server whose safelist is `manifest`, written to a file as a client build would.
async fn spawn_with_safelist(backend: crate::helpers::Backend, manifest: Value) -> (TestApp, tempfile::TempDir) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("persisted-documents.json");
    std::fs::write(&path, manifest.to_string()).expect("the manifest is written");
    let app = spawn_app_with(backend, |config| config.safelist = Some(path)).await;
    (app, directory)
}

on_both_backends! {
    async fn an_apq_miss_then_registration_then_hit_over_post_and_get(backend: Backend) {
        let app = spawn_app_with(backend, |_| {}).await;
        let hash = sha256_hex(TITLE_QUERY);
        let (_, miss) = app.post_json(json!({ "extensions": apq_extension(&hash) })).await;
        assert_eq!(first_error_code(&miss), "PERSISTED_QUERY_NOT_FOUND", "{miss}");
        assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound", "the message Apollo's clients look for");

        let (status, registered) =
            app.post_json(json!({ "query": TITLE_QUERY, "extensions": apq_extension(&hash) })).await;
        assert_eq!(status, StatusCode::OK, "{registered}");
        assert_eq!(registered["data"]["careerPath"]["title"], "Backend Developer");

        let (_, hit) = app.post_json(json!({ "extensions": apq_extension(&hash.to_uppercase()) })).await;
        assert_eq!(hit["data"]["careerPath"]["title"], "Backend Developer", "{hit}");
        let (status, over_get) = get_graphql(&app, &[("extensions", apq_extension(&hash).to_string())]).await;
        assert_eq!(status, StatusCode::OK, "{over_get}");
        assert_eq!(over_get["data"]["careerPath"]["title"], "Backend Developer");
    }

    async fn an_apq_hash_that_is_not_the_query_s_is_refused_and_nothing_is_cached(backend: Backend) {
        let app = spawn_app_with(backend, |_| {}).await;
        let wrong = sha256_hex("{ __typename }");
        let (_, mismatch) = app.post_json(json!({ "query": TITLE_QUERY, "extensions": apq_extension(&wrong) })).await;
        assert_eq!(first_error_code(&mismatch), "BAD_USER_INPUT", "{mismatch}");
        assert!(mismatch.get("data").is_none_or(Value::is_null), "the query did not run: {mismatch}");
        let (_, still_missing) = app.post_json(json!({ "extensions": apq_extension(&wrong) })).await;
        assert_eq!(first_error_code(&still_missing), "PERSISTED_QUERY_NOT_FOUND", "a mismatch registers nothing");

        let (status, malformed) =
            app.post_json(json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "xyz" } } })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(first_error_code(&malformed), "BAD_USER_INPUT", "{malformed}");
    }

    async fn a_mutation_persisted_by_hash_still_cannot_run_over_get(backend: Backend) {
        let app = spawn_app_with(backend, |_| {}).await;
        // A mutation that validates (only such documents are kept); its refresh token is not one.
        let mutation = "mutation { refreshSession(input: { refreshToken: \"x\" }) { accessToken } }";
        let hash = sha256_hex(mutation);
        let (_, ran) = app.post_json(json!({ "query": mutation, "extensions": apq_extension(&hash) })).await;
        assert_eq!(ran["errors"][0]["path"][0], "refreshSession", "it ran: {ran}");
        let (status, body) = get_graphql(&app, &[("extensions", apq_extension(&hash).to_string())]).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    }

    async fn a_safelist_from_graphql_codegen_runs_listed_operations_only(backend: Backend) {
        let hash = sha256_hex(TITLE_QUERY);
        let (app, _manifest) = spawn_with_safelist(backend, json!({ hash.clone(): TITLE_QUERY })).await;
        let (_, by_document_id) = app.post_json(json!({ "documentId": hash })).await;
        assert_eq!(by_document_id["data"]["careerPath"]["title"], "Backend Developer", "{by_document_id}");
        let (_, by_apq_hash) = app.post_json(json!({ "extensions": apq_extension(&hash) })).await;
        assert_eq!(by_apq_hash["data"]["careerPath"]["title"], "Backend Developer", "{by_apq_hash}");
        let (_, by_text) = app.post_json(json!({ "query": TITLE_QUERY })).await;
        assert_eq!(by_text["data"]["careerPath"]["title"], "Backend Developer", "{by_text}");

        let (status, other_text) = app.post_json(json!({ "query": "{ careerPaths(first: 1) { totalCount } }" })).await;
        assert_eq!(status, StatusCode::OK, "application/json answers 200 as for any request error");
        assert_eq!(first_error_code(&other_text), "QUERY_NOT_IN_SAFELIST", "{other_text}");
        let introspection = app.graphql("{ __schema { queryType { name } } }", json!({})).await;
        assert_eq!(first_error_code(&introspection), "QUERY_NOT_IN_SAFELIST");
        let (_, unknown_id) = app.post_json(json!({ "documentId": sha256_hex("{ __typename }") })).await;
        assert_eq!(first_error_code(&unknown_id), "PERSISTED_QUERY_NOT_IN_LIST", "{unknown_id}");
        let (_, no_learning) = app.post_json(json!({
            "query": "{ __typename }", "extensions": apq_extension(&sha256_hex("{ __typename }"))
        })).await;
        assert_eq!(first_error_code(&no_learning), "QUERY_NOT_IN_SAFELIST", "APQ cannot add to a safelist");

        let (status, batch) = app.post_json(json!([{ "documentId": hash }, { "query": "{ __typename }" }])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(batch[0]["data"]["careerPath"]["title"], "Backend Developer", "{batch}");
        assert_eq!(first_error_code(&batch[1]), "QUERY_NOT_IN_SAFELIST", "{batch}");
    }

    async fn a_safelist_in_apollo_s_manifest_format_runs_by_id(backend: Backend) {
        let manifest = json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": "title-v1", "name": "Title", "type": "query", "body": TITLE_QUERY }]
        });
        let (app, _manifest) = spawn_with_safelist(backend, manifest).await;
        let (_, by_id) = app.post_json(json!({ "documentId": "title-v1" })).await;
        assert_eq!(by_id["data"]["careerPath"]["title"], "Backend Developer", "{by_id}");
        let (status, refused) = get_graphql(&app, &[("query", "{ __typename }".to_owned())]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "graphql-response+json: a request error is a 400");
        assert_eq!(first_error_code(&refused), "QUERY_NOT_IN_SAFELIST");
    }
}

#[tokio::test]
async fn a_server_refuses_to_start_with_a_manifest_it_cannot_read() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("manifest.json");
    std::fs::write(&path, "[\"query A { a }\"]").expect("written");
    let mut config = careergraph_gateway::Config::new(
        std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
        None,
        directory.path().join("data"),
    );
    config.safelist = Some(path);
    let error = careergraph_gateway::Application::build(config).await.err().expect("the server does not start");
    assert!(format!("{error:#}").contains("neither graphql-codegen"), "{error:#}");
}
