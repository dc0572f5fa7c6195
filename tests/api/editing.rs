//! Editor mutations: authorization, validation, optimistic concurrency and the audit trail.

use serde_json::{Value, json};

use careergraph_auth::Role;

use crate::helpers::{TestApp, first_error_code};
use crate::on_every_backend;

const CREATE: &str = r#"mutation ($input: CreateCareerPathInput!) {
  createCareerPath(input: $input) { careerPath { id slug version status } } }"#;

fn new_path(slug: &str) -> Value {
    json!({ "input": { "slug": slug, "title": "Data Engineer", "summary": "Builds data pipelines.",
        "description": "Designs and runs the systems that move data.",
        "outlook": { "demand": "HIGH", "summary": "Wanted." } } })
}

async fn create_path(app: &TestApp, editor: &str, slug: &str) -> (String, i64) {
    let body = app.as_user(editor, CREATE, new_path(slug)).await;
    assert!(body.get("errors").is_none(), "{body}");
    let path = &body["data"]["createCareerPath"]["careerPath"];
    (path["id"].as_str().expect("id").to_owned(), path["version"].as_i64().expect("version"))
}

async fn audit_count(app: &TestApp, admin: &str) -> i64 {
    let body = app.as_user(admin, "{ auditLog(first: 1) { totalCount } }", json!({})).await;
    body["data"]["auditLog"]["totalCount"].as_i64().unwrap_or_else(|| panic!("{body}"))
}

