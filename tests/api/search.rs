//! Ranked search, through the API, on the bundled dataset and an imported O*NET release.

use careergraph_auth::Role;
use careergraph_domain::import::{self, Options};
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code};
use crate::imports::{Release, release_dir};
use crate::on_both_backends;

const SEARCH: &str = "query ($q: String!, $types: [SearchType!], $first: Int, $after: String) {
    search(query: $q, types: $types, first: $first, after: $after) {
        edges { cursor node { rank highlight item { __typename ... on CareerPath { slug title } ... on Skill { slug name } ... on Technology { slug name } } } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
    } }";

/// The (type, slug) of each result, best first.
fn found(body: &Value) -> Vec<(String, String)> {
    body["data"]["search"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|edge| {
            let item = &edge["node"]["item"];
            (item["__typename"].as_str().unwrap().to_owned(), item["slug"].as_str().unwrap().to_owned())
        })
        .collect()
}

async fn search(app: &TestApp, token: Option<&str>, variables: Value) -> Value {
    match token {
        Some(token) => app.as_user(token, SEARCH, variables).await,
        None => app.graphql(SEARCH, variables).await,
    }
}

async fn import_release(app: &TestApp, publish: bool) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = release_dir(&root, "29.1");
    Release::first().write(&dir);
    import::onet::import(app.db(), &dir, None, &Options { publish, ..Options::default() }).await.unwrap();
    root
}

