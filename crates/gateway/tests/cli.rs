//! The `careergraph` binary as a user runs it.

mod common;

use std::process::Command;

use common::{FreshDatabase, Server, careergraph, careergraph_with_stdin, graphql, spawn_server, stderr, stdout};

#[test]
fn schema_prints_exactly_the_committed_schema_graphql() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = careergraph(&["schema"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql")).expect("schema.graphql");
    assert!(String::from_utf8_lossy(&output.stdout) == committed, "schema.graphql differs from `careergraph schema`");
}

#[test]
fn seeding_twice_adds_nothing_the_second_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = careergraph(&["seed"], dir.path());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("career_paths: 1"), "{}", stderr(&first));
    let second = careergraph(&["seed"], dir.path());
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stderr(&second).contains("nothing added"), "{}", stderr(&second));
}

#[test]
fn a_database_that_cannot_be_opened_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output =
        careergraph(&["--database-url", "postgres://careergraph:secret@127.0.0.1:1/none", "migrate"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    let last = message.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("careergraph: cannot open the database at postgres://careergraph:***@127.0.0.1:1/none"),
        "{message}"
    );
    assert!(!message.contains("secret") && !message.contains("panicked"), "{message}");
}

#[test]
fn a_data_directory_that_cannot_be_written_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").expect("a file");
    let data_dir = file.join("data");
    let output = careergraph(&["serve", "--listen", "127.0.0.1:0"], &data_dir);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    let expected = format!("careergraph: cannot write the data directory {}", data_dir.display());
    assert!(message.lines().last().unwrap_or_default().starts_with(&expected), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn a_port_in_use_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("address").to_string();
    let output = careergraph(&["serve", "--listen", &address], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains(&format!("careergraph: cannot listen on {address}")), "{}", stderr(&output));
}

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = careergraph(&["--help"], dir.path());
    let help = String::from_utf8_lossy(&output.stdout);
    for variable in ["CAREERGRAPH_LISTEN", "CAREERGRAPH_DATABASE_URL", "CAREERGRAPH_DATA_DIR", "CAREERGRAPH_MAX_DEPTH"]
    {
        assert!(help.contains(variable), "--help does not mention {variable}:\n{help}");
    }
    for command in ["serve", "migrate", "seed", "schema"] {
        assert!(help.contains(command), "--help does not mention {command}");
    }
}

#[tokio::test]
async fn the_request_log_holds_no_variables_tokens_or_passwords() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    let file = std::fs::File::create(&log).expect("a log file");
    // At debug level every request is logged with its span: the most a log ever holds.
    let (server, base) = spawn_server(dir.path(), &[("CAREERGRAPH_LOG", "debug")], file.into()).await;
    let client = reqwest::Client::new();
    let post = |body: serde_json::Value, bearer: Option<&str>| {
        let mut request = client.post(format!("{base}/graphql")).header("content-type", "application/json");
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(body.to_string()).send()
    };
    let register = serde_json::json!({ "query": "mutation ($p: String!) { register(input: { email: \"ada@example.com\", password: $p, displayName: \"Ada\" }) { refreshToken } }", "variables": { "p": "secret pass phrase 4242" } });
    let session: serde_json::Value = post(register, None).await.expect("answer").json().await.expect("json");
    let refresh = session["data"]["register"]["refreshToken"].as_str().expect("a refresh token").to_owned();
    let rotate = serde_json::json!({ "query": "mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }", "variables": { "t": refresh } });
    let rotated: serde_json::Value = post(rotate, None).await.expect("answer").json().await.expect("json");
    let access = rotated["data"]["refreshSession"]["accessToken"].as_str().expect("an access token").to_owned();
    post(serde_json::json!({ "query": "{ me { id } }" }), Some(&access)).await.expect("answer");
    post(serde_json::json!({ "query": "{ me { id } }" }), Some("not.a-valid.token-secret-7")).await.expect("answer");
    let get = client
        .get(format!("{base}/graphql"))
        .query(&[
            ("query", "query ($s: String) { skills(filter: { search: $s }) { totalCount } }"),
            ("variables", r#"{"s":"variable-secret-31337"}"#),
        ])
        .send()
        .await
        .expect("answer");
    assert!(get.status().is_success());
    drop(server);
    let written = std::fs::read_to_string(&log).expect("the log");
    assert!(written.contains("/graphql"), "requests were logged: {written}");
    assert!(!written.contains('\u{1b}'), "no colour codes when standard error is not a terminal");
    let access_signature = access.rsplit('.').next().unwrap_or_default().to_owned();
    for secret in [
        "secret pass phrase 4242",
        &refresh,
        &access_signature,
        "token-secret-7",
        "variable-secret-31337",
        "variables=",
    ] {
        assert!(!written.contains(secret), "the log holds {secret:?}");
    }
}

