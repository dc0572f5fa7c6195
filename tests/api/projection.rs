//! A request reads the columns it shows, and no others: the statements of the nested benchmark
//! query name their columns, two selections of one relation still share one statement, and every
//! field asked alone answers what it answers beside all the others.

use std::collections::BTreeSet;

use careergraph_auth::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

/// The benchmark's nested query (Q3 in crates/bench).
const NESTED: &str = "{ careerPaths(first: 20) { edges { node { slug title skills { importance skill { name category technologies { name kind } } } salaryRecords { country currency period average minimum maximum asOf } } } } }";

/// The table a SELECT reads from (the first one it names after FROM), and the columns it selects,
/// without their tables or quotes, in order.
fn select_list(sql: &str) -> (String, Vec<String>) {
    let unquoted = sql.replace('"', "");
    let rest = unquoted.strip_prefix("SELECT ").unwrap_or_else(|| panic!("not a SELECT: {sql}"));
    let (list, from) = rest.split_once(" FROM ").unwrap_or_else(|| panic!("no FROM: {sql}"));
    let table = from.split_whitespace().next().unwrap_or_default().to_owned();
    let columns =
        list.split(", ").map(|column| column.rsplit('.').next().unwrap_or(column).trim().to_owned()).collect();
    (table, columns)
}

fn set(columns: &[&str]) -> BTreeSet<String> {
    columns.iter().map(|column| (*column).to_owned()).collect()
}

