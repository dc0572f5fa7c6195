//! Writes the table of playground files the binary carries (`playground/vendor/manifest.json`,
//! written by `playground/vendor.mjs`), so that the files and their hashes have one list.
//!
//! Compiles the process tests that need something from outside Rust as `ignored`, with the
//! reason, when it is missing here, so that a run's summary says what it did not test instead
//! of counting the test as passed: PostgreSQL (`TEST_DATABASE_URL`) for the SIGTERM and
//! scale-out tests, nginx for the scale-out tests, a compose tool for the compose check. With
//! `CAREERGRAPH_REQUIRE_TOOLS` set (as `.ci/run` sets it, having installed them) a missing tool
//! fails the build instead.

use std::path::Path;
use std::process::Command;

fn main() {
    embed_playground_files();
    for cfg in ["postgres_tests", "nginx_tests", "compose_tests"] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    for variable in ["TEST_DATABASE_URL", "CAREERGRAPH_REQUIRE_TOOLS", "PATH"] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    let required = std::env::var_os("CAREERGRAPH_REQUIRE_TOOLS").is_some();
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty());
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].iter().any(|path| Path::new(path).exists());
    let compose = [&["docker", "compose", "version"][..], &["docker-compose", "version"][..]]
        .iter()
        .any(|tool| Command::new(tool[0]).args(&tool[1..]).output().is_ok_and(|output| output.status.success()));
    for (present, cfg, what) in [
        (postgres, "postgres_tests", "TEST_DATABASE_URL"),
        (nginx, "nginx_tests", "nginx"),
        (compose, "compose_tests", "`docker compose` or `docker-compose`"),
    ] {
        if present {
            println!("cargo::rustc-cfg={cfg}");
        } else if required {
            panic!("CAREERGRAPH_REQUIRE_TOOLS is set, but {what} is missing");
        }
    }
}

/// `$OUT_DIR/vendored.rs`: one `Vendored` per manifest line, its bytes included from the file and
/// its compressed forms beside it.
fn embed_playground_files() {
    let manifest_dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let vendor = manifest_dir.join("../../playground/vendor");
    println!("cargo::rerun-if-changed={}", vendor.display());
    let manifest = vendor.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|error| panic!("{}: {error}", manifest.display()));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).expect("manifest.json is a JSON array");
    let mut table = String::from("&[\n");
    for entry in &entries {
        let field = |name: &str| entry[name].as_str().unwrap_or_else(|| panic!("manifest entry without {name}"));
        let (package, version, file) = (field("package"), field("version"), field("file"));
        let path = vendor.join(format!("{package}@{version}/{file}"));
        let path = path.canonicalize().unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let include = |suffix: &str| format!("include_bytes!({:?})", format!("{}{suffix}", path.display()));
        table.push_str(&format!(
            "    Vendored {{ package: {package:?}, version: {version:?}, file: {file:?}, integrity: {:?}, \
             identity: {}, gzip: {}, brotli: {} }},\n",
            field("integrity"),
            include(""),
            include(".gz"),
            include(".br"),
        ));
    }
    table.push(']');
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("vendored.rs");
    std::fs::write(&out, table).unwrap_or_else(|error| panic!("{}: {error}", out.display()));
}
