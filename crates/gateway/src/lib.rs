//! careergraph's gateway: the GraphQL schema over the domain, the HTTP server around it, its
//! configuration, and the `careergraph` command line.

pub mod authentication;
pub mod changes;
pub mod cli;
pub mod config;
pub mod graphql;
pub mod healthcheck;
pub mod http;
pub mod metrics;
pub mod persisted;
pub mod playground;
pub mod replica;
pub mod response_cache;
pub mod startup;
pub mod store;
mod tasks;
pub mod telemetry;
pub mod traces;
pub mod weighed_lru;

pub use config::Config;
pub use startup::Application;