on_both_backends! {
    async fn the_nested_query_selects_only_the_columns_it_shows(app) {
        careergraph_domain::synthetic::load_benchmark_data(app.db(), 30).await.expect("the benchmark's data");
        let recording = app.record_statements();
        let data = app.query_ok(NESTED, json!({})).await;
        let statements = recording.take();
        assert_eq!(data["careerPaths"]["edges"].as_array().map(Vec::len), Some(20));
        let expected = [
            ("career_path", set(&["id", "slug", "title"])),
            // Of a link, whose it is, what the query shows of it (the importance) and the position
            // the server orders it by; the skill's key is the skill's own `id`, not the link's
            // copy of it, and no score the query does not show.
            ("career_path_skill", set(&["id", "name", "category", "career_path_id", "importance", "position"])),
            // Of a link read only for whose it is, only that and the position; of a technology
            // only what is shown, not even its id.
            ("skill_technology", set(&["name", "kind", "skill_id", "position"])),
            ("salary_record", set(&["id", "career_path_id", "country", "currency", "period", "average", "minimum", "maximum", "as_of"])),
        ];
        let read: Vec<_> = statements.iter().map(|sql| select_list(sql)).collect();
        assert_eq!(read.len(), expected.len(), "one statement per level: {statements:#?}");
        for (table, columns) in expected {
            let found = read.iter().find(|(read_from, _)| *read_from == table).unwrap_or_else(|| panic!("no statement reads {table}: {statements:#?}"));
            assert_eq!(found.1.len(), columns.len(), "each column of {table} read once: {:?}", found.1);
            assert_eq!(found.1.iter().cloned().collect::<BTreeSet<_>>(), columns, "the columns read from {table}");
        }
        assert!(statements.iter().all(|sql| !sql.contains("description") && !sql.contains("notes")), "{statements:#?}");
    }

    async fn two_selections_of_one_relation_share_one_statement_with_both_columns(app) {
        let recording = app.record_statements();
        let query = "{ careerPath(slug: \"backend-developer\") { short: skills { skill { name } } long: skills { skill { ...Described } } } } fragment Described on Skill { description }";
        let data = app.query_ok(query, json!({})).await;
        let statements = recording.take();
        assert_eq!(statements.len(), 2, "the path, then its skills once: {statements:#?}");
        let (table, columns) = select_list(&statements[1]);
        assert_eq!(table, "career_path_skill");
        assert!(columns.iter().any(|c| c == "name") && columns.iter().any(|c| c == "description"), "{columns:?}");
        let path = &data["careerPath"];
        assert!(path["short"][0]["skill"]["name"].as_str().is_some_and(|name| !name.is_empty()), "{path}");
        assert!(path["long"][0]["skill"]["description"].as_str().is_some_and(|text| !text.is_empty()), "{path}");
    }

    async fn a_paths_skills_answer_each_field_of_the_link_alone_as_beside_the_others(app) {
        use sea_orm::ConnectionTrait;
        // Scores as an O*NET import gives them (the curated path has none).
        app.db()
            .execute_unprepared("UPDATE career_path_skill SET importance_score = 90 - position * 5, level_score = 40 + position")
            .await
            .expect("scores");
        let path = "careerPath(slug: \"backend-developer\")";
        let fields = ["importance", "position", "importanceScore", "levelScore"];
        let all = app.query_ok(&format!("{{ {path} {{ skills {{ {} skill {{ slug }} }} }} }}", fields.join(" ")), json!({})).await;
        let all = all["careerPath"]["skills"].as_array().expect("skills").clone();
        assert!(all.len() > 3 && all.iter().all(|link| link["importanceScore"].is_i64()), "{all:?}");
        for field in fields {
            let alone = app.query_ok(&format!("{{ {path} {{ skills {{ {field} skill {{ slug }} }} }} }}"), json!({})).await;
            let alone = alone["careerPath"]["skills"].as_array().expect("skills").clone();
            let expected: Vec<Value> = all.iter().map(|link| json!({ field: link[field], "skill": link["skill"] })).collect();
            assert_eq!(alone, expected, "{field} alone");
        }
        // The importance filters even when it is not shown.
        let essential = app.query_ok(&format!("{{ {path} {{ skills(importance: ESSENTIAL) {{ skill {{ slug }} }} }} }}"), json!({})).await;
        let expected: Vec<Value> =
            all.iter().filter(|link| link["importance"] == "ESSENTIAL").map(|link| json!({ "skill": link["skill"] })).collect();
        assert!(!expected.is_empty() && expected.len() < all.len(), "{all:?}");
        assert_eq!(essential["careerPath"]["skills"].as_array().expect("skills"), &expected);
    }

    async fn every_field_asked_alone_answers_what_the_whole_row_holds(app) {
        let token = app.token_for("admin@example.com", Role::Admin).await;
        // An edit, so the path has someone who last changed it.
        let path = app.as_user(&token, "{ careerPath(slug: \"backend-developer\") { id version title } }", json!({})).await;
        let path = &path["data"]["careerPath"];
        let rename = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { version } } }";
        let renamed = app.as_user(&token, rename, json!({ "id": path["id"], "v": path["version"], "t": path["title"] })).await;
        assert!(renamed.get("errors").is_none(), "{renamed}");
        // And one of its skills' technologies, so that a technology reached through a skill (read
        // without its id unless a field needs it) has a history and someone who changed it.
        let technology = app
            .as_user(&token, &format!("{{ {} {{ skills {{ skill {{ technologies {{ id version name }} }} }} }} }}", "careerPath(slug: \"backend-developer\")"), json!({}))
            .await;
        let technology = &technology["data"]["careerPath"]["skills"][0]["skill"]["technologies"][0];
        let rename = "mutation ($id: ID!, $v: Int!, $n: String!) { updateTechnology(input: { id: $id, expectedVersion: $v, name: $n }) { technology { version } } }";
        let renamed = app.as_user(&token, rename, json!({ "id": technology["id"], "v": technology["version"], "n": technology["name"] })).await;
        assert!(renamed.get("errors").is_none(), "{renamed}");
        // Where each object is reached from; `{}` is its selection. The third name is the type
        // `node` answers for its id, which reads whole rows.
        let path = "careerPath(slug: \"backend-developer\")";
        let places = [
            ("CareerPath", "CareerPath", format!("{{ {path} {{}} }}")),
            ("CareerPath", "CareerPath", "{ careerPaths(first: 3) { edges { node {} } } }".to_owned()),
            ("Skill", "Skill", format!("{{ {path} {{ skills {{ skill {{}} }} }} }}")),
            ("Skill", "Skill", "{ skills(first: 5) { nodes {} } }".to_owned()),
            ("Technology", "Technology", format!("{{ {path} {{ technologies {{}} }} }}")),
            ("Technology", "Technology", format!("{{ {path} {{ skills {{ skill {{ technologies {{}} }} }} }} }}")),
            ("Technology", "Technology", "{ technologies(first: 50) { nodes {} } }".to_owned()),
            ("SalaryRecord", "SalaryRecord", format!("{{ {path} {{ salaryRecords {{}} }} }}")),
            ("SalarySummary", "SalaryRecord", format!("{{ {path} {{ salary {{}} }} }}")),
            ("RoadmapStep", "RoadmapStep", format!("{{ {path} {{ roadmap {{}} }} }}")),
            ("LearningResource", "LearningResource", format!("{{ {path} {{ roadmap {{ resources {{}} }} }} }}")),
            ("Responsibility", "Responsibility", format!("{{ {path} {{ responsibilities {{}} }} }}")),
            ("Industry", "Industry", format!("{{ {path} {{ industries {{}} }} }}")),
            ("Benefit", "Benefit", format!("{{ {path} {{ benefits {{}} }} }}")),
            ("User", "User", format!("{{ {path} {{ updatedBy {{}} }} }}")),
            ("User", "User", "{ users(first: 10) { nodes {} } }".to_owned()),
        ];
        for (type_name, node_type, place) in &places {
            let fields = selectable_fields(&app, &token, type_name).await;
            assert!(fields.len() > 3, "{type_name} has fields");
            for selection in fields.iter().map(|field| vec![field.clone()]).chain([fields.clone()]) {
                let asks_id = selection.iter().any(|field| field == "id");
                let selection = selection.join(" ");
                let asked = app.as_user(&token, &place.replace("{}", &format!("{{ __typename id {selection} }}")), json!({})).await;
                assert!(asked.get("errors").is_none(), "{selection} of {type_name} at {place}: {asked}");
                let mut objects = Vec::new();
                objects_of(&asked["data"], type_name, &mut objects);
                assert!(!objects.is_empty(), "{type_name} is reached at {place}: {asked}");
                // Asked without its id, a field answers the same: a read that leaves the id out
                // unless asked must still read it for a field that needs it.
                let without_id = app.as_user(&token, &place.replace("{}", &format!("{{ __typename {selection} }}")), json!({})).await;
                assert!(without_id.get("errors").is_none(), "{selection} of {type_name} at {place}: {without_id}");
                let mut alone = Vec::new();
                objects_of(&without_id["data"], type_name, &mut alone);
                let shown: Vec<Value> = objects
                    .iter()
                    .map(|object| {
                        let mut object = object.clone();
                        if !asks_id {
                            object.as_object_mut().expect("an object").remove("id");
                        }
                        object
                    })
                    .collect();
                assert_eq!(alone, shown, "{selection} of {type_name} at {place}, without the id");
                let ids: Vec<&Value> = objects.iter().map(|object| &object["id"]).collect();
                let whole = format!("query ($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on {node_type} {{ id {selection} }} }} }}");
                let whole = app.as_user(&token, &whole, json!({ "ids": ids })).await;
                assert!(whole.get("errors").is_none(), "{selection} of {node_type} by node: {whole}");
                for (object, whole) in objects.iter().zip(whole["data"]["nodes"].as_array().expect("nodes")) {
                    let mut object = object.clone();
                    object.as_object_mut().expect("an object").remove("__typename");
                    assert_eq!(&object, whole, "{selection} of {type_name} at {place}");
                }
            }
        }
    }

    async fn audit_events_answer_alone_what_they_answer_whole_and_keep_snapshots_private(app) {
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        // An edit of a path (anyone's to read) and one of a user (the user's and the admins').
        let path = app.as_user(&admin, "{ careerPath(slug: \"backend-developer\") { id version title } }", json!({})).await;
        let path = &path["data"]["careerPath"];
        let rename = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { version } } }";
        assert!(app.as_user(&admin, rename, json!({ "id": path["id"], "v": path["version"], "t": path["title"] })).await.get("errors").is_none());
        let me = app.as_user(&editor, "{ me { id } }", json!({})).await;
        let promote = "mutation ($id: ID!) { setUserRole(input: { userId: $id, role: ADMIN }) { user { id } } }";
        let promoted = app.as_user(&admin, promote, json!({ "id": me["data"]["me"]["id"] })).await;
        assert!(promoted.get("errors").is_none(), "{promoted}");
        let demote = "mutation ($id: ID!) { setUserRole(input: { userId: $id, role: EDITOR }) { user { id } } }";
        assert!(app.as_user(&admin, demote, json!({ "id": me["data"]["me"]["id"] })).await.get("errors").is_none());
        // A change of role ends the user's sessions at once: the editor signs in again.
        let login = "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }";
        let session = app.query_ok(login, json!({ "e": "editor@example.com", "p": crate::helpers::PASSWORD })).await;
        let editor = session["login"]["accessToken"].as_str().expect("a token").to_owned();

        let fields = ["id", "action", "entityType", "entityId", "actor { id displayName }", "before", "after", "occurredAt", "requestId"];
        for (token, place) in [
            (&admin, "{ auditLog(first: 10) { nodes {} } }"),
            (&editor, "{ auditLog(first: 10) { nodes {} } }"),
            (&admin, "{ careerPath(slug: \"backend-developer\") { history {} } }"),
        ] {
            let whole = audit_events(&app, token, place, &fields.join(" ")).await;
            assert!(!whole.is_empty(), "{place} has events");
            for field in fields {
                let key = field.split_whitespace().next().unwrap_or(field);
                let alone: Vec<Value> = audit_events(&app, token, place, field).await.into_iter().map(|event| event[key].clone()).collect();
                let expected: Vec<Value> = whole.iter().map(|event| event[key].clone()).collect();
                assert_eq!(alone, expected, "{field} at {place}");
            }
        }
        // The editor sees the path's snapshots, never the user's, whatever else is asked.
        let log = app.as_user(&editor, "{ auditLog(first: 10) { nodes { entityType after } } }", json!({})).await;
        let events = log["data"]["auditLog"]["nodes"].as_array().expect("events").clone();
        assert!(events.iter().any(|event| event["entityType"] == "User" && event["after"].is_null()), "{log}");
        assert!(events.iter().any(|event| event["entityType"] == "CareerPath" && event["after"].is_object()), "{log}");
    }
}