#[test]
fn a_missing_playground_asset_directory_stops_the_start_with_one_clear_line_and_nothing_on_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-node-modules");
    let data = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_careergraph"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("CAREERGRAPH_DATABASE_URL")
        .env("CAREERGRAPH_DATA_DIR", &data)
        .env("CAREERGRAPH_PLAYGROUND_ASSETS", &missing)
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    let last = message.lines().last().unwrap_or_default();
    assert!(last.starts_with("careergraph: CAREERGRAPH_PLAYGROUND_ASSETS="), "{message}");
    assert!(last.contains("npm ci --prefix playground") && !message.contains("panicked"), "{message}");
    assert!(!data.exists(), "a start that fails on configuration creates no data directory, database or key");
}

#[tokio::test]
async fn a_client_cannot_write_a_line_of_its_own_into_the_text_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    let file = std::fs::File::create(&log).expect("a log file");
    let (server, base) = spawn_server(dir.path(), &[("CAREERGRAPH_LOG", "info")], file.into()).await;
    let client = reqwest::Client::new();
    let forged = "Real\n2026-01-01T00:00:00Z  INFO careergraph::request: FORGED admin signed in \u{1b}[2J";
    for query in ["{ not a document", "query Real { __typename }", "query Other { __typename }"] {
        let body = serde_json::json!({ "query": query, "operationName": forged });
        client
            .post(format!("{base}/graphql"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("answer");
    }
    drop(server);
    let written = std::fs::read_to_string(&log).expect("the log");
    assert!(!written.contains('\u{1b}'), "no escape bytes: {written}");
    let requests = written.lines().filter(|line| line.contains("GraphQL request")).count();
    assert_eq!(requests, 3, "{written}");
    assert!(written.lines().all(|line| !line.contains("FORGED")), "the made-up name is not logged: {written}");
}

#[tokio::test]
async fn the_json_log_has_one_line_per_request_with_its_fields_and_no_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    let file = std::fs::File::create(&log).expect("a log file");
    let env = [("CAREERGRAPH_LOG_FORMAT", "json"), ("CAREERGRAPH_LOG", "info")];
    let (server, base) = spawn_server(dir.path(), &env, file.into()).await;
    let client = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        client.post(format!("{base}/graphql")).header("content-type", "application/json").body(body.to_string()).send()
    };
    let page = serde_json::json!({ "query": "query CareerPage { careerPath(slug: \"backend-developer\") { title } }", "operationName": "CareerPage" });
    post(page).await.expect("answer");
    let wrong = serde_json::json!({ "query": "mutation SignIn($p: String!) { login(input: { email: \"nobody@example.com\", password: $p }) { accessToken } }", "variables": { "p": "secret-password-8080" } });
    post(wrong).await.expect("answer");
    let batch =
        serde_json::json!([{ "query": "query A { __typename }" }, { "query": "query B { industries { name } }" }]);
    post(batch).await.expect("answer");
    client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer not.a-valid.token-secret-7")
        .body(serde_json::json!({ "query": "{ me { id } }" }).to_string())
        .send()
        .await
        .expect("answer");
    let variables = [
        ("query", "query ($s: String) { skills(filter: { search: $s }) { totalCount } }"),
        ("variables", r#"{"s":"variable-secret-31337"}"#),
    ];
    client.get(format!("{base}/graphql")).query(&variables).send().await.expect("answer");
    drop(server);
    let written = std::fs::read_to_string(&log).expect("the log");
    assert!(!written.contains('\u{1b}'), "no colour codes in a file");
    for secret in ["secret-password-8080", "token-secret-7", "variable-secret-31337", "variables="] {
        assert!(!written.contains(secret), "the log holds {secret:?}");
    }
    let lines: Vec<serde_json::Value> = written
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}")))
        .filter(|line: &serde_json::Value| line["fields"]["message"] == "GraphQL request")
        .collect();
    assert_eq!(lines.len(), 5, "one line per request: {written}");
    let fields: Vec<&serde_json::Value> = lines.iter().map(|line| &line["fields"]).collect();
    assert_eq!(
        (fields[0]["operation"].as_str(), fields[0]["operation_type"].as_str()),
        (Some("CareerPage"), Some("query"))
    );
    assert_eq!(
        (fields[0]["role"].as_str(), fields[0]["status"].as_u64(), fields[0]["codes"].as_str()),
        (Some("ANONYMOUS"), Some(200), Some(""))
    );
    assert!(
        fields[0]["request_id"].as_str().is_some_and(|id| !id.is_empty())
            && fields[0]["duration_ms"].as_f64().is_some()
    );
    assert_eq!(
        (fields[1]["operation"].as_str(), fields[1]["operation_type"].as_str(), fields[1]["codes"].as_str()),
        (Some("SignIn"), Some("mutation"), Some("UNAUTHENTICATED"))
    );
    assert_eq!(
        (fields[2]["operation"].as_str(), fields[2]["operation_type"].as_str()),
        (Some("A,B"), Some("query,query"))
    );
    assert_eq!((fields[3]["status"].as_u64(), fields[3]["codes"].as_str()), (Some(401), Some("UNAUTHENTICATED")));
    assert_eq!(fields[4]["status"].as_u64(), Some(200));
}

