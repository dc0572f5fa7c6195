//! A query the guards have cleared runs without them next time (see `graphql::plumbing::prepared`), and
//! answers as if it had run guarded: the field policy for every caller, `null` and an error
//! where a field failed, and the request's limits.

use careergraph_auth::Role;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code, spawn_app_with};
use crate::metrics::{scrape, value};
use crate::on_both_backends;

/// How many operations have run on the schema without the guards.
pub(crate) async fn unguarded_executions(app: &TestApp) -> f64 {
    value(&scrape(app).await, "careergraph_executions_total", &[("schema", "unguarded")])
}

/// How many operations have run on the schema with the guards, a cleared one's re-run included.
pub(crate) async fn guarded_executions(app: &TestApp) -> f64 {
    value(&scrape(app).await, "careergraph_executions_total", &[("schema", "guarded")])
}

/// A server with its metrics listener, to read [`unguarded_executions`] from.
/// Metrics on, and no response cache in front of the execution paths these tests count (an
/// answer served from memory runs neither guarded nor prepared; tests/api/live.rs tests it).
pub(crate) fn with_metrics(config: &mut careergraph_gateway::Config) {
    config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    config.response_cache_mib = 0;
}

/// Fields and list items in an answer, as the request's field limit counts them.
fn fields(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(|item| 1 + fields(item)).sum(),
        Value::Object(entries) => entries.values().map(|value| 1 + fields(value)).sum(),
        _ => 0,
    }
}