on_every_backend! {
    async fn an_editor_drafts_publishes_and_the_history_tells_who_did_what(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let (id, version) = create_path(&app, &editor, "data-engineer").await;
        assert_eq!(version, 1);
        let lookup = "{ careerPath(slug: \"data-engineer\") { title } }";
        assert_eq!(app.graphql(lookup, json!({})).await["data"]["careerPath"], Value::Null, "drafts are hidden");

        let publish = "mutation ($id: ID!, $v: Int!) { publishCareerPath(input: { id: $id, expectedVersion: $v }) { careerPath { status version publishedAt } } }";
        let body = app.as_user(&editor, publish, json!({ "id": id, "v": version })).await;
        assert_eq!(body["data"]["publishCareerPath"]["careerPath"]["status"], "PUBLISHED", "{body}");
        assert_eq!(body["data"]["publishCareerPath"]["careerPath"]["version"], 2);
        assert_eq!(app.graphql(lookup, json!({})).await["data"]["careerPath"]["title"], "Data Engineer");

        let history = "{ careerPath(slug: \"data-engineer\") { updatedBy { displayName } history { action actor { displayName email } before after requestId } } }";
        let body = app.as_user(&editor, history, json!({})).await;
        assert_eq!(body["data"]["careerPath"]["updatedBy"]["displayName"], "T", "{body}");
        let events = body["data"]["careerPath"]["history"].as_array().expect("history").clone();
        let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["publish", "create"]);
        assert_eq!(events[0]["actor"]["email"], "editor@example.com");
        assert_eq!(events[0]["before"]["status"], "DRAFT");
        assert_eq!(events[0]["after"]["status"], "PUBLISHED");
        assert_eq!(events[1]["before"], Value::Null);
        assert!(events[0]["requestId"].as_str().is_some_and(|id| !id.is_empty()));
        // Snapshots name fields as the API does, not as the database's columns.
        let after = &events[0]["after"];
        assert!(after["publishedAt"].is_string() && after.get("internalNotes").is_some(), "{after}");
        assert!(after["outlook"]["demand"].is_string() && after["outlook"]["summary"].is_string(), "{after}");
        let keys: Vec<&String> = after.as_object().expect("an object").keys().collect();
        assert!(keys.iter().all(|key| !key.contains('_')), "no column names: {keys:?}");
    }

    async fn every_mutation_needs_its_role_and_is_audited(app) {
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let (id, _) = create_path(&app, &editor, "target").await;
        // The admin cases change someone else, so the viewer's token stays valid throughout.
        app.token_for("target@example.com", Role::Viewer).await;
        let user = careergraph_domain::accounts::user_by_email(app.db(), "target@example.com").await.expect("db").expect("user");
        let user_id = user.id.to_string();

        // (mutation, variables at each attempt given the path's current version, required role)
        type Case = (&'static str, Box<dyn Fn(i64) -> Value>, &'static str);
        let path_id = id.clone();
        let cases: Vec<Case> = vec![
            ("mutation ($input: CreateCareerPathInput!) { createCareerPath(input: $input) { careerPath { id } } }",
             Box::new(|_| new_path("another-path")), "EDITOR"),
            ("mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Renamed\" }) { careerPath { title } } }",
             Box::new({ let id = path_id.clone(); move |v| json!({ "id": id, "v": v }) }), "EDITOR"),
            ("mutation ($id: ID!, $v: Int!) { setCareerPathSkills(input: { id: $id, expectedVersion: $v, skills: [{ skill: \"security\", importance: ESSENTIAL }] }) { careerPath { version } } }",
             Box::new({ let id = path_id.clone(); move |v| json!({ "id": id, "v": v }) }), "EDITOR"),
            ("mutation ($id: ID!, $v: Int!) { publishCareerPath(input: { id: $id, expectedVersion: $v }) { careerPath { version } } }",
             Box::new({ let id = path_id.clone(); move |v| json!({ "id": id, "v": v }) }), "EDITOR"),
            ("mutation ($id: ID!, $v: Int!) { unpublishCareerPath(input: { id: $id, expectedVersion: $v }) { careerPath { version } } }",
             Box::new({ let id = path_id.clone(); move |v| json!({ "id": id, "v": v }) }), "EDITOR"),
            ("mutation ($id: ID!) { setUserRole(input: { userId: $id, role: EDITOR }) { user { role } } }",
             Box::new({ let id = user_id.clone(); move |_| json!({ "id": id }) }), "ADMIN"),
            ("mutation ($id: ID!) { disableUser(input: { userId: $id }) { user { disabled } } }",
             Box::new({ let id = user_id.clone(); move |_| json!({ "id": id }) }), "ADMIN"),
            ("mutation ($id: ID!, $v: Int!) { deleteCareerPath(input: { id: $id, expectedVersion: $v }) { deletedId } }",
             Box::new({ let id = path_id.clone(); move |v| json!({ "id": id, "v": v }) }), "EDITOR"),
        ];
        for (query, variables, required) in cases {
            let name = query.split('{').nth(1).unwrap_or_default().split('(').next().unwrap_or_default().trim().to_owned();
            let version_query = format!("{{ careerPath(id: \"{id}\") {{ version }} }}");
            let version = app.as_user(&admin, &version_query, json!({})).await["data"]["careerPath"]["version"].as_i64().unwrap_or(1);
            let anonymous = app.graphql(query, variables(version)).await;
            assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED", "anonymous {name}: {anonymous}");
            assert!(anonymous["data"].get(&name).is_some_and(Value::is_null), "anonymous {name} is null: {anonymous}");
            let low = if required == "ADMIN" { &editor } else { &viewer };
            let forbidden = app.as_user(low, query, variables(version)).await;
            assert_eq!(first_error_code(&forbidden), "FORBIDDEN", "{name} below {required}: {forbidden}");
            let before = audit_count(&app, &admin).await;
            let allowed = if required == "ADMIN" { &admin } else { &editor };
            let body = app.as_user(allowed, query, variables(version)).await;
            assert!(body.get("errors").is_none(), "{required} {name}: {body}");
            assert_eq!(audit_count(&app, &admin).await, before + 1, "{name} writes exactly one audit event");
        }
    }

    async fn bad_input_is_refused_with_the_field_named_and_nothing_written(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let (id, version) = create_path(&app, &editor, "data-engineer").await;
        let before = audit_count(&app, &admin).await;
        let bad_creates = [
            (json!({ "slug": "Not A Slug" }), "slug"),
            (json!({ "slug": "data-engineer" }), "slug"),
            (json!({ "title": "   " }), "title"),
            (json!({ "summary": "x".repeat(501) }), "summary"),
            (json!({ "onetSocCode": "fifteen" }), "onetSocCode"),
        ];
        for (change, field) in bad_creates {
            let mut variables = new_path("fresh-path");
            for (key, value) in change.as_object().expect("object") {
                variables["input"][key] = value.clone();
            }
            let body = app.as_user(&editor, CREATE, variables).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{change}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{change}: {body}");
        }
        let update = "mutation ($input: UpdateCareerPathInput!) { updateCareerPath(input: $input) { careerPath { title } } }";
        let body = app.as_user(&editor, update, json!({ "input": { "id": id, "expectedVersion": version, "title": "" } })).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "title", "{body}");
        let skills = "mutation ($input: SetCareerPathSkillsInput!) { setCareerPathSkills(input: $input) { careerPath { version } } }";
        let body = app.as_user(&editor, skills, json!({ "input": { "id": id, "expectedVersion": version, "skills": [{ "skill": "juggling", "importance": "ESSENTIAL" }] } })).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "skills", "{body}");
        let body = app.as_user(&editor, update, json!({ "input": { "id": "nope", "expectedVersion": version } })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT");

        assert_eq!(audit_count(&app, &admin).await, before, "nothing was written");
        let data = app.as_user(&editor, "{ careerPath(slug: \"data-engineer\") { title version } careerPaths { totalCount } }", json!({})).await;
        assert_eq!(data["data"]["careerPath"], json!({ "title": "Data Engineer", "version": version }));
        assert_eq!(data["data"]["careerPaths"]["totalCount"], 2);
    }

    async fn parallel_updates_from_one_version_let_exactly_one_through(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let (id, version) = create_path(&app, &editor, "data-engineer").await;
        let update = "mutation ($input: UpdateCareerPathInput!) { updateCareerPath(input: $input) { careerPath { title version } } }";
        let attempts = futures::future::join_all((0..8).map(|n| {
            app.as_user(&editor, update, json!({ "input": { "id": id, "expectedVersion": version, "title": format!("Title {n}") } }))
        }))
        .await;
        let winners: Vec<&Value> = attempts.iter().filter(|body| body.get("errors").is_none()).collect();
        assert_eq!(winners.len(), 1, "{attempts:#?}");
        for loser in attempts.iter().filter(|body| body.get("errors").is_some()) {
            assert_eq!(first_error_code(loser), "CONFLICT", "{loser}");
            assert_eq!(loser["errors"][0]["extensions"]["field"], "expectedVersion");
        }
        let log = app.as_user(&editor, "query ($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { action } } }", json!({ "id": id })).await;
        let actions: Vec<&str> = log["data"]["auditLog"]["nodes"].as_array().expect("nodes").iter().filter_map(|n| n["action"].as_str()).collect();
        assert_eq!(actions, ["update", "create"], "exactly one update was recorded");
        let stale = app.as_user(&editor, update, json!({ "input": { "id": id, "expectedVersion": version, "title": "Late" } })).await;
        assert_eq!(first_error_code(&stale), "CONFLICT");
    }

    async fn the_audit_log_filters_by_a_type_named_in_its_enum(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        create_path(&app, &editor, "data-engineer").await;
        let create_skill = "mutation { createSkill(input: { slug: \"spark\", name: \"Spark\", category: TECHNICAL, description: \"Big data.\" }) { skill { id } } }";
        let created = app.as_user(&editor, create_skill, json!({})).await;
        assert!(created.get("errors").is_none(), "{created}");
        let by_type = "query ($t: AuditedType) { auditLog(filter: { entityType: $t }) { nodes { entityType } } }";
        for (value, name) in [("CAREER_PATH", "CareerPath"), ("SKILL", "Skill")] {
            let log = app.as_user(&editor, by_type, json!({ "t": value })).await;
            let types: Vec<&str> = log["data"]["auditLog"]["nodes"].as_array().expect("nodes").iter().filter_map(|n| n["entityType"].as_str()).collect();
            assert_eq!(types, [name], "{log}");
        }
        let unknown = app.as_user(&editor, "{ auditLog(filter: { entityType: \"CareerPath\" }) { totalCount } }", json!({})).await;
        assert_eq!(first_error_code(&unknown), "BAD_USER_INPUT", "a type name must be one of the enum's: {unknown}");
    }

    async fn a_path_others_link_to_is_deleted_only_when_detaching(app) {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let (id, version) = create_path(&app, &editor, "data-engineer").await;
        let backend = app.query_ok("{ careerPath(slug: \"backend-developer\") { id } }", json!({})).await;
        let backend_id = backend["careerPath"]["id"].as_str().expect("id").parse().expect("uuid");
        careergraph_domain::entities::related_career_path::ActiveModel {
            career_path_id: Set(backend_id),
            related_career_path_id: Set(id.parse().expect("uuid")),
            position: Set(0),
            relatedness_tier: Set(None),
        }
        .insert(app.db())
        .await
        .expect("link");
        let delete = "mutation ($id: ID!, $v: Int!, $d: Boolean!) { deleteCareerPath(input: { id: $id, expectedVersion: $v, detach: $d }) { deletedId } }";
        let refused = app.as_user(&editor, delete, json!({ "id": id, "v": version, "d": false })).await;
        assert_eq!(first_error_code(&refused), "CONFLICT", "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "detach");
        let deleted = app.as_user(&editor, delete, json!({ "id": id, "v": version, "d": true })).await;
        assert_eq!(deleted["data"]["deleteCareerPath"]["deletedId"], json!(id), "{deleted}");
        let related = app.as_user(&editor, "{ careerPath(slug: \"backend-developer\") { relatedCareerPaths { slug } } }", json!({})).await;
        assert_eq!(related["data"]["careerPath"]["relatedCareerPaths"], json!([]));
    }

    async fn set_career_path_skills_replaces_the_list_in_order(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let (id, version) = create_path(&app, &editor, "data-engineer").await;
        let set = "mutation ($input: SetCareerPathSkillsInput!) { setCareerPathSkills(input: $input) { careerPath { skills { importance skill { slug } } } } }";
        let skills = json!([{ "skill": "problem-solving", "importance": "IMPORTANT" }, { "skill": "database-design-and-management", "importance": "ESSENTIAL" }]);
        let body = app.as_user(&editor, set, json!({ "input": { "id": id, "expectedVersion": version, "skills": skills } })).await;
        let list = &body["data"]["setCareerPathSkills"]["careerPath"]["skills"];
        assert_eq!(list, &json!([{ "importance": "IMPORTANT", "skill": { "slug": "problem-solving" } }, { "importance": "ESSENTIAL", "skill": { "slug": "database-design-and-management" } }]), "{body}");
        let twice = json!([{ "skill": "security", "importance": "ESSENTIAL" }, { "skill": "security", "importance": "IMPORTANT" }]);
        let body = app.as_user(&editor, set, json!({ "input": { "id": id, "expectedVersion": version + 1, "skills": twice } })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    }

    async fn admins_list_users_and_cannot_demote_the_last_admin(app) {
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        app.token_for("viewer@example.com", Role::Viewer).await;
        let users = app.as_user(&admin, "{ users { totalCount nodes { id email role } } }", json!({})).await;
        assert_eq!(users["data"]["users"]["totalCount"], 2, "{users}");
        let me = users["data"]["users"]["nodes"].as_array().expect("nodes").iter().find(|u| u["email"] == "admin@example.com").expect("admin")["id"].clone();
        let demote = "mutation ($id: ID!) { setUserRole(input: { userId: $id, role: VIEWER }) { user { role } } }";
        let body = app.as_user(&admin, demote, json!({ "id": me })).await;
        assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
        let disable = "mutation ($id: ID!) { disableUser(input: { userId: $id }) { user { disabled } } }";
        let body = app.as_user(&admin, disable, json!({ "id": me })).await;
        assert_eq!(first_error_code(&body), "CONFLICT", "{body}");
    }
}

/// Sends `query` as anonymous, viewer and editor: the first two are refused, the editor's
/// change succeeds with exactly one audit event. Returns the editor's `data`.
async fn editor_only(app: &TestApp, tokens: &(String, String, String), query: &str, variables: Value) -> Value {
    let (viewer, editor, admin) = tokens;
    let anonymous = app.graphql(query, variables.clone()).await;
    assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED", "{query}: {anonymous}");
    let forbidden = app.as_user(viewer, query, variables.clone()).await;
    assert_eq!(first_error_code(&forbidden), "FORBIDDEN", "{query}: {forbidden}");
    let before = audit_count(app, admin).await;
    let body = app.as_user(editor, query, variables).await;
    assert!(body.get("errors").is_none(), "{query}: {body}");
    assert_eq!(audit_count(app, admin).await, before + 1, "{query} writes one audit event");
    body["data"].clone()
}

on_every_backend! {
    async fn skills_technologies_industries_and_benefits_are_edited_by_editors_only(app) {
        let tokens = (
            app.token_for("viewer@example.com", Role::Viewer).await,
            app.token_for("editor@example.com", Role::Editor).await,
            app.token_for("admin@example.com", Role::Admin).await,
        );
        let data = editor_only(&app, &tokens, "mutation { createSkill(input: { slug: \"data-modelling\", name: \"Data modelling\", category: TECHNICAL, description: \"Shaping data.\" }) { skill { id version } } }", json!({})).await;
        let skill_id = data["createSkill"]["skill"]["id"].clone();
        let data = editor_only(&app, &tokens, "mutation ($id: ID!) { updateSkill(input: { id: $id, expectedVersion: 1, name: \"Data modeling\" }) { skill { name version } } }", json!({ "id": skill_id })).await;
        assert_eq!(data["updateSkill"]["skill"], json!({ "name": "Data modeling", "version": 2 }));
        let data = editor_only(&app, &tokens, "mutation ($id: ID!) { setSkillTechnologies(input: { id: $id, expectedVersion: 2, technologies: [\"sql\", \"postgresql\"] }) { skill { version technologies { slug } } } }", json!({ "id": skill_id })).await;
        assert_eq!(data["setSkillTechnologies"]["skill"]["technologies"], json!([{ "slug": "sql" }, { "slug": "postgresql" }]));

        let data = editor_only(&app, &tokens, "mutation { createTechnology(input: { slug: \"fastapi\", name: \"FastAPI\", kind: FRAMEWORK, builtOn: \"python\" }) { technology { id builtOn { slug } } } }", json!({})).await;
        assert_eq!(data["createTechnology"]["technology"]["builtOn"]["slug"], "python");
        let technology_id = data["createTechnology"]["technology"]["id"].clone();
        editor_only(&app, &tokens, "mutation ($id: ID!) { updateTechnology(input: { id: $id, expectedVersion: 1, builtOn: \"\" }) { technology { builtOn { slug } } } }", json!({ "id": technology_id })).await;
        editor_only(&app, &tokens, "mutation ($id: ID!) { deleteTechnology(input: { id: $id, expectedVersion: 2 }) { deletedId } }", json!({ "id": technology_id })).await;

        let data = editor_only(&app, &tokens, "mutation { createIndustry(input: { slug: \"gaming\", name: \"Gaming\" }) { industry { id } } }", json!({})).await;
        let industry_id = data["createIndustry"]["industry"]["id"].clone();
        editor_only(&app, &tokens, "mutation ($id: ID!) { updateIndustry(input: { id: $id, expectedVersion: 1, name: \"Games\" }) { industry { name } } }", json!({ "id": industry_id })).await;
        editor_only(&app, &tokens, "mutation ($id: ID!) { deleteIndustry(input: { id: $id, expectedVersion: 2 }) { deletedId } }", json!({ "id": industry_id })).await;

        let data = editor_only(&app, &tokens, "mutation { createBenefit(input: { slug: \"remote-work\", name: \"Remote work\" }) { benefit { id } } }", json!({})).await;
        let benefit_id = data["createBenefit"]["benefit"]["id"].clone();
        editor_only(&app, &tokens, "mutation ($id: ID!) { updateBenefit(input: { id: $id, expectedVersion: 1, slug: \"remote\" }) { benefit { slug } } }", json!({ "id": benefit_id })).await;
        editor_only(&app, &tokens, "mutation ($id: ID!) { deleteBenefit(input: { id: $id, expectedVersion: 2 }) { deletedId } }", json!({ "id": benefit_id })).await;

        let history = app.as_user(&tokens.1, "query ($id: ID!) { skill(id: $id) { history { action } } }", json!({ "id": skill_id })).await;
        let actions: Vec<&str> = history["data"]["skill"]["history"].as_array().expect("history").iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["set_technologies", "update", "create"]);
        editor_only(&app, &tokens, "mutation ($id: ID!) { deleteSkill(input: { id: $id, expectedVersion: 3 }) { deletedId } }", json!({ "id": skill_id })).await;
    }

    async fn a_skill_career_paths_need_is_deleted_only_when_detaching(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let skill = app.query_ok("{ skill(slug: \"security\") { id version } }", json!({})).await;
        let delete = "mutation ($id: ID!, $v: Int!, $d: Boolean!) { deleteSkill(input: { id: $id, expectedVersion: $v, detach: $d }) { deletedId } }";
        let variables = |detach: bool| json!({ "id": skill["skill"]["id"], "v": skill["skill"]["version"], "d": detach });
        let refused = app.as_user(&editor, delete, variables(false)).await;
        assert_eq!(first_error_code(&refused), "CONFLICT", "{refused}");
        let slugs = "{ careerPath(slug: \"backend-developer\") { skills { skill { slug } } } }";
        assert_eq!(app.query_ok(slugs, json!({})).await["careerPath"]["skills"].as_array().expect("skills").len(), 9, "nothing changed");
        let deleted = app.as_user(&editor, delete, variables(true)).await;
        assert!(deleted.get("errors").is_none(), "{deleted}");
        assert_eq!(app.query_ok(slugs, json!({})).await["careerPath"]["skills"].as_array().expect("skills").len(), 8);
    }
}