/// A server on a PostgreSQL database of its own, an editor's token, and a mutation of the
/// career path in flight, waiting on the row lock the test holds.
struct LockedMutation {
    server: Server,
    lock: Option<sea_orm::DatabaseTransaction>,
    in_flight: tokio::task::JoinHandle<serde_json::Value>,
    _database: FreshDatabase,
    _dir: tempfile::TempDir,
}

impl LockedMutation {
    /// `None` (with the reason printed) without PostgreSQL: the row lock needs it.
    async fn start(env: &[(&str, &str)]) -> Option<Self> {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("SKIPPED the SIGTERM tests: TEST_DATABASE_URL is not set (the row lock needs PostgreSQL)");
            return None;
        };
        let database = FreshDatabase::create(&admin_url, "careergraph_sigterm").await;
        let url = database.url.clone();

        let dir = tempfile::tempdir().expect("temp dir");
        let added = Command::new(env!("CARGO_BIN_EXE_careergraph"))
            .args(["user", "add", "--email", "editor@example.com", "--role", "editor", "--password-stdin"])
            .env("CAREERGRAPH_DATABASE_URL", &url)
            .env("CAREERGRAPH_DATA_DIR", dir.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(b"violet staircase 42\n")?;
                child.wait()
            })
            .expect("user add runs");
        assert!(added.success());
        let mut env = env.to_vec();
        env.push(("CAREERGRAPH_DATABASE_URL", &url));
        let (server, base) = spawn_server(dir.path(), &env, std::process::Stdio::null()).await;
        let login = "mutation { login(input: { email: \"editor@example.com\", password: \"violet staircase 42\" }) { accessToken } }";
        let (_, login) = graphql(&base, None, login, serde_json::json!({})).await;
        let token = login["data"]["login"]["accessToken"].as_str().expect("a token").to_owned();
        let query = "{ careerPath(slug: \"backend-developer\") { id version } }";
        let (_, path) = graphql(&base, None, query, serde_json::json!({})).await;
        let (id, version) = (path["data"]["careerPath"]["id"].clone(), path["data"]["careerPath"]["version"].clone());

        // The test holds the career path's row; the mutation will wait for it.
        let db = careergraph_domain::connect(&url).await.expect("the test's own connection");
        let lock = db.begin().await.expect("a transaction");
        lock.execute_unprepared("SELECT id FROM career_path WHERE slug = 'backend-developer' FOR UPDATE")
            .await
            .expect("the lock");
        let rename = "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Backend Engineer\" }) { careerPath { title version } } }";
        let variables = serde_json::json!({ "id": id, "v": version });
        let in_flight = tokio::spawn(async move { graphql(&base, Some(&token), rename, variables).await.1 });
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(!in_flight.is_finished(), "the mutation waits on the lock");
        Some(Self { server, lock: Some(lock), in_flight, _database: database, _dir: dir })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: the row lock needs PostgreSQL")]
