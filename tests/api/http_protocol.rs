//! GraphQL over HTTP: media types, methods, status codes, the playground and the probes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::first_error_code;
use crate::on_both_backends;

const QUERY: &str = "{ careerPath(slug: \"backend-developer\") { title } }";

on_both_backends! {
    async fn a_query_over_get_is_answered(app) {
        let response = app.client.get(format!("{}/graphql", app.address)).query(&[("query", QUERY)]).send().await.expect("answer");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["data"]["careerPath"]["title"], "Backend Developer");
    }

    async fn get_variables_arrive_as_json_text(app) {
        let response = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&[("query", "query ($s: String) { careerPath(slug: $s) { title } }"), ("variables", r#"{"s":"backend-developer"}"#)])
            .send()
            .await
            .expect("answer");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["data"]["careerPath"]["title"], "Backend Developer");
    }

    async fn a_mutation_over_get_is_refused_with_405(app) {
        let response = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&[("query", "mutation { anything }")])
            .header("accept", "application/graphql-response+json")
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "POST");
    }

    async fn application_json_requests_get_application_json_with_200_even_for_request_errors(app) {
        for query in [QUERY, "{ nope }"] {
            let response = app
                .client
                .post(format!("{}/graphql", app.address))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(json!({ "query": query }).to_string())
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("application/json"));
        }
    }

    async fn graphql_response_json_uses_400_for_request_errors_and_200_otherwise(app) {
        for (query, status) in [(QUERY, StatusCode::OK), ("{ nope }", StatusCode::BAD_REQUEST), ("{", StatusCode::BAD_REQUEST)] {
            let response = app
                .client
                .post(format!("{}/graphql", app.address))
                .header("content-type", "application/json; charset=utf-8")
                .header("accept", "application/graphql-response+json, application/json;q=0.9")
                .body(json!({ "query": query }).to_string())
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status(), status, "{query}");
            assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("application/graphql-response+json"));
        }
    }

    async fn unsupported_bodies_and_media_types_are_refused(app) {
        let url = format!("{}/graphql", app.address);
        let cases = [
            ("text/plain", "application/json", QUERY.to_owned(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ("application/json; charset=latin1", "application/json", json!({ "query": QUERY }).to_string(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ("application/json", "text/csv", json!({ "query": QUERY }).to_string(), StatusCode::NOT_ACCEPTABLE),
            ("application/json", "application/json", "{not json".to_owned(), StatusCode::BAD_REQUEST),
            ("application/json", "application/json", json!({ "variables": {} }).to_string(), StatusCode::BAD_REQUEST),
            ("application/json", "application/json", json!({ "query": QUERY, "variables": [] }).to_string(), StatusCode::BAD_REQUEST),
            ("application/json", "application/json", "[]".to_owned(), StatusCode::BAD_REQUEST),
        ];
        for (content_type, accept, body, status) in cases {
            let response = app
                .client
                .post(&url)
                .header("content-type", content_type)
                .header("accept", accept)
                .body(body.clone())
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status(), status, "{content_type} / {accept} / {body}");
        }
        let too_big = json!({ "query": QUERY, "variables": { "pad": "x".repeat(300 * 1024) } }).to_string();
        let response = app.client.post(&url).header("content-type", "application/json").body(too_big).send().await.expect("answer");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    async fn a_batch_is_answered_in_order_up_to_its_limit(app) {
        let batch = json!([{ "query": QUERY }, { "query": "{ industries { slug } }" }]);
        let (status, body) = app.post_json(batch).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body[0]["data"]["careerPath"]["title"], "Backend Developer");
        assert_eq!(body[1]["data"]["industries"].as_array().expect("industries").len(), 4);
        let too_many = Value::Array((0..11).map(|_| json!({ "query": QUERY })).collect());
        let (status, body) = app.post_json(too_many).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    }

    async fn the_playground_is_served_at_the_root_and_to_browsers_at_graphql(app) {
        for path in ["/", "/graphql"] {
            let response = app.client.get(format!("{}{path}", app.address)).header("accept", "text/html").send().await.expect("answer");
            assert_eq!(response.status(), StatusCode::OK);
            let html = response.text().await.expect("html");
            assert!(html.contains("graphiql@4.1.2/dist/index.umd.js") && html.contains("id=\"graphiql\""), "{path} serves GraphiQL");
        }
    }

    async fn health_and_readiness_probes_answer(app) {
        for path in ["/healthz", "/readyz"] {
            let response = app.client.get(format!("{}{path}", app.address)).send().await.expect("answer");
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }

    async fn every_response_carries_a_request_id(app) {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", "application/json")
            .header("x-request-id", "trace-me-123")
            .body(json!({ "query": QUERY }).to_string())
            .send()
            .await
            .expect("answer");
        assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    }
}
