//! The field policy: declared on every field, visible in the schema, enforced for every role.

use serde_json::{Value, json};

use careergraph_auth::Role;
use careergraph_gateway::Config;
use careergraph_gateway::graphql::plumbing::policy::{FieldPolicy, is_structural};
use careergraph_gateway::graphql::schema::field_policy;

use crate::helpers::{TestApp, first_error_code};
use crate::on_both_backends;

const INTROSPECTION: &str = r#"{ __schema { types { name kind fields { name description
  type { kind name ofType { kind name ofType { kind name } } } } } } }"#;

fn policy() -> FieldPolicy {
    let config = Config::new("127.0.0.1:0".parse().expect("address"), None, std::env::temp_dir());
    field_policy(&config)
}

/// The name of the object type a field returns, through lists and non-nulls.
fn named_type(field_type: &Value) -> (String, String) {
    let mut current = field_type;
    while current["name"].is_null() {
        current = &current["ofType"];
    }
    (current["kind"].as_str().unwrap_or_default().to_owned(), current["name"].as_str().unwrap_or_default().to_owned())
}

/// Every role, with an access token for each signed-in one.
async fn tokens(app: &TestApp) -> Vec<(&'static str, Option<String>)> {
    let mut tokens = vec![("ANONYMOUS", None)];
    for role in [Role::Viewer, Role::Editor, Role::Admin] {
        let email = format!("{}@example.com", role.as_str().to_lowercase());
        tokens.push((role.as_str(), Some(app.token_for(&email, role).await)));
    }
    tokens
}

/// How to reach one object of each type that has protected fields. A type with protected
/// fields and no entry here fails the matrix test, so a new protected type cannot go untested.
fn access_path(type_name: &str) -> Option<(&'static str, &'static str)> {
    match type_name {
        "Query" => Some(("{ ", " }")),
        "Mutation" => None,
        "CareerPath" => Some(("{ careerPath(slug: \"backend-developer\") { ", " } }")),
        "SalaryRecord" => Some(("{ careerPath(slug: \"backend-developer\") { salaryRecords { ", " } } }")),
        "User" => Some(("{ me { ", " } }")),
        "Responsibility" => Some(("{ careerPath(slug: \"backend-developer\") { responsibilities { ", " } } }")),
        "RoadmapStep" => Some(("{ careerPath(slug: \"backend-developer\") { roadmap { ", " } } }")),
        "LearningResource" => Some(("{ careerPath(slug: \"backend-developer\") { roadmap { resources { ", " } } } }")),
        "Skill" => Some(("{ skill(slug: \"security\") { ", " } }")),
        "Technology" => Some(("{ technology(slug: \"python\") { ", " } }")),
        "Industry" => Some(("{ careerPath(slug: \"backend-developer\") { industries { ", " } } }")),
        "Benefit" => Some(("{ careerPath(slug: \"backend-developer\") { benefits { ", " } } }")),
        _ => None,
    }
}

/// What `graphql::plumbing::prepared` relies on: the least role a document needs is known from it alone,
/// or not at all.
#[test]
fn the_least_role_a_document_needs_is_the_highest_rule_it_reaches() {
    let policy = policy();
    let least = |query: &str| policy.least_role_for(&async_graphql::parser::parse_query(query).expect("it parses"));
    assert_eq!(least("{ __typename careerPath(slug: \"x\") { __typename title } }"), Some(Role::Anonymous));
    assert_eq!(least("{ careerPath(slug: \"x\") { title salaryRecords { median } } }"), Some(Role::Viewer));
    // Through connections (which inherit), fragments and inline fragments, and every operation.
    let spread = "{ careerPaths { edges { node { ...F } } pageInfo { hasNextPage } } } fragment F on CareerPath { salaryRecords { median } }";
    assert_eq!(least(spread), Some(Role::Viewer));
    assert_eq!(least("{ careerPaths { edges { node { ... on CareerPath { internalNotes } } } } }"), Some(Role::Editor));
    assert_eq!(least("query A { me { id } } query B { users { edges { node { id } } } }"), Some(Role::Admin));
    // Nothing the document alone cannot tell.
    assert_eq!(least("{ __schema { types { name } } }"), None, "introspection");
    assert_eq!(least("{ careerPath(slug: \"x\") { noSuchField } }"), None, "a field the schema lacks");
    assert_eq!(
        least("{ ...F } fragment F on Query { careerPath(slug: \"x\") { title } ...F }"),
        None,
        "a fragment cycle"
    );
}