async fn sigterm_lets_a_mutation_waiting_on_a_row_lock_finish_then_exits_0() {
    let Some(mut locked) = LockedMutation::start(&[]).await else { return };
    locked.server.terminate();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        locked.server.exited_within(std::time::Duration::ZERO).await.is_none(),
        "the server waits for the mutation"
    );
    locked.lock.take().expect("the lock").commit().await.expect("the lock is released");
    let answer = (&mut locked.in_flight).await.expect("the mutation finished");
    assert_eq!(answer["data"]["updateCareerPath"]["careerPath"]["title"], "Backend Engineer", "{answer}");
    let status = locked.server.exited_within(std::time::Duration::from_secs(10)).await.expect("the server exited");
    assert_eq!(status.code(), Some(0), "a clean exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: the row lock needs PostgreSQL")]
async fn sigterm_gives_up_on_requests_still_running_after_the_grace_period() {
    let Some(mut locked) = LockedMutation::start(&[("CAREERGRAPH_SHUTDOWN_GRACE_SECS", "1")]).await else { return };
    locked.server.terminate();
    // The lock is never released: the grace period ends the wait.
    let status = locked.server.exited_within(std::time::Duration::from_secs(10)).await.expect("the server exited");
    assert_eq!(status.code(), Some(0), "still a clean exit");
}