on_both_backends! {
    async fn a_query_cleared_for_viewers_is_still_checked_field_by_field_for_anyone_less(backend: Backend) {
        let app = spawn_app_with(backend, with_metrics).await;
        let query = "{ careerPath(slug: \"backend-developer\") { title salaryRecords { country median } } }";
        let token = app.token_for("viewer@example.com", Role::Viewer).await;
        let first = app.as_user(&token, query, json!({})).await;
        assert!(first.get("errors").is_none(), "{first}");
        assert_eq!(unguarded_executions(&app).await, 0.0, "a query runs guarded the first time");
        let second = app.as_user(&token, query, json!({})).await;
        assert_eq!(second, first);
        assert_eq!(unguarded_executions(&app).await, 1.0, "and unguarded once cleared");

        for _ in 0..2 {
            let (status, anonymous) = app.post_json(json!({ "query": query })).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
            assert_eq!(anonymous["errors"][0]["path"], json!(["careerPath", "salaryRecords", 0, "median"]));
            let record = &anonymous["data"]["careerPath"]["salaryRecords"][0];
            assert!(record.as_object().is_some_and(|record| record.contains_key("median")) && record["median"].is_null(), "{anonymous}");
            assert_eq!(anonymous["data"]["careerPath"]["title"], first["data"]["careerPath"]["title"]);
        }
        assert_eq!(unguarded_executions(&app).await, 1.0, "an anonymous caller never runs it unguarded");
    }

    async fn a_mutation_runs_guarded_however_often_it_is_sent(backend: Backend) {
        let app = spawn_app_with(backend, with_metrics).await;
        let logout = "mutation { logout(input: { refreshToken: \"not-a-token\" }) { loggedOut } }";
        for _ in 0..3 {
            assert_eq!(app.query_ok(logout, json!({})).await["logout"]["loggedOut"], true);
        }
        assert_eq!(unguarded_executions(&app).await, 0.0, "only queries are prepared");
    }

    async fn a_cleared_query_that_fails_later_answers_null_where_it_failed(backend: Backend) {
        let app = spawn_app_with(backend, with_metrics).await;
        let query = "{ skillGap(careerPath: \"backend-developer\", have: [\"python\"]) { coverage } }";
        app.query_ok(query, json!({})).await;
        app.query_ok(query, json!({})).await;
        assert_eq!(unguarded_executions(&app).await, 1.0);
        // `have` now names a technology that does not exist, which skillGap refuses.
        app.db().execute_unprepared("UPDATE technology SET slug = 'python-renamed' WHERE slug = 'python'").await.expect("renamed");
        let (status, body) = app.post_json(json!({ "query": query })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["path"], json!(["skillGap"]), "{body}");
        assert!(body["data"].as_object().is_some_and(|data| data.contains_key("skillGap")) && body["data"]["skillGap"].is_null(), "the failed nullable field is null, not missing: {body}");
    }

    async fn a_cleared_query_answers_as_its_guarded_run_did_whatever_its_shape(backend: Backend) {
        // Cleared, the lists and objects of the nested read resolve their leaves in place
        // (`graphql::plumbing::inline`): fragments, aliases, `__typename`, a leaf asked twice, a
        // relation asked twice under one key (which async-graphql merges) and a type met again
        // further down must give the guarded run's answer, to the order of its keys.
        let app = spawn_app_with(backend, with_metrics).await;
        careergraph_domain::synthetic::load_benchmark_data(app.db(), 12).await.expect("the benchmark's data");
        let query = r#"query Shapes {
          careerPaths(first: 6) { edges { node { __typename ...Path
            skills { importance first: skill { __typename name ... on Skill { category name } ...Named }
                     again: skill { slug technologies { ... on Node { id } name } } }
            salaryRecords { ... on SalaryRecord { country currency } ... on Node { id } average asOf period } } } }
          skill(slug: "synthetic-skill-000") { ...SkillNode ... { slug } technologies { name kind skills { name technologies { kind } } } }
        }
        fragment Path on CareerPath { slug title t: title relatedCareerPaths { slug } }
        fragment Named on Node { id }
        fragment SkillNode on Skill { name technologies { slug } }"#;
        let guarded = app.query_ok(query, json!({})).await;
        assert_eq!(unguarded_executions(&app).await, 0.0);
        let cleared = app.query_ok(query, json!({})).await;
        assert_eq!(unguarded_executions(&app).await, 1.0, "the second run is the cleared one");
        // An error in the cleared run would have sent it back to the guards, whose answer is right
        // whatever the cleared run did: it must have answered alone.
        assert_eq!(guarded_executions(&app).await, 1.0, "only the first run was guarded");
        assert!(guarded["careerPaths"]["edges"][0]["node"]["skills"][0]["again"]["technologies"].as_array().is_some_and(|t| !t.is_empty()), "{guarded}");
        assert_eq!(guarded["skill"]["technologies"][0].as_object().map(|t| t.keys().cloned().collect::<Vec<_>>()), Some(vec!["slug".to_owned(), "name".to_owned(), "kind".to_owned(), "skills".to_owned()]), "{guarded}");
        assert_eq!(serde_json::to_string(&cleared).expect("json"), serde_json::to_string(&guarded).expect("json"));
    }

    async fn a_leaf_that_fails_in_a_cleared_list_answers_as_a_guarded_run(backend: Backend) {
        let app = spawn_app_with(backend, with_metrics).await;
        careergraph_domain::synthetic::load_benchmark_data(app.db(), 3).await.expect("the benchmark's data");
        let query = "{ careerPath(slug: \"synthetic-path-00001\") { slug salaryRecords { currency average } } }";
        app.query_ok(query, json!({})).await;
        app.query_ok(query, json!({})).await;
        assert_eq!(unguarded_executions(&app).await, 1.0);
        // An amount GraphQL's 32-bit Int cannot hold fails its leaf alone.
        app.db().execute_unprepared("UPDATE salary_record SET average = 3000000000 WHERE career_path_id = (SELECT id FROM career_path WHERE slug = 'synthetic-path-00001')").await.expect("updated");
        let (cleared_runs, guarded_runs) = (unguarded_executions(&app).await, guarded_executions(&app).await);
        let (status, cleared) = app.post_json(json!({ "query": query })).await;
        assert_eq!(status, StatusCode::OK);
        // It ran cleared, its leaf failed there, and so it ran again guarded.
        assert_eq!(unguarded_executions(&app).await, cleared_runs + 1.0);
        assert_eq!(guarded_executions(&app).await, guarded_runs + 1.0);
        assert_eq!(first_error_code(&cleared), "INTERNAL_SERVER_ERROR", "{cleared}");
        assert_eq!(cleared["errors"][0]["path"], json!(["careerPath", "salaryRecords", 0, "average"]), "{cleared}");
        // The same query in other words has not been cleared, so it runs guarded.
        let (_, guarded) = app.post_json(json!({ "query": format!("{query} ") })).await;
        assert_eq!(cleared["data"], guarded["data"]);
        let paths = |answer: &Value| answer["errors"].as_array().map(|errors| errors.iter().map(|error| error["path"].clone()).collect::<Vec<_>>());
        assert_eq!(paths(&cleared), paths(&guarded));
        app.db().execute_unprepared("UPDATE salary_record SET average = 1000").await.expect("updated");
        let answer = app.query_ok(query, json!({})).await;
        assert!(answer["careerPath"]["salaryRecords"].as_array().is_some_and(|records| records.iter().all(|r| r["average"] == 1000)), "{answer}");
    }

    async fn each_selection_of_a_type_answers_its_own_keys_when_run_unguarded(backend: Backend) {
        let app = spawn_app_with(backend, with_metrics).await;
        // One relation under two keys with different fields, and the same type under a third
        // relation: an unguarded run makes each selection's keys once and shares them among its
        // objects, and must tell the selections apart.
        let query = "{ careerPath(slug: \"backend-developer\") { skills { skill { a: technologies { name } \
                     b: technologies { kind name } } } technologies { name } } }";
        let guarded = app.query_ok(query, json!({})).await;
        let unguarded = app.query_ok(query, json!({})).await;
        assert_eq!(unguarded_executions(&app).await, 1.0);
        // Compared as text: the keys' order is part of the answer.
        assert_eq!(unguarded.to_string(), guarded.to_string());
        let keys = |object: &Value| object.as_object().map(|object| object.keys().cloned().collect::<Vec<_>>());
        let skills = unguarded["careerPath"]["skills"].as_array().expect("skills");
        let skill = skills.iter().map(|link| &link["skill"]).find(|skill| skill["a"].as_array().is_some_and(|a| !a.is_empty()));
        let skill = skill.expect("a skill with technologies");
        assert_eq!(keys(&skill["a"][0]), Some(vec!["name".to_owned()]));
        assert_eq!(keys(&skill["b"][0]), Some(vec!["kind".to_owned(), "name".to_owned()]));
        assert_eq!(keys(&unguarded["careerPath"]["technologies"][0]), Some(vec!["name".to_owned()]));
    }

    async fn fields_of_cleared_queries_count_against_the_request_limit(backend: Backend) {
        use careergraph_domain::enums::PublicationStatus;
        let app = spawn_app_with(backend, |config| {
            with_metrics(config);
            config.max_complexity = 800;
        })
        .await;
        careergraph_domain::synthetic::insert_career_paths(app.db(), 60, PublicationStatus::Published).await.expect("paths");
        let query = "{ careerPaths(first: 40) { edges { node { skills { skill { name } } } } } }";
        let alone = app.query_ok(query, json!({})).await;
        let resolved = fields(&alone);
        assert!(resolved <= 800 && resolved * 2 > 800, "one fits the limit and two do not: {resolved} fields");
        app.query_ok(query, json!({})).await;
        assert_eq!(unguarded_executions(&app).await, 1.0);

        let (_, batch) = app.post_json(json!([{ "query": query }, { "query": query }])).await;
        let refused: Vec<&Value> = batch.as_array().expect("a batch").iter().filter(|item| item.get("errors").is_some()).collect();
        assert!(!refused.is_empty(), "two of them resolve too many fields together");
        for item in refused {
            assert_eq!(first_error_code(item), "BAD_USER_INPUT", "{item}");
            assert!(item["errors"][0]["message"].as_str().is_some_and(|m| m.contains("more than 800 fields")), "{item}");
        }
    }
}

