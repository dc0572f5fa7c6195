//! The public read API returns the bundled dataset's facts.

use careergraph_domain::enums::PublicationStatus;
use serde_json::{Value, json};

use crate::helpers::{first_error_code, spawn_app_with};
use crate::on_every_backend;
use crate::prepared::{unguarded_executions, with_metrics};

const BACKEND_DEVELOPER: &str = r#"
query ($slug: String!) {
  careerPath(slug: $slug) {
    id slug title summary
    outlook { demand summary }
    skills { importance position skill { slug name category technologies { slug } } }
    technologies { slug }
    responsibilities { position title description }
    roadmap { position title recommendation resources { name kind } skills { slug } }
    salary { country currency period average minimum maximum asOf source }
    industries { slug name }
    benefits { slug name }
  }
}"#;

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array().expect("a list").iter().map(|item| item[field].as_str().expect("a string").to_owned()).collect()
}

on_every_backend! {
    async fn the_backend_developer_path_carries_every_fact_of_the_seed(app) {
        let data = app.query_ok(BACKEND_DEVELOPER, json!({ "slug": "backend-developer" })).await;
        let path = &data["careerPath"];
        assert_eq!(path["title"], "Backend Developer");
        assert_eq!(path["outlook"]["demand"], "HIGH");

        let skills = path["skills"].as_array().expect("skills");
        assert_eq!(skills.len(), 9);
        assert_eq!(skills[0]["skill"]["slug"], "programming-languages");
        assert_eq!(skills[0]["importance"], "ESSENTIAL");
        assert_eq!(skills[2]["skill"]["slug"], "web-server-technologies");
        assert_eq!(skills[2]["importance"], "IMPORTANT");
        let soft: Vec<_> = skills.iter().filter(|s| s["skill"]["category"] == "SOFT").collect();
        assert_eq!(soft.len(), 3);
        let databases = &skills[1]["skill"]["technologies"];
        assert_eq!(names(databases, "slug"), ["sql", "mysql", "postgresql", "mongodb"]);

        assert_eq!(path["technologies"].as_array().expect("technologies").len(), 17);
        let responsibilities = names(&path["responsibilities"], "title");
        assert_eq!(responsibilities.len(), 8);
        assert_eq!(responsibilities[0], "Design and build server-side architecture");
        assert_eq!(responsibilities[7], "Maintain documentation");

        let roadmap = path["roadmap"].as_array().expect("roadmap");
        assert_eq!(roadmap.len(), 9);
        assert_eq!(roadmap[0]["title"], "Learn a programming language");
        assert_eq!(names(&roadmap[0]["resources"], "name"), ["Codecademy", "Udemy", "Coursera"]);
        assert_eq!(roadmap[0]["resources"][0]["kind"], "COURSE_PLATFORM");
        assert_eq!(roadmap[8]["title"], "Apply for jobs");
        assert_eq!(names(&roadmap[2]["skills"], "slug"), ["database-design-and-management"]);

        assert_eq!(
            path["salary"],
            json!({ "country": "US", "currency": "USD", "period": "YEAR", "average": 93000, "minimum": 65000,
                    "maximum": 130000, "asOf": "2023-03-01", "source": "Glassdoor" })
        );
        assert_eq!(names(&path["industries"], "slug"), ["technology", "finance", "healthcare", "e-commerce"]);
        assert_eq!(path["benefits"].as_array().expect("benefits").len(), 4);
    }

    async fn instants_are_answered_in_utc_to_the_microsecond_as_the_readme_shows(app) {
        let body = app.graphql(r#"{ careerPath(slug: "backend-developer") { createdAt updatedAt } }"#, json!({})).await;
        for field in ["createdAt", "updatedAt"] {
            let text = body["data"]["careerPath"][field].as_str().unwrap_or_else(|| panic!("{field}: {body}"));
            // Microseconds, as PostgreSQL keeps them, whichever database answers.
            assert!(text.ends_with('Z') && text.len() == "2023-03-01T12:00:00.000000Z".len(), "{field} is {text}");
            assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{field} is {text}");
        }
    }

    async fn a_career_path_is_found_by_id_as_by_slug(app) {
        let by_slug = app.query_ok("{ careerPath(slug: \"backend-developer\") { id title } }", json!({})).await;
        let id = by_slug["careerPath"]["id"].clone();
        let by_id = app.query_ok("query ($id: ID!) { careerPath(id: $id) { id title } }", json!({ "id": id })).await;
        assert_eq!(by_id, by_slug);
    }

    async fn unknown_slugs_and_ids_are_null_without_error(app) {
        let query = "query ($id: ID!) { a: careerPath(slug: \"astronaut\") { id } b: careerPath(id: $id) { id }
                     c: careerPath(id: \"not-a-uuid\") { id } d: skill(slug: \"juggling\") { id } e: technology(slug: \"cobol\") { id } }";
        let data = app.query_ok(query, json!({ "id": uuid::Uuid::now_v7().to_string() })).await;
        assert_eq!(data, json!({ "a": null, "b": null, "c": null, "d": null, "e": null }));
    }

    async fn career_paths_are_a_connection_with_search_and_skill_filters(app) {
        let query = "query ($filter: CareerPathFilter) { careerPaths(first: 10, filter: $filter) {
                       totalCount pageInfo { hasNextPage hasPreviousPage } edges { cursor node { slug } } } }";
        let all = app.query_ok(query, json!({ "filter": null })).await;
        assert_eq!(all["careerPaths"]["totalCount"], 1);
        assert_eq!(all["careerPaths"]["edges"][0]["node"]["slug"], "backend-developer");
        assert_eq!(all["careerPaths"]["pageInfo"], json!({ "hasNextPage": false, "hasPreviousPage": false }));
        for (filter, expected) in [
            (json!({ "search": "BACKEND" }), 1),
            (json!({ "search": "server-side" }), 1),
            (json!({ "search": "100%_" }), 0),
            (json!({ "skill": "security" }), 1),
            (json!({ "skill": "juggling" }), 0),
        ] {
            let data = app.query_ok(query, json!({ "filter": filter })).await;
            assert_eq!(data["careerPaths"]["totalCount"], expected, "filter {filter}");
        }
    }

    async fn skills_page_forward_with_cursors_until_the_end(app) {
        let query = "query ($after: String) { skills(first: 4, after: $after) {
                       totalCount pageInfo { hasNextPage endCursor } nodes { slug } } }";
        let mut after = Value::Null;
        let mut seen = Vec::new();
        loop {
            let data = app.query_ok(query, json!({ "after": after })).await;
            let page = &data["skills"];
            assert_eq!(page["totalCount"], 9);
            seen.extend(names(&page["nodes"], "slug"));
            if page["pageInfo"]["hasNextPage"] == json!(false) {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), 9);
        let mut sorted = seen.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 9, "no skill twice: {seen:?}");
    }

    async fn skills_filter_by_category_and_search(app) {
        let query = "query ($filter: SkillFilter) { skills(filter: $filter) { totalCount nodes { slug } } }";
        let soft = app.query_ok(query, json!({ "filter": { "category": "SOFT" } })).await;
        assert_eq!(names(&soft["skills"]["nodes"], "slug"), ["collaboration", "communication", "problem-solving"]);
        let search = app.query_ok(query, json!({ "filter": { "search": "caching" } })).await;
        assert_eq!(names(&search["skills"]["nodes"], "slug"), ["performance-optimization"]);
    }

    async fn technologies_know_their_kind_language_and_skills(app) {
        let django = app
            .query_ok("{ technology(slug: \"django\") { name kind builtOn { slug } skills { slug } } }", json!({}))
            .await;
        assert_eq!(
            django["technology"],
            json!({ "name": "Django", "kind": "FRAMEWORK", "builtOn": { "slug": "python" }, "skills": [{ "slug": "programming-languages" }] })
        );
        let databases = app
            .query_ok("{ technologies(filter: { kind: DATABASE }) { nodes { slug } } }", json!({}))
            .await;
        assert_eq!(names(&databases["technologies"]["nodes"], "slug"), ["mongodb", "mysql", "postgresql"]);
    }

    async fn a_skill_lists_the_paths_that_need_it(app) {
        let data = app
            .query_ok("{ skill(slug: \"security\") { careerPaths { importance careerPath { slug } } } }", json!({}))
            .await;
        assert_eq!(data["skill"]["careerPaths"], json!([{ "importance": "ESSENTIAL", "careerPath": { "slug": "backend-developer" } }]));
    }

    async fn every_skill_of_a_page_lists_its_paths_by_title_and_every_technology_its_skills_by_name(app) {
        // Synthetic paths each need several of the bundled skills, and the benchmark's
        // technologies are each used by several of its skills: one batch pairs many links with
        // many rows.
        careergraph_domain::synthetic::insert_career_paths(app.db(), 30, PublicationStatus::Published).await.expect("synthetic paths");
        careergraph_domain::synthetic::load_benchmark_data(app.db(), 10).await.expect("the benchmark's data");
        let data = app
            .query_ok(
                "{ skills(first: 50) { nodes { slug careerPaths { careerPath { slug title } } } } technologies(first: 50, filter: { search: \"synthetic\" }) { nodes { slug skills { slug name } } } }",
                json!({}),
            )
            .await;
        let mut linked = 0;
        for skill in data["skills"]["nodes"].as_array().expect("skills") {
            let uses = skill["careerPaths"].as_array().expect("uses");
            let path = |used: &'_ Value, field: &str| used["careerPath"][field].as_str().expect(field).to_owned();
            let slugs: std::collections::HashSet<String> = uses.iter().map(|used| path(used, "slug")).collect();
            assert_eq!(slugs.len(), uses.len(), "each path once: {skill}");
            assert!(uses.iter().map(|used| path(used, "title")).is_sorted(), "by title: {skill}");
            linked += uses.len();
        }
        assert!(linked > 30, "the synthetic paths are listed under their skills ({linked} links)");
        let mut shared = 0;
        for technology in data["technologies"]["nodes"].as_array().expect("technologies") {
            let skills = names(&technology["skills"], "name");
            assert!(skills.is_sorted(), "by name: {technology}");
            shared += usize::from(skills.len() > 1);
        }
        assert!(shared > 0, "some technology is used by more than one skill: {data}");
    }

    async fn industries_and_benefits_are_listed_by_name(app) {
        let data = app.query_ok("{ industries { name } benefits { slug } }", json!({})).await;
        assert_eq!(names(&data["industries"], "name"), ["E-commerce", "Finance", "Healthcare", "Technology"]);
        assert_eq!(data["benefits"].as_array().expect("benefits").len(), 4);
    }

    async fn salary_stats_group_by_country(app) {
        let query = "{ salaryStats(groupBy: [COUNTRY], filter: { careerPath: \"backend-developer\" }) {
                       country currency period recordCount meanAverage lowestMinimum highestMaximum experienceLevel industry { slug } } }";
        let data = app.query_ok(query, json!({})).await;
        assert_eq!(
            data["salaryStats"],
            json!([{ "country": "US", "currency": "USD", "period": "YEAR", "recordCount": 1, "meanAverage": 93000.0,
                     "lowestMinimum": 65000, "highestMaximum": 130000, "experienceLevel": null, "industry": null }])
        );
        let none = app.query_ok("{ salaryStats(filter: { country: \"FR\" }) { recordCount } }", json!({})).await;
        assert_eq!(none["salaryStats"], json!([]));
    }

    async fn skill_gap_lists_what_is_missing_most_important_first(app) {
        let query = "query ($have: [String!]!) { skillGap(careerPath: \"backend-developer\", have: $have) {
                       coverage covered { skill { slug } } missing { importance skill { slug } technologies { slug } roadmapSteps { title } } } }";
        let data = app.query_ok(query, json!({ "have": ["Python", "postgresql", "communication"] })).await;
        let gap = &data["skillGap"];
        let covered: Vec<_> = gap["covered"].as_array().expect("covered").iter().map(|c| c["skill"]["slug"].clone()).collect();
        assert_eq!(covered, ["programming-languages", "database-design-and-management", "communication"]);
        let missing = gap["missing"].as_array().expect("missing");
        assert_eq!(missing.len(), 6);
        let importances: Vec<_> = missing.iter().map(|m| m["importance"].as_str().expect("importance")).collect();
        assert_eq!(importances, ["ESSENTIAL", "ESSENTIAL", "ESSENTIAL", "IMPORTANT", "IMPORTANT", "IMPORTANT"]);
        let web = missing.iter().find(|m| m["skill"]["slug"] == "web-server-technologies").expect("web servers missing");
        assert_eq!(names(&web["technologies"], "slug"), ["apache", "nginx"]);
        assert_eq!(names(&web["roadmapSteps"], "title"), ["Learn web server technologies"]);
        assert!((gap["coverage"].as_f64().expect("coverage") - 3.0 / 9.0).abs() < 1e-9);
    }

    async fn skill_gap_refuses_unknown_slugs_and_is_null_for_unknown_paths(app) {
        let body = app.graphql("{ skillGap(careerPath: \"backend-developer\", have: [\"pyhton\"]) { coverage } }", json!({})).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
        assert!(body["errors"][0]["message"].as_str().expect("message").contains("pyhton"));
        assert_eq!(body["errors"][0]["extensions"]["field"], "have");
        let data = app.query_ok("{ skillGap(careerPath: \"astronaut\", have: []) { coverage } }", json!({})).await;
        assert_eq!(data["skillGap"], Value::Null);
    }

    /// An object's fields come in the order the query asks for them (the specification's
    /// ordered maps), not in the order they finish: a field that waits for a batched load used
    /// to land after the plain fields that follow it, in an order that could change from one
    /// request to the next. Checked on the first run of a query (guarded) and on the runs after
    /// it (prepared), through aliases, a fragment and a key asked for twice.
    async fn an_answer_keeps_the_order_of_the_query(backend: Backend) {
        let app = spawn_app_with(backend, with_metrics).await;
        let query = r#"{
          careerPaths(first: 3) { edges { node {
            skills { skill { technologies { kind name } name } importance }
            ...pay
            heading: title
            slug
            title
          } } }
          __typename
        }
        fragment pay on CareerPath { salaryRecords { asOf country } slug id }"#;
        let keys = |object: &Value| -> Vec<String> {
            object.as_object().expect("an object").keys().cloned().collect()
        };
        for run in 0..3 {
            let data = app.query_ok(query, json!({})).await;
            let unguarded = unguarded_executions(&app).await;
            assert_eq!(unguarded, f64::from(run), "run {run}: guarded first, prepared after");
            assert_eq!(keys(&data), ["careerPaths", "__typename"]);
            let edges = data["careerPaths"]["edges"].as_array().expect("edges");
            assert!(!edges.is_empty());
            for edge in edges {
                let path = &edge["node"];
                assert_eq!(keys(path), ["skills", "salaryRecords", "slug", "id", "heading", "title"]);
                for skill in path["skills"].as_array().expect("skills") {
                    assert_eq!(keys(skill), ["skill", "importance"]);
                    assert_eq!(keys(&skill["skill"]), ["technologies", "name"]);
                    for technology in skill["skill"]["technologies"].as_array().expect("technologies") {
                        assert_eq!(keys(technology), ["kind", "name"]);
                    }
                }
                for record in path["salaryRecords"].as_array().expect("records") {
                    assert_eq!(keys(record), ["asOf", "country"]);
                }
            }
        }
    }
}
