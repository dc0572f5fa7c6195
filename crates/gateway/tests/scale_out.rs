//! Two `careergraph serve` processes on one PostgreSQL database, behind Debian's nginx running
//! the compose file's config (`deploy/nginx.conf`, its upstreams pointed at the two processes):
//! whatever one gateway does, the other and the balancer agree with, within the bound the README
//! states for revocations (`CAREERGRAPH_USER_CACHE_SECS`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{FreshDatabase, Server, careergraph_on, free_port, graphql, login, ok, spawn_server_at};

const PASSWORD: &str = "violet staircase 42";
/// `CAREERGRAPH_USER_CACHE_SECS` of both gateways: how long one may trust what it knows of a
/// user or a session that the other has since changed.
const USER_CACHE_SECS: u64 = 2;
/// Slack for a loaded machine on top of that bound.
const SLACK: Duration = Duration::from_secs(3);

/// Where nginx is, unless the test must be skipped (the reason is printed).
fn nginx() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(PathBuf::from).find(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CAREERGRAPH_REQUIRE_TOOLS").is_none(),
            "CAREERGRAPH_REQUIRE_TOOLS is set, but nginx is not installed"
        );
        eprintln!("SKIPPED the scale-out test: nginx is not installed (apt-get install nginx-light; .ci/run does)");
    }
    found
}

fn admin_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty());
    if url.is_none() {
        eprintln!("SKIPPED the scale-out test: TEST_DATABASE_URL is not set (replicas share PostgreSQL)");
    }
    url
}

/// nginx in the foreground, with its pid, logs and temporary files in `dir`; stopped when dropped.
struct Nginx {
    child: std::process::Child,
    base: String,
}