#[test]
fn every_field_of_every_type_has_a_policy_and_protected_fields_say_so() {
    let policy = policy();
    let config = Config::new("127.0.0.1:0".parse().expect("address"), None, std::env::temp_dir());
    let schema = careergraph_gateway::graphql::schema::build_schema(&config);
    let response = futures::executor::block_on(schema.execute(INTROSPECTION));
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("json");
    let mut checked = 0;
    for object in data["__schema"]["types"].as_array().expect("types") {
        let type_name = object["name"].as_str().unwrap_or_default();
        if object["kind"] != "OBJECT" || type_name.starts_with("__") || is_structural(type_name) {
            continue;
        }
        for field in object["fields"].as_array().expect("fields") {
            let name = field["name"].as_str().unwrap_or_default();
            let required = policy.required(type_name, name);
            let Some(required) = required else { panic!("{type_name}.{name} has no policy") };
            checked += 1;
            if required != careergraph_auth::Role::Anonymous {
                let description = field["description"].as_str().unwrap_or_default();
                assert!(
                    description.contains(&format!("Requires {}", required.as_str())),
                    "{type_name}.{name} needs {} but its description does not say so: {description:?}",
                    required.as_str()
                );
                assert_ne!(
                    field["type"]["kind"], "NON_NULL",
                    "{type_name}.{name} is protected, so it must be nullable"
                );
            }
        }
    }
    assert!(checked > 100, "only {checked} fields walked");
}

on_both_backends! {
    async fn every_protected_field_answers_each_role_as_the_policy_says(app) {
        let policy = policy();
        let introspection = app.query_ok(INTROSPECTION, json!({})).await;
        let tokens = tokens(&app).await;
        let mut rows = 0;
        for object in introspection["__schema"]["types"].as_array().expect("types") {
            let type_name = object["name"].as_str().unwrap_or_default();
            if object["kind"] != "OBJECT" || type_name.starts_with("__") || is_structural(type_name) {
                continue;
            }
            for field in object["fields"].as_array().expect("fields") {
                let name = field["name"].as_str().unwrap_or_default();
                let required = policy.required(type_name, name).expect("a policy (see the walk test)");
                // Subscriptions run over WebSocket only: tests/api/live.rs answers each role there.
                if required == careergraph_auth::Role::Anonymous || matches!(type_name, "Mutation" | "Subscription") {
                    continue;
                }
                let (prefix, suffix) = access_path(type_name).unwrap_or_else(|| panic!("no access path for {type_name}: add one"));
                let (kind, _) = named_type(&field["type"]);
                let selection = if kind == "OBJECT" { format!("{name} {{ __typename }}") } else { name.to_owned() };
                let query = format!("{prefix}{selection}{suffix}");
                for (role, token) in &tokens {
                    let body = match token {
                        Some(token) => app.as_user(token, &query, json!({})).await,
                        None => app.graphql(&query, json!({})).await,
                    };
                    let allowed = match *role {
                        "ANONYMOUS" => false,
                        "VIEWER" => required == careergraph_auth::Role::Viewer,
                        "EDITOR" => required <= careergraph_auth::Role::Editor,
                        _ => true,
                    };
                    let errors = body["errors"].as_array().cloned().unwrap_or_default();
                    if allowed {
                        assert!(errors.is_empty(), "{role} reading {type_name}.{name}: {body}");
                    } else if type_name == "User" && *role == "ANONYMOUS" {
                        // `me` itself is refused first, which nulls the whole branch.
                        assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{role} {type_name}.{name}: {body}");
                    } else {
                        let expected = if *role == "ANONYMOUS" { "UNAUTHENTICATED" } else { "FORBIDDEN" };
                        assert_eq!(first_error_code(&body), expected, "{role} reading {type_name}.{name}: {body}");
                        let path: Vec<String> = body["errors"][0]["path"].as_array().expect("path").iter().map(|s| s.to_string().trim_matches('"').to_owned()).collect();
                        assert_eq!(path.last().map(String::as_str), Some(name), "the error sits at the field: {body}");
                        assert!(lookup(&body["data"], &path).is_some_and(Value::is_null), "{type_name}.{name} is null, not missing: {body}");
                    }
                    rows += 1;
                }
            }
        }
        assert!(rows >= 4 * 14, "only {rows} rows");
    }

    async fn a_denied_field_leaves_its_siblings_and_parents_intact(app) {
        let body = app.graphql("{ careerPath(slug: \"backend-developer\") { title status internalNotes salaryRecords { average notes } } }", json!({})).await;
        let path = &body["data"]["careerPath"];
        assert_eq!(path["title"], "Backend Developer");
        assert_eq!(path["status"], Value::Null);
        assert!(path.as_object().expect("object").contains_key("internalNotes"));
        assert_eq!(path["salaryRecords"][0]["average"], 93000);
        assert_eq!(path["salaryRecords"][0]["notes"], Value::Null);
        assert_eq!(body["errors"].as_array().expect("errors").len(), 3, "{body}");
    }
}

