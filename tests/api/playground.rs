//! The GraphiQL playground as explorers use it: a page that needs nothing but this server, under
//! a policy that keeps a pasted token from leaving it, and (when the tools are here) driven in a
//! real browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use careergraph_auth::Role;
use reqwest::StatusCode;

use crate::helpers::{Backend, PASSWORD, spawn_app, spawn_app_with};
use crate::on_both_backends;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The pinned npm packages, once `npm ci --prefix playground` has run.
fn local_assets() -> PathBuf {
    repository().join("playground/node_modules")
}

/// Why the browser test cannot run here, if it cannot.
fn browser_missing() -> Option<String> {
    let node = Command::new("node").arg("--version").output().is_ok_and(|output| output.status.success());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    [
        (!node).then(|| "node is not installed".to_owned()),
        (!Path::new(&chromium).exists()).then(|| format!("{chromium} is not installed (apt-get install chromium)")),
        (!local_assets().join("graphiql").exists())
            .then(|| "playground/node_modules is missing (npm ci --prefix playground)".into()),
        (!repository().join("tests/browser/node_modules/playwright-core").exists())
            .then(|| "tests/browser/node_modules is missing (npm ci --prefix tests/browser)".into()),
    ]
    .into_iter()
    .flatten()
    .reduce(|a, b| format!("{a}; {b}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_works_offline_in_a_real_browser() {
    if let Some(reason) = browser_missing() {
        // .ci/run installs every tool and sets this, so there a missing tool fails the run.
        assert!(std::env::var_os("CAREERGRAPH_REQUIRE_TOOLS").is_none(), "the browser test cannot run: {reason}");
        eprintln!(
            "SKIPPED playground::the_playground_works_offline_in_a_real_browser: {reason}; .ci/run installs them"
        );
        return;
    }
    let app = spawn_app_with(Backend::Sqlite, |config| config.playground_assets = Some(local_assets())).await;
    app.token_for("viewer@example.com", Role::Viewer).await;
    let shots = tempfile::tempdir().expect("a directory for the screenshot");
    // CAREERGRAPH_SCREENSHOT=docs/playground.png regenerates the README's picture.
    let screenshot = std::env::var("CAREERGRAPH_SCREENSHOT")
        .map(|path| repository().join(path))
        .unwrap_or_else(|_| shots.path().join("playground.png"));
    let address = app.address.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("playground.mjs")
            .current_dir(repository().join("tests/browser"))
            .env("CAREERGRAPH_URL", address)
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
    async fn with_local_assets_the_page_refers_to_its_own_origin_only(backend: Backend) {
        if !local_assets().join("graphiql").exists() {
            eprintln!("SKIPPED playground::with_local_assets…: playground/node_modules is missing (npm ci --prefix playground)");
            return;
        }
        let app = spawn_app_with(backend, |config| config.playground_assets = Some(local_assets())).await;
        let response = app.client.get(format!("{}/", app.address)).send().await.expect("answer");
        let policy = response.headers()["content-security-policy"].to_str().expect("a policy").to_owned();
        assert!(policy.contains("script-src 'self';") && policy.contains("connect-src 'self';"), "{policy}");
        assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"), "{policy}");
        let html = response.text().await.expect("html");
        assert!(!html.contains("https://") && !html.contains("<script>"), "no other origin, no inline script: {html}");
        let assets: Vec<&str> = html.split('"').filter(|part| part.starts_with("/playground/")).collect();
        assert_eq!(assets.len(), 7, "six pinned files and the page's script: {html}");
        for asset in assets {
            let response = app.client.get(format!("{}{asset}", app.address)).send().await.expect("answer");
            assert_eq!(response.status(), StatusCode::OK, "{asset}");
            let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
            let expected = if asset.ends_with(".css") { "text/css" } else { "text/javascript" };
            assert!(content_type.starts_with(expected), "{asset}: {content_type}");
            if asset.starts_with("/playground/assets/") {
                assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable", "{asset}");
            }
        }
        let missing = app.client.get(format!("{}/playground/assets/graphiql@9.9.9/evil.js", app.address)).send().await.expect("answer");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
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
async fn without_local_assets_the_page_pins_the_cdn_by_hash() {
    let app = spawn_app(Backend::Sqlite).await;
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
