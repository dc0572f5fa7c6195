//! HTTP caching of public reads, so that a CDN or a shared cache in front absorbs them.
//!
//! Only an anonymous `GET` query (sent as text or as a persisted query) whose answer has no
//! errors is public: `Cache-Control: public, max-age=N`, a weak `ETag`, and `304 Not Modified`
//! to a matching `If-None-Match`. Anything sent with a token, any answer with errors, every
//! `POST` (and so every mutation) is `private, no-store`. An anonymous answer is the same for
//! every anonymous caller, so nothing whose content depends on who asks is ever public.
//! `Vary: Authorization, Accept, Careergraph-Read-After` on every answer keeps a cache from
//! handing one caller's or one media type's answer to another, or an answer older than a
//! client's own last write to that client (see [`crate::replica`]).

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-store");
const VARY: HeaderValue = HeaderValue::from_static("Authorization, Accept, Careergraph-Read-After");

/// How public answers are marked.
#[derive(Clone, Debug)]
pub struct PublicCaching {
    cache_control: Option<HeaderValue>,
}

impl PublicCaching {
    /// Public answers may be cached for `max_age_secs`; 0 makes every answer private.
    pub fn new(max_age_secs: u64) -> Self {
        let cache_control = (max_age_secs > 0)
            .then(|| HeaderValue::from_str(&format!("public, max-age={max_age_secs}")))
            .and_then(Result::ok);
        Self { cache_control }
    }

    /// The answer to an anonymous `GET` query without errors: public, with its `ETag`, or a
    /// bodiless 304 when the client's `If-None-Match` already names it.
    pub fn answer(&self, request: &HeaderMap, content_type: HeaderValue, body: Bytes) -> Response {
        let Some(cache_control) = self.cache_control.clone() else {
            return ([(header::CONTENT_TYPE, content_type)], body).into_response();
        };
        let etag = entity_tag(&body);
        let headers = [(header::CACHE_CONTROL, cache_control), (header::ETAG, etag.clone())];
        if request.get_all(header::IF_NONE_MATCH).iter().any(|value| matches(value, &etag)) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        (headers, [(header::CONTENT_TYPE, content_type)], body).into_response()
    }
}

/// A public document (`GET /careers/{slug}.jsonld`): always with its `ETag`, and a bodiless
/// 304 when `If-None-Match` names it; cacheable for the public max-age when one is set.
pub fn document(caching: &PublicCaching, request: &HeaderMap, content_type: HeaderValue, body: Vec<u8>) -> Response {
    let etag = entity_tag(&body);
    let cache_control = caching.cache_control.clone().unwrap_or(HeaderValue::from_static("no-cache"));
    let headers = [(header::CACHE_CONTROL, cache_control), (header::ETAG, etag.clone())];
    if request.get_all(header::IF_NONE_MATCH).iter().any(|value| matches(value, &etag)) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A weak validator: the body is the same, byte for byte, whatever the compression layer then
/// does to it. A 128-bit XXH3 of the body, so two replicas agree on it; not a secret, and an
/// accidental collision is out of reach.
fn entity_tag(body: &[u8]) -> HeaderValue {
    let hash = xxhash_rust::xxh3::xxh3_128(body);
    HeaderValue::from_str(&format!("W/\"{hash:032x}\"")).unwrap_or(HeaderValue::from_static("W/\"\""))
}

/// Whether an `If-None-Match` value (`*`, or a list of tags) names `etag`, by the weak
/// comparison RFC 9110 prescribes for it.
fn matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let Ok(ours) = etag.to_str() else { return false };
    let ours = opaque(ours);
    if_none_match.to_str().is_ok_and(|listed| listed.split(',').any(|tag| tag.trim() == "*" || opaque(tag) == ours))
}

/// Middleware for the GraphQL route: every answer varies by `Authorization`, `Accept` and
/// `Careergraph-Read-After`, and
/// any answer the handler did not mark itself (refusals, tokens, errors, `POST`) is private.
pub async fn private_unless_marked(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, VARY);
    headers.entry(header::CACHE_CONTROL).or_insert(PRIVATE);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let etag = entity_tag(b"{\"data\":{}}");
        let strong = etag.to_str().unwrap_or_default().trim_start_matches("W/").to_owned();
        for listed in [
            etag.to_str().unwrap_or_default().to_owned(),
            strong,
            format!("\"other\", {}", etag.to_str().unwrap_or_default()),
            "*".into(),
        ] {
            assert!(
                matches(&HeaderValue::from_str(&listed).unwrap_or(HeaderValue::from_static("")), &etag),
                "{listed}"
            );
        }
        assert!(!matches(&HeaderValue::from_static("W/\"0123\""), &etag));
        assert_ne!(entity_tag(b"a"), entity_tag(b"b"));
    }
}
