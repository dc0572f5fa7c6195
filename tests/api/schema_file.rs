//! `schema.graphql` is the contract client developers generate code from; it must equal what
//! the server exports.

use std::net::{Ipv4Addr, SocketAddr};

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use careergraph_gateway::Config;
use careergraph_gateway::graphql::schema::{build_schema, sdl};

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
    let document = parse_schema(sdl(&build_schema(&config))).expect("the exported SDL parses");
    // Roots, mutation payloads and value objects (connections, edges, summaries of a relation)
    // carry no identity of their own.
    let value_objects = [
        "Query",
        "Mutation",
        "Subscription",
        "ContentChangedEvent",
        "CareerPathPublishedEvent",
        "PageInfo",
        "Outlook",
        "CareerPathSkill",
        "CareerPathTechnology",
        "SearchResult",
        "SkillUse",
        "SalaryStat",
        "SkillGap",
        "GapSkill",
        "CareerMove",
        "SkillComparison",
        "NextSkill",
        "RelatedSkill",
    ];
    let mut checked = Vec::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else { continue };
        let TypeKind::Object(object) = &definition.node.kind else { continue };
        let name = definition.node.name.node.as_str();
        if value_objects.contains(&name)
            || name.ends_with("Connection")
            || name.ends_with("Edge")
            || name.ends_with("Payload")
        {
            continue;
        }
        let id = object.fields.iter().find(|field| field.node.name.node == "id");
        let id_type = id.map(|field| field.node.ty.node.to_string());
        assert_eq!(id_type.as_deref(), Some("ID!"), "type {name} has no `id: ID!`");
        checked.push(name.to_owned());
    }
    // Every editable type, the audit event and the user: a walk that finds fewer checked nothing.
    for expected in ["AuditEvent", "CareerPath", "SalaryRecord", "SalarySummary", "Skill", "User"] {
        assert!(checked.iter().any(|name| name == expected), "{expected} was not checked: {checked:?}");
    }
    assert!(checked.len() >= 12, "only {} object types checked: {checked:?}", checked.len());
}
