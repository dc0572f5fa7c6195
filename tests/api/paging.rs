//! Keyset pages: walking a list with `after` meets every row once, in the list's order, for
//! every order a list offers (rows that tie on the sort value included); cursors of earlier
//! versions and of other orders are refused with a way forward.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use careergraph_domain::enums::PublicationStatus;
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code};
use crate::on_both_backends;

const PATHS: &str = "query ($first: Int, $after: String, $order: CareerPathOrder) { careerPaths(first: $first, after: $after, orderBy: $order) { pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id } } } }";

/// The ids of every path, walked `size` at a time in `order`, and the whole list in one page.
async fn walk(app: &TestApp, order: &Value, size: usize) -> (Vec<String>, Vec<String>) {
    let whole = app.query_ok(PATHS, json!({ "first": 100, "order": order })).await;
    let ids = |data: &Value| -> Vec<String> {
        data["careerPaths"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|edge| edge["node"]["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let expected = ids(&whole);
    let (mut walked, mut after, mut pages) = (Vec::new(), Value::Null, 0);
    loop {
        let page = app.query_ok(PATHS, json!({ "first": size, "after": after, "order": order })).await;
        let info = &page["careerPaths"]["pageInfo"];
        assert_eq!(info["hasPreviousPage"], pages > 0, "{order}: page {pages}");
        walked.extend(ids(&page));
        pages += 1;
        if info["hasNextPage"] != true {
            break;
        }
        let last_edge =
            page["careerPaths"]["edges"].as_array().and_then(|edges| edges.last()).expect("a last edge")["cursor"]
                .clone();
        assert_eq!(info["endCursor"], last_edge, "the end cursor is the last edge's");
        after = last_edge;
        assert!(pages < 100, "{order}: the walk ends");
    }
    (walked, expected)
}

on_both_backends! {
    async fn walking_the_pages_meets_every_path_once_in_every_order(app) {
        // Inserted together: every one has the same created and updated instant, so only the
        // ids order them within those sorts.
        careergraph_domain::synthetic::insert_career_paths(app.db(), 45, PublicationStatus::Published).await.expect("synthetic paths");
        for field in ["TITLE", "CREATED_AT", "UPDATED_AT"] {
            for direction in ["ASC", "DESC"] {
                let order = json!({ "field": field, "direction": direction });
                let (walked, expected) = walk(&app, &order, 7).await;
                assert_eq!(expected.len(), 46, "the bundled path and 45 synthetic ones");
                assert_eq!(walked, expected, "{order}");
            }
        }
    }

    async fn skills_and_technologies_walk_by_name_both_ways(app) {
        for (list, direction) in [("skills", "ASC"), ("skills", "DESC"), ("technologies", "ASC"), ("technologies", "DESC")] {
            let query = format!("query ($after: String, $first: Int) {{ {list}(first: $first, after: $after, direction: {direction}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ slug }} }} }}");
            let whole = app.query_ok(&query, json!({ "first": 100 })).await[list]["nodes"].clone();
            let (mut walked, mut after) = (Vec::new(), Value::Null);
            loop {
                let page = app.query_ok(&query, json!({ "first": 4, "after": after })).await;
                walked.extend(page[list]["nodes"].as_array().expect("nodes").iter().cloned());
                if page[list]["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = page[list]["pageInfo"]["endCursor"].clone();
            }
            assert!(walked.len() > 4, "{list} spans pages");
            assert_eq!(Value::Array(walked), whole, "{list} {direction}");
        }
    }

    async fn a_cursor_of_an_earlier_version_is_refused_with_a_way_forward(app) {
        let old = URL_SAFE_NO_PAD.encode("offset:19");
        let body = app.graphql(PATHS, json!({ "first": 5, "after": old })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["message"], "this cursor is from an older version; start from the first page");
        assert_eq!(body["errors"][0]["extensions"]["field"], "after");
    }

    async fn a_cursor_of_another_order_is_refused(app) {
        let by_title = app.query_ok(PATHS, json!({ "first": 1 })).await;
        let cursor = by_title["careerPaths"]["pageInfo"]["endCursor"].clone();
        let by_date = json!({ "field": "CREATED_AT", "direction": "ASC" });
        let body = app.graphql(PATHS, json!({ "first": 1, "after": cursor, "order": by_date })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "after");
        let skills = app.graphql("query ($a: String) { skills(after: $a) { nodes { slug } } }", json!({ "a": cursor })).await;
        assert_eq!(first_error_code(&skills), "BAD_USER_INPUT", "a path cursor is no skill cursor: {skills}");
    }
}