#[tokio::test]
async fn an_admin_created_on_the_command_line_signs_in_over_http() {
    let dir = tempfile::tempdir().expect("temp dir");
    let added = careergraph_with_stdin(
        &["user", "add", "--email", "Admin@Example.com", "--role", "admin", "--password-stdin"],
        dir.path(),
        "violet staircase 42\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).starts_with("created admin admin@example.com"), "{}", stdout(&added));

    let (_server, base) = spawn_server(dir.path(), &[], std::process::Stdio::null()).await;
    let login = "mutation { login(input: { email: \"admin@example.com\", password: \"violet staircase 42\" }) { accessToken } }";
    let (_, body) = graphql(&base, None, login, serde_json::json!({})).await;
    let token = body["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("no token: {body}")).to_owned();
    let (_, me) = graphql(&base, Some(&token), "{ me { email role } }", serde_json::json!({})).await;
    assert_eq!(me["data"]["me"], serde_json::json!({ "email": "admin@example.com", "role": "ADMIN" }));
}

#[test]
fn user_commands_refuse_what_would_break_the_rules() {
    let dir = tempfile::tempdir().expect("temp dir");
    let add = |email: &str, role: &str, password: &str| {
        careergraph_with_stdin(
            &["user", "add", "--email", email, "--role", role, "--password-stdin"],
            dir.path(),
            password,
        )
    };
    let weak = add("ada@example.com", "admin", "password123\n");
    assert_eq!(weak.status.code(), Some(1));
    assert!(stderr(&weak).contains("password is too easy to guess"), "{}", stderr(&weak));

    assert!(add("ada@example.com", "admin", "violet staircase 42\n").status.success());
    let again = add("ADA@example.com", "viewer", "violet staircase 42\n");
    assert!(stderr(&again).contains("email is already registered"), "{}", stderr(&again));

    let demote = careergraph(&["user", "set-role", "--email", "ada@example.com", "--role", "editor"], dir.path());
    assert_eq!(demote.status.code(), Some(1));
    assert!(stderr(&demote).contains("the last active admin cannot be demoted"), "{}", stderr(&demote));
    let disable = careergraph(&["user", "disable", "--email", "ada@example.com"], dir.path());
    assert!(stderr(&disable).contains("the last active admin cannot be disabled"), "{}", stderr(&disable));

    assert!(add("bo@example.com", "viewer", "amber lighthouse 77\n").status.success());
    let promoted = careergraph(&["user", "set-role", "--email", "bo@example.com", "--role", "admin"], dir.path());
    assert!(stdout(&promoted).contains("bo@example.com is now admin"), "{}", stderr(&promoted));
    let disabled = careergraph(&["user", "disable", "--email", "ada@example.com"], dir.path());
    assert!(stdout(&disabled).contains("disabled ada@example.com"), "{}", stderr(&disabled));
    let unknown = careergraph(&["user", "disable", "--email", "nobody@example.com"], dir.path());
    assert!(stderr(&unknown).contains("no user has the e-mail address nobody@example.com"), "{}", stderr(&unknown));
}

#[test]
fn the_role_flags_offer_the_roles_a_user_can_have() {
    let dir = tempfile::tempdir().expect("temp dir");
    let help = careergraph(&["user", "add", "--help"], dir.path());
    let help = stdout(&help);
    let roles = help.split("--role").nth(1).and_then(|rest| rest.split("[default: viewer]").next()).unwrap_or_default();
    for role in ["- viewer:", "- editor:", "- admin:"] {
        assert!(roles.contains(role), "{role} missing from {roles}");
    }
    assert!(!roles.contains("anonymous"), "{roles}");
    for command in [
        &["user", "add", "--email", "ada@example.com", "--role", "anonymous", "--password-stdin"][..],
        &["user", "set-role", "--email", "ada@example.com", "--role", "anonymous"],
    ] {
        let refused = careergraph(command, dir.path());
        assert_eq!(refused.status.code(), Some(2), "{command:?}: {}", stderr(&refused));
        assert!(stderr(&refused).contains("invalid value 'anonymous'"), "{}", stderr(&refused));
    }
}

#[test]
fn keygen_creates_a_private_pkcs8_key_and_never_overwrites_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("jwt-ed25519.pem");
    let key_arg = key.to_str().expect("a UTF-8 path");
    let created = careergraph(&["keygen", key_arg], dir.path());
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stdout(&created).starts_with(&format!("created {key_arg} (kid ")), "{}", stdout(&created));
    let pem = std::fs::read_to_string(&key).expect("the key");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM: {pem}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("the key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }

    let again = careergraph(&["keygen", key_arg], dir.path());
    assert!(!again.status.success(), "an existing key is never replaced");
    assert_eq!(std::fs::read_to_string(&key).expect("the key"), pem, "the key is unchanged");
    let message = stderr(&again);
    assert!(message.starts_with(&format!("careergraph: cannot create the key {key_arg}")), "{message}");
    assert_eq!(message.lines().count(), 1, "one line: {message}");
}

#[tokio::test]
async fn healthcheck_exits_0_for_a_ready_server_and_1_with_one_line_otherwise() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, base) = spawn_server(dir.path(), &[], std::process::Stdio::null()).await;
    let listen = base.trim_start_matches("http://").to_owned();
    let probe = |args: Vec<String>| {
        let dir = dir.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            careergraph(&args, &dir)
        })
    };
    // As the image's HEALTHCHECK runs it: the same CAREERGRAPH_LISTEN the server was given.
    let port = listen.rsplit(':').next().expect("a port");
    let healthy = probe(vec!["healthcheck".into(), "--listen".into(), format!("0.0.0.0:{port}")]).await.expect("runs");
    assert!(healthy.status.success(), "{}", stderr(&healthy));
    assert_eq!(stdout(&healthy).trim(), format!("http://127.0.0.1:{port}/readyz answered 200"));

    let not_ready =
        probe(vec!["healthcheck".into(), "--url".into(), format!("{base}/no-such-probe")]).await.expect("runs");
    assert!(!not_ready.status.success());
    assert_eq!(stderr(&not_ready).trim(), format!("careergraph: {base}/no-such-probe answered 404"));

    drop(server);
    let down = probe(vec!["healthcheck".into(), "--listen".into(), listen.clone()]).await.expect("runs");
    assert!(!down.status.success());
    let message = stderr(&down);
    assert!(message.starts_with(&format!("careergraph: cannot reach http://{listen}/readyz")), "{message}");
    assert_eq!(message.lines().count(), 1, "one line: {message}");
}

