//! Nested queries are batched: the number of SQL statements depends on the query's depth, not
//! on how many rows each level returns.

use careergraph_domain::enums::PublicationStatus;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

/// The nested query over the first `first` synthetic paths (their salary records name an
/// industry, which only a viewer may read).
fn nested(first: usize) -> String {
    format!(
        r#"{{ careerPaths(first: {first}, filter: {{ search: "synthetic" }}) {{
  totalCount
  nodes {{
    slug
    skills {{ importance skill {{ slug technologies {{ slug }} }} }}
    salary {{ average currency }}
    salaryRecords {{ industry {{ slug }} }}
    roadmap {{ title resources {{ name }} }}
  }}
}} }}"#
    )
}

/// Signs up a viewer (salary detail needs one) and makes one request with the token, so the
/// server's user cache is warm and only the query itself is counted.
async fn viewer_token(app: &TestApp) -> String {
    let register = "mutation { register(input: { email: \"viewer@example.com\", password: \"violet staircase 42\", displayName: \"V\" }) { accessToken } }";
    let token = app.query_ok(register, json!({})).await["register"]["accessToken"].as_str().expect("token").to_owned();
    app.as_user(&token, "{ me { id } }", json!({})).await;
    token
}

/// The statements a query costs, and its data.
async fn statements(app: &TestApp, query: &str) -> (u64, serde_json::Value) {
    let before = app.statement_count();
    let data = app.query_ok(query, json!({})).await;
    (app.statement_count() - before, data)
}

async fn statements_for_page(app: &TestApp, token: &str, first: usize) -> u64 {
    let before = app.statement_count();
    let body = app.as_user(token, &nested(first), json!({})).await;
    let after = app.statement_count();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["careerPaths"]["nodes"].as_array().expect("nodes").len(), first);
    after - before
}

