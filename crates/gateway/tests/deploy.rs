//! The deployment files, checked for structure: there is no Docker engine where these tests
//! run, so `Dockerfile` and `docker-compose.yml` are read and held to what they promise, and
//! `docker compose config` validates the compose file where a compose tool exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_norway::Value;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repository().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The compose file as compose sees it: YAML with its `<<` merge keys applied.
fn compose() -> Value {
    let mut value: Value = serde_norway::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML");
    value.apply_merge().expect("its merge keys apply");
    value
}

/// Every `CAREERGRAPH_*` variable the binary reads: each setting's, and the log filter's.
fn known_variables() -> BTreeSet<String> {
    let command = careergraph_gateway::cli::Cli::command();
    let mut known: BTreeSet<String> = command
        .get_arguments()
        .filter_map(|argument| argument.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    known.insert("CAREERGRAPH_LOG".into());
    assert!(known.len() > 30, "the settings were found: {known:?}");
    known
}

fn string<'a>(value: &'a Value, what: &str) -> &'a str {
    value.as_str().unwrap_or_else(|| panic!("{what} is a string: {value:?}"))
}

/// The names in a `depends_on` mapping, with their conditions.
fn dependencies(service: &Value) -> Vec<(String, String)> {
    let Some(mapping) = service["depends_on"].as_mapping() else { return Vec::new() };
    mapping
        .iter()
        .map(|(name, dependency)| {
            (string(name, "a dependency").to_owned(), string(&dependency["condition"], "its condition").to_owned())
        })
        .collect()
}

/// The services that run the gateway: built from this repository, with no other command.
fn gateways(compose: &Value) -> Vec<(String, &Value)> {
    compose["services"]
        .as_mapping()
        .expect("services")
        .iter()
        .filter(|(_, service)| service.get("build").is_some() && service.get("command").is_none())
        .map(|(name, service)| (string(name, "a service name").to_owned(), service))
        .collect()
}

#[test]
fn the_compose_file_runs_two_gateways_on_postgres_behind_nginx_with_one_shared_key() {
    let compose = compose();
    let services = &compose["services"];

    let postgres = &services["postgres"];
    assert!(string(&postgres["image"], "postgres image").starts_with("postgres:16"));
    let volume = string(&postgres["volumes"][0], "the data volume");
    let (name, target) = volume.split_once(':').expect("volume:path");
    assert_eq!(target, "/var/lib/postgresql/data");
    assert!(compose["volumes"].get(name).is_some(), "{name} is a named volume");
    assert!(postgres["healthcheck"]["test"].as_sequence().is_some_and(|test| !test.is_empty()), "postgres is checked");

    let migrate = &services["migrate"];
    let command: Vec<&str> =
        migrate["command"].as_sequence().expect("a command").iter().map(|part| string(part, "an argument")).collect();
    assert!(command == ["migrate"] || command == ["seed"], "a one-shot migration: {command:?}");
    assert_eq!(string(&migrate["restart"], "restart"), "no", "it runs once");
    assert!(dependencies(migrate).contains(&("postgres".into(), "service_healthy".into())));

    let gateways = gateways(&compose);
    let names: Vec<&str> = gateways.iter().map(|(name, _)| name.as_str()).collect();
    assert!(gateways.len() >= 2, "two gateway replicas at least: {names:?}");
    let secret_file = string(&compose["secrets"]["jwt_signing_key"]["file"], "the key's file");
    for (name, gateway) in &gateways {
        let environment = &gateway["environment"];
        assert_eq!(string(&environment["CAREERGRAPH_JWT_KEY_FILE"], "key file"), "/run/secrets/jwt_signing_key");
        let secrets = gateway["secrets"].as_sequence().expect("secrets");
        assert!(secrets.iter().any(|secret| secret.as_str() == Some("jwt_signing_key")), "{name} mounts the key");
        assert!(environment.get("CAREERGRAPH_METRICS_LISTEN").is_some(), "{name} serves metrics");
        assert!(string(&environment["CAREERGRAPH_DATABASE_URL"], "database").contains("@postgres:5432/"));
        let depends = dependencies(gateway);
        assert!(depends.contains(&("postgres".into(), "service_healthy".into())), "{name}: {depends:?}");
        assert!(depends.contains(&("migrate".into(), "service_completed_successfully".into())), "{name}: {depends:?}");
    }
    // Every gateway reads the same key, and it is never committed.
    assert!(secret_file.starts_with("./secrets/"), "{secret_file}");
    assert!(read(".gitignore").lines().any(|line| line.trim() == "secrets/"), "secrets/ is ignored by git");
    assert!(read(".dockerignore").lines().any(|line| line.trim() == "secrets"), "and kept out of the image");

    let nginx = &services["nginx"];
    let mounted: Vec<&str> =
        nginx["volumes"].as_sequence().expect("volumes").iter().map(|v| string(v, "a volume")).collect();
    assert!(mounted.contains(&"./deploy/nginx.conf:/etc/nginx/nginx.conf:ro"), "{mounted:?}");
    assert!(nginx["healthcheck"]["test"].as_sequence().is_some(), "nginx is checked");
    for (name, _) in &gateways {
        assert!(dependencies(nginx).contains(&(name.clone(), "service_healthy".into())), "nginx waits for {name}");
    }
    // The balancer's upstreams are the gateway services, on the port they listen on.
    let config = read("deploy/nginx.conf");
    let upstream = config.split("upstream careergraph {").nth(1).and_then(|rest| rest.split('}').next());
    let upstreams: Vec<&str> = upstream
        .expect("an upstream named careergraph")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("server "))
        .filter_map(|server| server.split_whitespace().next())
        .collect();
    let expected: Vec<String> = gateways.iter().map(|(name, _)| format!("{name}:8080")).collect();
    assert_eq!(upstreams, expected);
    // nginx is the one proxy the gateways trust to name the client.
    let address = string(&nginx["networks"]["careergraph"]["ipv4_address"], "nginx's address");
    for (name, gateway) in &gateways {
        let trusted = string(&gateway["environment"]["CAREERGRAPH_TRUSTED_PROXIES"], "trusted proxies");
        assert_eq!(trusted, format!("{address}/32"), "{name}");
    }
}

