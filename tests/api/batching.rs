//! Nested queries are batched: the number of SQL statements depends on the query's depth, not
//! on how many rows each level returns.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

const NESTED: &str = r#"
query ($first: Int!) {
  careerPaths(first: $first) {
    totalCount
    nodes {
      slug
      skills { importance skill { slug technologies { slug } } }
      salary { average currency }
      roadmap { title resources { name } }
    }
  }
}"#;

async fn statements_for_page(app: &TestApp, first: usize) -> u64 {
    let before = app.statement_count();
    let data = app.query_ok(NESTED, json!({ "first": first })).await;
    let after = app.statement_count();
    assert_eq!(data["careerPaths"]["nodes"].as_array().expect("nodes").len(), first);
    after - before
}

on_both_backends! {
    async fn a_nested_query_issues_as_many_statements_for_fifty_paths_as_for_one(app) {
        careergraph_domain::synthetic::insert_career_paths(app.db(), 60).await.expect("synthetic paths");
        let one = statements_for_page(&app, 1).await;
        let fifty = statements_for_page(&app, 50).await;
        // count + page, then one batch each: skills, technologies, salaries, roadmap, resources.
        assert_eq!(one, 7, "statements for one path");
        assert_eq!(fifty, one, "statements for fifty paths");
    }
}
