//! Bad input gets a clear, coded error, and the server keeps serving.

use serde_json::json;

use crate::helpers::first_error_code;
use crate::on_both_backends;

on_both_backends! {
    async fn page_sizes_outside_the_allowed_range_are_bad_user_input(app) {
        for first in [-1, 101, 1_000_000] {
            let body = app.graphql("query ($first: Int) { careerPaths(first: $first) { totalCount } }", json!({ "first": first })).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "first = {first}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], "first");
        }
    }

    async fn a_cursor_the_server_did_not_issue_is_bad_user_input(app) {
        for cursor in ["garbage", "b2Zmc2V0Ong", ""] {
            let body = app.graphql("query ($after: String) { skills(after: $after) { totalCount } }", json!({ "after": cursor })).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "cursor {cursor:?}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], "after");
        }
    }

    async fn an_unknown_enum_value_is_bad_user_input(app) {
        let literal = app.graphql("{ skills(filter: { category: MAGICAL }) { totalCount } }", json!({})).await;
        assert_eq!(first_error_code(&literal), "BAD_USER_INPUT");
        let variable = app
            .graphql("query ($c: SkillCategory) { skills(filter: { category: $c }) { totalCount } }", json!({ "c": "MAGICAL" }))
            .await;
        assert_eq!(first_error_code(&variable), "BAD_USER_INPUT");
    }

    async fn a_lookup_with_both_or_neither_key_is_bad_user_input(app) {
        for query in ["{ careerPath { id } }", "{ careerPath(slug: \"a\", id: \"b\") { id } }", "{ skill { id } }"] {
            let body = app.graphql(query, json!({})).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{query}: {body}");
        }
    }

    async fn a_malformed_query_is_an_error_and_the_server_keeps_serving(app) {
        for query in ["{ careerPath(slug: ", "}{", "query { careerPaths { nodes { noSuchField } } }", ""] {
            let body = app.graphql(query, json!({})).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{query:?}: {body}");
            assert!(body.get("data").is_none(), "a request error has no data: {body}");
        }
        let data = app.query_ok("{ careerPath(slug: \"backend-developer\") { title } }", json!({})).await;
        assert_eq!(data["careerPath"]["title"], "Backend Developer");
    }

    async fn overlong_search_text_is_bad_user_input(app) {
        let body = app.graphql("query ($s: String) { skills(filter: { search: $s }) { totalCount } }", json!({ "s": "x".repeat(201) })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "filter.search");
    }

    async fn queries_too_deep_or_with_too_many_aliases_are_refused(app) {
        let deep = "{ careerPaths { nodes { skills { skill { careerPaths { careerPath { skills { skill {
                      careerPaths { careerPath { skills { skill { slug } } } } } } } } } } } } }";
        let body = app.graphql(deep, json!({})).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        let aliases: String = (0..31).map(|n| format!("a{n}: industries {{ slug }} ")).collect();
        let body = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        assert!(body["errors"][0]["message"].as_str().expect("message").contains("aliases"));
    }
}
