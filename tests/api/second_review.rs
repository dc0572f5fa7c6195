//! What the second security review found, tried again from outside: a small document that
//! expands exponentially, `__typename` for free, junk in the metrics, persisted queries that
//! keep anything, client-chosen addresses, an explicit SQLite path made world-readable, a
//! playground policy wider than its files, and input-value errors answered as internal ones.

use careergraph_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, first_error_code, spawn_app, spawn_app_with};
use crate::metrics::{scrape, value};
use crate::on_both_backends;

/// `query { ...F0 }` with fragments that each spread the next one twice, `levels` deep, ending
/// in `__typename`: a kilobyte of text, `2^levels` selections once expanded.
fn doubling_chain(levels: usize) -> String {
    let mut query = String::from("query { ...F0 }");
    for level in 0..levels {
        query.push_str(&format!(" fragment F{level} on Query {{ ...F{next} ...F{next} }}", next = level + 1));
    }
    query.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    query
}

fn codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|error| error["extensions"]["code"].as_str()).collect())
        .unwrap_or_default()
}

on_both_backends! {
    async fn a_doubling_fragment_chain_is_refused_before_it_expands(backend: Backend) {
        let app = spawn_app_with(backend, |config| {
            config.max_complexity = 6_000;
            config.budget_per_minute = 6_000;
        })
        .await;
        let chain = doubling_chain(20);
        assert!(chain.len() < 1024, "small as text: {} bytes", chain.len());
        let (status, body) = app.post_json(json!({ "query": chain })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("1048576 fields once its fragments are spread"), "{message}");
        // The refused work was charged: the client's minute is spent (it refills at 100 points a
        // second, and this query costs hundreds).
        let body = app.graphql("{ careerPaths(first: 100) { edges { node { title } } } }", json!({})).await;
        assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
    }

    async fn typename_costs_what_any_other_field_costs(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.budget_per_minute = 10).await;
        let aliases: String = (0..12).map(|n| format!("t{n}: __typename ")).collect();
        let body = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;
        assert_eq!(first_error_code(&body), "RATE_LIMITED", "twelve fields cost more than ten points: {body}");
    }

    async fn a_chain_within_the_limit_still_answers(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.max_complexity = 300).await;
        let data = app.query_ok(&doubling_chain(8), json!({})).await;
        assert_eq!(data, json!({ "__typename": "Query" }));
        let body = app.graphql(&doubling_chain(9), json!({})).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "512 > 300: {body}");
    }

    async fn made_up_operation_names_take_no_metrics_labels(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"))).await;
        for n in 0..210 {
            let junk = json!({ "query": "{ not a document", "operationName": format!("Junk{n}") });
            let (status, _) = app.post_json(junk).await;
            assert_eq!(status, StatusCode::OK);
            let unknown = json!({ "query": "query Known { __typename }", "operationName": format!("Missing{n}") });
            app.post_json(unknown).await;
        }
        app.query_ok("query RealOperation { __typename }", json!({})).await;
        let scraped = scrape(&app).await;
        assert_eq!(value(&scraped, "careergraph_requests_total", &[("operation", "RealOperation")]), 1.0);
        assert_eq!(value(&scraped, "careergraph_requests_total", &[("operation", "Junk0")]), 0.0);
        assert_eq!(value(&scraped, "careergraph_requests_total", &[("operation", "Missing0")]), 0.0);
        assert_eq!(value(&scraped, "careergraph_requests_total", &[("operation", "other")]), 0.0);
    }

    async fn a_persisted_query_is_kept_only_once_it_parses_and_validates(app) {
        let persisted = |text: &str| {
            let hash = careergraph_gateway::persisted::document_hash(text);
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
        };
        let with_text = |text: &str| {
            let mut request = persisted(text);
            request["query"] = json!(text);
            request
        };
        for text in ["{ not a document", "{ noSuchField }"] {
            let (_, body) = app.post_json(with_text(text)).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
            let (_, body) = app.post_json(persisted(text)).await;
            assert_eq!(first_error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{text:?} was not kept: {body}");
        }
        let good = "{ careerPath(slug: \"backend-developer\") { title } }";
        let (_, body) = app.post_json(with_text(good)).await;
        assert!(body.get("errors").is_none(), "{body}");
        let (_, body) = app.post_json(persisted(good)).await;
        assert_eq!(body["data"]["careerPath"]["title"], "Backend Developer", "{body}");
    }

    async fn a_persisted_query_larger_than_an_entry_may_be_is_run_but_not_kept(app) {
        let padding = format!("# {}\n", "x".repeat(200 * 1024));
        let text = format!("{padding}{{ __typename }}");
        let hash = careergraph_gateway::persisted::document_hash(&text);
        let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        let (_, body) = app.post_json(json!({ "query": text, "extensions": extensions })).await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
        let (_, body) = app.post_json(json!({ "extensions": extensions })).await;
        assert_eq!(first_error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    }

    async fn only_the_configured_client_address_header_is_read(backend: Backend) {
        // The proxy (this test, from 127.0.0.1) is trusted and writes X-Forwarded-For; a client's
        // own `Forwarded` passes through it untouched and must not be believed.
        let app = spawn_app_with(backend, |config| {
            config.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a network")];
            config.budget_per_minute = 100;
        })
        .await;
        let client = reqwest::Client::new();
        let spend = "{ careerPaths(first: 90) { totalCount } }";
        let (_, body) = app.post_with(&client, &[("x-forwarded-for", "198.51.100.7")], spend, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        // The same client again, claiming another address in `Forwarded`: still the same budget.
        let claims = [("x-forwarded-for", "198.51.100.7"), ("forwarded", "for=203.0.113.99")];
        let (_, body) = app.post_with(&client, &claims, spend, json!({})).await;
        assert_eq!(first_error_code(&body), "RATE_LIMITED", "Forwarded was believed: {body}");
        // Another client, as the proxy names it, has its own budget.
        let (_, body) = app.post_with(&client, &[("x-forwarded-for", "198.51.100.8")], spend, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
    }

    async fn every_argument_of_every_root_field_answers_bad_input_never_internal(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.budget_per_minute = 0).await;
        let token = app.token_for("fuzz-admin@example.com", Role::Admin).await;
        let schema = app.as_user(&token, ROOT_ARGUMENTS, json!({})).await;
        let types: Vec<Value> = schema["data"]["__schema"]["types"].as_array().expect("types").clone();
        let named = |name: &str| types.iter().find(|t| t["name"] == name).cloned().unwrap_or(Value::Null);
        let mut cases = 0;
        for (root, keyword) in [("Query", "query"), ("Mutation", "mutation")] {
            for field in named(root)["fields"].as_array().expect("fields") {
                let name = field["name"].as_str().expect("a name");
                let selection = if leaf(&field["type"], &named) { "" } else { " { __typename }" };
                for (index, argument) in field["args"].as_array().expect("args").iter().enumerate() {
                    for bad in bad_values(&argument["type"], &named) {
                        let mut arguments: Vec<String> = field["args"]
                            .as_array()
                            .expect("args")
                            .iter()
                            .enumerate()
                            .filter(|(other, a)| *other != index && a["type"]["kind"] == "NON_NULL")
                            .map(|(_, a)| format!("{}: {}", a["name"].as_str().unwrap_or_default(), placeholder(&a["type"], &named)))
                            .collect();
                        arguments.push(format!("{}: {bad}", argument["name"].as_str().unwrap_or_default()));
                        let document = format!("{keyword} {{ {name}({}){selection} }}", arguments.join(", "));
                        for caller in [None, Some(token.as_str())] {
                            let (status, body) = match caller {
                                Some(token) => {
                                    let (status, _, body) = app.post_bearer(token, &document, json!({})).await;
                                    (status, body)
                                }
                                None => app.post_json(json!({ "query": document })).await,
                            };
                            cases += 1;
                            assert_eq!(status, StatusCode::OK, "{document}: {body}");
                            assert!(!codes(&body).contains(&"INTERNAL_SERVER_ERROR"), "{document}: {body}");
                        }
                    }
                }
            }
        }
        eprintln!("{cases} bad-argument requests, none an internal error");
        assert!(cases > 200, "every argument was tried ({cases} cases)");
        let still = app.query_ok("{ careerPath(slug: \"backend-developer\") { title } }", json!({})).await;
        assert_eq!(still["careerPath"]["title"], "Backend Developer", "the data is intact");
    }
}

/// The root fields with their arguments, and every input type's fields, as the fuzz test reads
/// them.
const ROOT_ARGUMENTS: &str = "{ __schema { types { name kind enumValues { name } \
    inputFields { name type { ...T } } fields { name type { ...T } args { name type { ...T } } } } } } \
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// The named type at the bottom of `ty`'s wrappers.
fn named_type(ty: &Value) -> &Value {
    if ty["ofType"].is_object() { named_type(&ty["ofType"]) } else { ty }
}

/// Whether a field of type `ty` takes no selection set.
fn leaf(ty: &Value, named: &impl Fn(&str) -> Value) -> bool {
    let kind = named(named_type(ty)["name"].as_str().unwrap_or_default())["kind"].clone();
    kind == "SCALAR" || kind == "ENUM"
}

/// A value of type `ty` that validation accepts (as far as types go): every required input
/// field filled.
fn placeholder(ty: &Value, named: &impl Fn(&str) -> Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => placeholder(&ty["ofType"], named),
        Some("LIST") => format!("[{}]", placeholder(&ty["ofType"], named)),
        _ => {
            let name = ty["name"].as_str().unwrap_or_default();
            let definition = named(name);
            match (definition["kind"].as_str(), name) {
                (Some("ENUM"), _) => definition["enumValues"][0]["name"].as_str().unwrap_or_default().to_owned(),
                (Some("INPUT_OBJECT"), _) => input_object(&definition, None, named),
                (_, "Int") => "1".into(),
                (_, "Float") => "1.5".into(),
                (_, "Boolean") => "true".into(),
                (_, "Date") => "\"2024-05-01\"".into(),
                (_, "DateTime") => "\"2024-05-01T00:00:00Z\"".into(),
                (_, "JSON") => "{}".into(),
                _ => "\"x\"".into(),
            }
        }
    }
}

/// An input object of `definition` with its required fields filled, and `bad` as one field.
fn input_object(definition: &Value, bad: Option<(&str, &str)>, named: &impl Fn(&str) -> Value) -> String {
    let fields: Vec<String> = definition["inputFields"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|field| {
            let name = field["name"].as_str().unwrap_or_default();
            match bad {
                Some((bad_name, value)) if bad_name == name => Some(format!("{name}: {value}")),
                _ if field["type"]["kind"] == "NON_NULL" => {
                    Some(format!("{name}: {}", placeholder(&field["type"], named)))
                }
                _ => None,
            }
        })
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

/// Values of the wrong range, type or nullness for `ty`; for an input object, each of its fields
/// in turn given such a value (one level deep).
fn bad_values(ty: &Value, named: &impl Fn(&str) -> Value) -> Vec<String> {
    let bottom = named_type(ty);
    let name = bottom["name"].as_str().unwrap_or_default();
    let definition = named(name);
    let mut values = vec!["null".to_owned(), "\"not of this type\"".to_owned(), "[1, 2]".to_owned()];
    match (definition["kind"].as_str(), name) {
        (Some("INPUT_OBJECT"), _) => {
            values.push("{ unknownField: 1 }".into());
            for field in definition["inputFields"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let field_name = field["name"].as_str().unwrap_or_default();
                for bad in scalar_bad_values(named_type(&field["type"])["name"].as_str().unwrap_or_default()) {
                    values.push(input_object(&definition, Some((field_name, &bad)), named));
                }
            }
        }
        _ => values.extend(scalar_bad_values(name)),
    }
    values
}

fn scalar_bad_values(name: &str) -> Vec<String> {
    let mut values = vec!["null".to_owned(), "true".to_owned()];
    values.extend(match name {
        "Int" => ["2147483648", "-2147483649", "1.5", "99999999999999999999"].map(str::to_owned).to_vec(),
        "Float" => vec!["1e400".into(), "\"1\"".into()],
        _ => vec!["-2147483649".into(), "\"\"".into(), format!("\"{}\"", "z".repeat(5000))],
    });
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_sqlite_path_is_created_private_to_the_server() {
    use std::os::unix::fs::PermissionsExt;
    let elsewhere = tempfile::tempdir().expect("a directory");
    let file = elsewhere.path().join("chosen.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let app = spawn_app_with(Backend::Sqlite, |config| config.database_url = Some(url)).await;
    app.query_ok("{ __typename }", json!({})).await;
    let mode = std::fs::metadata(&file).expect("the database file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "readable by the server's user only: {mode:o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_policy_names_exact_files_not_a_whole_cdn() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.client.get(format!("{}/", app.address)).send().await.expect("answer");
    let policy = response.headers()["content-security-policy"].to_str().expect("a policy").to_owned();
    let script_src = policy.split(';').find(|part| part.trim().starts_with("script-src")).expect("script-src");
    for source in script_src.split_whitespace().skip(1) {
        assert!(
            source == "'self'" || (source.starts_with("https://") && !source.ends_with('/')),
            "{source} in {policy}"
        );
    }
}

/// Sends `query` with `token` to `app` until `done` says the answer shows the change (at most
/// `within`); returns how long that took.
async fn changed_within(
    app: &crate::helpers::TestApp,
    token: &str,
    query: &str,
    done: impl Fn(StatusCode, &Value) -> bool,
    within: std::time::Duration,
) -> std::time::Duration {
    let started = std::time::Instant::now();
    loop {
        let (status, _, body) = app.post_bearer(token, query, json!({})).await;
        if done(status, &body) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "still {status} {body} after {:?}", started.elapsed());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// How long until `app` no longer lets `token` read the audit log, which needs an editor. (A
/// demotion also revokes the user's tokens, but a token issued in the same second as an earlier
/// revocation survives the next one in that second: the cut is a whole second. The role is what
/// takes the power away.)
async fn demoted_within(
    app: &crate::helpers::TestApp,
    token: &str,
    within: std::time::Duration,
) -> std::time::Duration {
    let demoted = |status, body: &Value| status == StatusCode::UNAUTHORIZED || codes(body).contains(&"FORBIDDEN");
    changed_within(app, token, "{ auditLog(first: 1) { totalCount } }", demoted, within).await
}

/// How long until `app` refuses `token` with 401.
async fn refused_within(
    app: &crate::helpers::TestApp,
    token: &str,
    within: std::time::Duration,
) -> std::time::Duration {
    changed_within(app, token, "{ me { email } }", |status, _| status == StatusCode::UNAUTHORIZED, within).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
async fn a_demotion_a_disabling_and_a_logout_reach_every_replica_at_once() {
    // Each replica would trust what it knows of a user for ten minutes: only the change feed
    // can tell it sooner.
    let first = spawn_app_with(Backend::Postgres, |config| config.user_cache_secs = 600).await;
    let (url, key) = (first.database_url.clone(), first.data_dir.join("jwt-ed25519.pem"));
    let second = spawn_app_with(Backend::Postgres, |config| {
        config.database_url = Some(url);
        config.jwt_key_file = Some(key);
        config.user_cache_secs = 600;
    })
    .await;
    let admin = first.token_for("feed-admin@example.com", Role::Admin).await;
    let within = std::time::Duration::from_secs(2);
    let me = "{ me { id } }";

    // Demoted on the first replica: the second stops accepting the editor's token.
    let editor = first.token_for("feed-editor@example.com", Role::Editor).await;
    let editor_id = second.as_user(&editor, me, json!({})).await["data"]["me"]["id"].clone();
    let demote = "mutation ($id: ID!) { setUserRole(input: { userId: $id, role: VIEWER }) { user { role } } }";
    let demoted = first.as_user(&admin, demote, json!({ "id": editor_id })).await;
    assert_eq!(demoted["data"]["setUserRole"]["user"]["role"], "VIEWER", "{demoted}");
    let took = demoted_within(&second, &editor, within).await;
    eprintln!("a demotion reached the other replica in {took:?}");

    // Disabled on the first: refused on the second.
    let viewer = first.token_for("feed-viewer@example.com", Role::Viewer).await;
    let viewer_id = second.as_user(&viewer, me, json!({})).await["data"]["me"]["id"].clone();
    let disable = "mutation ($id: ID!) { disableUser(input: { userId: $id }) { user { id } } }";
    let disabled = first.as_user(&admin, disable, json!({ "id": viewer_id })).await;
    assert!(disabled.get("errors").is_none(), "{disabled}");
    let took = refused_within(&second, &viewer, within).await;
    eprintln!("a disabling reached the other replica in {took:?}");

    // Signed out on the first: the session's access token is refused on the second.
    let register = "mutation { register(input: { email: \"feed-reader@example.com\", password: \"amber lighthouse 77\", displayName: \"R\" }) { accessToken refreshToken } }";
    let session = first.query_ok(register, json!({})).await;
    let (access, refresh) = (
        session["register"]["accessToken"].as_str().expect("an access token").to_owned(),
        session["register"]["refreshToken"].as_str().expect("a refresh token").to_owned(),
    );
    assert!(second.as_user(&access, me, json!({})).await.get("errors").is_none());
    let logout = "mutation ($t: String!) { logout(input: { refreshToken: $t }) { __typename } }";
    first.query_ok(logout, json!({ "t": refresh })).await;
    let took = refused_within(&second, &access, within).await;
    eprintln!("a logout reached the other replica in {took:?}");

    // The listening connections are killed: each replica connects again and changes still
    // arrive.
    use sea_orm::ConnectionTrait;
    let db = careergraph_domain::connect(&first.database_url).await.expect("the test's own connection");
    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
        WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()";
    let killed = db.execute_unprepared(kill).await.expect("terminated");
    assert!(killed.rows_affected() >= 2, "both replicas were listening");
    let other = first.token_for("feed-other@example.com", Role::Editor).await;
    let other_id = second.as_user(&other, me, json!({})).await["data"]["me"]["id"].clone();
    let demoted = first.as_user(&admin, demote, json!({ "id": other_id })).await;
    assert!(demoted.get("errors").is_none(), "{demoted}");
    let took = demoted_within(&second, &other, within).await;
    eprintln!("after the feed's connection was killed, a demotion reached the other replica in {took:?}");
}