on_every_backend! {
    async fn responsibilities_roadmap_steps_resources_and_salaries_are_edited_by_editors_only(app) {
        let tokens = (
            app.token_for("viewer@example.com", Role::Viewer).await,
            app.token_for("editor@example.com", Role::Editor).await,
            app.token_for("admin@example.com", Role::Admin).await,
        );
        let path = app.query_ok("{ careerPath(slug: \"backend-developer\") { id } }", json!({})).await["careerPath"]["id"].clone();
        let data = editor_only(&app, &tokens, "mutation ($p: ID!) { createResponsibility(input: { careerPathId: $p, title: \"Review code\", description: \"Reads others' changes.\" }) { responsibility { id position version } } }", json!({ "p": path })).await;
        let responsibility = &data["createResponsibility"]["responsibility"];
        assert_eq!(responsibility["position"], 8, "appended after the eight of the seed");
        editor_only(&app, &tokens, "mutation ($id: ID!) { updateResponsibility(input: { id: $id, expectedVersion: 1, position: 0 }) { responsibility { position } } }", json!({ "id": responsibility["id"] })).await;
        editor_only(&app, &tokens, "mutation ($id: ID!) { deleteResponsibility(input: { id: $id, expectedVersion: 2 }) { deletedId } }", json!({ "id": responsibility["id"] })).await;

        let data = editor_only(&app, &tokens, "mutation ($p: ID!) { createRoadmapStep(input: { careerPathId: $p, title: \"Learn Rust\", description: \"A systems language.\", recommendation: OPTIONAL }) { roadmapStep { id position } } }", json!({ "p": path })).await;
        let step = data["createRoadmapStep"]["roadmapStep"]["id"].clone();
        let data = editor_only(&app, &tokens, "mutation ($s: ID!) { createLearningResource(input: { roadmapStepId: $s, name: \"The Rust Book\", kind: BOOK, url: \"https://doc.rust-lang.org/book/\" }) { learningResource { id url } } }", json!({ "s": step })).await;
        let resource = data["createLearningResource"]["learningResource"]["id"].clone();
        editor_only(&app, &tokens, "mutation ($id: ID!) { updateLearningResource(input: { id: $id, expectedVersion: 1, url: null }) { learningResource { url } } }", json!({ "id": resource })).await;
        editor_only(&app, &tokens, "mutation ($id: ID!) { updateRoadmapStep(input: { id: $id, expectedVersion: 1, recommendation: RECOMMENDED }) { roadmapStep { recommendation } } }", json!({ "id": step })).await;
        editor_only(&app, &tokens, "mutation ($id: ID!) { deleteLearningResource(input: { id: $id, expectedVersion: 2 }) { deletedId } }", json!({ "id": resource })).await;
        editor_only(&app, &tokens, "mutation ($id: ID!) { deleteRoadmapStep(input: { id: $id, expectedVersion: 2 }) { deletedId } }", json!({ "id": step })).await;

        let data = editor_only(&app, &tokens, "mutation ($p: ID!) { createSalaryRecord(input: { careerPathId: $p, country: \"de\", currency: \"eur\", period: YEAR, experienceLevel: SENIOR, industry: \"finance\", average: 80000, minimum: 60000, maximum: 100000, median: 79000, source: \"Test data\", asOf: \"2024-01-01\" }) { salaryRecord { id country currency experienceLevel industry { slug } } } }", json!({ "p": path })).await;
        let record = &data["createSalaryRecord"]["salaryRecord"];
        assert_eq!((record["country"].as_str(), record["currency"].as_str()), (Some("DE"), Some("EUR")));
        assert_eq!(record["industry"]["slug"], "finance");
        editor_only(&app, &tokens, "mutation ($id: ID!) { updateSalaryRecord(input: { id: $id, expectedVersion: 1, industry: null, median: null }) { salaryRecord { industry { slug } median } } }", json!({ "id": record["id"] })).await;
        let stats = app.query_ok("{ salaryStats(groupBy: [COUNTRY]) { country currency } }", json!({})).await;
        assert_eq!(stats["salaryStats"].as_array().expect("stats").len(), 2);
        editor_only(&app, &tokens, "mutation ($id: ID!) { deleteSalaryRecord(input: { id: $id, expectedVersion: 2 }) { deletedId } }", json!({ "id": record["id"] })).await;
    }

    async fn salary_records_are_checked_before_anything_is_written(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let path = app.query_ok("{ careerPath(slug: \"backend-developer\") { id } }", json!({})).await["careerPath"]["id"].clone();
        let before = audit_count(&app, &admin).await;
        let create = "mutation ($input: CreateSalaryRecordInput!) { createSalaryRecord(input: $input) { salaryRecord { id } } }";
        let valid = json!({ "careerPathId": path, "country": "US", "currency": "USD", "period": "YEAR", "average": 90000,
                            "minimum": 60000, "maximum": 120000, "source": "Test data", "asOf": "2024-01-01" });
        let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(2)).to_string();
        let cases = [
            (json!({ "currency": "ABC" }), "currency"),
            (json!({ "country": "XX" }), "country"),
            (json!({ "minimum": 95000 }), "average"),
            (json!({ "maximum": 80000 }), "maximum"),
            (json!({ "percentile25": 70000, "median": 65000 }), "median"),
            (json!({ "asOf": tomorrow }), "asOf"),
            (json!({ "sampleSize": 0 }), "sampleSize"),
            (json!({ "sourceUrl": "ftp://example.com" }), "sourceUrl"),
            (json!({ "industry": "farming" }), "industry"),
            (json!({ "source": " " }), "source"),
        ];
        for (change, field) in cases {
            let mut input = valid.clone();
            for (key, value) in change.as_object().expect("object") {
                input[key] = value.clone();
            }
            let body = app.as_user(&editor, create, json!({ "input": input })).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{change}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{change}: {body}");
        }
        assert_eq!(audit_count(&app, &admin).await, before, "nothing was written");
        let records = app.query_ok("{ careerPath(slug: \"backend-developer\") { salaryRecords { id } } }", json!({})).await;
        assert_eq!(records["careerPath"]["salaryRecords"].as_array().expect("records").len(), 1);
        let body = app.as_user(&editor, create, json!({ "input": valid })).await;
        assert!(body.get("errors").is_none(), "the valid record is accepted: {body}");
    }
}

