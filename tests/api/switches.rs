//! The operator's switches: introspection, field suggestions, and the origins browsers may call
//! from.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{first_error_code, spawn_app_with};
use crate::on_both_backends;

on_both_backends! {
    async fn introspection_can_be_turned_off_with_a_coded_error(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.introspection = false).await;
        for query in ["{ __schema { types { name } } }", "{ __type(name: \"CareerPath\") { name } }"] {
            let body = app.graphql(query, json!({})).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
            assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("CAREERGRAPH_INTROSPECTION=false")), "{body}");
        }
        let data = app.query_ok("{ __typename careerPath(slug: \"backend-developer\") { __typename title } }", json!({})).await;
        assert_eq!(data["careerPath"]["title"], "Backend Developer", "data and __typename still answer");
    }

    async fn field_suggestions_can_be_turned_off(backend: Backend) {
        let typo = "{ careerPth(slug: \"backend-developer\") { title } }";
        let on = spawn_app_with(backend, |_| {}).await;
        let suggested = on.graphql(typo, json!({})).await;
        assert!(suggested["errors"][0]["message"].as_str().is_some_and(|m| m.contains("Did you mean")), "{suggested}");
        let off = spawn_app_with(backend, |config| config.suggestions = false).await;
        let plain = off.graphql(typo, json!({})).await;
        assert_eq!(first_error_code(&plain), "BAD_USER_INPUT");
        assert!(plain["errors"][0]["message"].as_str().is_some_and(|m| !m.contains("Did you mean")), "{plain}");
    }

    async fn browsers_may_call_from_the_configured_origins_only(backend: Backend) {
        let preflight = |app: &crate::helpers::TestApp, origin: &'static str| {
            app.client
                .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization, content-type")
                .send()
        };
        let open = spawn_app_with(backend, |_| {}).await;
        let response = preflight(&open, "https://anywhere.example").await.expect("answer");
        assert_eq!(response.headers()["access-control-allow-origin"], "*", "any origin by default");
        assert!(response.headers().get("access-control-allow-credentials").is_none(), "never with credentials");
        let closed = spawn_app_with(backend, |config| config.cors_origins = vec!["https://app.example.com".into()]).await;
        let allowed = preflight(&closed, "https://app.example.com").await.expect("answer");
        assert_eq!(allowed.status(), StatusCode::OK);
        assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
        let other = preflight(&closed, "https://evil.example").await.expect("answer");
        assert!(other.headers().get("access-control-allow-origin").is_none(), "another origin is not allowed");
    }
}