/// The audit events `place` answers with `selection` asked of each.
async fn audit_events(app: &TestApp, token: &str, place: &str, selection: &str) -> Vec<Value> {
    let query = place.replace("{}", &format!("{{ __typename {selection} }}"));
    let answer = app.as_user(token, &query, json!({})).await;
    assert!(answer.get("errors").is_none(), "{query}: {answer}");
    let mut events = Vec::new();
    objects_of(&answer["data"], "AuditEvent", &mut events);
    events
}

/// Every object of type `type_name` in `data`, in order.
fn objects_of(data: &Value, type_name: &str, found: &mut Vec<Value>) {
    match data {
        Value::Object(object) if object.get("__typename").is_some_and(|name| name == type_name) => {
            found.push(data.clone())
        }
        Value::Object(object) => object.values().for_each(|value| objects_of(value, type_name, found)),
        Value::Array(items) => items.iter().for_each(|item| objects_of(item, type_name, found)),
        _ => {}
    }
}

/// Every field of `type_name` as a selection: scalars as they are, objects by their id or type.
async fn selectable_fields(app: &TestApp, token: &str, type_name: &str) -> Vec<String> {
    let query = "query ($name: String!) { __type(name: $name) { fields { name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
    let data = app.as_user(token, query, json!({ "name": type_name })).await;
    let fields = data["data"]["__type"]["fields"].as_array().unwrap_or_else(|| panic!("{type_name}: {data}"));
    fields
        .iter()
        .map(|field| {
            let name = field["name"].as_str().expect("a name");
            let mut kind = &field["type"];
            while kind["ofType"].is_object() {
                kind = &kind["ofType"];
            }
            match kind["kind"].as_str() {
                Some("OBJECT" | "INTERFACE") => format!("{name} {{ __typename }}"),
                _ => name.to_owned(),
            }
        })
        .collect()
}
