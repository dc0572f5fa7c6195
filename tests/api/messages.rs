//! Error messages stand alone: a client that shows only `message` (a Python client's
//! `str(error)`, genql's `GenqlError`) still tells its user which field or thing is at fault and
//! what to do. The most common editor mistakes, each checked for its subject and its code.

use careergraph_auth::Role;
use serde_json::{Value, json};

use crate::on_both_backends;

/// The first error's message and code.
fn first_error(body: &Value) -> (String, String) {
    let error = &body["errors"][0];
    assert!(error.is_object(), "an error: {body}");
    (
        error["message"].as_str().unwrap_or_default().to_owned(),
        error["extensions"]["code"].as_str().unwrap_or_default().to_owned(),
    )
}

on_both_backends! {
    async fn the_most_common_editor_mistakes_get_messages_that_name_their_subject(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let path = app.query_ok("{ careerPath(slug: \"backend-developer\") { id version } }", json!({})).await["careerPath"].clone();
        let security = app.query_ok("{ skill(slug: \"security\") { id version } }", json!({})).await["skill"].clone();
        let (path_id, version) = (path["id"].clone(), path["version"].as_i64().expect("a version"));
        let update = "mutation($input: UpdateCareerPathInput!) { updateCareerPath(input: $input) { careerPath { version } } }";
        // Someone else's edit makes the first version stale.
        let edited = app.as_user(&editor, update, json!({ "input": { "id": path_id, "expectedVersion": version, "title": "Backend Developer" } })).await;
        assert!(edited["errors"].is_null(), "{edited}");

        let create = "mutation($input: CreateCareerPathInput!) { createCareerPath(input: $input) { careerPath { id } } }";
        let mistakes: Vec<(&str, Value, String, &str)> = vec![
            (
                "a stale expectedVersion",
                app.as_user(&editor, update, json!({ "input": { "id": path_id, "expectedVersion": version, "summary": "s" } })).await,
                format!("expectedVersion is {version}, but career path backend-developer is at version {}: someone else changed it; reload and retry", version + 1),
                "CONFLICT",
            ),
            (
                "null for a field that cannot be empty",
                app.as_user(&editor, update, json!({ "input": { "id": path_id, "expectedVersion": version + 1, "title": null } })).await,
                "title cannot be null: omit it to keep the current value".into(),
                "BAD_USER_INPUT",
            ),
            (
                "an id the API never gave out",
                app.as_user(&editor, update, json!({ "input": { "id": "nope", "expectedVersion": 1, "title": "T" } })).await,
                "id is not an id this API gave out".into(),
                "BAD_USER_INPUT",
            ),
            (
                "a slug another path has",
                app.as_user(&editor, create, json!({ "input": { "slug": "backend-developer", "title": "T", "summary": "s", "description": "d",
                    "outlook": { "demand": "HIGH", "summary": "s" } } })).await,
                "slug is already used by another career path".into(),
                "BAD_USER_INPUT",
            ),
            (
                "a viewer editing",
                app.as_user(&viewer, update, json!({ "input": { "id": path_id, "expectedVersion": 1, "title": "T" } })).await,
                "Running updateCareerPath takes the EDITOR role and you are a VIEWER; an administrator grants roles (setUserRole)".into(),
                "FORBIDDEN",
            ),
            (
                "a mutation without a token",
                app.graphql(update, json!({ "input": { "id": path_id, "expectedVersion": 1, "title": "T" } })).await,
                "Sign in as an editor to run updateCareerPath".into(),
                "UNAUTHENTICATED",
            ),
            (
                "an unknown skill in a path's skills",
                app.as_user(
                    &editor,
                    "mutation($input: SetCareerPathSkillsInput!) { setCareerPathSkills(input: $input) { careerPath { id } } }",
                    json!({ "input": { "id": path_id, "expectedVersion": version + 1, "skills": [{ "skill": "cobol-on-mars", "importance": "ESSENTIAL" }] } }),
                )
                .await,
                "skills names unknown skill slugs: cobol-on-mars".into(),
                "BAD_USER_INPUT",
            ),
            (
                "a country that is no ISO code",
                app.as_user(
                    &editor,
                    "mutation($input: CreateSalaryRecordInput!) { createSalaryRecord(input: $input) { salaryRecord { id } } }",
                    json!({ "input": { "careerPathId": path_id, "country": "Germany", "currency": "EUR", "period": "YEAR",
                        "average": 60000, "minimum": 50000, "maximum": 70000, "source": "test", "asOf": "2023-03-01" } }),
                )
                .await,
                "country must be an ISO 3166-1 alpha-2 code such as US".into(),
                "BAD_USER_INPUT",
            ),
            (
                "deleting a skill paths still need",
                app.as_user(
                    &editor,
                    "mutation($input: DeleteInput!) { deleteSkill(input: $input) { deletedId } }",
                    json!({ "input": { "id": security["id"], "expectedVersion": security["version"] } }),
                )
                .await,
                "detach is not set, and 1 career path or roadmap step still refers to skill security: pass detach: true to remove those links".into(),
                "CONFLICT",
            ),
            (
                "a malformed slug",
                app.as_user(
                    &editor,
                    "mutation($input: CreateSkillInput!) { createSkill(input: $input) { skill { id } } }",
                    json!({ "input": { "slug": "Rust Lang", "name": "Rust", "category": "TECHNICAL", "description": "d" } }),
                )
                .await,
                "slug ".into(),
                "BAD_USER_INPUT",
            ),
            (
                "a version that is no number",
                app.as_user(&editor, update, json!({ "input": { "id": path_id, "expectedVersion": "two", "title": "T" } })).await,
                "expectedVersion".into(),
                "BAD_USER_INPUT",
            ),
            (
                "a misspelt field",
                app.as_user(&editor, update, json!({ "input": { "id": path_id, "expectedVersion": 3, "titel": "T" } })).await,
                "titel".into(),
                "BAD_USER_INPUT",
            ),
            (
                "an id of something deleted",
                app.as_user(&editor, update, json!({ "input": { "id": "00000000-0000-4000-8000-000000000000", "expectedVersion": 1, "title": "T" } })).await,
                "No such career path".into(),
                "NOT_FOUND",
            ),
        ];
        for (mistake, body, subject, code) in mistakes {
            let (message, got_code) = first_error(&body);
            assert!(message.contains(subject.as_str()), "{mistake}: {message:?} should contain {subject:?}\n{body}");
            assert_eq!(got_code, code, "{mistake}: {body}");
        }
    }
}