on_every_backend! {
    async fn every_mutation_refuses_bad_input_naming_the_field_and_writes_nothing(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let ids = app
            .query_ok(
                "{ skill(slug: \"security\") { id version } technology(slug: \"python\") { id version }
                   careerPath(slug: \"backend-developer\") { id version industries { id version } benefits { id version }
                     responsibilities { id version } roadmap { id version resources { id version } } salaryRecords { id version } } }",
                json!({}),
            )
            .await;
        let path = &ids["careerPath"];
        let (skill, technology) = (&ids["skill"], &ids["technology"]);
        let (industry, benefit, responsibility) = (&path["industries"][0], &path["benefits"][0], &path["responsibilities"][0]);
        let (step, resource, salary) = (&path["roadmap"][0], &path["roadmap"][0]["resources"][0], &path["salaryRecords"][0]);
        let cases: Vec<(String, &str)> = vec![
            ("createSkill(input: { slug: \"Bad Slug\", name: \"X\", category: SOFT, description: \"d\" }) { skill { id } }".into(), "slug"),
            (format!("updateSkill(input: {{ id: \"{}\", expectedVersion: {}, name: \" \" }}) {{ skill {{ id }} }}", skill["id"].as_str().unwrap_or_default(), skill["version"]), "name"),
            (format!("setSkillTechnologies(input: {{ id: \"{}\", expectedVersion: {}, technologies: [\"cobol\"] }}) {{ skill {{ id }} }}", skill["id"].as_str().unwrap_or_default(), skill["version"]), "technologies"),
            ("deleteSkill(input: { id: \"nope\", expectedVersion: 1 }) { deletedId }".into(), "id"),
            ("createTechnology(input: { slug: \"fastapi\", name: \"FastAPI\", kind: FRAMEWORK, builtOn: \"cobol\" }) { technology { id } }".into(), "builtOn"),
            (format!("updateTechnology(input: {{ id: \"{}\", expectedVersion: {}, builtOn: \"python\" }}) {{ technology {{ id }} }}", technology["id"].as_str().unwrap_or_default(), technology["version"]), "builtOn"),
            ("createIndustry(input: { slug: \"finance\", name: \"Finance again\" }) { industry { id } }".into(), "slug"),
            (format!("updateIndustry(input: {{ id: \"{}\", expectedVersion: {}, name: \"\" }}) {{ industry {{ id }} }}", industry["id"].as_str().unwrap_or_default(), industry["version"]), "name"),
            ("createBenefit(input: { slug: \"-bad\", name: \"B\" }) { benefit { id } }".into(), "slug"),
            (format!("updateBenefit(input: {{ id: \"{}\", expectedVersion: {}, name: \"{}\" }}) {{ benefit {{ id }} }}", benefit["id"].as_str().unwrap_or_default(), benefit["version"], "n".repeat(121)), "name"),
            (format!("createResponsibility(input: {{ careerPathId: \"{}\", title: \"\", description: \"d\" }}) {{ responsibility {{ id }} }}", path["id"].as_str().unwrap_or_default()), "title"),
            (format!("updateResponsibility(input: {{ id: \"{}\", expectedVersion: {}, position: -1 }}) {{ responsibility {{ id }} }}", responsibility["id"].as_str().unwrap_or_default(), responsibility["version"]), "position"),
            (format!("createRoadmapStep(input: {{ careerPathId: \"{}\", title: \"t\", description: \"d\" }}) {{ roadmapStep {{ id }} }}", uuid::Uuid::now_v7()), "careerPathId"),
            (format!("updateRoadmapStep(input: {{ id: \"{}\", expectedVersion: {}, title: \"{}\" }}) {{ roadmapStep {{ id }} }}", step["id"].as_str().unwrap_or_default(), step["version"], "t".repeat(201)), "title"),
            (format!("createLearningResource(input: {{ roadmapStepId: \"{}\", name: \"n\", kind: BOOK, url: \"not a url\" }}) {{ learningResource {{ id }} }}", step["id"].as_str().unwrap_or_default()), "url"),
            (format!("updateLearningResource(input: {{ id: \"{}\", expectedVersion: {}, name: \"\" }}) {{ learningResource {{ id }} }}", resource["id"].as_str().unwrap_or_default(), resource["version"]), "name"),
            (format!("updateSalaryRecord(input: {{ id: \"{}\", expectedVersion: {}, maximum: 1000 }}) {{ salaryRecord {{ id }} }}", salary["id"].as_str().unwrap_or_default(), salary["version"]), "maximum"),
            ("deleteSalaryRecord(input: { id: \"nope\", expectedVersion: 1 }) { deletedId }".into(), "id"),
            ("publishCareerPath(input: { id: \"nope\", expectedVersion: 1 }) { careerPath { id } }".into(), "id"),
            ("setUserRole(input: { userId: \"nope\", role: EDITOR }) { user { id } }".into(), "userId"),
        ];
        let before = audit_count(&app, &admin).await;
        let snapshot = "{ skills { totalCount } technologies { totalCount } industries { name } benefits { name }
            careerPath(slug: \"backend-developer\") { version responsibilities { title position } roadmap { title resources { name url } } salaryRecords { maximum } } }";
        let state = app.query_ok(snapshot, json!({})).await;
        for (mutation, field) in cases {
            let token = if mutation.starts_with("setUserRole") { &admin } else { &editor };
            let body = app.as_user(token, &format!("mutation {{ {mutation} }}"), json!({})).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{mutation}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{mutation}: {body}");
        }
        assert_eq!(audit_count(&app, &admin).await, before, "no audit event");
        assert_eq!(app.query_ok(snapshot, json!({})).await, state, "no change");
    }
}

