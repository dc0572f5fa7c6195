//! Compiles the black-box tests that need something from outside Rust as `ignored` when it is
//! missing here, so a run's summary says what it did not test instead of counting a skip as a
//! pass: the PostgreSQL variant of every test (`TEST_DATABASE_URL`), the PgBouncer variant of
//! the read, edit and sign-in tests (`TEST_DATABASE_URL` and Debian's `pgbouncer`), the streaming
//! replica tests (replication connections to that server), the browser test (node, chromium,
//! `tests/browser/node_modules`), and the TypeScript and Relay client tests (npm and
//! their `node_modules`). With `CAREERGRAPH_REQUIRE_TOOLS` set (as `.ci/run` sets it, having
//! installed them) a missing tool fails the build instead.

use std::path::Path;
use std::process::Command;

fn main() {
    for cfg in [
        "postgres_tests",
        "pgbouncer_tests",
        "replica_tests",
        "browser_tests",
        "typescript_client_tests",
        "relay_client_tests",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    for variable in ["TEST_DATABASE_URL", "CAREERGRAPH_REQUIRE_TOOLS", "CHROMIUM", "PATH"] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    let required = std::env::var_os("CAREERGRAPH_REQUIRE_TOOLS").is_some();
    let runs =
        |program: &str| Command::new(program).arg("--version").output().is_ok_and(|output| output.status.success());
    // A marker npm ci installs; watched, so that installing it later brings the test back.
    let installed = |marker: &str| {
        println!("cargo::rerun-if-changed={marker}");
        Path::new(marker).exists()
    };
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty());
    let pgbouncer = Path::new("/usr/sbin/pgbouncer").exists();
    let replication = postgres && replication_allowed(&std::env::var("TEST_DATABASE_URL").unwrap_or_default());
    let checks = [
        (postgres, "postgres_tests", "TEST_DATABASE_URL".to_owned()),
        (postgres && pgbouncer, "pgbouncer_tests", "pgbouncer (apt-get install pgbouncer)".to_owned()),
        (
            replication,
            "replica_tests",
            "replication connections to TEST_DATABASE_URL's server (pg_basebackup, and \
             `host replication all 127.0.0.1/32 trust` in its pg_hba.conf)"
                .to_owned(),
        ),
        (
            runs("node") && Path::new(&chromium).exists() && installed("browser/node_modules/playwright-core"),
            "browser_tests",
            format!("node, {chromium} and tests/browser/node_modules"),
        ),
        (
            runs("npm") && installed("clients/typescript/node_modules/@graphql-codegen/cli"),
            "typescript_client_tests",
            "npm and tests/clients/typescript/node_modules".to_owned(),
        ),
        (
            runs("npm") && installed("clients/relay/node_modules/relay-compiler"),
            "relay_client_tests",
            "npm and tests/clients/relay/node_modules".to_owned(),
        ),
    ];
    for (present, cfg, what) in checks {
        if present {
            println!("cargo::rustc-cfg={cfg}");
        } else if required
            && cfg != "postgres_tests"
            && (postgres || !matches!(cfg, "pgbouncer_tests" | "replica_tests"))
        {
            panic!("CAREERGRAPH_REQUIRE_TOOLS is set, but {what} is missing");
        }
    }
}

/// Whether the PostgreSQL server at `url` accepts a replication connection (what
/// `pg_basebackup` makes), asked with `psql` in replication mode; and its `pg_basebackup` is here.
fn replication_allowed(url: &str) -> bool {
    // Debian's cluster configuration, where pg_hba.conf is: allowing replication there brings
    // the tests back (a path that does not exist would rerun this script at every build).
    if Path::new("/etc/postgresql").exists() {
        println!("cargo::rerun-if-changed=/etc/postgresql");
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let asked = Command::new("psql")
        .args(["-XAtc", "IDENTIFY_SYSTEM"])
        .arg(format!("{url}{separator}replication=true"))
        .output()
        .is_ok_and(|output| output.status.success());
    let basebackup = std::fs::read_dir("/usr/lib/postgresql")
        .is_ok_and(|versions| versions.flatten().any(|version| version.path().join("bin/pg_basebackup").exists()));
    asked && basebackup
}