#[test]
fn every_variable_the_deployment_sets_is_one_the_binary_knows() {
    let known = known_variables();
    let compose = compose();
    let mut set = Vec::new();
    for (_, service) in compose["services"].as_mapping().expect("services") {
        if let Some(environment) = service["environment"].as_mapping() {
            set.extend(environment.keys().map(|key| string(key, "a variable").to_owned()));
        }
    }
    for line in read("Dockerfile").lines() {
        set.extend(
            line.split_whitespace()
                .filter_map(|word| word.split_once('=').map(|(name, _)| name.trim_start_matches("ENV").to_owned())),
        );
    }
    let ours: Vec<&String> = set.iter().filter(|name| name.starts_with("CAREERGRAPH_")).collect();
    assert!(ours.len() >= 9, "the deployment sets its settings: {ours:?}");
    for name in ours {
        assert!(known.contains(name), "{name} is not a setting of the binary; known: {known:?}");
    }
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_health_check() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<(String, String)> = dockerfile
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ")
        .lines()
        .filter_map(|line| line.trim().split_once(' '))
        .map(|(keyword, rest)| (keyword.to_ascii_uppercase(), rest.trim().to_owned()))
        .collect();
    let all = |keyword: &str| -> Vec<&str> {
        instructions.iter().filter(|(k, _)| k == keyword).map(|(_, rest)| rest.as_str()).collect()
    };
    let stages = all("FROM");
    assert!(stages.len() >= 3, "multi-stage: {stages:?}");
    let runtime = stages.last().expect("a last stage");
    assert!(runtime.contains("-slim") || runtime.contains("distroless"), "a small runtime image: {runtime}");
    // Dependencies are built in a layer of their own, before the sources are copied.
    let runs = all("RUN");
    let cook = runs.iter().position(|run| run.contains("cargo chef cook")).expect("dependencies are cooked");
    let build = runs.iter().position(|run| run.contains("cargo build --release")).expect("the release build");
    assert!(cook < build);
    // The runtime stage: its own user, the playground offline (the binary carries its files), the
    // ports, the health check.
    let runtime_part = dockerfile.rsplit("\nFROM ").next().expect("the runtime stage");
    let user = runtime_part.lines().find_map(|line| line.strip_prefix("USER ")).expect("a USER");
    assert!(!user.starts_with("root") && !user.starts_with('0'), "not root: {user}");
    assert!(!dockerfile.contains("CAREERGRAPH_PLAYGROUND_ASSETS"), "the image serves the playground from its binary");
    assert!(all("EXPOSE").iter().any(|ports| ports.split_whitespace().any(|port| port == "8080")));
    let healthcheck = all("HEALTHCHECK");
    assert!(healthcheck.iter().any(|check| check.contains(r#"CMD ["careergraph", "healthcheck"]"#)), "{healthcheck:?}");
    // What the build copies exists, and what it must not see is ignored.
    for copied in all("COPY").iter().filter(|copy| !copy.starts_with("--from")) {
        let parts: Vec<&str> = copied.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            assert!(repository().join(source).exists(), "COPY {source}: no such file");
        }
    }
    let ignored = read(".dockerignore");
    for path in ["target", "**/node_modules", ".git", "secrets"] {
        assert!(ignored.lines().any(|line| line.trim() == path), ".dockerignore lists {path}");
    }
}

/// `docker compose config` (or the older `docker-compose config`) validates the file against
/// the compose specification, where either tool exists; `.ci/run` installs `docker-compose`.
#[test]
#[cfg_attr(not(compose_tests), ignore = "neither `docker compose` nor `docker-compose` is installed")]
fn a_compose_tool_accepts_the_compose_file() {
    let tools: [&[&str]; 2] = [&["docker", "compose"], &["docker-compose"]];
    let Some(tool) = tools.into_iter().find(|tool| {
        std::process::Command::new(tool[0])
            .args(&tool[1..])
            .arg("version")
            .output()
            .is_ok_and(|output| output.status.success())
    }) else {
        assert!(
            std::env::var_os("CAREERGRAPH_REQUIRE_TOOLS").is_none(),
            "CAREERGRAPH_REQUIRE_TOOLS is set, but neither `docker compose` nor `docker-compose` runs"
        );
        eprintln!("SKIPPED the compose validation: neither `docker compose` nor `docker-compose` is installed");
        return;
    };
    let output = std::process::Command::new(tool[0])
        .args(&tool[1..])
        .args(["--file", "docker-compose.yml", "config", "--quiet"])
        .current_dir(repository())
        .env("POSTGRES_PASSWORD", "checked-by-the-test")
        .output()
        .expect("the compose tool runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
