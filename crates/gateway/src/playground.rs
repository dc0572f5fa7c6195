//! The GraphiQL playground: one page, its pinned assets, and the Content-Security-Policy that
//! keeps a token typed into it from leaking to anything the page did not ask for.
//!
//! The assets are the npm packages `playground/package.json` pins, carried in the binary
//! (`playground/vendor`, refreshed by `playground/vendor.mjs`) with their gzip and brotli forms,
//! so the page works offline and loads from this server alone. `CAREERGRAPH_PLAYGROUND_ASSETS`
//! may instead name a `node_modules` directory (each file checked against the same hash), or
//! `cdn`: the page then loads the files from a CDN with those hashes as `integrity`, so a changed
//! file is refused by the browser.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use axum::body::Bytes;
use axum::http::HeaderValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha384};

/// Where the page's third-party files come from (`CAREERGRAPH_PLAYGROUND_ASSETS`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PlaygroundAssets {
    /// The files in the binary (`embedded`, the default).
    #[default]
    Embedded,
    /// A `node_modules` directory holding the pinned packages.
    Directory(PathBuf),
    /// A CDN, by version and hash (`cdn`): the page then needs the internet.
    Cdn,
}

impl PlaygroundAssets {
    /// `embedded`, `cdn`, or a directory (`./cdn` for a directory of that name).
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "" => Err("expected `embedded`, `cdn` or a node_modules directory".into()),
            "embedded" => Ok(Self::Embedded),
            "cdn" => Ok(Self::Cdn),
            directory => Ok(Self::Directory(PathBuf::from(directory))),
        }
    }
}

/// One file of a pinned npm package, as the binary carries it.
struct Vendored {
    package: &'static str,
    version: &'static str,
    file: &'static str,
    integrity: &'static str,
    identity: &'static [u8],
    gzip: &'static [u8],
    brotli: &'static [u8],
}

/// The files the page loads, in load order (React first, then GraphiQL, which the Explorer
/// plugin builds on), from `playground/vendor/manifest.json` by the build script.
const VENDORED: &[Vendored] = include!(concat!(env!("OUT_DIR"), "/vendored.rs"));

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

impl Vendored {
    fn path(&self) -> String {
        format!("{}@{}/{}", self.package, self.version, self.file)
    }

    fn is_style(&self) -> bool {
        self.file.ends_with(".css")
    }

    fn content_type(&self) -> &'static str {
        if self.is_style() { CSS } else { JAVASCRIPT }
    }
}

/// A content coding the server has a file in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// The `Content-Encoding` value, if any.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Self::Brotli => Some("br"),
            Self::Gzip => Some("gzip"),
            Self::Identity => None,
        }
    }

    /// The best coding `Accept-Encoding` admits: brotli, then gzip, else none. Hand-written
    /// because the few lines tower-http has for this are private to its compression layer.
    pub fn preferred(accept_encoding: Option<&HeaderValue>) -> Self {
        let accepted = |wanted: &str| {
            let Some(header) = accept_encoding.and_then(|value| value.to_str().ok()) else { return false };
            let mut wildcard = false;
            for item in header.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or_default().trim();
                let quality = parts
                    .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                if coding.eq_ignore_ascii_case(wanted) {
                    return quality > 0.0;
                }
                wildcard |= coding == "*" && quality > 0.0;
            }
            wildcard
        };
        if accepted("br") {
            Self::Brotli
        } else if accepted("gzip") {
            Self::Gzip
        } else {
            Self::Identity
        }
    }
}

