//! The GraphiQL playground as explorers use it: a page that needs nothing but this server, under
//! a policy that keeps a pasted token from leaving it, and (when the tools are here) driven in a
//! real browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use careergraph_auth::Role;
use careergraph_gateway::config::PlaygroundAssets;
use reqwest::StatusCode;

use crate::helpers::{Backend, PASSWORD, spawn_app, spawn_app_with};
use crate::on_both_backends;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files the binary carries, as `playground/vendor/manifest.json` lists them.
fn vendored_files() -> Vec<serde_json::Value> {
    let manifest = std::fs::read_to_string(repository().join("playground/vendor/manifest.json")).expect("the manifest");
    serde_json::from_str(&manifest).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(browser_tests),
    ignore = "needs node, chromium (apt-get install chromium) and tests/browser/node_modules (npm ci --prefix tests/browser); .ci/run installs them"
)]
async fn the_playground_works_offline_in_a_real_browser() {
    // No assets configured: the page must work from what the binary carries.
    let app = spawn_app(Backend::Sqlite).await;
    app.token_for("viewer@example.com", Role::Viewer).await;
    let shots = tempfile::tempdir().expect("a directory for the screenshot");
    // CAREERGRAPH_SCREENSHOT=docs/playground.png regenerates the README's picture.
    let screenshot = std::env::var("CAREERGRAPH_SCREENSHOT")
        .map(|path| repository().join(path))
        .unwrap_or_else(|_| shots.path().join("playground.png"));
    // A server that sends browsers to the CDN, which this closed browser cannot reach.
    let cdn = spawn_app_with(Backend::Sqlite, |config| config.playground_assets = PlaygroundAssets::Cdn).await;
    let address = app.address.clone();
    let cdn_address = cdn.address.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("playground.mjs")
            .current_dir(repository().join("tests/browser"))
            .env("CAREERGRAPH_URL", address)
            .env("CAREERGRAPH_CDN_URL", cdn_address)
            .env("CAREERGRAPH_EMAIL", "viewer@example.com")
            .env("CAREERGRAPH_PASSWORD", PASSWORD)
            .env("SCREENSHOT", &screenshot)
            .output()
            .map(|output| (output, screenshot))
    });
    let (output, screenshot) = run.await.expect("the driver ran").expect("node starts");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the playground failed in chromium:\n{said}");
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot");
}