/// The `data` of a response that must have no errors.
fn data_of(body: Value) -> Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

on_every_backend! {
    async fn in_an_update_null_clears_an_optional_field_and_an_omitted_field_stays(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let create = r#"mutation { createCareerPath(input: { slug: "data-engineer", title: "Data Engineer",
            summary: "Builds data pipelines.", description: "Moves data.", outlook: { demand: HIGH, summary: "Wanted." },
            internalNotes: "Check the pay figures.", onetSocCode: "15-1252.00" }) { careerPath { id } } }"#;
        let id = data_of(app.as_user(&editor, create, json!({})).await)["createCareerPath"]["careerPath"]["id"].clone();
        let update = "mutation ($input: UpdateCareerPathInput!) { updateCareerPath(input: $input) {
            careerPath { title internalNotes onetSocCode version } } }";

        let renamed = data_of(app.as_user(&editor, update, json!({ "input": { "id": id, "expectedVersion": 1, "title": "Data Engineer II" } })).await);
        let path = &renamed["updateCareerPath"]["careerPath"];
        assert_eq!((&path["title"], &path["internalNotes"], &path["onetSocCode"]), (&json!("Data Engineer II"), &json!("Check the pay figures."), &json!("15-1252.00")), "omitted fields stay");

        let cleared = data_of(app.as_user(&editor, update, json!({ "input": { "id": id, "expectedVersion": 2, "internalNotes": null } })).await);
        let path = &cleared["updateCareerPath"]["careerPath"];
        assert_eq!((&path["internalNotes"], &path["onetSocCode"]), (&Value::Null, &json!("15-1252.00")), "null clears only what it names");

        let django = data_of(app.as_user(&editor, "{ technology(slug: \"django\") { id version builtOn { slug } } }", json!({})).await);
        assert_eq!(django["technology"]["builtOn"]["slug"], "python");
        let update = "mutation ($input: UpdateTechnologyInput!) { updateTechnology(input: $input) { technology { builtOn { slug } description name } } }";
        let input = json!({ "input": { "id": django["technology"]["id"], "expectedVersion": django["technology"]["version"], "builtOn": null, "description": null } });
        let technology = data_of(app.as_user(&editor, update, input).await)["updateTechnology"]["technology"].clone();
        assert_eq!(technology, json!({ "builtOn": null, "description": null, "name": "Django" }));
    }

    async fn null_for_a_required_field_of_an_update_is_refused_and_changes_nothing(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let snapshot = "{ careerPath(slug: \"backend-developer\") { id version title outlook { demand }
            responsibilities { id version title } salaryRecords { id version average } }
            skill(slug: \"collaboration\") { id version name } industries { id version slug } }";
        let state = app.query_ok(snapshot, json!({})).await;
        let path = &state["careerPath"];
        let (skill, industry) = (&state["skill"], &state["industries"][0]);
        let (responsibility, salary) = (&path["responsibilities"][0], &path["salaryRecords"][0]);
        let cases = [
            ("updateCareerPath", "UpdateCareerPathInput", "careerPath { id }", path, "title"),
            ("updateCareerPath", "UpdateCareerPathInput", "careerPath { id }", path, "outlook"),
            ("updateSkill", "UpdateSkillInput", "skill { id }", skill, "name"),
            ("updateIndustry", "UpdateNamedInput", "industry { id }", industry, "slug"),
            ("updateResponsibility", "UpdateResponsibilityInput", "responsibility { id }", responsibility, "position"),
            ("updateSalaryRecord", "UpdateSalaryRecordInput", "salaryRecord { id }", salary, "average"),
        ];
        let before = audit_count(&app, &admin).await;
        for (mutation, input_type, selection, object, field) in cases {
            let query = format!("mutation ($input: {input_type}!) {{ {mutation}(input: $input) {{ {selection} }} }}");
            let mut input = json!({ "id": object["id"], "expectedVersion": object["version"] });
            input[field] = Value::Null;
            let body = app.as_user(&editor, &query, json!({ "input": input })).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{mutation} {field}: null: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{mutation}: {body}");
        }
        assert_eq!(audit_count(&app, &admin).await, before, "no audit event");
        assert_eq!(app.query_ok(snapshot, json!({})).await, state, "no change");
    }

    async fn every_deletion_takes_the_one_delete_input(app) {
        let mutation = app.query_ok("{ __type(name: \"Mutation\") { fields { name args { name type { kind ofType { name } } } } } }", json!({})).await;
        let deletions: Vec<(String, Value)> = mutation["__type"]["fields"].as_array().expect("fields").iter()
            .filter(|field| field["name"].as_str().is_some_and(|name| name.starts_with("delete")))
            .map(|field| (field["name"].as_str().unwrap_or_default().to_owned(), field["args"].clone()))
            .collect();
        assert_eq!(deletions.len(), 9, "{deletions:?}");
        for (name, args) in &deletions {
            assert_eq!(args, &json!([{ "name": "input", "type": { "kind": "NON_NULL", "ofType": { "name": "DeleteInput" } } }]), "{name}");
        }
        // `detach` is accepted, and harmless, for what nothing refers to.
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let item = app.query_ok("{ careerPath(slug: \"backend-developer\") { responsibilities { id version } } }", json!({})).await;
        let item = &item["careerPath"]["responsibilities"][0];
        let delete = "mutation ($id: ID!, $v: Int!) { deleteResponsibility(input: { id: $id, expectedVersion: $v, detach: true }) { deletedId } }";
        let body = app.as_user(&editor, delete, json!({ "id": item["id"], "v": item["version"] })).await;
        assert_eq!(data_of(body)["deleteResponsibility"]["deletedId"], item["id"]);
    }

    async fn roles_are_one_enum_and_no_user_can_be_made_anonymous(app) {
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let types = app.query_ok("{ role: __type(name: \"Role\") { enumValues { name } } userRole: __type(name: \"UserRole\") { name }
            user: __type(name: \"User\") { fields { name type { name } } } }", json!({})).await;
        assert_eq!(types["role"]["enumValues"], json!([{ "name": "ANONYMOUS" }, { "name": "VIEWER" }, { "name": "EDITOR" }, { "name": "ADMIN" }]));
        assert_eq!(types["userRole"], Value::Null, "no second role enum");
        let role_field = types["user"]["fields"].as_array().expect("fields").iter().find(|field| field["name"] == "role").cloned();
        assert_eq!(role_field.map(|field| field["type"]["name"].clone()), Some(json!("Role")));

        let me = data_of(app.as_user(&viewer, "{ me { id role } }", json!({})).await);
        let set = "mutation ($id: ID!, $role: Role!) { setUserRole(input: { userId: $id, role: $role }) { user { role } } }";
        let body = app.as_user(&admin, set, json!({ "id": me["me"]["id"], "role": "ANONYMOUS" })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "role");
        assert_eq!(data_of(app.as_user(&viewer, "{ me { role } }", json!({})).await)["me"]["role"], "VIEWER", "unchanged, still signed in");
        let promoted = data_of(app.as_user(&admin, set, json!({ "id": me["me"]["id"], "role": "EDITOR" })).await);
        assert_eq!(promoted["setUserRole"]["user"]["role"], "EDITOR");
    }
}