/// A file the server serves, in the codings it has it in.
pub struct Served {
    pub content_type: &'static str,
    identity: Bytes,
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

impl Served {
    /// The file in the coding the request prefers, where the server has it in that coding (files
    /// from a `node_modules` directory it has only as they are), and that coding.
    pub fn encoded(&self, accept_encoding: Option<&HeaderValue>) -> (Encoding, Bytes) {
        let preferred = Encoding::preferred(accept_encoding);
        let form = match preferred {
            Encoding::Brotli => self.brotli.as_ref(),
            Encoding::Gzip => self.gzip.as_ref(),
            Encoding::Identity => None,
        };
        match form {
            Some(bytes) => (preferred, bytes.clone()),
            None => (Encoding::Identity, self.identity.clone()),
        }
    }
}

/// Where the page gets its third-party files when the server has none: a CDN that serves npm
/// packages file for file, so the same SRI hashes hold.
const CDN: &str = "https://cdn.jsdelivr.net/npm";

/// The page's own script: GraphiQL with the Explorer, the README's examples as tabs, and the
/// Authorization header shown but not sent until it holds a token.
pub const BOOTSTRAP: &str = include_str!("playground/careergraph.js");

/// The page's own styles: the sign-in pane in GraphiQL's look.
const STYLE: &str = "body { margin: 0; } #graphiql { height: 100vh; } \
    .careergraph-sign-in label { display: block; margin: 0.75rem 0; } \
    .careergraph-sign-in input { display: block; box-sizing: border-box; width: 100%; margin-top: 0.25rem; padding: 0.4rem; \
    font: inherit; color: inherit; background: transparent; border: 1px solid hsla(var(--color-neutral), 0.3); border-radius: 4px; } \
    .careergraph-note { font-size: 0.85em; opacity: 0.8; } .careergraph-signed-in { font-weight: bold; }";

/// The path the bootstrap script is served at.
pub const BOOTSTRAP_PATH: &str = "/playground/careergraph.js";

/// The path prefix local assets are served under (with package and version, so they can be
/// cached for good).
pub const ASSETS_PATH: &str = "/playground/assets";

/// The playground as this server serves it.
pub struct Playground {
    page: String,
    policy: String,
    /// Assets by their path under [`ASSETS_PATH`]; empty when the page uses the CDN.
    assets: HashMap<String, Served>,
}

impl Playground {
    /// The playground with its assets from where `source` says. Fails, naming the file and what
    /// to do, when a file of a `node_modules` directory is missing or not the pinned one.
    pub fn new(source: &PlaygroundAssets) -> anyhow::Result<Self> {
        let assets: HashMap<String, Served> = match source {
            PlaygroundAssets::Embedded => VENDORED
                .iter()
                .map(|vendored| {
                    let served = Served {
                        content_type: vendored.content_type(),
                        identity: Bytes::from_static(vendored.identity),
                        gzip: Some(Bytes::from_static(vendored.gzip)),
                        brotli: Some(Bytes::from_static(vendored.brotli)),
                    };
                    (vendored.path(), served)
                })
                .collect(),
            PlaygroundAssets::Directory(directory) => VENDORED
                .iter()
                .map(|vendored| Ok((vendored.path(), read_checked(directory, vendored)?)))
                .collect::<anyhow::Result<_>>()?,
            PlaygroundAssets::Cdn => HashMap::new(),
        };
        let local = !assets.is_empty();
        let link = |vendored: &Vendored| {
            if local {
                (format!("{ASSETS_PATH}/{}", vendored.path()), String::new())
            } else {
                (
                    format!("{CDN}/{}", vendored.path()),
                    format!(" integrity=\"{}\" crossorigin=\"anonymous\"", vendored.integrity),
                )
            }
        };
        let mut head = String::new();
        for vendored in VENDORED {
            let (href, integrity) = link(vendored);
            if vendored.is_style() {
                head.push_str(&format!("    <link rel=\"stylesheet\" href=\"{href}\"{integrity}>\n"));
            } else {
                head.push_str(&format!("    <script src=\"{href}\"{integrity}></script>\n"));
            }
        }
        // What the page's own script says if the others did not load: where they came from.
        let origin = if local {
            "this server"
        } else {
            "the CDN (cdn.jsdelivr.net), as CAREERGRAPH_PLAYGROUND_ASSETS=cdn chose"
        };
        let page = format!(
            "<!doctype html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\">\n    \
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n    \
             <title>careergraph</title>\n{head}    <style>{STYLE}</style>\n  \
             </head>\n  <body>\n    <div id=\"graphiql\" data-assets-from=\"{origin}\">Loading the playground…</div>\n    \
             <noscript>The playground needs JavaScript. The API answers without it: POST a query to /graphql.</noscript>\n    \
             <script src=\"{BOOTSTRAP_PATH}\"></script>\n  </body>\n</html>\n"
        );
        // Each pinned file by its full URL: a source with a path that does not end in `/` admits
        // that one file, so should anything be injected into the page, it can load no other
        // script of the CDN's.
        let exact = |styles: bool| -> String {
            if local {
                return String::new();
            }
            VENDORED
                .iter()
                .filter(|vendored| vendored.is_style() == styles)
                .map(|vendored| format!(" {CDN}/{}", vendored.path()))
                .collect()
        };
        let (scripts, styles) = (exact(false), exact(true));
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

    /// A local asset by its path under [`ASSETS_PATH`].
    pub fn asset(&self, path: &str) -> Option<&Served> {
        self.assets.get(path)
    }
}

/// A pinned file from a `node_modules` directory, checked against its hash.
fn read_checked(directory: &Path, vendored: &Vendored) -> anyhow::Result<Served> {
    let path = directory.join(vendored.package).join(vendored.file);
    let content = std::fs::read(&path).with_context(|| {
        // Pointing at `playground` instead of `playground/node_modules` is the likely slip.
        let hint = if directory.join("node_modules").join(vendored.package).exists() {
            format!("; it holds node_modules: CAREERGRAPH_PLAYGROUND_ASSETS={}", directory.join("node_modules").display())
        } else {
            " (run `npm ci --prefix playground`, or leave CAREERGRAPH_PLAYGROUND_ASSETS unset: the binary carries the files)"
                .to_owned()
        };
        format!(
            "CAREERGRAPH_PLAYGROUND_ASSETS={} lacks {}{hint}",
            directory.display(),
            vendored.path()
        )
    })?;
    let integrity = format!("sha384-{}", STANDARD.encode(Sha384::digest(&content)));
    anyhow::ensure!(
        integrity == vendored.integrity,
        "CAREERGRAPH_PLAYGROUND_ASSETS={}: {} is not {} as pinned (run `npm ci --prefix playground`)",
        directory.display(),
        path.display(),
        vendored.path()
    );
    Ok(Served { content_type: vendored.content_type(), identity: Bytes::from(content), gzip: None, brotli: None })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn integrity_of(bytes: &[u8]) -> String {
        format!("sha384-{}", STANDARD.encode(Sha384::digest(bytes)))
    }

    #[test]
    fn the_binary_carries_each_pinned_file_as_hashed_and_its_compressed_forms_decompress_to_it() {
        assert_eq!(VENDORED.len(), 6);
        for vendored in VENDORED {
            assert_eq!(integrity_of(vendored.identity), vendored.integrity, "{}", vendored.path());
            let mut gunzipped = Vec::new();
            flate2::read::GzDecoder::new(vendored.gzip).read_to_end(&mut gunzipped).expect("gzip");
            assert!(gunzipped == vendored.identity, "{}.gz", vendored.path());
            let mut unbrotlied = Vec::new();
            brotli_decompressor::Decompressor::new(vendored.brotli, 4096).read_to_end(&mut unbrotlied).expect("brotli");
            assert!(unbrotlied == vendored.identity, "{}.br", vendored.path());
            assert!(vendored.brotli.len() < vendored.identity.len() && vendored.gzip.len() < vendored.identity.len());
        }
    }

    #[test]
    fn by_default_the_page_refers_to_this_server_alone() -> anyhow::Result<()> {
        let playground = Playground::new(&PlaygroundAssets::default())?;
        assert!(!playground.page().contains("https://"), "{}", playground.page());
        assert!(playground.policy().contains("script-src 'self';"), "{}", playground.policy());
        for vendored in VENDORED {
            assert!(playground.page().contains(&format!("\"{ASSETS_PATH}/{}\"", vendored.path())));
            assert!(playground.asset(&vendored.path()).is_some(), "{}", vendored.path());
        }
        Ok(())
    }

    #[test]
    fn the_cdn_when_chosen_is_pinned_by_version_and_hash() -> anyhow::Result<()> {
        let playground = Playground::new(&PlaygroundAssets::Cdn)?;
        for vendored in VENDORED {
            let tag = format!("{CDN}/{}\" integrity=\"{}\"", vendored.path(), vendored.integrity);
            assert!(playground.page().contains(&tag), "{tag}");
            assert!(playground.policy().contains(&format!(" {CDN}/{}", vendored.path())), "{}", vendored.path());
        }
        assert!(!playground.page().contains("@latest") && !playground.page().contains("development"));
        assert!(
            !playground.policy().contains(&format!("{CDN}/;")) && !playground.policy().contains(&format!("{CDN}/ "))
        );
        Ok(())
    }

    #[test]
    fn a_missing_asset_directory_stops_the_start_naming_what_to_do() {
        let missing = PlaygroundAssets::Directory("/nonexistent/node_modules".into());
        let error = Playground::new(&missing).err().map(|error| format!("{error:#}")).unwrap_or_default();
        assert!(error.contains("lacks react@18.3.1/umd/react.production.min.js"), "{error}");
        assert!(error.contains("npm ci --prefix playground"), "{error}");
    }

    #[test]
    fn the_package_directory_instead_of_its_node_modules_gets_the_right_hint() -> anyhow::Result<()> {
        let packages = tempfile::tempdir()?;
        std::fs::create_dir_all(packages.path().join("node_modules/react"))?;
        let error = Playground::new(&PlaygroundAssets::Directory(packages.path().into()))
            .err()
            .map(|error| format!("{error:#}"))
            .unwrap_or_default();
        let expected = format!(
            "it holds node_modules: CAREERGRAPH_PLAYGROUND_ASSETS={}",
            packages.path().join("node_modules").display()
        );
        assert!(error.contains(&expected), "{error}");
        assert!(!error.contains("npm ci"), "npm ci already ran there: {error}");
        Ok(())
    }

    #[test]
    fn the_coding_follows_accept_encoding() {
        let preferred = |header: &str| Encoding::preferred(Some(&HeaderValue::from_str(header).expect("a header")));
        assert_eq!(Encoding::preferred(None), Encoding::Identity);
        assert_eq!(preferred("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(preferred("gzip"), Encoding::Gzip);
        assert_eq!(preferred("br;q=0, gzip;q=0.5"), Encoding::Gzip);
        assert_eq!(preferred("BR"), Encoding::Brotli);
        assert_eq!(preferred("*"), Encoding::Brotli);
        assert_eq!(preferred("br;q=0, *;q=0.1"), Encoding::Gzip);
        assert_eq!(preferred("identity"), Encoding::Identity);
        assert_eq!(preferred("gzip;q=0, br;q=0"), Encoding::Identity);
    }
}
