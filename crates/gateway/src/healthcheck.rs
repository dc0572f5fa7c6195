//! `careergraph healthcheck`: one GET to the server's readiness probe.
//!
//! A plain HTTP/1.1 request through hyper, which the server already depends on (through axum),
//! rather than a full client such as reqwest: the probe only ever asks its own server on a
//! private address, without TLS, redirects or a body to read.

use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;

/// How long the probe waits for the whole answer: a health check must fail, not hang.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP status `url` (an `http://` URL) answers a GET with.
pub async fn status_of(url: &url::Url) -> anyhow::Result<u16> {
    anyhow::ensure!(url.scheme() == "http", "{url}: only http:// URLs can be probed");
    let host = url.host_str().context("the URL names no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let probe = async {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let stream =
            tokio::net::TcpStream::connect((host, port)).await.with_context(|| format!("cannot reach {url}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = hyper::Request::get(&url[url::Position::BeforePath..])
            .header(hyper::header::HOST, authority)
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await.with_context(|| format!("{url} did not answer"))?;
        anyhow::Ok(response.status().as_u16())
    };
    tokio::time::timeout(PROBE_TIMEOUT, probe).await.with_context(|| format!("{url} did not answer within 5 s"))?
}