impl Nginx {
    /// Runs `deploy/nginx.conf` as compose does, with what only a container provides replaced:
    /// its upstreams by `gateways`, port 80 by a free port, and its files under `dir`.
    async fn start(binary: &Path, dir: &Path, gateways: &[&str]) -> Self {
        let config = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx.conf"))
            .expect("deploy/nginx.conf");
        let port = free_port();
        let upstreams: Vec<String> =
            config.lines().filter(|line| line.trim_start().starts_with("server gateway-")).map(str::to_owned).collect();
        assert_eq!(upstreams.len(), gateways.len(), "one upstream per gateway");
        let mut config = config.replacen("listen 80;", &format!("listen 127.0.0.1:{port};"), 1);
        for (line, gateway) in upstreams.iter().zip(gateways) {
            let name = line.split_whitespace().nth(1).expect("an upstream address");
            config = config.replacen(line, &line.replacen(name, gateway.trim_start_matches("http://"), 1), 1);
        }
        let temp = dir.join("temp");
        std::fs::create_dir_all(&temp).expect("nginx's temporary directory");
        // Workers may run as another user when the test runs as root.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        }
        let local = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .map(|kind| format!("    {kind}_temp_path {};\n", temp.join(kind).display()))
            .concat();
        let config = config.replacen(
            "http {\n",
            &format!("http {{\n{local}    access_log {};\n", dir.join("access.log").display()),
            1,
        );
        let file = dir.join("nginx.conf");
        std::fs::write(&file, config).expect("the config is written");
        let globals = format!(
            "daemon off; pid {}; error_log {} warn;",
            dir.join("nginx.pid").display(),
            dir.join("error.log").display()
        );
        let child = Command::new(binary)
            .args(["-p", &dir.display().to_string(), "-c", &file.display().to_string(), "-g", &globals])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        // Held from here on, so that nginx is stopped (and waited for) whatever happens next.
        let nginx = Self { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{}/healthz", nginx.base)).send().await.is_ok_and(|r| r.status().is_success()) {
                return nginx;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nginx did not come up; see {}", dir.join("error.log").display());
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; SIGKILL would leave them holding the port.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// Two gateways on one database and nginx in front of them.
struct Cluster {
    gateways: Vec<(Server, String)>,
    ports: Vec<u16>,
    nginx: Nginx,
    database: FreshDatabase,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// `None` when PostgreSQL or nginx is missing (the reason is printed).
    async fn start() -> Option<Self> {
        let (Some(admin_url), Some(nginx)) = (admin_url(), nginx()) else { return None };
        let database = FreshDatabase::create(&admin_url, "careergraph_scale").await;
        let dir = tempfile::tempdir().expect("a directory");
        let key = dir.path().join("jwt-ed25519.pem");
        let cli = |args: &[&str], stdin: &str| careergraph_on(&database.url, &dir.path().join("cli"), args, stdin);
        // What the compose file's one-shot `migrate` service and the README's first steps do.
        cli(&["keygen", key.to_str().expect("a UTF-8 path")], "");
        cli(&["seed"], "");
        for (email, role) in [("admin@example.com", "admin"), ("editor@example.com", "editor")] {
            cli(&["user", "add", "--email", email, "--role", role, "--password-stdin"], &format!("{PASSWORD}\n"));
        }
        let ports = vec![free_port(), free_port()];
        let gateways = start_gateways(&ports, dir.path(), &database.url, &key, &[]).await;
        let bases: Vec<&str> = gateways.iter().map(|(_, base)| base.as_str()).collect();
        let nginx = Nginx::start(&nginx, &dir.path().join("nginx"), &bases).await;
        Some(Self { gateways, ports, nginx, database, dir })
    }

    /// Restarts both gateways on their ports, signing with `key` and also accepting `verify`.
    async fn restart_gateways(&mut self, key: &Path, verify: &[&Path]) {
        self.gateways.clear();
        self.gateways = start_gateways(&self.ports, self.dir.path(), &self.database.url, key, verify).await;
    }

    /// Gateway 1, gateway 2 and the balancer, by name.
    fn entrances(&self) -> [(&'static str, &str); 3] {
        [("gateway-1", &self.gateways[0].1), ("gateway-2", &self.gateways[1].1), ("nginx", &self.nginx.base)]
    }
}

/// Starts a gateway on each of `ports`, on `database_url`, signing with `key` and also accepting
/// `verify`, each with a data directory of its own under `dir`.
async fn start_gateways(
    ports: &[u16],
    dir: &Path,
    database_url: &str,
    key: &Path,
    verify: &[&Path],
) -> Vec<(Server, String)> {
    let verify: Vec<String> = verify.iter().map(|path| path.display().to_string()).collect();
    let verify = verify.join(",");
    let cache = USER_CACHE_SECS.to_string();
    let mut gateways = Vec::new();
    for (index, port) in ports.iter().enumerate() {
        let data = dir.join(format!("gateway-{}", index + 1));
        let mut env = vec![
            ("CAREERGRAPH_DATABASE_URL", database_url),
            ("CAREERGRAPH_JWT_KEY_FILE", key.to_str().expect("a UTF-8 path")),
            ("CAREERGRAPH_USER_CACHE_SECS", cache.as_str()),
            ("CAREERGRAPH_TRUSTED_PROXIES", "127.0.0.1/32"),
        ];
        if !verify.is_empty() {
            env.push(("CAREERGRAPH_JWT_VERIFY_KEY_FILES", verify.as_str()));
        }
        gateways.push(spawn_server_at(*port, &data, &env, Stdio::null()).await);
    }
    gateways
}

async fn my_email(base: &str, token: &str) -> Value {
    ok(base, Some(token), "{ me { email } }", json!({})).await["me"]["email"].clone()
}

/// Waits until every entrance refuses `token` with 401, and returns how long that took.
async fn refused_everywhere(cluster: &Cluster, token: &str) -> Duration {
    let started = Instant::now();
    for (name, base) in cluster.entrances() {
        loop {
            let (status, body) = graphql(base, Some(token), "{ me { email } }", json!({})).await;
            if status == 401 {
                assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(USER_CACHE_SECS) + SLACK,
                "{name} still accepts the token after {:?}: {body}",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, nginx_tests)),
    ignore = "needs TEST_DATABASE_URL and nginx (apt-get install nginx-light; .ci/run does)"
)]
async fn two_gateways_behind_nginx_share_tokens_sessions_edits_and_revocations() {
    let Some(cluster) = Cluster::start().await else { return };
    let [(_, one), (_, two), (_, balancer)] = cluster.entrances();

    // A token issued by one gateway works on the other and through the balancer.
    let (editor, _) = login(one, "editor@example.com", PASSWORD).await;
    for base in [one, two, balancer] {
        assert_eq!(my_email(base, &editor).await, "editor@example.com", "{base}");
    }

    // Refresh rotation on one, reuse detection on the other: the session ends everywhere.
    let register = "mutation { register(input: { email: \"ada@example.com\", password: \"amber lighthouse 77\", displayName: \"Ada\" }) { accessToken refreshToken } }";
    let session = ok(balancer, None, register, json!({})).await;
    let first = session["register"]["refreshToken"].as_str().expect("a refresh token").to_owned();
    let refresh = "mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";
    let rotated = ok(two, None, refresh, json!({ "t": first })).await;
    let second = rotated["refreshSession"]["refreshToken"].as_str().expect("a rotated token").to_owned();
    let ada = rotated["refreshSession"]["accessToken"].as_str().expect("an access token").to_owned();
    assert_eq!(my_email(one, &ada).await, "ada@example.com", "gateway 1 knows the rotated session");
    let (_, reused) = graphql(one, None, refresh, json!({ "t": first })).await;
    assert_eq!(reused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "reuse is detected: {reused}");
    let (_, after_reuse) = graphql(balancer, None, refresh, json!({ "t": second })).await;
    assert_eq!(after_reuse["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "the whole session ended");
    refused_everywhere(&cluster, &ada).await;

    // An editor's change through one gateway is read back at once through the other.
    let path = ok(two, None, "{ careerPath(slug: \"backend-developer\") { id version } }", json!({})).await;
    let rename = "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Backend Engineer\" }) { careerPath { version } } }";
    let variables = json!({ "id": path["careerPath"]["id"], "v": path["careerPath"]["version"] });
    ok(one, Some(&editor), rename, variables).await;
    for base in [two, balancer] {
        let read = ok(base, None, "{ careerPath(slug: \"backend-developer\") { title } }", json!({})).await;
        assert_eq!(read["careerPath"]["title"], "Backend Engineer", "{base}");
    }

    // A session ended on one gateway: refused there at once, by the other within the bound.
    let (viewer, viewer_refresh) = login(two, "ada@example.com", "amber lighthouse 77").await;
    assert_eq!(my_email(two, &viewer).await, "ada@example.com", "gateway 2 has seen the session");
    ok(
        one,
        None,
        "mutation ($t: String!) { logout(input: { refreshToken: $t }) { loggedOut } }",
        json!({ "t": viewer_refresh }),
    )
    .await;
    let (status, _) = graphql(one, Some(&viewer), "{ me { email } }", json!({})).await;
    assert_eq!(status, 401, "the gateway that ended the session refuses its token at once");
    let waited = refused_everywhere(&cluster, &viewer).await;
    eprintln!("a logout reached every gateway within {waited:?}");

    // A demoted editor and a disabled user: refused by both within the bound.
    let (admin, _) = login(balancer, "admin@example.com", PASSWORD).await;
    let editor_id = ok(one, Some(&editor), "{ me { id } }", json!({})).await["me"]["id"].clone();
    assert_eq!(my_email(two, &editor).await, "editor@example.com", "gateway 2 has seen the editor");
    let demote = "mutation ($id: ID!) { setUserRole(input: { userId: $id, role: VIEWER }) { user { role } } }";
    ok(one, Some(&admin), demote, json!({ "id": editor_id })).await;
    refused_everywhere(&cluster, &editor).await;
    let (demoted, _) = login(two, "editor@example.com", PASSWORD).await;
    let (_, refused) = graphql(one, Some(&demoted), rename, json!({ "id": path["careerPath"]["id"], "v": 2 })).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN", "a viewer now: {refused}");

    let ada_id = {
        let (ada_again, _) = login(one, "ada@example.com", "amber lighthouse 77").await;
        let id = ok(two, Some(&ada_again), "{ me { id } }", json!({})).await["me"]["id"].clone();
        ok(
            two,
            Some(&admin),
            "mutation ($id: ID!) { disableUser(input: { userId: $id }) { user { disabled } } }",
            json!({ "id": id.clone() }),
        )
        .await;
        refused_everywhere(&cluster, &ada_again).await;
        id
    };
    let (_, disabled) = graphql(
        balancer,
        None,
        "mutation { login(input: { email: \"ada@example.com\", password: \"amber lighthouse 77\" }) { accessToken } }",
        json!({}),
    )
    .await;
    assert_eq!(disabled["errors"][0]["message"], "This account is disabled", "{ada_id}: {disabled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, nginx_tests)),
    ignore = "needs TEST_DATABASE_URL and nginx (apt-get install nginx-light; .ci/run does)"
)]
async fn rotating_the_signing_key_keeps_old_tokens_working_on_both_gateways() {
    let Some(mut cluster) = Cluster::start().await else { return };
    let old_key = cluster.dir.path().join("jwt-ed25519.pem");
    let (old_token, old_refresh) = login(&cluster.nginx.base, "editor@example.com", PASSWORD).await;

    // A new key signs; the old one still verifies. Both gateways restart with that, one at a time.
    let new_key = cluster.dir.path().join("jwt-ed25519.next.pem");
    let output = Command::new(env!("CARGO_BIN_EXE_careergraph"))
        .args(["keygen", new_key.to_str().expect("a UTF-8 path")])
        .output()
        .expect("keygen runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    cluster.restart_gateways(&new_key, &[&old_key]).await;
    let [(_, one), (_, two), (_, balancer)] = cluster.entrances();

    for base in [one, two, balancer] {
        assert_eq!(
            my_email(base, &old_token).await,
            "editor@example.com",
            "a token signed with the old key, at {base}"
        );
    }
    let (new_token, _) = login(one, "editor@example.com", PASSWORD).await;
    for base in [one, two, balancer] {
        assert_eq!(
            my_email(base, &new_token).await,
            "editor@example.com",
            "a token signed with the new key, at {base}"
        );
    }
    let kid = |token: &str| {
        use base64::Engine;
        let header = token.split('.').next().expect("a JWT header");
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64url");
        serde_json::from_slice::<Value>(&header).expect("JSON")["kid"].clone()
    };
    assert_ne!(kid(&old_token), kid(&new_token), "the new token names the new key");
    // Both gateways publish both keys, the same way.
    let client = reqwest::Client::new();
    let mut published = Vec::new();
    for base in [one, two] {
        let jwks: Value =
            client.get(format!("{base}/.well-known/jwks.json")).send().await.expect("JWKS").json().await.expect("JSON");
        let mut kids: Vec<String> = jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|key| key["kid"].as_str().unwrap_or_default().to_owned())
            .collect();
        kids.sort();
        published.push(kids);
    }
    assert_eq!(published[0], published[1]);
    assert_eq!(published[0].len(), 2, "the signing key and the old one");
    // The session from before the rotation still refreshes, on either gateway.
    let refresh = "mutation ($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }";
    let rotated = ok(two, None, refresh, json!({ "t": old_refresh })).await;
    let token = rotated["refreshSession"]["accessToken"].as_str().expect("a token");
    assert_eq!(my_email(one, token).await, "editor@example.com");
}

/// A sign-in through the balancer from `source` (a loopback address of its own), with the
/// client-address headers a client might forge.
async fn sign_in_from(base: &str, source: [u8; 4], password: &str, forged: usize) -> Value {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .build()
        .expect("a client bound to a loopback address");
    let query = "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }";
    let body = json!({ "query": query, "variables": { "e": "editor@example.com", "p": password } });
    let response = client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .header("forwarded", format!("for=203.0.113.{forged}"))
        .header("x-forwarded-for", format!("198.51.100.{forged}"))
        .body(body.to_string())
        .send()
        .await
        .expect("an answer");
    response.json().await.expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, nginx_tests)),
    ignore = "needs TEST_DATABASE_URL and nginx (apt-get install nginx-light; .ci/run does)"
)]
async fn behind_nginx_a_client_cannot_choose_its_own_address() {
    let Some(cluster) = Cluster::start().await else { return };
    let balancer = cluster.nginx.base.clone();
    // Wrong passwords from one client, each claiming another address in both headers: the
    // gateways see the address nginx saw, so the account-and-address count locks.
    let mut locked = false;
    for attempt in 0..8 {
        let body = sign_in_from(&balancer, [127, 0, 0, 2], "not the password at all", attempt).await;
        if body["errors"][0]["extensions"]["code"] == "RATE_LIMITED" {
            locked = true;
            break;
        }
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    }
    assert!(locked, "the forged addresses were believed: no lock after 8 failures");
    // Locked from there, whatever the client claims; another client address is not.
    let body = sign_in_from(&balancer, [127, 0, 0, 2], PASSWORD, 200).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
    let body = sign_in_from(&balancer, [127, 0, 0, 3], PASSWORD, 201).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
}
