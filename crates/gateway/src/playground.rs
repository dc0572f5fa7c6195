//! The GraphiQL playground: one page, its pinned assets, and the Content-Security-Policy that
//! keeps a token pasted into it from leaking to anything the page did not ask for.
//!
//! The assets are the npm packages `playground/package.json` pins. With
//! `CAREERGRAPH_PLAYGROUND_ASSETS` pointing at their `node_modules`, the server reads them at
//! start, checks each against the SRI hash below, and serves them itself: the page then refers to
//! its own origin only and works offline. Without it, the page loads the same files from a CDN
//! with those hashes as `integrity`, so a changed file is refused by the browser.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use axum::body::Bytes;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha384};

/// One file of a pinned npm package.
struct Asset {
    package: &'static str,
    version: &'static str,
    file: &'static str,
    integrity: &'static str,
    content_type: &'static str,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files the page loads, in load order: React first, then GraphiQL, which the Explorer
/// plugin builds on. Versions match `playground/package.json`; hashes are SHA-384 of the files
/// as npm ships them.
const ASSETS: [Asset; 6] = [
    Asset {
        package: "react",
        version: "18.3.1",
        file: "umd/react.production.min.js",
        integrity: "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
        content_type: JAVASCRIPT,
    },
    Asset {
        package: "react-dom",
        version: "18.3.1",
        file: "umd/react-dom.production.min.js",
        integrity: "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
        content_type: JAVASCRIPT,
    },
    Asset {
        package: "graphiql",
        version: "4.1.2",
        file: "dist/index.umd.js",
        integrity: "sha384-9XdHu7ajgGJziD4J1zNBKQ842Q/+zZfDv+ib1eMhZWBH6hPAs806x+Jbcf0yNO6B",
        content_type: JAVASCRIPT,
    },
    Asset {
        package: "graphiql",
        version: "4.1.2",
        file: "dist/style.css",
        integrity: "sha384-1el1QShFBnnXTx9x/Cprg82hZWKt0ry29OAYIXt05swbi0KcZDFoj0CWguMpopJr",
        content_type: CSS,
    },
    Asset {
        package: "@graphiql/plugin-explorer",
        version: "4.0.6",
        file: "dist/index.umd.js",
        integrity: "sha384-gXYG2RCFRuAiKUaKTbKxOVlvr0U9z0D/V/l5jdvRSH46vQ+9cpkG2d3ByiggUYvD",
        content_type: JAVASCRIPT,
    },
    Asset {
        package: "@graphiql/plugin-explorer",
        version: "4.0.6",
        file: "dist/style.css",
        integrity: "sha384-XffIsImDMwexX8UM/Bg3tss0MZOeQmZcnHzk0avUrw9ff0IQ2g9j7QLA6m2lz5D0",
        content_type: CSS,
    },
];

/// Where the page gets its third-party files when the server has none: a CDN that serves npm
/// packages file for file, so the same SRI hashes hold.
const CDN: &str = "https://cdn.jsdelivr.net/npm";

/// The page's own script: GraphiQL with the Explorer, the README's examples as tabs, and the
/// Authorization header shown but not sent until it holds a token.
pub const BOOTSTRAP: &str = include_str!("playground/careergraph.js");

/// The path the bootstrap script is served at.
pub const BOOTSTRAP_PATH: &str = "/playground/careergraph.js";

/// The path prefix local assets are served under (with package and version, so they can be
/// cached for good).
pub const ASSETS_PATH: &str = "/playground/assets";

impl Asset {
    fn path(&self) -> String {
        format!("{}@{}/{}", self.package, self.version, self.file)
    }
}

/// The playground as this server serves it.
pub struct Playground {
    page: String,
    policy: String,
    /// Local assets by their path under [`ASSETS_PATH`]; empty when the page uses the CDN.
    assets: HashMap<String, (&'static str, Bytes)>,
}

impl Playground {
    /// The playground with assets from `node_modules` (checked against their hashes), or from
    /// the CDN without it. Fails, naming the file, when a local asset is missing or different.
    pub fn new(node_modules: Option<&Path>) -> anyhow::Result<Self> {
        let mut assets = HashMap::new();
        if let Some(dir) = node_modules {
            for asset in &ASSETS {
                let path = dir.join(asset.package).join(asset.file);
                let content = std::fs::read(&path).with_context(|| {
                    format!(
                        "CAREERGRAPH_PLAYGROUND_ASSETS={} lacks {}@{}/{} (run `npm ci --prefix playground`)",
                        dir.display(),
                        asset.package,
                        asset.version,
                        asset.file
                    )
                })?;
                let integrity = format!("sha384-{}", STANDARD.encode(Sha384::digest(&content)));
                anyhow::ensure!(
                    integrity == asset.integrity,
                    "CAREERGRAPH_PLAYGROUND_ASSETS={}: {} is not {}@{} as pinned (run `npm ci --prefix playground`)",
                    dir.display(),
                    path.display(),
                    asset.package,
                    asset.version
                );
                assets.insert(asset.path(), (asset.content_type, Bytes::from(content)));
            }
        }
        let local = !assets.is_empty();
        let link = |asset: &Asset| {
            if local {
                (format!("{ASSETS_PATH}/{}", asset.path()), String::new())
            } else {
                (
                    format!("{CDN}/{}", asset.path()),
                    format!(" integrity=\"{}\" crossorigin=\"anonymous\"", asset.integrity),
                )
            }
        };
        let mut head = String::new();
        for asset in &ASSETS {
            let (href, integrity) = link(asset);
            if asset.content_type == CSS {
                head.push_str(&format!("    <link rel=\"stylesheet\" href=\"{href}\"{integrity}>\n"));
            } else {
                head.push_str(&format!("    <script src=\"{href}\"{integrity}></script>\n"));
            }
        }
        let page = format!(
            "<!doctype html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\">\n    \
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n    \
             <title>careergraph</title>\n{head}    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>\n  \
             </head>\n  <body>\n    <div id=\"graphiql\">Loading the playground…</div>\n    \
             <script src=\"{BOOTSTRAP_PATH}\"></script>\n  </body>\n</html>\n"
        );
        // Each pinned file by its full URL: a source with a path that does not end in `/` admits
        // that one file, so should anything be injected into the page, it can load no other
        // script of the CDN's.
        let exact = |content_type: &str| -> String {
            if local {
                return String::new();
            }
            ASSETS
                .iter()
                .filter(|asset| (asset.content_type == CSS) == (content_type == CSS))
                .map(|asset| format!(" {CDN}/{}", asset.path()))
                .collect()
        };
        let (scripts, styles) = (exact("script"), exact(CSS));
        // Scripts only from here (and those CDN files, by hash); requests only to here, so a token
        // typed into the page goes nowhere else. GraphiQL sets styles at run time, hence inline
        // styles.
        let policy = format!(
            "default-src 'none'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'{styles}; \
             connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        );
        Ok(Self { page, policy, assets })
    }

    /// The HTML page.
    pub fn page(&self) -> &str {
        &self.page
    }

    /// The Content-Security-Policy the page is served with.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// A local asset by its path under [`ASSETS_PATH`], with its content type.
    pub fn asset(&self, path: &str) -> Option<&(&'static str, Bytes)> {
        self.assets.get(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_local_assets_the_page_pins_every_file_by_version_and_hash() -> anyhow::Result<()> {
        let playground = Playground::new(None)?;
        for asset in &ASSETS {
            let tag = format!("{CDN}/{}\" integrity=\"{}\"", asset.path(), asset.integrity);
            assert!(playground.page().contains(&tag), "{tag}");
        }
        assert!(!playground.page().contains("@latest") && !playground.page().contains("development"));
        for asset in &ASSETS {
            assert!(playground.policy().contains(&format!(" {CDN}/{}", asset.path())), "{}", asset.path());
        }
        assert!(
            !playground.policy().contains(&format!("{CDN}/;")) && !playground.policy().contains(&format!("{CDN}/ "))
        );
        Ok(())
    }

    #[test]
    fn a_missing_asset_directory_stops_the_start_naming_what_to_run() {
        let missing = Path::new("/nonexistent/node_modules");
        let error = Playground::new(Some(missing)).err().map(|error| format!("{error:#}")).unwrap_or_default();
        assert!(error.contains("lacks react@18.3.1/umd/react.production.min.js"), "{error}");
        assert!(error.contains("npm ci --prefix playground"), "{error}");
    }
}
