//! A Relay client, as Relay users make one: relay-compiler compiles a `@refetchable` fragment on
//! `CareerPath` and a `@connection` over `careerPaths` against `schema.graphql` (which it refuses
//! without the `Node` interface and `node(id:)`), and relay-runtime pages and refetches with the
//! generated artifacts against the live server. Skipped with a printed reason when node or the
//! package is missing; `.ci/run` installs them and requires it to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{Backend, spawn_app};

fn package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/relay")
}

fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(package())
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|error| panic!("{program} cannot start: {error}"));
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "`{program} {}` failed:\n{said}", args.join(" "));
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_client_compiled_by_relay_compiler_pages_and_refetches_against_the_server() {
    let npm = Command::new("npm").arg("--version").output().is_ok_and(|output| output.status.success());
    let installed = package().join("node_modules/relay-compiler").exists();
    if !npm || !installed {
        let reason = if npm {
            "tests/clients/relay/node_modules is missing (npm ci --prefix tests/clients/relay)"
        } else {
            "node and npm are not installed"
        };
        assert!(std::env::var_os("CAREERGRAPH_REQUIRE_TOOLS").is_none(), "the Relay client test cannot run: {reason}");
        eprintln!("SKIPPED relay_client: {reason}; .ci/run installs them");
        return;
    }
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
        let compiled = run("npm", &["run", "--silent", "compile"], &[]);
        assert!(compiled.contains("Compilation completed"), "{compiled}");
        run("node", &["run.mjs"], &[("CAREERGRAPH_URL", address.as_str())])
    })
    .await
    .expect("the client ran");
    assert!(said.contains("refetched backend-developer"), "{said}");
}
