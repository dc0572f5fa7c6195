//! A cost budget per client: complexity points a minute, per signed-in user or else per client
//! network, so that one client cannot starve the rest.

use careergraph_auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{client_from, first_error_code, spawn_app_with};
use crate::on_both_backends;

on_both_backends! {
    async fn a_spent_budget_answers_rate_limited_with_retry_after(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.budget_per_minute = 100).await;
        // 20 paths × 3 fields: 60 points.
        let query = "{ careerPaths(first: 20) { edges { node { title summary } } } }";
        let (spender, bystander) = (client_from([127, 0, 0, 11]), client_from([127, 0, 0, 12]));
        let (status, first) = app.post_with(&spender, &[], query, json!({})).await;
        assert!(status == StatusCode::OK && first.get("errors").is_none(), "{first}");
        let response = spender
            .post(format!("{}/graphql", app.address))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(json!({ "query": query }).to_string())
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = response.headers()["retry-after"].to_str().expect("text").parse().expect("seconds");
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64(), Some(retry));
        assert!((1..=60).contains(&retry), "{retry}");
        let (_, other) = app.post_with(&bystander, &[], query, json!({})).await;
        assert!(other.get("errors").is_none(), "another client still has its budget: {other}");

        // A signed-in user's budget follows the user, wherever the requests come from.
        let token = app.token_for("viewer@example.com", Role::Viewer).await;
        let signed_in = |client: &reqwest::Client| {
            client.post(format!("{}/graphql", app.address)).header("content-type", "application/json").bearer_auth(&token).body(json!({ "query": query }).to_string()).send()
        };
        let first: serde_json::Value = signed_in(&client_from([127, 0, 0, 13])).await.expect("answer").json().await.expect("JSON");
        assert!(first.get("errors").is_none(), "{first}");
        let second = signed_in(&client_from([127, 0, 0, 14])).await.expect("answer");
        assert!(second.headers().contains_key("retry-after"));
        let second: serde_json::Value = second.json().await.expect("JSON");
        assert_eq!(first_error_code(&second), "RATE_LIMITED", "{second}");
    }
}