fn lookup<'a>(data: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(data, |value, segment| match segment.parse::<usize>() {
        Ok(index) => value.get(index),
        Err(_) => value.get(segment.as_str()),
    })
}

/// Inserts one synthetic draft career path (it needs `collaboration` among its skills and pays
/// in the test currency XXX) and returns its slug: the editing API is tested elsewhere.
async fn insert_draft(app: &TestApp) -> String {
    let slugs = careergraph_domain::synthetic::insert_career_paths(
        app.db(),
        1,
        careergraph_domain::enums::PublicationStatus::Draft,
    )
    .await
    .expect("a draft");
    slugs.into_iter().next().expect("one slug")
}

fn draft_probe(slug: &str) -> String {
    format!(
        r#"{{
  lookup: careerPath(slug: "{slug}") {{ title status }}
  list: careerPaths(first: 100) {{ totalCount nodes {{ slug }} }}
  bySkill: careerPaths(filter: {{ skill: "collaboration" }}) {{ totalCount }}
  gap: skillGap(careerPath: "{slug}", have: []) {{ coverage }}
  stats: salaryStats {{ currency }}
  users: skill(slug: "collaboration") {{ careerPaths {{ careerPath {{ slug }} }} }}
}}"#
    )
}

on_both_backends! {
    async fn drafts_are_invisible_to_anonymous_callers_and_viewers_everywhere(app) {
        let draft = insert_draft(&app).await;
        let probe = draft_probe(&draft);
        let tokens = tokens(&app).await;
        for (role, token) in &tokens {
            let body = match token {
                Some(token) => app.as_user(token, &probe, json!({})).await,
                None => app.graphql(&probe, json!({})).await,
            };
            let data = &body["data"];
            let sees_drafts = matches!(*role, "EDITOR" | "ADMIN");
            let slugs: Vec<&str> = data["list"]["nodes"].as_array().expect("nodes").iter().filter_map(|n| n["slug"].as_str()).collect();
            let currencies: Vec<&str> = data["stats"].as_array().expect("stats").iter().filter_map(|s| s["currency"].as_str()).collect();
            let users: Vec<&str> = data["users"]["careerPaths"].as_array().expect("paths").iter().filter_map(|p| p["careerPath"]["slug"].as_str()).collect();
            assert_eq!(data["lookup"].is_null(), !sees_drafts, "{role} lookup: {body}");
            assert_eq!(slugs.contains(&draft.as_str()), sees_drafts, "{role} list: {body}");
            assert_eq!(data["list"]["totalCount"], if sees_drafts { 2 } else { 1 }, "{role} totalCount");
            assert_eq!(data["bySkill"]["totalCount"], if sees_drafts { 2 } else { 1 }, "{role} skill filter");
            assert_eq!(data["gap"].is_null(), !sees_drafts, "{role} skillGap: {body}");
            assert_eq!(currencies.contains(&"XXX"), sees_drafts, "{role} salaryStats: {body}");
            assert_eq!(users.contains(&draft.as_str()), sees_drafts, "{role} skill.careerPaths: {body}");
            if sees_drafts {
                assert_eq!(data["lookup"]["status"], "DRAFT");
            }
            // Invisible rows are simply absent: no error leaks their existence.
            let errors = body["errors"].as_array().map(|errors| errors.len()).unwrap_or_default();
            assert_eq!(errors, 0, "{role}: {body}");
        }
    }
}