on_both_backends! {
    async fn the_field_limit_counts_the_same_fields_whether_a_query_runs_guarded_or_not(backend: Backend) {
        use careergraph_domain::enums::PublicationStatus;
        let query = "{ careerPaths(first: 40) { edges { node { title skills { skill { name } } } } } }";
        let seeded = async |max_fields: Option<usize>| {
            let app = spawn_app_with(backend, |config| {
                with_metrics(config);
                if let Some(max_fields) = max_fields {
                    config.max_complexity = max_fields;
                }
            })
            .await;
            careergraph_domain::synthetic::insert_career_paths(app.db(), 60, PublicationStatus::Published).await.expect("paths");
            app
        };
        let resolved = fields(&seeded(None).await.query_ok(query, json!({})).await);
        // A batch of two resolves exactly twice that: at that limit it passes, one below it fails,
        // on the guarded path (nothing cleared yet) and on the unguarded one alike.
        for limit in [2 * resolved - 1, 2 * resolved] {
            let app = seeded(Some(limit)).await;
            let refused = async || {
                let (_, batch) = app.post_json(json!([{ "query": query }, { "query": query }])).await;
                batch.as_array().expect("a batch").iter().any(|item| item.get("errors").is_some())
            };
            assert_eq!(refused().await, limit < 2 * resolved, "guarded, limit {limit}, {resolved} fields each");
            app.query_ok(query, json!({})).await;
            let unguarded = unguarded_executions(&app).await;
            assert_eq!(refused().await, limit < 2 * resolved, "unguarded, limit {limit}, {resolved} fields each");
            assert_eq!(unguarded_executions(&app).await, unguarded + 2.0, "both ran unguarded");
        }
    }
}
