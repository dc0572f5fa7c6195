//! Persisted queries: Apollo's Automatic Persisted Queries protocol, and a safelist mode that
//! runs only the operations of a manifest a client build wrote.
//!
//! With APQ a client sends `extensions.persistedQuery.sha256Hash` without the query text; the
//! server answers from its cache or with `PERSISTED_QUERY_NOT_FOUND`, and the client then sends
//! hash and text together, which the server checks, runs, and remembers only once the text has
//! parsed and validated: anyone may register, so nothing that is not a working operation is
//! kept. The cache holds at most [`CACHE_ENTRIES`] documents and [`CACHE_BYTES`] of text,
//! dropping the least recently used, and no document longer than [`ENTRY_BYTES`] (such a one
//! runs, but its client keeps sending its text), so clients cannot grow it.
//!
//! With a safelist nothing is learned: an operation runs when its id (the APQ hash, or the
//! `documentId` request parameter graphql-codegen's client preset sends) names a listed
//! operation, or its text is identical to a listed one.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde_json::{Map, Value};

use crate::weighed_lru::WeighedLru;

/// The most documents the APQ cache remembers.
pub const CACHE_ENTRIES: usize = 2_000;
/// The most text the APQ cache holds, its keys included.
pub const CACHE_BYTES: usize = 8 * 1024 * 1024;
/// The longest document the APQ cache keeps. Hand-written and generated operations are a few
/// kilobytes; a longer text is padding.
pub const ENTRY_BYTES: usize = 64 * 1024;

/// The APQ protocol version this server speaks.
const APQ_VERSION: u64 = 1;

/// Why a request's document cannot be found or may not run; each becomes a coded error.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The hash is not in the cache: the client should send the text with it.
    NotFound,
    /// The text does not hash to the hash sent with it.
    HashMismatch,
    /// The persisted-query extension is malformed or of an unknown version.
    Malformed(&'static str),
    /// Safelist mode: the id names no listed operation.
    NotInList,
    /// Safelist mode: the text is not a listed operation's.
    NotInSafelist,
}

/// The operations a safelist allows, by id and by text.
#[derive(Debug, Default)]
struct Safelist {
    by_id: HashMap<String, Arc<str>>,
    texts: std::collections::HashSet<Arc<str>>,
}

/// Where request documents come from when a request sends a hash instead of text.
pub struct PersistedQueries {
    cache: Mutex<WeighedLru<String, Arc<str>>>,
    safelist: Option<Safelist>,
}

/// A document sent with its hash, to be kept once it has run without a request error (see
/// [`PersistedQueries::register`]).
#[derive(Debug)]
pub struct Registration {
    hash: String,
    text: Arc<str>,
}

impl Registration {
    /// The bytes the document would hold in the cache.
    pub fn bytes(&self) -> usize {
        self.hash.len() + self.text.len()
    }
}

impl std::fmt::Debug for PersistedQueries {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("PersistedQueries").field("safelist", &self.safelist.is_some()).finish_non_exhaustive()
    }
}

/// The hex SHA-256 of a document, as APQ names it: the digest refresh tokens are stored by.
pub fn document_hash(text: &str) -> String {
    careergraph_auth::refresh::hash(text)
}

impl PersistedQueries {
    /// APQ with an empty cache, any operation allowed.
    pub fn automatic() -> Self {
        let capacity = NonZeroUsize::new(CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Self { cache: Mutex::new(WeighedLru::new(capacity, CACHE_BYTES)), safelist: None }
    }

    /// Only the operations of the manifest at `path` may run: graphql-codegen's persisted
    /// documents (`{"<hash>": "<text>", …}`) or Apollo's persisted query manifest
    /// (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "body", …}]}`).
    pub fn safelist(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the safelist {}", path.display()))?;
        let manifest: Value =
            serde_json::from_str(&text).with_context(|| format!("the safelist {} is not JSON", path.display()))?;
        let operations = read_manifest(&manifest).with_context(|| {
            format!(
                "the safelist {} is neither graphql-codegen's persisted documents nor an Apollo persisted query manifest",
                path.display()
            )
        })?;
        let mut safelist = Safelist::default();
        for (id, body) in operations {
            let body: Arc<str> = body.into();
            safelist.texts.insert(body.clone());
            safelist.by_id.insert(id, body);
        }
        Ok(Self { safelist: Some(safelist), ..Self::automatic() })
    }

    /// The document a request runs: its own `query`, or the one its persisted-query hash or
    /// `documentId` names, checked against the safelist when there is one; with the
    /// [`Registration`] to make once it has run, when it came with its hash and is not kept yet.
    pub fn resolve(
        &self,
        query: Option<String>,
        extensions: &Map<String, Value>,
        document_id: Option<&str>,
    ) -> Result<Option<(String, Option<Registration>)>, Refusal> {
        let hash = persisted_hash(extensions)?;
        let id = hash.as_deref().or(document_id);
        if let Some(safelist) = &self.safelist {
            return match (query, id) {
                (Some(text), _) if safelist.texts.contains(text.as_str()) => Ok(Some((text, None))),
                (Some(_), _) => Err(Refusal::NotInSafelist),
                (None, Some(id)) => {
                    match safelist.by_id.get(id).or_else(|| safelist.by_id.get(&id.to_ascii_lowercase())) {
                        Some(text) => Ok(Some((text.to_string(), None))),
                        None => Err(Refusal::NotInList),
                    }
                }
                (None, None) => Ok(None),
            };
        }
        let Some(hash) = hash else { return Ok(query.map(|text| (text, None))) };
        let hash = hash.to_ascii_lowercase();
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match query {
            Some(text) => {
                if document_hash(&text) != hash {
                    return Err(Refusal::HashMismatch);
                }
                let registration = (text.len() <= ENTRY_BYTES && !cache.contains(&hash))
                    .then(|| Registration { hash, text: text.as_str().into() });
                Ok(Some((text, registration)))
            }
            None => cache.get(&hash).map(|text| Some((text.to_string(), None))).ok_or(Refusal::NotFound),
        }
    }

    /// Keeps a document that has run without a request error (it parsed and validated), dropping
    /// the least recently used ones while the cache holds more than [`CACHE_BYTES`].
    pub fn register(&self, registration: Registration) {
        let bytes = registration.bytes();
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.put(registration.hash, registration.text, bytes);
    }
}

/// The `sha256Hash` of `extensions.persistedQuery`, if the request has one.
fn persisted_hash(extensions: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    let Some(persisted) = extensions.get("persistedQuery") else { return Ok(None) };
    let Value::Object(persisted) = persisted else {
        return Err(Refusal::Malformed("`extensions.persistedQuery` must be an object"));
    };
    if persisted.get("version").and_then(Value::as_u64) != Some(APQ_VERSION) {
        return Err(Refusal::Malformed("`extensions.persistedQuery.version` must be 1"));
    }
    match persisted.get("sha256Hash") {
        Some(Value::String(hash)) if hash.len() == 64 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()) => {
            Ok(Some(hash.clone()))
        }
        _ => Err(Refusal::Malformed("`extensions.persistedQuery.sha256Hash` must be 64 hex digits")),
    }
}