/// A table the planner has statistics for, after `careergraph seed` with `database_url` (the
/// embedded SQLite database in `dir` when `None`).
async fn seeded_tables_have_statistics(dir: &std::path::Path, database_url: Option<&str>) -> bool {
    use sea_orm::{ConnectionTrait, Statement};
    let mut seed = Command::new(env!("CARGO_BIN_EXE_careergraph"));
    seed.args(["seed", "--synthetic", "30"]).env("CAREERGRAPH_DATA_DIR", dir).env_remove("CAREERGRAPH_DATABASE_URL");
    if let Some(url) = database_url {
        seed.env("CAREERGRAPH_DATABASE_URL", url);
    }
    let seeded = seed.output().expect("the binary runs");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let url = database_url
        .map_or_else(|| format!("sqlite://{}?mode=ro", dir.join("careergraph.db").display()), str::to_owned);
    let db = sea_orm::Database::connect(url).await.expect("the database opens");
    let backend = db.get_database_backend();
    let count = async |sql: &str| {
        let row = db.query_one_raw(Statement::from_string(backend, sql)).await.expect("it runs");
        row.and_then(|row| row.try_get::<i64>("", "n").ok()).unwrap_or(0)
    };
    match backend {
        sea_orm::DatabaseBackend::Postgres => {
            let analyzed = "SELECT count(*) AS n FROM pg_stat_user_tables WHERE relname = 'career_path' AND last_analyze IS NOT NULL";
            count(analyzed).await > 0
        }
        // SQLite's statistics table exists only once something was analyzed.
        _ => {
            count("SELECT count(*) AS n FROM sqlite_master WHERE name = 'sqlite_stat1'").await > 0
                && count("SELECT count(*) AS n FROM sqlite_stat1 WHERE tbl = 'career_path'").await > 0
        }
    }
}

/// Without statistics, PostgreSQL planned the first page of career paths as a sort of every row
/// until autovacuum came by; SQLite has none until its first `ANALYZE`.
#[tokio::test]
async fn seeding_leaves_the_planner_statistics_of_what_it_loaded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = seeded_tables_have_statistics(dir.path(), None).await;
    let postgres = match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let database = FreshDatabase::create(&admin_url, "careergraph_analyze").await;
            let dir = tempfile::tempdir().expect("temp dir");
            Some(seeded_tables_have_statistics(dir.path(), Some(&database.url)).await)
        }
        Err(_) => {
            eprintln!("SKIPPED the PostgreSQL half: TEST_DATABASE_URL is not set");
            None
        }
    };
    assert!(sqlite && postgres != Some(false), "statistics on SQLite: {sqlite}; on PostgreSQL: {postgres:?}");
}

#[tokio::test]
async fn seed_synthetic_adds_labelled_paths_once_and_the_same_ones_every_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seeded = careergraph(&["seed", "--synthetic", "30"], dir.path());
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    assert_eq!(
        stdout(&seeded).trim(),
        "synthetic data: 30 career paths wanted, 30 added (500 skills and technologies added)"
    );
    let again = careergraph(&["seed", "--synthetic", "40"], dir.path());
    assert_eq!(
        stdout(&again).trim(),
        "synthetic data: 40 career paths wanted, 10 added (0 skills and technologies added)"
    );

    let (_server, base) = spawn_server(dir.path(), &[], std::process::Stdio::null()).await;
    let query = "{ careerPath(slug: \"synthetic-path-00007\") { id title skills { skill { slug technologies { slug } } } } bundled: careerPath(slug: \"backend-developer\") { title } }";
    let (_, body) = graphql(&base, None, query, serde_json::json!({})).await;
    let path = &body["data"]["careerPath"];
    assert_eq!(path["title"], "Path 00007 (synthetic)", "{body}");
    assert_eq!(path["id"], "53594e54-0003-0000-0000-000000000007", "a fixed id: the same rows on every load");
    let skills = path["skills"].as_array().expect("skills");
    assert_eq!(skills.len(), 10);
    assert_eq!(skills[0]["skill"]["slug"], "synthetic-skill-049", "7 × 7 + 0: in a fixed order");
    assert!(skills.iter().all(|link| link["skill"]["technologies"].as_array().is_some_and(|t| t.len() == 3)));
    assert_eq!(body["data"]["bundled"]["title"], "Backend Developer", "the bundled facts are there, untouched");
}

