//! Introspection as the tools people use send it: GraphiQL's docs pane, URL-mode codegen,
//! Postman and Insomnia all send graphql-js's standard query, which nests deeper than any data
//! query may. It has a bound of its own.

use serde_json::json;

use crate::helpers::first_error_code;
use crate::on_both_backends;

/// graphql-js 16's standard query, with every option on and with its defaults (GraphiQL 4 sends
/// the defaults, or a subset of the options).
const STANDARD: [(&str, &str); 2] = [
    ("every option", include_str!("introspection/graphql-js-all-options.graphql")),
    ("the defaults", include_str!("introspection/graphql-js-defaults.graphql")),
];

/// `open` repeated `levels` times around `leaf`, with every brace it opened closed.
fn nested(open: &str, levels: usize, leaf: &str) -> String {
    format!("{}{leaf}{}", open.repeat(levels), " }".repeat(levels * open.matches('{').count()))
}

on_both_backends! {
    async fn the_standard_introspection_queries_are_answered_in_full(app) {
        for (which, query) in STANDARD {
            let body = app.graphql(query, json!({})).await;
            assert!(body.get("errors").is_none(), "{which}: {}", body["errors"]);
            let types = body["data"]["__schema"]["types"].as_array().expect("types");
            let career_path = types.iter().find(|t| t["name"] == "CareerPath").expect("CareerPath is described");
            let skills = career_path["fields"].as_array().expect("fields").iter().find(|f| f["name"] == "skills").expect("skills");
            // [CareerPathSkill!]!: the type reference is read to its end.
            assert_eq!(skills["type"]["ofType"]["ofType"]["ofType"]["name"], "CareerPathSkill", "{which}");
        }
    }

    async fn the_schema_describes_itself_as_its_sdl_does_with_no_description(app) {
        // graphql-js rebuilds the SDL from this answer: a description here that schema.graphql
        // lacks makes the rebuilt schema differ from the file.
        let body = app.graphql("{ __schema { description queryType { name } } }", json!({})).await;
        assert_eq!(body["data"]["__schema"], json!({ "description": null, "queryType": { "name": "Query" } }), "{body}");
        let (_, every_option) = STANDARD[0];
        let body = app.graphql(every_option, json!({})).await;
        assert_eq!(body["data"]["__schema"]["description"], json!(null));
    }

    async fn introspection_nested_past_its_bound_is_refused_naming_the_limit(app) {
        let of_type = format!("{{ __type(name: \"CareerPath\") {{ {} }} }}", nested("ofType { ", 100, "name"));
        let fields = format!("{{ __type(name: \"CareerPath\") {{ {} }} }}", nested("fields { type { ", 25, "name"));
        for query in [of_type, fields] {
            let body = app.graphql(&query, json!({})).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains("ntrospection") && message.contains("at most 20"), "{message}");
        }
        let data = app.query_ok("{ careerPath(slug: \"backend-developer\") { title } }", json!({})).await;
        assert_eq!(data["careerPath"]["title"], "Backend Developer", "the server keeps serving");
    }

    async fn data_queries_keep_their_own_depth_limit_beside_introspection(app) {
        // Twelve levels of data, with an introspection field inside: the data limit is 12.
        let twelve = "{ careerPaths { edges { node { skills { skill { careerPaths { careerPath { skills { skill {
            technologies { builtOn { name __typename } } } } } } } } } } } }";
        assert!(app.graphql(twelve, json!({})).await.get("errors").is_none());
        let thirteen = "{ careerPaths { edges { node { skills { skill { careerPaths { careerPath { skills { skill {
            technologies { builtOn { builtOn { name } } } } } } } } } } } } }";
        let body = app.graphql(thirteen, json!({})).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("at most 12")), "{body}");
    }
}

on_both_backends! {
    async fn custom_scalars_are_named_by_convention_and_say_what_specifies_them(app) {
        let types = app.query_ok("{ __schema { types { name kind specifiedByURL } } }", json!({})).await;
        let scalars: Vec<(String, String)> = types["__schema"]["types"].as_array().expect("types").iter()
            .filter(|t| t["kind"] == "SCALAR" && !["String", "Int", "Float", "Boolean", "ID"].contains(&t["name"].as_str().unwrap_or_default()))
            .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t["specifiedByURL"].as_str().unwrap_or_default().to_owned()))
            .collect();
        assert_eq!(scalars, [
            ("Date".to_owned(), "https://scalars.graphql.org/andimarek/local-date.html".to_owned()),
            ("DateTime".to_owned(), "https://scalars.graphql.org/andimarek/date-time.html".to_owned()),
            ("JSON".to_owned(), "https://www.rfc-editor.org/rfc/rfc8259".to_owned()),
        ]);
        let salary = app.query_ok("{ careerPath(slug: \"backend-developer\") { salary { asOf } createdAt } }", json!({})).await;
        assert_eq!(salary["careerPath"]["salary"]["asOf"], "2023-03-01");
        let created = salary["careerPath"]["createdAt"].as_str().expect("an instant");
        assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok(), "{created}");
        let editor = app.token_for("editor@example.com", careergraph_auth::Role::Editor).await;
        let since = "query ($s: DateTime) { auditLog(filter: { since: $s }) { totalCount } }";
        let body = app.as_user(&editor, since, json!({ "s": "yesterday" })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        let body = app.as_user(&editor, since, json!({ "s": "2023-03-01T12:00:00+01:00" })).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
}
