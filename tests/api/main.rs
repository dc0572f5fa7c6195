//! careergraph's black-box suite: one test binary, the real server on a free port, a real
//! database per test (SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set), real HTTP.

#![allow(clippy::unwrap_used)]

mod helpers;

mod accounts;
mod bad_input;
mod batching;
mod budget;
mod caching;
mod career_moves;
mod dataset;
mod editing;
mod embedded;
mod http_protocol;
pub mod imports;
mod introspection;
mod jsonld;
mod live;
mod messages;
mod metrics;
mod outage;
mod paging;
mod persisted_queries;
mod playground;
mod policy;
mod pooler;
mod prepared;
mod projection;
mod read_api;
mod read_replica;
mod relay;
mod relay_client;
mod schema_file;
mod search;
mod second_review;
mod security;
mod streaming_replica;
mod switches;
mod typed_client;
mod typescript_client;
