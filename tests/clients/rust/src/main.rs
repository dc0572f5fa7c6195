//! Runs the typed client against a server: browses, signs in, reads salary detail, and (as an
//! editor) drafts, updates, clears and publishes a career path.
//!
//! ```sh
//! cargo run --release                                   # the server, in one terminal
//! cargo run -p careergraph-rust-client -- http://127.0.0.1:8080 you@example.com
//! ```
//!
//! The password is read from `CAREERGRAPH_PASSWORD`.

use careergraph_rust_client::{
    BrowseCareerPaths, ClearInternalNotes, Client, CreateCareerPath, PublishCareerPath, SignIn, UpdateCareerPath,
    browse_career_paths, clear_internal_notes, create_career_path, publish_career_path, sign_in, update_career_path,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let client = Client::new(&base);

    let page = client
        .send::<BrowseCareerPaths>(browse_career_paths::Variables { first: Some(5), after: None, search: None })
        .await?;
    for edge in &page.career_paths.edges {
        println!("{}: {}", edge.node.slug, edge.node.title);
    }

    let Some(email) = args.next() else { return Ok(()) };
    let password = std::env::var("CAREERGRAPH_PASSWORD").map_err(|_| anyhow::anyhow!("set CAREERGRAPH_PASSWORD"))?;
    let session = client.send::<SignIn>(sign_in::Variables { email, password }).await?.login;
    println!("signed in as {} ({:?})", session.user.email.as_deref().unwrap_or("?"), session.user.role);
    let editor = client.signed_in(&session.access_token);

    let input = create_career_path::CreateCareerPathInput {
        slug: format!("rust-client-{}", chrono::Utc::now().timestamp()),
        title: "Written by the Rust client".into(),
        summary: "A draft the example creates.".into(),
        description: "Created, updated, cleared and published by tests/clients/rust.".into(),
        outlook: create_career_path::OutlookInput {
            demand: create_career_path::Demand::MODERATE,
            summary: "Steady.".into(),
        },
        internal_notes: Some("A note to clear.".into()),
        onet_soc_code: None,
    };
    let created = editor.send::<CreateCareerPath>(create_career_path::Variables { input }).await?;
    let draft = created.create_career_path.ok_or_else(|| anyhow::anyhow!("no payload"))?.career_path;
    // Only the title changes: the other fields are None, so they are left out, not cleared.
    let update = update_career_path::UpdateCareerPathInput {
        id: draft.id.clone(),
        expected_version: draft.version,
        title: Some("Written and renamed by the Rust client".into()),
        slug: None,
        summary: None,
        description: None,
        outlook: None,
        internal_notes: None,
        onet_soc_code: None,
    };
    let updated = editor.send::<UpdateCareerPath>(update_career_path::Variables { input: update }).await?;
    let updated = updated.update_career_path.ok_or_else(|| anyhow::anyhow!("no payload"))?.career_path;
    // The explicit null, from the operation that writes it.
    let cleared = editor
        .send::<ClearInternalNotes>(clear_internal_notes::Variables {
            id: draft.id.clone(),
            expected_version: updated.version,
        })
        .await?;
    let cleared = cleared.update_career_path.ok_or_else(|| anyhow::anyhow!("no payload"))?.career_path;
    let published = editor
        .send::<PublishCareerPath>(publish_career_path::Variables { id: draft.id, expected_version: cleared.version })
        .await?;
    let published = published.publish_career_path.ok_or_else(|| anyhow::anyhow!("no payload"))?.career_path;
    println!(
        "{} is {:?} at version {}; its notes are {:?}",
        updated.title, published.status, published.version, cleared.internal_notes
    );
    Ok(())
}
