//! A typed Rust client, as a client developer would generate one: `graphql_client` derives the
//! request and response types from `schema.graphql` and the operations a front end ships
//! (`tests/operations`), and every answer of the live server deserializes into them, custom
//! scalars and enums included.

use careergraph_auth::Role;
use graphql_client::{GraphQLQuery, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::helpers::{PASSWORD, TestApp};
use crate::on_both_backends;

// The custom scalars, as the README maps them to Rust.
type Date = chrono::NaiveDate;
type DateTime = chrono::DateTime<chrono::Utc>;
#[allow(clippy::upper_case_acronyms)]
type JSON = serde_json::Value;

// One derive per operation (the derive reads its attributes literally, so no macro writes them).
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/BrowseCareerPaths.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct BrowseCareerPaths;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/CareerPathPage.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct CareerPathPage;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/SkillGap.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct SkillGap;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/SalaryDetail.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct SalaryDetail;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/SignIn.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct SignIn;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/RefreshSession.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct RefreshSession;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/CreateCareerPath.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct CreateCareerPath;

// Unset optional inputs are left out, not sent as null (which clears a field).
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/UpdateCareerPath.graphql",
    response_derives = "Debug, Clone, PartialEq",
    skip_serializing_none
)]
struct UpdateCareerPath;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "operations/PublishCareerPath.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct PublishCareerPath;

/// Sends `variables` for the operation `Q` (with `token`, if any) and returns its typed data,
/// failing on any error or on an answer that does not fit the generated types.
async fn send<Q: GraphQLQuery>(app: &TestApp, token: Option<&str>, variables: Q::Variables) -> Q::ResponseData
where
    Q::Variables: Serialize,
    Q::ResponseData: DeserializeOwned,
{
    let mut request = app.client.post(format!("{}/graphql", app.address)).json(&Q::build_query(variables));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let text = request.send().await.expect("the server answers").text().await.expect("a body");
    let response: Response<Q::ResponseData> = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("the answer does not fit the types ({error}): {text}"));
    assert!(response.errors.is_none(), "{text}");
    response.data.unwrap_or_else(|| panic!("no data: {text}"))
}

on_both_backends! {
    async fn a_typed_rust_client_reads_and_writes_through_the_generated_types(app) {
        let browse = send::<BrowseCareerPaths>(&app, None, browse_career_paths::Variables { first: Some(10), after: None, search: None }).await;
        let card = &browse.career_paths.edges[0].node;
        assert_eq!(card.title, "Backend Developer");
        let figures = card.salary.as_ref().expect("a salary summary");
        assert_eq!((figures.average, figures.as_of), (93_000, Date::from_ymd_opt(2023, 3, 1).expect("a date")));
        assert_eq!(card.outlook.demand, browse_career_paths::Demand::HIGH);

        let page = send::<CareerPathPage>(&app, None, career_path_page::Variables { slug: "backend-developer".into() }).await;
        let path = page.career_path.expect("the path");
        assert_eq!(path.skills.len(), 9);
        assert!(path.created_at <= path.updated_at);
        assert!(path.skills.iter().any(|s| s.importance == career_path_page::Importance::ESSENTIAL));

        let gap = send::<SkillGap>(&app, None, skill_gap::Variables { career_path: "backend-developer".into(), have: vec!["python".into()] }).await;
        assert!(gap.skill_gap.expect("a gap").coverage > 0.0);

        app.token_for("viewer@example.com", Role::Viewer).await;
        let signed_in = send::<SignIn>(&app, None, sign_in::Variables { email: "viewer@example.com".into(), password: PASSWORD.into() }).await;
        let session = signed_in.login;
        assert_eq!(session.user.role, Some(sign_in::Role::VIEWER));
        assert!(session.access_token_expires_at > chrono::Utc::now());
        let detail = send::<SalaryDetail>(&app, Some(&session.access_token), salary_detail::Variables { slug: "backend-developer".into() }).await;
        assert_eq!(detail.career_path.expect("the path").salary_records[0].currency, "USD");
        let refreshed = send::<RefreshSession>(&app, None, refresh_session::Variables { refresh_token: session.refresh_token }).await;
        assert_ne!(refreshed.refresh_session.access_token, session.access_token);

        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let input = create_career_path::CreateCareerPathInput {
            slug: "data-engineer".into(),
            title: "Data Engineer".into(),
            summary: "Builds data pipelines.".into(),
            description: "Designs and runs the systems that move data.".into(),
            outlook: create_career_path::OutlookInput { demand: create_career_path::Demand::HIGH, summary: "Wanted.".into() },
            internal_notes: Some("Check the pay figures.".into()),
            onet_soc_code: None,
        };
        let created = send::<CreateCareerPath>(&app, Some(&editor), create_career_path::Variables { input }).await;
        let draft = created.create_career_path.expect("a payload").career_path;
        assert_eq!((draft.version, draft.status), (1, Some(create_career_path::PublicationStatus::DRAFT)));
        let update = update_career_path::UpdateCareerPathInput {
            id: draft.id.clone(),
            expected_version: draft.version,
            title: Some("Data Engineer II".into()),
            slug: None,
            summary: None,
            description: None,
            outlook: None,
            internal_notes: None,
            onet_soc_code: None,
        };
        let updated = send::<UpdateCareerPath>(&app, Some(&editor), update_career_path::Variables { input: update }).await;
        let updated = updated.update_career_path.expect("a payload").career_path;
        assert_eq!((updated.title.as_str(), updated.internal_notes.as_deref()), ("Data Engineer II", Some("Check the pay figures.")), "left out, not cleared");
        let published = send::<PublishCareerPath>(&app, Some(&editor), publish_career_path::Variables { id: draft.id, expected_version: updated.version }).await;
        let published = published.publish_career_path.expect("a payload").career_path;
        assert_eq!(published.status, Some(publish_career_path::PublicationStatus::PUBLISHED));
        assert!(published.published_at.is_some());
        let history = published.history.expect("history for an editor");
        assert_eq!(history.len(), 3);
        assert_eq!(history[0].after.as_ref().and_then(|after| after["status"].as_str()), Some("PUBLISHED"), "JSON arrives as JSON");
    }
}