on_both_backends! {
    async fn a_nested_query_issues_as_many_statements_for_fifty_paths_as_for_one(app) {
        careergraph_domain::synthetic::insert_career_paths(app.db(), 60, PublicationStatus::Published).await.expect("synthetic paths");
        let token = viewer_token(&app).await;
        let one = statements_for_page(&app, &token, 1).await;
        let fifty = statements_for_page(&app, &token, 50).await;
        // count + page, then one batch each: skills, technologies, salaries (shared by `salary`
        // and `salaryRecords`), industries of the records, roadmap, resources.
        assert_eq!(one, 8, "statements for one path");
        assert_eq!(fifty, one, "statements for fifty paths");
    }

    async fn a_page_costs_one_statement_unless_its_total_is_asked_for(app) {
        careergraph_domain::synthetic::insert_career_paths(app.db(), 25, PublicationStatus::Published).await.expect("synthetic paths");
        let (without_total, data) = statements(&app, "{ careerPaths(first: 20) { pageInfo { hasNextPage } nodes { title summary } } }").await;
        assert_eq!(without_total, 1, "no COUNT(*) when totalCount is not asked for");
        assert_eq!(data["careerPaths"]["nodes"].as_array().map(Vec::len), Some(20));
        assert_eq!(data["careerPaths"]["pageInfo"]["hasNextPage"], true, "26 published paths, 20 on the page");
        let (with_total, data) = statements(&app, "{ careerPaths(first: 20) { ...Total nodes { title } } } fragment Total on CareerPathConnection { totalCount }").await;
        assert_eq!(with_total, 2, "the page and its count");
        assert_eq!(data["careerPaths"]["totalCount"], 26);
        let (_, first_page) = statements(&app, "{ careerPaths(first: 20) { pageInfo { endCursor } } }").await;
        let after = first_page["careerPaths"]["pageInfo"]["endCursor"].as_str().expect("a cursor").to_owned();
        let (_, last_page) = statements(&app, &format!("{{ careerPaths(first: 6, after: \"{after}\") {{ pageInfo {{ hasNextPage }} nodes {{ title }} }} }}")).await;
        assert_eq!(last_page["careerPaths"]["nodes"].as_array().map(Vec::len), Some(6));
        assert_eq!(last_page["careerPaths"]["pageInfo"]["hasNextPage"], false, "the last page knows it is the last");
    }

    async fn the_benchmark_queries_cost_few_statements_whatever_the_page_size(app) {
        careergraph_domain::synthetic::load_benchmark_data(app.db(), 120).await.expect("the benchmark's data");
        // Q1 and Q2 of the benchmark.
        let (by_slug, data) = statements(&app, "{ careerPath(slug: \"synthetic-path-00050\") { title } }").await;
        assert_eq!(data["careerPath"]["title"], "Path 00050 (synthetic)");
        assert_eq!(by_slug, 1, "one path by slug");
        let (page, _) = statements(&app, "{ careerPaths(first: 20) { edges { node { title summary } } } }").await;
        assert_eq!(page, 1, "a page without totalCount");
        // Q3: the page, then one batch each for skills, their technologies and salary records.
        let q3 = |first: usize| format!("{{ careerPaths(first: {first}) {{ edges {{ node {{ slug skills {{ importance skill {{ name technologies {{ name }} }} }} salaryRecords {{ currency average }} }} }} }} }}");
        let (one, data) = statements(&app, &q3(1)).await;
        assert_eq!(data["careerPaths"]["edges"].as_array().map(Vec::len), Some(1));
        let (hundred, data) = statements(&app, &q3(100)).await;
        let edges = data["careerPaths"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), 100);
        assert!(edges.iter().filter(|edge| edge["node"]["slug"].as_str().is_some_and(|slug| slug.starts_with("synthetic-path-"))).all(|edge| edge["node"]["skills"].as_array().is_some_and(|skills| skills.len() == 10)));
        assert!(one <= 4, "Q3 on one path: {one} statements");
        assert_eq!(hundred, one, "Q3 on a hundred paths costs what it costs on one");
    }
    async fn a_cleared_query_costs_the_statements_its_guarded_run_did(backend: Backend) {
        // The second run of a query is cleared: its lists resolve leaves in place and relations
        // together (`graphql::plumbing::inline`), which must still load each relation in one batch.
        // No response cache, which would answer the second run from memory.
        let app = crate::helpers::spawn_app_with(backend, crate::prepared::with_metrics).await;
        careergraph_domain::synthetic::load_benchmark_data(app.db(), 60).await.expect("the benchmark's data");
        for query in [
            "{ careerPaths(first: 50) { edges { node { slug title skills { importance skill { name category technologies { name kind } } } salaryRecords { country currency period average minimum maximum asOf } } } } }",
            "{ skills(first: 50, filter: { search: \"synthetic\" }) { nodes { slug technologies { slug skills { slug } } careerPaths { importance careerPath { slug roadmap { title } } } } } }",
        ] {
            let (guarded, guarded_data) = statements(&app, query).await;
            let (cleared, cleared_data) = statements(&app, query).await;
            assert_eq!(cleared_data, guarded_data, "{query}");
            assert_eq!(cleared, guarded, "statements of a cleared run of {query}");
        }
        assert_eq!(crate::prepared::unguarded_executions(&app).await, 2.0, "each query ran cleared once");
    }

    async fn relations_of_objects_resolved_field_by_field_still_load_in_one_batch_each(app) {
        // Skills and technologies resolve their fields one after another (`serial`), so two
        // relations of one object load in turn; each must still be one statement for the page.
        careergraph_domain::synthetic::load_benchmark_data(app.db(), 40).await.expect("the benchmark's data");
        let skills = |first: usize| format!("{{ skills(first: {first}, filter: {{ search: \"synthetic\" }}) {{ nodes {{ slug technologies {{ slug builtOn {{ slug }} skills {{ slug }} }} careerPaths {{ importance careerPath {{ slug }} }} }} }} }}");
        let (one, data) = statements(&app, &skills(1)).await;
        assert_eq!(data["skills"]["nodes"].as_array().map(Vec::len), Some(1));
        let (fifty, data) = statements(&app, &skills(50)).await;
        let nodes = data["skills"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), 50);
        assert!(nodes.iter().any(|skill| skill["technologies"].as_array().is_some_and(|used| !used.is_empty())), "{data}");
        assert!(nodes.iter().any(|skill| skill["careerPaths"].as_array().is_some_and(|paths| !paths.is_empty())), "{data}");
        // The page, then one batch each: the skills' technologies (their links, then the rows),
        // the technologies' skills, and the paths that need the skills (links, then rows). No
        // synthetic technology is built on another, so `builtOn` loads nothing.
        assert_eq!(one, 6, "statements for one skill");
        assert_eq!(fifty, one, "statements for fifty skills");
    }
}
