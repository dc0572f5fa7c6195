//! A typed Rust client, as a client developer would generate one: the crate in
//! `tests/clients/rust` (which the README quotes) derives request and response types with
//! `graphql_client` from `schema.graphql` and the operations a front end ships
//! (`tests/operations`); every answer of the live server deserializes into them, custom scalars
//! and enums included, and an explicit `null` clears a field.

use careergraph_auth::Role;
use careergraph_rust_client::*;

use crate::helpers::PASSWORD;
use crate::on_both_backends;

on_both_backends! {
    async fn a_typed_rust_client_reads_and_writes_through_the_generated_types(app) {
        let client = Client::new(&app.address);
        let send_ok = "the typed client's request succeeds";
        let browse = client.send::<BrowseCareerPaths>(browse_career_paths::Variables { first: Some(10), after: None, search: None }).await.expect(send_ok);
        let card = &browse.career_paths.edges[0].node;
        assert_eq!(card.title, "Backend Developer");
        let figures = card.salary.as_ref().expect("a salary summary");
        assert_eq!((figures.average, figures.as_of), (93_000, Date::from_ymd_opt(2023, 3, 1).expect("a date")));
        assert_eq!(card.outlook.demand, browse_career_paths::Demand::HIGH);

        let page = client.send::<CareerPathPage>(career_path_page::Variables { slug: "backend-developer".into() }).await.expect(send_ok);
        let path = page.career_path.expect("the path");
        assert_eq!(path.skills.len(), 9);
        assert!(path.created_at <= path.updated_at);
        assert!(path.skills.iter().any(|s| s.importance == career_path_page::Importance::ESSENTIAL));

        let gap = client.send::<SkillGap>(skill_gap::Variables { career_path: "backend-developer".into(), have: vec!["python".into()] }).await.expect(send_ok);
        assert!(gap.skill_gap.expect("a gap").coverage > 0.0);

        app.token_for("viewer@example.com", Role::Viewer).await;
        let signed_in = client.send::<SignIn>(sign_in::Variables { email: "viewer@example.com".into(), password: PASSWORD.into() }).await.expect(send_ok);
        let session = signed_in.login;
        assert_eq!(session.user.role, Some(sign_in::Role::VIEWER));
        assert!(session.access_token_expires_at > chrono::Utc::now());
        let detail = client.signed_in(&session.access_token).send::<SalaryDetail>(salary_detail::Variables { slug: "backend-developer".into() }).await.expect(send_ok);
        assert_eq!(detail.career_path.expect("the path").salary_records[0].currency, "USD");
        let refreshed = client.send::<RefreshSession>(refresh_session::Variables { refresh_token: session.refresh_token }).await.expect(send_ok);
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
        let created = client.signed_in(&editor).send::<CreateCareerPath>(create_career_path::Variables { input }).await.expect(send_ok);
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
        let updated = client.signed_in(&editor).send::<UpdateCareerPath>(update_career_path::Variables { input: update }).await.expect(send_ok);
        let updated = updated.update_career_path.expect("a payload").career_path;
        assert_eq!((updated.title.as_str(), updated.internal_notes.as_deref()), ("Data Engineer II", Some("Check the pay figures.")), "left out, not cleared");
        // An explicit null clears: the operation writes it, as the generated variables leave None out.
        let cleared = client.signed_in(&editor).send::<ClearInternalNotes>(clear_internal_notes::Variables { id: draft.id.clone(), expected_version: updated.version }).await.expect(send_ok);
        let cleared = cleared.update_career_path.expect("a payload").career_path;
        assert_eq!((cleared.internal_notes, cleared.version), (None, updated.version + 1), "cleared");
        let published = client.signed_in(&editor).send::<PublishCareerPath>(publish_career_path::Variables { id: draft.id, expected_version: cleared.version }).await.expect(send_ok);
        let published = published.publish_career_path.expect("a payload").career_path;
        assert_eq!(published.status, Some(publish_career_path::PublicationStatus::PUBLISHED));
        assert!(published.published_at.is_some());
        let history = published.history.expect("history for an editor");
        assert_eq!(history.len(), 4);
        assert_eq!(history[0].after.as_ref().and_then(|after| after["status"].as_str()), Some("PUBLISHED"), "JSON arrives as JSON");
    }
}
