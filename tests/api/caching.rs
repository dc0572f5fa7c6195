//! Public reads a CDN may keep: an anonymous GET query without errors is `public` with an `ETag`
//! and answers 304 to a matching `If-None-Match`; everything else is `private, no-store`.

use careergraph_auth::Role;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, ETAG, HeaderMap, IF_NONE_MATCH, VARY};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::on_both_backends;

const TITLES: &str = "{ careerPaths(first: 5) { edges { node { title } } } }";

/// GETs `query` with `headers`; returns the status, the response headers and the body text.
async fn get(app: &TestApp, params: &[(&str, &str)], headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
    let mut request = app.client.get(format!("{}/graphql", app.address)).query(params);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the server answers");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.expect("a body"))
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> &str {
    headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("")
}

/// Every value of `Vary`, split into names.
fn varies_by(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect()
}

fn assert_private(headers: &HeaderMap, what: &str) {
    assert_eq!(header(headers, CACHE_CONTROL), "private, no-store", "{what}");
    assert!(headers.get(ETAG).is_none(), "{what}: no validator for what may not be stored");
    let vary = varies_by(headers);
    assert!(vary.contains(&"authorization".into()) && vary.contains(&"accept".into()), "{what}: Vary {vary:?}");
}

on_both_backends! {
    async fn an_anonymous_get_query_is_public_with_an_etag_and_a_304(app) {
        let (status, headers, body) = get(&app, &[("query", TITLES)], &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Backend Developer"), "{body}");
        assert_eq!(header(&headers, CACHE_CONTROL), "public, max-age=60");
        let vary = varies_by(&headers);
        assert!(vary.contains(&"authorization".into()) && vary.contains(&"accept".into()), "Vary {vary:?}");
        let etag = header(&headers, ETAG).to_owned();
        assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "a weak validator: {etag}");

        // The same query again: the same validator, and a client that has the answer gets 304.
        let (_, again, _) = get(&app, &[("query", TITLES)], &[]).await;
        assert_eq!(header(&again, ETAG), etag, "the same answer, the same ETag");
        let (status, revalidated, body) = get(&app, &[("query", TITLES)], &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty(), "a 304 has no body: {body}");
        assert_eq!(header(&revalidated, ETAG), etag);
        assert_eq!(header(&revalidated, CACHE_CONTROL), "public, max-age=60");
        let listed = format!("\"stale\", {}", etag.trim_start_matches("W/"));
        let (status, _, _) = get(&app, &[("query", TITLES)], &[(IF_NONE_MATCH.as_str(), &listed)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "weak comparison, and a list of tags");

        // Another answer has another validator; a stale one gets the whole answer.
        let (_, other, _) = get(&app, &[("query", "{ careerPaths(first: 5) { edges { node { slug } } } }")], &[]).await;
        assert_ne!(header(&other, ETAG), etag);
        let (status, _, body) = get(&app, &[("query", TITLES)], &[("if-none-match", "W/\"stale\"")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Backend Developer"));
    }

    async fn a_persisted_get_query_is_public(app) {
        let query = "query Titles { careerPaths(first: 3) { edges { node { title } } } }";
        let hash: String = Sha256::digest(query.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
        let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
        let (_, registered) = app.post_json(json!({ "query": query, "extensions": extensions.parse::<Value>().ok() })).await;
        assert!(registered.get("errors").is_none(), "{registered}");
        let (status, headers, body) = get(&app, &[("extensions", &extensions)], &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(header(&headers, CACHE_CONTROL), "public, max-age=60");
        assert!(headers.get(ETAG).is_some());
    }

    async fn answers_for_a_token_with_errors_or_over_post_are_private(app) {
        // A public query, sent with a token: an editor sees drafts, so no answer to a token is shared.
        let token = app.token_for("editor@example.com", Role::Editor).await;
        let bearer = format!("Bearer {token}");
        let (status, headers, body) = get(&app, &[("query", TITLES)], &[("authorization", &bearer)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_private(&headers, "an answer to a token");
        let (_, headers, _) = get(&app, &[("query", TITLES)], &[("authorization", "Bearer not-a-token")]).await;
        assert_private(&headers, "a refused token");

        // A field anonymous callers may not read: the answer carries an error.
        let drafts = "{ careerPath(slug: \"backend-developer\") { title internalNotes } }";
        let (_, headers, body) = get(&app, &[("query", drafts)], &[]).await;
        assert!(body.contains("UNAUTHENTICATED"), "{body}");
        assert_private(&headers, "an answer with errors");
        let (_, headers, _) = get(&app, &[("query", "{ noSuchField }")], &[]).await;
        assert_private(&headers, "a validation error");
        let (status, headers, _) = get(&app, &[("query", "mutation { logout(input: { refreshToken: \"x\" }) { ok } }")], &[]).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_private(&headers, "a mutation refused over GET");

        // POST: a query and a mutation.
        for body in [json!({ "query": TITLES }), json!({ "query": "mutation { login(input: { email: \"editor@example.com\", password: \"wrong password 1\" }) { accessToken } }" })] {
            let response = app
                .client
                .post(format!("{}/graphql", app.address))
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .expect("an answer");
            assert_private(response.headers(), &format!("POST {body}"));
        }
    }

    async fn the_max_age_is_configurable_and_0_makes_every_answer_private(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.public_max_age_secs = 300).await;
        let (_, headers, _) = get(&app, &[("query", TITLES)], &[]).await;
        assert_eq!(header(&headers, CACHE_CONTROL), "public, max-age=300");
        let app = spawn_app_with(backend, |config| config.public_max_age_secs = 0).await;
        let (_, headers, _) = get(&app, &[("query", TITLES)], &[]).await;
        assert_private(&headers, "with public caching turned off");
    }
}

#[tokio::test]
async fn the_playground_and_the_api_share_a_url_so_the_answer_varies_by_accept() {
    let app = spawn_app(crate::helpers::Backend::Sqlite).await;
    let (status, headers, body) = get(&app, &[], &[("accept", "text/html")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<html") || body.contains("<!doctype") || body.contains("<!DOCTYPE"), "the playground");
    assert!(varies_by(&headers).contains(&"accept".into()), "a cache must not hand the page to an API client");
}