/// The (id, text) pairs of a manifest in either format.
fn read_manifest(manifest: &Value) -> Option<Vec<(String, String)>> {
    let Value::Object(fields) = manifest else { return None };
    if fields.get("format").and_then(Value::as_str) == Some("apollo-persisted-query-manifest") {
        if fields.get("version").and_then(Value::as_u64) != Some(1) {
            return None;
        }
        let operations = fields.get("operations")?.as_array()?;
        return operations
            .iter()
            .map(|operation| {
                Some((operation.get("id")?.as_str()?.to_owned(), operation.get("body")?.as_str()?.to_owned()))
            })
            .collect();
    }
    fields.iter().map(|(id, body)| Some((id.clone(), body.as_str()?.to_owned()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apq(hash: &str) -> Map<String, Value> {
        let Value::Object(extensions) = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }) else {
            unreachable!()
        };
        extensions
    }

    /// Sends `text` with its hash and keeps it, as a request that ran cleanly does.
    fn register(persisted: &PersistedQueries, text: &str) {
        let resolved = persisted.resolve(Some(text.to_owned()), &apq(&document_hash(text)), None);
        let Ok(Some((_, Some(registration)))) = resolved else { panic!("{text} is not to be kept: {resolved:?}") };
        persisted.register(registration);
    }

    fn kept(persisted: &PersistedQueries, text: &str) -> bool {
        persisted.resolve(None, &apq(&document_hash(text)), None).is_ok()
    }

    #[test]
    fn the_cache_forgets_the_least_recently_used_document_once_full() {
        let persisted = PersistedQueries::automatic();
        register(&persisted, "{ a0 }");
        for n in 1..=CACHE_ENTRIES {
            register(&persisted, &format!("{{ a{n} }}"));
        }
        assert!(!kept(&persisted, "{ a0 }"));
        assert!(kept(&persisted, &format!("{{ a{CACHE_ENTRIES} }}")));
    }

    #[test]
    fn the_cache_holds_at_most_its_bytes_and_no_oversized_entry() {
        let persisted = PersistedQueries::automatic();
        let padded = |n: usize| format!("# {}\n{{ a{n} }}", "x".repeat(ENTRY_BYTES - 100));
        let fitting = CACHE_BYTES / ENTRY_BYTES;
        for n in 0..fitting + 10 {
            register(&persisted, &padded(n));
        }
        let held = persisted.cache.lock().map(|cache| cache.weight()).unwrap_or_default();
        assert!(held <= CACHE_BYTES, "{held} bytes held");
        assert!(!kept(&persisted, &padded(0)), "the oldest went first");
        assert!(kept(&persisted, &padded(fitting + 9)));
        let oversized = format!("# {}\n{{ a }}", "x".repeat(ENTRY_BYTES));
        let resolved = persisted.resolve(Some(oversized.clone()), &apq(&document_hash(&oversized)), None);
        assert!(matches!(resolved, Ok(Some((_, None)))), "runs, but is never to be kept");
    }

    #[test]
    fn both_manifest_formats_are_read_and_anything_else_is_refused() {
        let codegen = json!({ "abc": "query A { a }" });
        assert_eq!(read_manifest(&codegen), Some(vec![("abc".into(), "query A { a }".into())]));
        let apollo = json!({
            "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{ "id": "def", "name": "B", "type": "query", "body": "query B { b }" }]
        });
        assert_eq!(read_manifest(&apollo), Some(vec![("def".into(), "query B { b }".into())]));
        assert_eq!(read_manifest(&json!(["query A { a }"])), None);
        assert_eq!(read_manifest(&json!({ "abc": 1 })), None);
    }
}
