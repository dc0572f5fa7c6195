//! `schema.graphql` is the contract client developers generate code from; it must equal what
//! the server exports.

use std::net::{Ipv4Addr, SocketAddr};

use careergraph_gateway::Config;
use careergraph_gateway::graphql::{build_schema, sdl};

#[test]
fn schema_graphql_equals_the_exported_sdl() {
    let config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), None, std::env::temp_dir());
    let exported = sdl(&build_schema(&config));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(committed == exported, "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`");
}

#[test]
fn every_object_type_with_identity_has_an_id() {
    let config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), None, std::env::temp_dir());
    let sdl = sdl(&build_schema(&config));
    // Roots, mutation payloads and value objects (connections, edges, summaries of a relation)
    // carry no identity of their own.
    let value_objects = [
        "Query",
        "Mutation",
        "PageInfo",
        "Outlook",
        "CareerPathSkill",
        "SkillUse",
        "SalaryStat",
        "SkillGap",
        "GapSkill",
    ];
    for block in sdl.split("\ntype ").skip(1) {
        let name = block.split([' ', '{']).next().unwrap_or_default();
        // A description may contain a line that starts with "type "; type names are capitalised.
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            continue;
        }
        if value_objects.contains(&name)
            || name.ends_with("Connection")
            || name.ends_with("Edge")
            || name.ends_with("Payload")
        {
            continue;
        }
        assert!(block.contains("\tid: ID!"), "type {name} has no `id: ID!`");
    }
}