#[test]
fn each_command_s_help_lists_its_own_options_and_the_settings_it_reads() {
    let help = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_careergraph")).args(args).output().expect("the binary runs");
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let add = help(&["user", "add", "--help"]);
    for option in ["--email", "--role", "--password-stdin", "--database-url", "--data-dir"] {
        assert!(add.contains(option), "user add --help lists {option}:\n{add}");
    }
    for server_only in ["--listen", "--max-depth", "--playground", "--jwt-issuer", "--cors-origins", "--metrics-listen"]
    {
        assert!(!add.contains(server_only), "user add --help leaves out {server_only}:\n{add}");
    }
    assert!(add.lines().filter(|line| line.trim_start().starts_with("--")).count() <= 12, "{add}");
    let serve = help(&["serve", "--help"]);
    for option in ["--listen", "--max-depth", "--playground-assets", "--database-url"] {
        assert!(serve.contains(option), "serve --help lists {option}:\n{serve}");
    }
    let healthcheck = help(&["healthcheck", "--help"]);
    assert!(
        healthcheck.contains("--url") && healthcheck.contains("--listen") && !healthcheck.contains("--database-url")
    );
    // Hidden is not refused: a setting in the environment or on the line still works.
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_careergraph"))
        .args(["migrate", "--max-depth", "12"])
        .env_remove("CAREERGRAPH_DATABASE_URL")
        .env("CAREERGRAPH_DATA_DIR", dir.path())
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_missing_key_file_stops_the_start_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    for variable in ["CAREERGRAPH_JWT_KEY_FILE", "CAREERGRAPH_JWT_VERIFY_KEY_FILES"] {
        let output = Command::new(env!("CARGO_BIN_EXE_careergraph"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("CAREERGRAPH_DATABASE_URL")
            .env("CAREERGRAPH_DATA_DIR", &data)
            .env(variable, dir.path().join("no-such-key.pem"))
            .output()
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(1), "{variable}: {}", stderr(&output));
        assert!(stderr(&output).contains("no-such-key.pem"), "{variable}: {}", stderr(&output));
        assert!(!data.exists(), "{variable}: nothing created before the key file was read");
    }
}

/// The smallest O*NET text release the import accepts: every file it reads, as O*NET heads it,
/// with one occupation; `tasks` are the Task Statements rows.
fn write_onet_release(dir: &std::path::Path, tasks: &[&str]) {
    std::fs::create_dir_all(dir).expect("a release folder");
    let ratings = "O*NET-SOC Code\tElement ID\tElement Name\tScale ID\tData Value\tN\tStandard Error\tLower CI Bound\tUpper CI Bound\tRecommend Suppress\tNot Relevant\tDate\tDomain Source";
    let files: [(&str, String); 9] = [
        ("Occupation Data.txt", "O*NET-SOC Code\tTitle\tDescription\r\n15-1252.00\tSoftware Developers\tWrite software.\r\n".into()),
        ("Skills.txt", format!("{ratings}\r\n15-1252.00\t2.B.3.e\tProgramming\tIM\t4.50\t8\t0.1\t4\t5\tN\tn/a\t08/2023\tAnalyst\r\n")),
        ("Knowledge.txt", format!("{ratings}\r\n")),
        ("Technology Skills.txt", "O*NET-SOC Code\tExample\tCommodity Code\tCommodity Title\tHot Technology\tIn Demand\r\n".into()),
        ("Task Statements.txt", format!("O*NET-SOC Code\tTask ID\tTask\tTask Type\tIncumbents Responding\tDate\tDomain Source\r\n{}", tasks.iter().map(|task| format!("{task}\r\n")).collect::<String>())),
        ("Job Zones.txt", "O*NET-SOC Code\tJob Zone\tDate\tDomain Source\r\n15-1252.00\t4\t08/2023\tAnalyst\r\n".into()),
        ("Job Zone Reference.txt", "Job Zone\tName\tExperience\tEducation\tJob Training\tExamples\tSVP Range\r\n4\tConsiderable Preparation Needed\tYears\tA degree\tSome\tDevelopers\t(7.0 to < 8.0)\r\n".into()),
        ("Related Occupations.txt", "O*NET-SOC Code\tRelated O*NET-SOC Code\tRelatedness Tier\tIndex\r\n".into()),
        ("Alternate Titles.txt", "O*NET-SOC Code\tAlternate Title\tShort Title\tSource(s)\r\n15-1252.00\tBackend Engineer\tn/a\tJob Postings\r\n".into()),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("a release file");
    }
}

#[test]
fn an_onet_import_prints_what_it_did_and_a_missing_file_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let release = dir.path().join("db_29_1_text");
    write_onet_release(&release, &["15-1252.00\t16987\tModify existing software.\tCore\t120\t08/2023\tIncumbent"]);
    let release_arg = release.to_string_lossy().into_owned();

    let dry = careergraph(&["import", "onet", &release_arg, "--dry-run"], dir.path());
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("O*NET 29.1 would import (dry run: nothing written)"), "{}", stdout(&dry));
    assert!(stdout(&dry).contains("career path: 1 new"), "{}", stdout(&dry));

    let done = careergraph(&["import", "onet", &release_arg, "--publish"], dir.path());
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(stdout(&done).contains("peak memory"), "{}", stdout(&done));
    let again = careergraph(&["import", "onet", &release_arg], dir.path());
    assert!(stdout(&again).contains("nothing changed"), "{}", stdout(&again));

    std::fs::remove_file(release.join("Job Zones.txt")).expect("removed");
    let missing = careergraph(&["import", "onet", &release_arg], dir.path());
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    let message = stderr(&missing);
    assert_eq!(message.lines().filter(|line| line.starts_with("careergraph:")).count(), 1, "{message}");
    assert!(message.contains("no Job Zones file"), "{message}");
}

