//! What the process tests share: running the `careergraph` binary, as a command and as a server.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs `careergraph ARGS` on the embedded database in `data_dir`, to completion.
pub fn careergraph(args: &[&str], data_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_careergraph"))
        .args(args)
        .env_remove("CAREERGRAPH_DATABASE_URL")
        .env("CAREERGRAPH_DATA_DIR", data_dir)
        .env("CAREERGRAPH_LOG", "info")
        .output()
        .expect("the binary runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn careergraph_with_stdin(args: &[&str], data_dir: &std::path::Path, stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_careergraph"));
    command.args(args).env_remove("CAREERGRAPH_DATABASE_URL").env("CAREERGRAPH_DATA_DIR", data_dir);
    run_with_stdin(command, stdin)
}

/// Runs `careergraph ARGS` to success on the database at `url` (with `data_dir` for its files),
/// `stdin` written to it: the commands an operator runs beside the servers.
pub fn careergraph_on(url: &str, data_dir: &std::path::Path, args: &[&str], stdin: &str) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_careergraph"));
    command.args(args).env("CAREERGRAPH_DATABASE_URL", url).env("CAREERGRAPH_DATA_DIR", data_dir);
    let output = run_with_stdin(command, stdin);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Runs `command` to its end with `stdin` written to it, its output captured.
fn run_with_stdin(mut command: Command, stdin: &str) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("the binary finishes")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A `careergraph serve` child process, killed when dropped.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `careergraph serve` on a free port with the data directory `dir` and `env`, sending its
/// standard error to `stderr`; returns it once `/healthz` answers, with its base URL.
pub async fn spawn_server(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> (Server, String) {
    spawn_server_at(free_port(), dir, env, stderr).await
}

// A port nothing listens on right now, as every suite finds one (careergraph-test-support).
pub use careergraph_test_support::free_port;

/// Starts `careergraph serve` like [`spawn_server`], on `port`.
pub async fn spawn_server_at(
    port: u16,
    dir: &std::path::Path,
    env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> (Server, String) {
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_careergraph"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env_remove("CAREERGRAPH_DATABASE_URL")
            .env("CAREERGRAPH_DATA_DIR", dir)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the server starts"),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return (server, base);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the server did not come up");
}

impl Server {
    /// Sends the server SIGTERM, as `docker stop` and systemd do.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status().expect("kill runs");
        assert!(status.success(), "SIGTERM was sent");
    }

    /// Waits up to `limit` for the process to exit, and returns how it did.
    pub async fn exited_within(&mut self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }
}

// A PostgreSQL database of a test's own, as every suite gets it (careergraph-test-support).
#[allow(unused_imports)]
pub use careergraph_test_support::FreshDatabase;

/// POSTs a GraphQL request to the server at `base`, with `token` as its bearer; returns the HTTP
/// status and the body.
pub async fn graphql(
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> (u16, serde_json::Value) {
    try_graphql(base, token, query, variables).await.expect("an answer")
}

/// [`graphql`], for a server that may be gone: `None` when no answer came.
pub async fn try_graphql(
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> Option<(u16, serde_json::Value)> {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "query": query, "variables": variables }).to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.ok()?))
}

/// The `data` of an answer that must have no errors.
pub async fn ok(base: &str, token: Option<&str>, query: &str, variables: serde_json::Value) -> serde_json::Value {
    let (status, body) = graphql(base, token, query, variables).await;
    assert!(status == 200 && body.get("errors").is_none(), "{base}: {status} {body:#}");
    body["data"].clone()
}

/// A session: its access and refresh tokens.
pub async fn login(base: &str, email: &str, password: &str) -> (String, String) {
    let query = "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken } }";
    let data = ok(base, None, query, serde_json::json!({ "e": email, "p": password })).await;
    let text = |field: &str| data["login"][field].as_str().expect("a token").to_owned();
    (text("accessToken"), text("refreshToken"))
}
