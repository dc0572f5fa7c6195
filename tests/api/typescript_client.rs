//! A typed TypeScript client, as client developers make one: graphql-codegen (client preset)
//! generates types from `schema.graphql` and `tests/operations`, and once more from the live
//! server's introspection; `tsc` checks a small client against them; node runs it against the
//! server. The same operations as persisted documents make a safelist a server runs by id. And
//! graphql-js rebuilds from the live server's introspection exactly the SDL of schema.graphql.
//! Reported as ignored, with the reason, when npm or the package is missing.

use careergraph_auth::Role;

use serde_json::json;

use crate::helpers::{Backend, NodePackage, PASSWORD, first_error_code, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(typescript_client_tests),
    ignore = "needs npm and tests/clients/typescript/node_modules (npm ci --prefix tests/clients/typescript); .ci/run installs them"
)]
async fn a_typescript_client_generated_by_graphql_codegen_works_against_the_server() {
    let package = NodePackage::client("typescript");
    let app = spawn_app(Backend::Sqlite).await;
    app.token_for("viewer@example.com", Role::Viewer).await;
    let editor = app.token_for("editor@example.com", Role::Editor).await;
    let address = app.address.clone();
    let generator = package.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let package = generator;
        let run = |program, args, env| package.run(program, args, env);
        let env = [
            ("CAREERGRAPH_URL", address.as_str()),
            ("CAREERGRAPH_EMAIL", "viewer@example.com"),
            ("CAREERGRAPH_PASSWORD", PASSWORD),
            ("CAREERGRAPH_EDITOR_TOKEN", editor.as_str()),
        ];
        run("npm", &["run", "--silent", "codegen"], &env);
        run("npm", &["run", "--silent", "codegen:live"], &env);
        // What codegen just read from the live server is the schema of the file, to the letter.
        run("npm", &["run", "--silent", "introspection-check"], &env);
        let from_file = std::fs::read_to_string(package.dir.join("src/gql/graphql.ts")).expect("generated types");
        let from_server =
            std::fs::read_to_string(package.dir.join("src/gql-live/graphql.ts")).expect("generated types");
        assert!(from_file == from_server, "types generated from schema.graphql and from the live server differ");
        run("npm", &["run", "--silent", "build"], &env);
        run("node", &["dist/client.js"], &env)
    });
    let said = checked.await.expect("the client ran");
    assert!(said.contains("have the generated shape"), "{said}");

    // The client build's persisted documents, as a server with a safelist reads them.
    let generator = package.clone();
    tokio::task::spawn_blocking(move || generator.run("npm", &["run", "--silent", "codegen:persisted"], &[]))
        .await
        .expect("codegen ran");
    let manifest_path = package.dir.join("src/gql-persisted/persisted-documents.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("the manifest")).expect("JSON");
    let (browse_id, _) = manifest
        .as_object()
        .expect("an object of documents")
        .iter()
        .find(|(_, body)| body.as_str().is_some_and(|body| body.contains("query BrowseCareerPaths")))
        .expect("BrowseCareerPaths is listed");
    let safelisted = spawn_app_with(Backend::Sqlite, |config| config.safelist = Some(manifest_path.clone())).await;
    let (_, listed) = safelisted.post_json(json!({ "documentId": browse_id, "variables": { "first": 2 } })).await;
    assert!(listed["data"]["careerPaths"]["totalCount"].as_u64().is_some_and(|count| count >= 1), "{listed}");
    let (_, unlisted) = safelisted.post_json(json!({ "query": "{ careerPaths { totalCount } }" })).await;
    assert_eq!(first_error_code(&unlisted), "QUERY_NOT_IN_SAFELIST", "{unlisted}");
}