on_both_backends! {
    async fn fragments_and_aliases_cannot_reach_around_the_policy(app) {
        let query = r#"{ careerPath(slug: "backend-developer") {
            title
            ...Editorial
            ... on CareerPath { notes: internalNotes }
            renamed: status
            salaryRecords { ... on SalaryRecord { hidden: sourceUrl } }
          } }
          fragment Editorial on CareerPath { s: status history { action } }"#;
        let body = app.graphql(query, json!({})).await;
        let path = &body["data"]["careerPath"];
        assert_eq!(path["title"], "Backend Developer");
        for field in ["s", "history", "notes", "renamed"] {
            assert!(path.get(field).is_some_and(Value::is_null), "{field} must be null: {body}");
        }
        assert!(path["salaryRecords"][0].get("hidden").is_some_and(Value::is_null), "{body}");
        let codes: Vec<&str> = body["errors"].as_array().expect("errors").iter().filter_map(|e| e["extensions"]["code"].as_str()).collect();
        assert_eq!(codes.len(), 5, "{body}");
        assert!(codes.iter().all(|code| *code == "UNAUTHENTICATED"), "{body}");
    }
}

on_both_backends! {
    async fn a_refusal_says_what_it_refused_which_role_it_takes_and_how_to_get_it(app) {
        let message = |body: &serde_json::Value| body["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        // A field of a query, anonymous: the field, the role, and to sign in.
        let field = "{ careerPath(slug: \"backend-developer\") { salaryRecords { median } } }";
        let body = app.graphql(field, json!({})).await;
        assert_eq!(message(&body), "Sign in as a viewer to see SalaryRecord.median", "{body}");
        // A mutation, anonymous: what it would have done.
        let create = "mutation { createSkill(input: { slug: \"x\", name: \"X\", category: TECHNICAL, description: \"d\" }) { skill { id } } }";
        let body = app.graphql(create, json!({})).await;
        assert_eq!(message(&body), "Sign in as an editor to run createSkill", "{body}");
        // Signed in with too little: who they are, what it takes, and who grants it.
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let body = app.as_user(&viewer, create, json!({})).await;
        assert_eq!(
            message(&body),
            "Running createSkill takes the EDITOR role and you are a VIEWER; an administrator grants roles (setUserRole)",
            "{body}"
        );
        // An enum value only some may pass.
        let stats = "{ salaryStats(filter: { careerPath: \"backend-developer\" }, groupBy: [EXPERIENCE_LEVEL]) { recordCount } }";
        let body = app.graphql(stats, json!({})).await;
        assert_eq!(message(&body), "Sign in as a viewer to pass EXPERIENCE_LEVEL as a SalaryDimension", "{body}");
    }
}