on_both_backends! {
    async fn search_ranks_titles_first_and_marks_the_matched_words(app) {
        let body = search(&app, None, json!({ "q": "backend" })).await;
        let results = found(&body);
        assert_eq!(results.first(), Some(&("CareerPath".to_owned(), "backend-developer".to_owned())), "{body}");
        let edge = &body["data"]["search"]["edges"][0]["node"];
        assert!(edge["highlight"].as_str().unwrap().to_lowercase().contains("**backend**"), "{body}");
        assert!(edge["rank"].as_f64().unwrap() > 0.0);

        let databases = search(&app, None, json!({ "q": "postgres*", "types": ["TECHNOLOGY"] })).await;
        assert_eq!(found(&databases), vec![("Technology".to_owned(), "postgresql".to_owned())], "prefix: {databases}");
    }

    async fn alternate_titles_find_imported_occupations_and_drafts_stay_hidden(app) {
        let _release = import_release(&app, false).await;
        let anonymous = search(&app, None, json!({ "q": "backend engineer" })).await;
        assert!(!found(&anonymous).iter().any(|(_, slug)| slug == "software-developers"), "a draft is hidden: {anonymous}");
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let body = search(&app, Some(&editor), json!({ "q": "backend engineer", "types": ["CAREER_PATH"] })).await;
        assert_eq!(found(&body).first().map(|(_, slug)| slug.as_str()), Some("software-developers"), "{body}");
        let highlight = body["data"]["search"]["edges"][0]["node"]["highlight"].as_str().unwrap();
        assert!(highlight.contains("**Backend**") || highlight.contains("**Engineer**"), "{highlight}");
    }

    async fn phrases_exclusions_and_alternatives_mean_the_same_on_both_databases(app) {
        let _release = import_release(&app, true).await;
        let slugs = |body: &Value| found(body).into_iter().map(|(_, slug)| slug).collect::<Vec<_>>();
        let phrase = search(&app, None, json!({ "q": "\"business intelligence\"", "types": ["CAREER_PATH"] })).await;
        assert_eq!(slugs(&phrase), ["business-intelligence-analysts"], "{phrase}");
        let either = search(&app, None, json!({ "q": "actors OR \"intelligence analysts\"", "types": ["CAREER_PATH"] })).await;
        let mut either = slugs(&either);
        either.sort();
        assert_eq!(either, ["actors", "business-intelligence-analysts"]);
        let kept = search(&app, None, json!({ "q": "intelligence -actors", "types": ["CAREER_PATH"] })).await;
        assert_eq!(slugs(&kept), ["business-intelligence-analysts"], "{kept}");
        let without = search(&app, None, json!({ "q": "intelligence -reports", "types": ["CAREER_PATH"] })).await;
        assert_eq!(slugs(&without), Vec::<String>::new(), "its tasks mention reports: {without}");
        let stemmed = search(&app, None, json!({ "q": "developing", "types": ["CAREER_PATH"] })).await;
        assert!(slugs(&stemmed).contains(&"software-developers".to_owned()), "{stemmed}");
    }

    async fn an_edit_is_found_at_once_and_a_deleted_object_is_not(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let skill = app.as_user(&editor, "{ skill(slug: \"problem-solving\") { id version } }", json!({})).await;
        let (id, version) = (skill["data"]["skill"]["id"].clone(), skill["data"]["skill"]["version"].clone());
        assert!(id.is_string(), "{skill}");
        let rename = "mutation ($id: ID!, $v: Int!) { updateSkill(input: { id: $id, expectedVersion: $v, name: \"Troubleshooting wizardry\" }) { skill { version } } }";
        let renamed = app.as_user(&editor, rename, json!({ "id": id, "v": version })).await;
        assert!(renamed.get("errors").is_none(), "{renamed}");
        let body = search(&app, None, json!({ "q": "wizardry" })).await;
        assert_eq!(found(&body), vec![("Skill".to_owned(), "problem-solving".to_owned())], "{body}");
        let version = renamed["data"]["updateSkill"]["skill"]["version"].clone();
        let delete = "mutation ($id: ID!, $v: Int!) { deleteSkill(input: { id: $id, expectedVersion: $v, detach: true }) { deletedId } }";
        let deleted = app.as_user(&editor, delete, json!({ "id": id, "v": version })).await;
        assert!(deleted.get("errors").is_none(), "{deleted}");
        assert_eq!(found(&search(&app, None, json!({ "q": "wizardry" })).await), vec![]);
    }

    async fn results_page_with_cursors(app) {
        let _release = import_release(&app, true).await;
        let first = search(&app, None, json!({ "q": "o*", "first": 2 })).await;
        assert_eq!(found(&first).len(), 2, "{first}");
        assert_eq!(first["data"]["search"]["pageInfo"]["hasNextPage"], true);
        let after = first["data"]["search"]["pageInfo"]["endCursor"].clone();
        let second = search(&app, None, json!({ "q": "o*", "first": 2, "after": after })).await;
        assert_eq!(second["data"]["search"]["pageInfo"]["hasPreviousPage"], true, "{second}");
        let (one, two) = (found(&first), found(&second));
        assert!(two.iter().all(|result| !one.contains(result)), "pages do not overlap: {one:?} {two:?}");
    }

    async fn what_users_type_is_searched_or_refused_never_a_server_error(app) {
        for text in ["\"unbalanced quote", "title: NEAR(a b) ^c", "c++ && ||", "'; DROP TABLE skill; --", "\u{0}nul"] {
            let body = search(&app, None, json!({ "q": text })).await;
            assert!(body.get("errors").is_none() || first_error_code(&body) == "BAD_USER_INPUT", "{text:?}: {body}");
            assert!(body["data"].is_object(), "{text:?}: {body}");
        }
        for (text, field) in [("x".repeat(10_000), "query"), ("-python".to_owned(), "query"), ("   ".to_owned(), "query")] {
            let body = search(&app, None, json!({ "q": text })).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        }
        let zero = search(&app, None, json!({ "q": "backend", "first": 0 })).await;
        assert_eq!(first_error_code(&zero), "BAD_USER_INPUT", "{zero}");
        let forged = search(&app, None, json!({ "q": "backend", "after": "bm90IGEgY3Vyc29y" })).await;
        assert_eq!(first_error_code(&forged), "BAD_USER_INPUT", "{forged}");
    }
}
