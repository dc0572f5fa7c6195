//! Compiles the process tests that need something from outside Rust as `ignored`, with the
//! reason, when it is missing here, so that a run's summary says what it did not test instead
//! of counting the test as passed: PostgreSQL (`TEST_DATABASE_URL`) for the SIGTERM and
//! scale-out tests, nginx for the scale-out tests, a compose tool for the compose check. With
//! `CAREERGRAPH_REQUIRE_TOOLS` set (as `.ci/run` sets it, having installed them) a missing tool
//! fails the build instead.

use std::path::Path;
use std::process::Command;

fn main() {
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
