//! A Relay client, as Relay users make one: relay-compiler compiles a `@refetchable` fragment on
//! `CareerPath` and a `@connection` over `careerPaths` against `schema.graphql` (which it refuses
//! without the `Node` interface and `node(id:)`), and relay-runtime pages and refetches with the
//! generated artifacts against the live server. Reported as ignored, with the reason, when npm or
//! the package is missing; `.ci/run` installs them and requires it to run.

use crate::helpers::{Backend, NodePackage, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(relay_client_tests),
    ignore = "needs npm and tests/clients/relay/node_modules (npm ci --prefix tests/clients/relay); .ci/run installs them"
)]
async fn a_relay_client_compiled_by_relay_compiler_pages_and_refetches_against_the_server() {
    let package = NodePackage::client("relay");
    let app = spawn_app(Backend::Sqlite).await;
    // Pages to go through: the bundled path and three synthetic ones.
    careergraph_domain::synthetic::insert_career_paths(
        app.db(),
        3,
        careergraph_domain::enums::PublicationStatus::Published,
    )
    .await
    .expect("synthetic paths");
    let address = app.address.clone();
    let said = tokio::task::spawn_blocking(move || {
        let compiled = package.run("npm", &["run", "--silent", "compile"], &[]);
        assert!(compiled.contains("Compilation completed"), "{compiled}");
        package.run("node", &["run.mjs"], &[("CAREERGRAPH_URL", address.as_str())])
    })
    .await
    .expect("the client ran");
    assert!(said.contains("refetched backend-developer"), "{said}");
}
