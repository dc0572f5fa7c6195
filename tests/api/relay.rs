//! Relay's Global Object Identification: every object with an identity is a `Node`, found again
//! by `node(id:)` and `nodes(ids:)` under the same policy as every other root, in a number of
//! statements that does not grow with the number of ids.

use careergraph_auth::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

/// The id of every kind of object the bundled dataset has, with its type name.
async fn one_of_each(app: &TestApp, admin: &str) -> Vec<(String, &'static str)> {
    let data = app
        .as_user(
            admin,
            "{ careerPath(slug: \"backend-developer\") { id
                 skills { skill { id technologies { id } } }
                 responsibilities { id } roadmap { id resources { id } } industries { id } benefits { id }
                 salaryRecords { id } }
               me { id } }",
            json!({}),
        )
        .await["data"]
        .clone();
    let path = &data["careerPath"];
    let id = |value: &Value| value.as_str().unwrap_or_else(|| panic!("an id in {data}")).to_owned();
    vec![
        (id(&path["id"]), "CareerPath"),
        (id(&path["skills"][0]["skill"]["id"]), "Skill"),
        (id(&path["skills"][0]["skill"]["technologies"][0]["id"]), "Technology"),
        (id(&path["responsibilities"][0]["id"]), "Responsibility"),
        (id(&path["roadmap"][0]["id"]), "RoadmapStep"),
        (id(&path["roadmap"][0]["resources"][0]["id"]), "LearningResource"),
        (id(&path["industries"][0]["id"]), "Industry"),
        (id(&path["benefits"][0]["id"]), "Benefit"),
        (id(&path["salaryRecords"][0]["id"]), "SalaryRecord"),
        (id(&data["me"]["id"]), "User"),
    ]
}

const NODES: &str = "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";

on_both_backends! {
    async fn node_and_nodes_find_every_kind_of_object_by_its_id(app) {
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let objects = one_of_each(&app, &admin).await;
        for (id, typename) in &objects {
            let body = app.as_user(&admin, "query ($id: ID!) { node(id: $id) { __typename id } }", json!({ "id": id })).await;
            assert_eq!(body["data"]["node"], json!({ "__typename": typename, "id": id }), "{body}");
        }
        // In the order asked, with null for an id nothing has.
        let mut ids: Vec<&str> = objects.iter().rev().map(|(id, _)| id.as_str()).collect();
        ids.insert(3, "00000000-0000-4000-8000-000000000000");
        let body = app.as_user(&admin, NODES, json!({ "ids": ids })).await;
        let found = body["data"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
        assert_eq!(found.len(), ids.len());
        for (asked, answered) in ids.iter().zip(found) {
            match objects.iter().find(|(id, _)| id == asked) {
                Some((_, typename)) => assert_eq!(answered, &json!({ "__typename": typename, "id": asked })),
                None => assert_eq!(answered, &Value::Null),
            }
        }
        // Fields through the interface, with fragments, as Relay's refetch queries ask them.
        let refetch = "query ($id: ID!) { node(id: $id) { id ... on CareerPath { slug title skills { skill { name } } } } }";
        let body = app.graphql(refetch, json!({ "id": objects[0].0 })).await;
        assert_eq!(body["data"]["node"]["slug"], "backend-developer", "{body}");
        assert!(body["data"]["node"]["skills"].as_array().is_some_and(|skills| !skills.is_empty()));
    }

    async fn node_keeps_the_policy_of_every_other_root(app) {
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let objects = one_of_each(&app, &admin).await;
        let (salary_record, user) = (&objects[8].0, &objects[9].0);
        // A field a role reaches only as a VIEWER is refused anonymously, through `node` as anywhere.
        let detail = "query ($id: ID!) { node(id: $id) { ... on SalaryRecord { average median } } }";
        let body = app.graphql(detail, json!({ "id": salary_record })).await;
        assert_eq!(body["data"]["node"]["median"], Value::Null, "{body}");
        assert_eq!(body["errors"][0]["message"], "Sign in as a viewer to see SalaryRecord.median", "{body}");
        assert!(app.as_user(&viewer, detail, json!({ "id": salary_record })).await["errors"].is_null());
        // An account is its owner's and the admins'.
        let account = "query ($id: ID!) { node(id: $id) { id } }";
        assert_eq!(app.graphql(account, json!({ "id": user })).await["data"]["node"], Value::Null);
        assert_eq!(app.as_user(&viewer, account, json!({ "id": user })).await["data"]["node"], Value::Null);
        assert_eq!(app.as_user(&admin, account, json!({ "id": user })).await["data"]["node"]["id"], json!(user));

        // A draft, and what belongs to it, is null to those who may not see drafts.
        let slug = careergraph_domain::synthetic::insert_career_paths(app.db(), 1, careergraph_domain::enums::PublicationStatus::Draft)
            .await
            .expect("a draft")
            .remove(0);
        let draft = app
            .as_user(&editor, "query ($slug: String!) { careerPath(slug: $slug) { id salaryRecords { id } } }", json!({ "slug": slug }))
            .await["data"]["careerPath"]
            .clone();
        let mut ids = vec![draft["id"].clone()];
        ids.extend(draft["salaryRecords"].as_array().into_iter().flatten().map(|record| record["id"].clone()));
        assert!(ids.len() >= 2, "the draft has salary records: {draft}");
        for reader in [None, Some(&viewer)] {
            let body = match reader {
                None => app.graphql(NODES, json!({ "ids": ids })).await,
                Some(token) => app.as_user(token, NODES, json!({ "ids": ids })).await,
            };
            assert!(body["data"]["nodes"].as_array().is_some_and(|nodes| nodes.iter().all(Value::is_null)), "{body}");
        }
        let body = app.as_user(&editor, NODES, json!({ "ids": ids })).await;
        assert!(body["data"]["nodes"].as_array().is_some_and(|nodes| nodes.iter().all(Value::is_object)), "{body}");
    }

    async fn nodes_costs_the_same_statements_for_one_id_or_a_hundred(app) {
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let path = one_of_each(&app, &admin).await.remove(0).0;
        let skills: Vec<String> = app.query_ok("{ skills(first: 100) { nodes { id } } }", json!({})).await["skills"]["nodes"]
            .as_array()
            .expect("skills")
            .iter()
            .filter_map(|skill| skill["id"].as_str().map(str::to_owned))
            .collect();
        let app = &app;
        let count = |ids: Vec<String>| async move {
            let before = app.statement_count();
            let body = app.graphql(NODES, json!({ "ids": ids })).await;
            assert!(body["errors"].is_null(), "{body}");
            app.statement_count() - before
        };
        let one = count(vec![skills[0].clone()]).await;
        let many = count(skills.clone()).await;
        assert_eq!(one, many, "{} skills", skills.len());
        // One statement finds the tables, one per kind found reads the rows.
        let mixed = count(vec![skills[0].clone(), path.clone()]).await;
        assert_eq!(mixed, one + 1);
    }

    async fn bad_ids_get_clear_errors(app) {
        let body = app.graphql("{ node(id: \"nope\") { id } }", json!({})).await;
        assert_eq!(body["errors"][0]["message"], "id is not an id this API gave out", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        let ids: Vec<String> = (0..101).map(|_| "00000000-0000-4000-8000-000000000000".to_owned()).collect();
        let body = app.graphql(NODES, json!({ "ids": ids })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert!(body["errors"][0]["message"].as_str().is_some_and(|message| message.contains("ids")), "{body}");
    }
}
