//! What a security review found, tried again from outside: floods, races, personal data,
//! lock-outs, forwarded addresses, de-aggregation, revocation, and the smaller holes.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use careergraph_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, client_from, first_error_code, spawn_app_with};
use crate::on_both_backends;

/// A password that is cheap to type and, for a strength estimator, expensive to judge: every
/// character has look-alike substitutions to try.
fn lookalike_password() -> String {
    "4@!|1$5+0".chars().cycle().take(128).collect()
}

const LOGIN: &str =
    "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken } }";

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Registers `email` from `client` and returns the session.
async fn register(app: &TestApp, client: &reqwest::Client, email: &str) -> Value {
    let query = "mutation ($e: String!, $p: String!) { register(input: { email: $e, password: $p, displayName: \"O\" }) { accessToken refreshToken } }";
    let (_, body) = app.post_with(client, &[], query, json!({ "e": email, "p": PASSWORD })).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["register"].clone()
}

on_both_backends! {
    async fn a_register_flood_is_refused_while_healthz_keeps_answering(backend: Backend) {
        let app = spawn_app_with(backend, |_| {}).await;
        let password = lookalike_password();
        let aliases: String = (0..30)
            .map(|n| format!("r{n}: register(input: {{ email: \"flood{n}@example.com\", password: $p, displayName: \"F\" }}) {{ accessToken }} "))
            .collect();
        let query = format!("mutation ($p: String!) {{ {aliases} }}");
        let batch: Vec<Value> = (0..10).map(|_| json!({ "query": query, "variables": { "p": password } })).collect();
        let flood = |source: [u8; 4]| {
            let (address, body) = (app.address.clone(), Value::Array(batch.clone()).to_string());
            tokio::spawn(async move {
                let response = client_from(source)
                    .post(format!("{address}/graphql"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("the server answers");
                response.json::<Value>().await.expect("a JSON body")
            })
        };
        let floods = [flood([127, 0, 0, 2]), flood([127, 0, 0, 3])];
        // While the flood is in flight the process keeps answering its health probe. (How fast is
        // for the benchmark to measure; a probe that takes longer than this is a hang.)
        for _ in 0..10 {
            let probe = tokio::time::timeout(Duration::from_secs(5), app.client.get(format!("{}/healthz", app.address)).send()).await;
            assert!(probe.is_ok_and(|response| response.is_ok_and(|r| r.status() == StatusCode::OK)), "/healthz stopped answering");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for flood in floods {
            let answers = flood.await.expect("the flood finished");
            let items = answers.as_array().expect("a batch answer");
            let registered: usize = items
                .iter()
                .map(|item| item["data"].as_object().map_or(0, |data| data.values().filter(|v| !v.is_null()).count()))
                .sum();
            assert!(registered <= 1, "{registered} registrations ran in one request: {answers}");
            for item in items {
                let ran = item["data"].as_object().is_some_and(|data| data.values().any(|v| !v.is_null()));
                assert!(ran || !codes(item).is_empty(), "a refusal carries a code: {item}");
            }
        }
    }

    async fn one_request_runs_at_most_one_account_operation(app) {
        register(&app, &app.client, "ada@example.com").await;
        let logins = "mutation { a: login(input: { email: \"ada@example.com\", password: \"violet staircase 42\" }) { accessToken }
            b: login(input: { email: \"ada@example.com\", password: \"violet staircase 42\" }) { accessToken }
            c: login(input: { email: \"ada@example.com\", password: \"wrong guess 12345\" }) { accessToken } }";
        let body = app.graphql(logins, json!({})).await;
        let ran = ["a", "b", "c"].iter().filter(|alias| body["data"][**alias]["accessToken"].is_string()).count();
        assert_eq!(ran, 1, "{body}");
        assert_eq!(codes(&body), ["BAD_USER_INPUT", "BAD_USER_INPUT"], "{body}");
        let register = |n: usize| json!({ "query": format!("mutation {{ register(input: {{ email: \"b{n}@example.com\", password: \"violet staircase 42\", displayName: \"B\" }}) {{ accessToken }} }}") });
        let (_, batch) = app.post_json(json!([register(1), register(2), register(3)])).await;
        let items = batch.as_array().expect("a batch answer");
        let registered = items.iter().filter(|item| item["data"]["register"]["accessToken"].is_string()).count();
        assert_eq!(registered, 1, "{batch}");
        let refused: Vec<String> = items.iter().flat_map(codes).collect();
        assert_eq!(refused, ["BAD_USER_INPUT", "BAD_USER_INPUT"], "{batch}");
    }

    async fn register_is_throttled_per_client_address(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.register_free_per_address = 3).await;
        let (noisy, quiet) = (client_from([127, 0, 0, 4]), client_from([127, 0, 0, 5]));
        let query = "mutation ($e: String!, $p: String!) { register(input: { email: $e, password: $p, displayName: \"R\" }) { accessToken } }";
        let mut outcomes = Vec::new();
        for n in 0..5 {
            let (_, body) = app.post_with(&noisy, &[], query, json!({ "e": format!("r{n}@example.com"), "p": PASSWORD })).await;
            outcomes.push(codes(&body).first().cloned().unwrap_or_else(|| "OK".into()));
        }
        // Three free, a fourth that starts the back-off (as for sign-ins), then refusals.
        assert_eq!(outcomes, ["OK", "OK", "OK", "OK", "RATE_LIMITED"]);
        let (_, body) = app.post_with(&quiet, &[], query, json!({ "e": "quiet@example.com", "p": PASSWORD })).await;
        assert!(body.get("errors").is_none(), "another address is not limited: {body}");
    }

    async fn sign_ins_racing_a_password_change_leave_no_refreshable_session(app) {
        // The window: a sign-in reads the old password hash just before the change commits, and
        // verifies it after. The change goes first; sign-ins follow at staggered moments.
        let change = "mutation ($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { accessToken } }";
        let mut opened = 0;
        for round in 0..8u64 {
            let email = format!("race{round}@example.com");
            let session = register(&app, &app.client, &email).await;
            let token = session["accessToken"].as_str().expect("token").to_owned();
            // Each round signs in from an address of its own: the old password fails once the
            // change is in, and those failures must not throttle the next round.
            let signer = client_from([127, 0, 1, u8::try_from(round).unwrap_or(0) + 1]);
            let post = |body: Value, bearer: Option<String>| {
                let client = if bearer.is_some() { app.client.clone() } else { signer.clone() };
                let address = app.address.clone();
                async move {
                    let mut request = client.post(format!("{address}/graphql")).header("content-type", "application/json");
                    if let Some(token) = bearer {
                        request = request.header("authorization", format!("Bearer {token}"));
                    }
                    let response = request.body(body.to_string()).send().await;
                    response.expect("answer").json::<Value>().await.expect("json")
                }
            };
            let changing = tokio::spawn(post(json!({ "query": change, "variables": { "c": PASSWORD, "n": "a different staircase 43" } }), Some(token)));
            let mut logins = Vec::new();
            for n in 0..10u64 {
                let body = json!({ "query": LOGIN, "variables": { "e": email, "p": PASSWORD } });
                let delay = Duration::from_millis(round * 3 + n * 4);
                let login = post(body, None);
                logins.push(tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    login.await
                }));
            }
            let changed = changing.await.expect("the change finished");
            assert!(changed.get("errors").is_none(), "{changed}");
            for login in logins {
                let body = login.await.expect("the sign-in finished");
                let Some(refresh) = body["data"]["login"]["refreshToken"].as_str() else { continue };
                opened += 1;
                let refreshed = app.graphql("mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }", json!({ "t": refresh })).await;
                assert_eq!(first_error_code(&refreshed), "UNAUTHENTICATED", "a session opened with the old password survived: {refreshed}");
            }
        }
        assert!(opened > 0, "no sign-in reached the window");
    }

    async fn an_editor_reaches_no_other_users_personal_data(app) {
        let admin = app.token_for("admin@example.com", Role::Admin).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        app.token_for("someone@example.com", Role::Viewer).await;
        let users = app.as_user(&admin, "{ users { edges { node { id email } } } }", json!({})).await;
        let someone = users["data"]["users"]["edges"].as_array().expect("users").iter()
            .find(|edge| edge["node"]["email"] == "someone@example.com").expect("someone")["node"]["id"].clone();
        let set = "mutation ($id: ID!, $r: Role!) { setUserRole(input: { userId: $id, role: $r }) { user { id } } }";
        for role in ["EDITOR", "VIEWER"] {
            assert!(app.as_user(&admin, set, json!({ "id": someone, "r": role })).await.get("errors").is_none());
        }
        let disable = "mutation ($id: ID!) { disableUser(input: { userId: $id }) { user { id } } }";
        assert!(app.as_user(&admin, disable, json!({ "id": someone })).await.get("errors").is_none());
        // The admin also edits content, so their account hangs off `updatedBy` and `history`.
        let path = app.query_ok("{ careerPath(slug: \"backend-developer\") { id version } }", json!({})).await["careerPath"].clone();
        let rename = "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Backend Engineer\" }) { careerPath { id } } }";
        assert!(app.as_user(&admin, rename, json!({ "id": path["id"], "v": path["version"] })).await.get("errors").is_none());

        let user = "id displayName email role disabled lastLoginAt createdAt";
        let walk = format!("{{
            auditLog(first: 100) {{ totalCount edges {{ node {{ id action entityType entityId before after requestId occurredAt actor {{ {user} }} }} }} }}
            careerPath(slug: \"backend-developer\") {{ updatedBy {{ {user} }} history {{ before after actor {{ {user} }} }} }}
            users {{ edges {{ node {{ {user} }} }} }}
            me {{ id email }}
        }}");
        let body = app.as_user(&editor, &walk, json!({})).await;
        assert!(body["data"]["auditLog"]["totalCount"].as_u64().is_some_and(|n| n >= 4), "the walk read the log: {body}");
        assert!(!body["data"]["careerPath"]["updatedBy"].is_null(), "the walk reached the admin: {body}");
        let text = body.to_string();
        for personal in ["someone@example.com", "admin@example.com", "lastLoginAt\":\"", "last_login_at"] {
            assert!(!text.contains(personal), "an editor read {personal}: {body}");
        }
        assert!(text.contains("editor@example.com"), "their own e-mail is theirs to read: {body}");
    }

    async fn the_owner_signs_in_from_a_clean_address_while_another_address_fails(app) {
        let owner = client_from([127, 0, 0, 6]);
        register(&app, &owner, "owner@example.com").await;
        let attacker = client_from([127, 0, 0, 7]);
        for _ in 0..8 {
            app.post_with(&attacker, &[], LOGIN, json!({ "e": "owner@example.com", "p": "wrong guess 12345" })).await;
        }
        let (_, limited) = app.post_with(&attacker, &[], LOGIN, json!({ "e": "owner@example.com", "p": "wrong guess 12345" })).await;
        assert_eq!(first_error_code(&limited), "RATE_LIMITED", "the guesser is slowed: {limited}");
        let (_, body) = app.post_with(&owner, &[], LOGIN, json!({ "e": "owner@example.com", "p": PASSWORD })).await;
        assert!(body["data"]["login"]["accessToken"].is_string(), "the owner gets in: {body}");
    }

    async fn a_burst_of_wrong_passwords_verifies_at_most_the_allowed_number(app) {
        register(&app, &app.client, "target@example.com").await;
        let mut attempts = Vec::new();
        for _ in 0..30 {
            let (address, body) = (app.address.clone(), json!({ "query": LOGIN, "variables": { "e": "target@example.com", "p": "wrong guess 12345" } }).to_string());
            attempts.push(tokio::spawn(async move {
                let response = client_from([127, 0, 0, 8]).post(format!("{address}/graphql")).header("content-type", "application/json").body(body).send().await;
                response.expect("answer").json::<Value>().await.expect("json")
            }));
        }
        let mut verified = 0;
        for attempt in attempts {
            let body = attempt.await.expect("finished");
            match first_error_code(&body) {
                "UNAUTHENTICATED" => verified += 1,
                "RATE_LIMITED" => {}
                other => panic!("unexpected {other}: {body}"),
            }
        }
        // Five free failures per account and address, and the sixth that locks.
        assert!(verified <= 6, "{verified} passwords were verified in a burst of 30");
    }

    async fn forwarded_addresses_are_believed_only_from_trusted_proxies(backend: Backend) {
        let app = spawn_app_with(backend, |config| {
            config.trusted_proxies = vec!["127.0.0.9/32".parse().expect("a CIDR")];
            config.login_free_failures_per_address = 2;
        })
        .await;
        let (proxy, direct) = (client_from([127, 0, 0, 9]), client_from([127, 0, 0, 10]));
        let fail = |n: usize| json!({ "e": format!("nobody{n}@example.com"), "p": "wrong guess 12345" });
        let behind = |client: &'static str| [("x-forwarded-for", client)];
        // Three failures from one client behind the proxy lock that client only.
        for n in 0..3 {
            app.post_with(&proxy, &behind("198.51.100.7"), LOGIN, fail(n)).await;
        }
        let (_, body) = app.post_with(&proxy, &behind("198.51.100.7"), LOGIN, fail(9)).await;
        assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
        let (_, body) = app.post_with(&proxy, &behind("198.51.100.8"), LOGIN, fail(9)).await;
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "another client behind the proxy is not limited: {body}");
        let forwarded = [("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https")];
        let (_, body) = app.post_with(&proxy, &forwarded, LOGIN, fail(9)).await;
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{body}");
        // A client that is not a trusted proxy cannot choose its address.
        for n in 0..3 {
            app.post_with(&direct, &behind("198.51.100.8"), LOGIN, fail(n)).await;
        }
        let (_, body) = app.post_with(&direct, &behind("198.51.100.99"), LOGIN, fail(9)).await;
        assert_eq!(first_error_code(&body), "RATE_LIMITED", "the header was ignored: the direct address is limited: {body}");
        let (_, body) = app.post_with(&proxy, &behind("198.51.100.8"), LOGIN, fail(8)).await;
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "the spoofed address was not charged: {body}");
    }

    async fn salary_statistics_group_by_a_dimension_only_for_who_may_read_it(app) {
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let query = |dimensions: &str| format!("{{ salaryStats(groupBy: [{dimensions}]) {{ country experienceLevel industry {{ slug }} recordCount meanAverage }} }}");
        let by_country = app.graphql(&query("COUNTRY"), json!({})).await;
        assert!(by_country.get("errors").is_none(), "{by_country}");
        for dimensions in ["EXPERIENCE_LEVEL", "INDUSTRY", "COUNTRY, INDUSTRY"] {
            let body = app.graphql(&query(dimensions), json!({})).await;
            assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{dimensions}: {body}");
            assert!(body["data"]["salaryStats"].is_null(), "no groups for anonymous callers: {body}");
            let body = app.as_user(&viewer, &query(dimensions), json!({})).await;
            assert!(body.get("errors").is_none(), "{dimensions} as a viewer: {body}");
        }
        let sdl = app.query_ok("{ __type(name: \"SalaryDimension\") { enumValues { name description } } }", json!({})).await;
        let values = sdl["__type"]["enumValues"].as_array().expect("values");
        for value in values.iter().filter(|v| v["name"] != "COUNTRY") {
            assert!(value["description"].as_str().is_some_and(|d| d.contains("Requires VIEWER.")), "{value}");
        }
    }

    async fn an_access_token_is_refused_right_after_its_logout(app) {
        let session = register(&app, &app.client, "leaving@example.com").await;
        let token = session["accessToken"].as_str().expect("token");
        let (status, _, _) = app.post_bearer(token, "{ me { id } }", json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let logout = "mutation ($t: String!) { logout(input: { refreshToken: $t }) { loggedOut } }";
        assert!(app.graphql(logout, json!({ "t": session["refreshToken"] })).await.get("errors").is_none());
        let (status, _, body) = app.post_bearer(token, "{ me { id } }", json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        // Another session of the same user is untouched.
        let other = app.graphql(LOGIN, json!({ "e": "leaving@example.com", "p": PASSWORD })).await;
        let other = other["data"]["login"]["accessToken"].as_str().expect("a new session").to_owned();
        assert_eq!(app.post_bearer(&other, "{ me { id } }", json!({})).await.0, StatusCode::OK);
    }

    async fn a_malformed_request_id_is_replaced_and_a_good_one_kept(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let path = app.query_ok("{ careerPath(slug: \"backend-developer\") { id version } }", json!({})).await["careerPath"].clone();
        let rename = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { version history { requestId } } } }";
        let too_long = "a".repeat(65);
        let cases = [("good-id_1.2", true), ("bad id <script>", false), (too_long.as_str(), false), ("ünïcode", false)];
        for (version, (sent, kept)) in (path["version"].as_i64().expect("version")..).zip(cases) {
            let response = app.client.post(format!("{}/graphql", app.address))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {editor}"))
                .header("x-request-id", sent)
                .body(json!({ "query": rename, "variables": { "id": path["id"], "v": version, "t": format!("Backend {version}") } }).to_string())
                .send().await.expect("answer");
            let echoed = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let body: Value = response.json().await.expect("json");
            assert!(body.get("errors").is_none(), "{body}");
            let recorded = body["data"]["updateCareerPath"]["careerPath"]["history"][0]["requestId"].as_str().unwrap_or_default().to_owned();
            assert_eq!(recorded, echoed, "the audit event records the request id the response names");
            assert_eq!(echoed == sent, kept, "{sent:?} -> {echoed:?}");
            assert!(!echoed.is_empty() && echoed.len() <= 64 && echoed.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)), "{echoed:?}");
        }
    }

    async fn a_cursor_at_the_largest_offset_is_bad_user_input(app) {
        let first = app.query_ok("{ skills(first: 1) { edges { node { slug } } } }", json!({})).await;
        for offset in [u64::MAX, i64::MAX as u64, i64::MAX as u64 - 1] {
            let cursor = URL_SAFE_NO_PAD.encode(format!("offset:{offset}"));
            let body = app.graphql("query ($a: String) { skills(first: 1, after: $a) { edges { node { slug } } } }", json!({ "a": cursor })).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "offset {offset}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], "after");
            assert_ne!(body["data"]["skills"], first["skills"], "never page one again");
        }
    }

    async fn overlong_email_addresses_are_refused_before_any_work(app) {
        let long = format!("{}@example.com", "a".repeat(300));
        let body = app.graphql(LOGIN, json!({ "e": long, "p": "whatever it is" })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "email");
        use sea_orm::{EntityTrait, PaginatorTrait};
        let keys = careergraph_domain::entities::login_throttle::Entity::find().count(app.db()).await.expect("count");
        assert_eq!(keys, 0, "no throttle key was stored for it");
    }

    async fn a_batch_is_held_to_the_limits_as_a_whole(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.max_complexity = 1_000).await;
        // 100 paths × 6 fields: 600 points, within the limit alone.
        let query = "{ careerPaths(first: 100) { edges { node { title summary slug id version } } } }";
        let (status, single) = app.post_json(json!({ "query": query })).await;
        assert!(status == StatusCode::OK && single.get("errors").is_none(), "{single}");
        let (_, batch) = app.post_json(json!([{ "query": query }, { "query": query }])).await;
        let refusals: Vec<String> = batch.as_array().expect("batch").iter().flat_map(codes).collect();
        assert!(refusals.contains(&"BAD_USER_INPUT".to_owned()), "two of them exceed it together: {batch}");
        let aliases: String = (0..20).map(|n| format!("a{n}: industries {{ slug }} ")).collect();
        let (_, batch) = app.post_json(json!([{ "query": format!("{{ {aliases} }}") }, { "query": format!("{{ {aliases} }}") }])).await;
        let refusals: Vec<String> = batch.as_array().expect("batch").iter().flat_map(codes).collect();
        assert!(refusals.contains(&"BAD_USER_INPUT".to_owned()), "40 aliases in one batch: {batch}");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_the_database_file_are_private_to_the_server() {
    use std::os::unix::fs::PermissionsExt;
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let mode = |path: &std::path::Path| std::fs::metadata(path).expect("it exists").permissions().mode() & 0o777;
    assert_eq!(mode(&app.data_dir), 0o700, "the data directory");
    for entry in std::fs::read_dir(&app.data_dir).expect("a directory") {
        let path = entry.expect("an entry").path();
        assert_eq!(mode(&path) & 0o077, 0, "{} is readable by others", path.display());
    }
    assert_eq!(mode(&app.data_dir.join("careergraph.db")), 0o600);
}

on_both_backends! {
    async fn lists_without_paging_count_their_real_size(app) {
        use careergraph_domain::enums::PublicationStatus;
        // Every synthetic path needs the same three skills, so each of those skills has a long
        // list of paths, which no complexity estimate can know before it runs.
        careergraph_domain::synthetic::insert_career_paths(app.db(), 60, PublicationStatus::Published).await.expect("paths");
        let nested = "{ skills(first: 100) { edges { node { careerPaths { careerPath {
            skills { skill { careerPaths { careerPath { title slug summary } } } } } } } } } }";
        let (status, body) = app.post_json(json!({ "query": nested })).await;
        assert_eq!(status, StatusCode::OK);
        let text = body.to_string();
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{}", &text[..text.len().min(400)]);
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("more than 20000 fields")), "{}", body["errors"][0]);
        assert!(body["data"].is_null(), "the request stopped, with no partial answer");
        let shallow = "{ skills(first: 100) { edges { node { careerPaths { careerPath { title } } } } } }";
        assert!(app.graphql(shallow, json!({})).await.get("errors").is_none(), "the same lists, one level deep, are fine");
    }
}