on_both_backends! {
    async fn by_default_the_page_loads_from_this_server_alone_compressed_and_cached_for_good(backend: Backend) {
        let app = spawn_app(backend).await;
        let response = app.client.get(format!("{}/", app.address)).send().await.expect("answer");
        let policy = response.headers()["content-security-policy"].to_str().expect("a policy").to_owned();
        assert!(policy.contains("script-src 'self';") && policy.contains("connect-src 'self';"), "{policy}");
        assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"), "{policy}");
        let html = response.text().await.expect("html");
        assert!(!html.contains("https://") && !html.contains("<script>"), "no other origin, no inline script: {html}");
        let assets: Vec<&str> = html.split('"').filter(|part| part.starts_with("/playground/")).collect();
        assert_eq!(assets.len(), 7, "six pinned files and the page's script: {html}");
        let manifest = vendored_files();
        for asset in assets {
            let get = |accept_encoding: &'static str| {
                app.client.get(format!("{}{asset}", app.address)).header("accept-encoding", accept_encoding).send()
            };
            let response = get("identity").await.expect("answer");
            assert_eq!(response.status(), StatusCode::OK, "{asset}");
            let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
            let expected = if asset.ends_with(".css") { "text/css" } else { "text/javascript" };
            assert!(content_type.starts_with(expected), "{asset}: {content_type}");
            let Some(pinned) = asset.strip_prefix("/playground/assets/") else { continue };
            assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable", "{asset}");
            assert!(response.headers().get("content-encoding").is_none(), "{asset} as it is when asked so");
            let body = response.bytes().await.expect("the file");
            let entry = manifest
                .iter()
                .find(|entry| format!("{}@{}/{}", entry["package"].as_str().unwrap_or_default(), entry["version"].as_str().unwrap_or_default(), entry["file"].as_str().unwrap_or_default()) == pinned)
                .unwrap_or_else(|| panic!("{pinned} is in the manifest"));
            assert_eq!(body.len() as u64, entry["bytes"].as_u64().unwrap_or_default(), "{asset}");
            for (accepted, coding) in [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0, gzip;q=0.8", "gzip")] {
                let response = get(accepted).await.expect("answer");
                assert_eq!(response.headers()["content-encoding"], coding, "{asset} for {accepted}");
                assert_eq!(response.headers()["vary"], "accept-encoding", "{asset}");
                let compressed = response.bytes().await.expect("the file");
                assert!(compressed.len() < body.len(), "{asset} in {coding} is smaller");
            }
        }
        let missing = app.client.get(format!("{}/playground/assets/graphiql@9.9.9/evil.js", app.address)).send().await.expect("answer");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    async fn from_a_node_modules_directory_the_page_also_refers_to_its_own_origin_only(backend: Backend) {
        // A node_modules as `npm ci --prefix playground` leaves it, made of the vendored files.
        let node_modules = tempfile::tempdir().expect("a directory");
        for entry in vendored_files() {
            let (package, file) = (entry["package"].as_str().unwrap_or_default(), entry["file"].as_str().unwrap_or_default());
            let from = repository().join("playground/vendor").join(format!("{package}@{}", entry["version"].as_str().unwrap_or_default())).join(file);
            let to = node_modules.path().join(package).join(file);
            std::fs::create_dir_all(to.parent().expect("a parent")).expect("a package directory");
            std::fs::copy(&from, &to).expect("a copy");
        }
        let directory = node_modules.path().to_owned();
        let app = spawn_app_with(backend, move |config| config.playground_assets = PlaygroundAssets::Directory(directory)).await;
        let html = app.client.get(format!("{}/", app.address)).send().await.expect("answer").text().await.expect("html");
        assert!(!html.contains("https://"), "{html}");
        let graphiql = app.client.get(format!("{}/playground/assets/graphiql@4.1.2/dist/index.umd.js", app.address)).send().await.expect("answer");
        assert_eq!(graphiql.status(), StatusCode::OK);
    }

    async fn the_playground_can_be_turned_off(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.playground = false).await;
        let root = app.client.get(format!("{}/", app.address)).header("accept", "text/html").send().await.expect("answer");
        assert_eq!(root.status(), StatusCode::NOT_FOUND);
        let browser = app.client.get(format!("{}/graphql", app.address)).header("accept", "text/html").send().await.expect("answer");
        assert_eq!(browser.status(), StatusCode::NOT_ACCEPTABLE, "no page for a browser either");
        let (status, body) = app.post_json(serde_json::json!({ "query": "{ __typename }" })).await;
        assert_eq!((status, &body["data"]["__typename"]), (StatusCode::OK, &serde_json::json!("Query")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cdn_when_chosen_is_pinned_by_hash() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.playground_assets = PlaygroundAssets::Cdn).await;
    let response = app.client.get(format!("{}/", app.address)).send().await.expect("answer");
    let policy = response.headers()["content-security-policy"].to_str().expect("a policy").to_owned();
    assert!(
        policy.contains("script-src 'self' https://cdn.jsdelivr.net/npm/react@18.3.1/umd/react.production.min.js "),
        "{policy}"
    );
    let html = response.text().await.expect("html");
    let scripts = html.matches("<script src=\"https://cdn.jsdelivr.net/npm/").count();
    assert_eq!(scripts, 4, "{html}");
    assert_eq!(html.matches("integrity=\"sha384-").count(), 6, "every CDN file is pinned by hash: {html}");
    assert!(
        html.contains("graphiql@4.1.2/dist/index.umd.js") && html.contains("react@18.3.1/umd/react.production.min.js")
    );
}