#[test]
fn an_onet_import_with_too_many_bad_rows_exits_1_naming_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let release = dir.path().join("db_29_1_text");
    write_onet_release(
        &release,
        &[
            "15-1252.00\t16987\tModify existing software.\tCore\t120\t08/2023\tIncumbent",
            "15-1252\t16988\tA bad code.\tCore\t1\t08/2023\tIncumbent",
        ],
    );
    let failed = careergraph(&["import", "onet", &release.to_string_lossy()], dir.path());
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let message = stderr(&failed);
    assert!(message.contains("Task Statements.txt: 1 of 2 rows are bad"), "{message}");
    assert!(message.contains("Task Statements.txt:3: `15-1252` is not an O*NET-SOC code"), "{message}");
    let listed =
        careergraph(&["import", "oews", &dir.path().join("wages.csv").to_string_lossy(), "--year", "2024"], dir.path());
    assert_eq!(listed.status.code(), Some(2), "a missing OEWS file: {}", stderr(&listed));
}

/// A full-size release (O*NET 29.1's row counts, synthetic) imported twice through the binary on
/// `database_url` (SQLite in `dir` when `None`): the second import writes nothing. The binary's
/// own report of time and peak memory is printed, not asserted (this machine is shared).
fn import_full_size_release_twice(database_url: Option<&str>) {
    let dir = tempfile::tempdir().expect("temp dir");
    careergraph_domain::synthetic::release::write_release(dir.path()).expect("the release is written");
    let release = dir.path().join("db_29_1_text").to_string_lossy().into_owned();
    let national = dir.path().join("national_M2024_dl.csv").to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_careergraph"));
        command.args(args).env("CAREERGRAPH_DATA_DIR", dir.path().join("data")).env_remove("CAREERGRAPH_DATABASE_URL");
        if let Some(url) = database_url {
            command.env("CAREERGRAPH_DATABASE_URL", url);
        }
        let output = command.output().expect("the binary runs");
        assert!(output.status.success(), "{}", stderr(&output));
        let report = stdout(&output);
        eprintln!("careergraph {}:\n{report}", args.join(" "));
        report
    };
    let first = run(&["import", "onet", &release]);
    assert!(first.contains("career path: 1016 new"), "{first}");
    assert!(first.contains("923 of them rated"), "{first}");
    let again = run(&["import", "onet", &release]);
    assert!(
        again.contains("nothing changed") && again.contains("career path: 0 new, 0 updated, 1016 unchanged"),
        "{again}"
    );
    let wages = run(&["import", "oews", &national]);
    assert!(wages.contains("salary record: 1016 new"), "{wages}");
    let again = run(&["import", "oews", &national]);
    assert!(again.contains("nothing changed"), "{again}");
}

#[test]
fn a_full_size_release_imports_twice_on_sqlite_and_the_second_time_writes_nothing() {
    import_full_size_release_twice(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn a_full_size_release_imports_twice_on_postgres_and_the_second_time_writes_nothing() {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let database = FreshDatabase::create(&admin_url, "careergraph_full_import").await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || import_full_size_release_twice(Some(&url))).await.expect("the imports ran");
}
