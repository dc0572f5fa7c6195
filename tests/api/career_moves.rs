//! The graph answers (`careerMoves`, `nextSkills`, `Skill.relatedSkills`) checked against
//! numbers worked out by hand on four small paths, on both databases.
//!
//! The paths, with their skills' importance scores (0–100):
//!
//! | path        | status    | zone | graph-a | graph-b | graph-c | graph-d | graph-e | median  |
//! |-------------|-----------|------|---------|---------|---------|---------|---------|---------|
//! | graph-one   | published | 2    | 80      | 60      | 40      |         |         | 100,000 |
//! | graph-two   | published | 3    | 80      | 60      |         | 40      |         |  90,000 |
//! | graph-three | published | 4    | 20      |         | 80      |         | 60      | 130,000 |
//! | graph-four  | draft     | 2    | 80      | 60      | 40      | 20      |         |         |
//!
//! Totals: one 180, two 180, three 160, four 200. O*NET lists three as related to one.

use careergraph_auth::Role;
use careergraph_domain::entities::{career_path, career_path_skill, related_career_path, salary_record, skill};
use careergraph_domain::enums::{Demand, Importance, PayPeriod, PublicationStatus, SkillCategory};
use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};

use crate::helpers::{TestApp, first_error_code};
use crate::on_both_backends;

type PathSpec = (&'static str, &'static str, i32, PublicationStatus, &'static [(&'static str, i32)], Option<i64>);

const PATHS: [PathSpec; 4] = [
    ("graph-one", "Graph One", 2, PublicationStatus::Published, &[("a", 80), ("b", 60), ("c", 40)], Some(100_000)),
    ("graph-two", "Graph Two", 3, PublicationStatus::Published, &[("a", 80), ("b", 60), ("d", 40)], Some(90_000)),
    ("graph-three", "Graph Three", 4, PublicationStatus::Published, &[("a", 20), ("c", 80), ("e", 60)], Some(130_000)),
    ("graph-four", "Graph Four", 2, PublicationStatus::Draft, &[("a", 80), ("b", 60), ("c", 40), ("d", 20)], None),
];

/// Writes the four paths as an import would (scored skills, job zones, a related pair, curated
/// national medians), then derives the graph tables, as a bulk load does.
async fn four_paths(app: &TestApp) {
    let db = app.db();
    let mut skills = std::collections::HashMap::new();
    for name in ["a", "b", "c", "d", "e"] {
        let row = skill::ActiveModel {
            slug: Set(format!("graph-{name}")),
            name: Set(format!("Graph skill {name}")),
            category: Set(SkillCategory::Technical),
            description: Set("For the graph tests.".into()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        skills.insert(name, row.id);
    }
    let mut ids = std::collections::HashMap::new();
    for (slug, title, zone, status, links, median) in PATHS {
        let path = career_path::ActiveModel {
            slug: Set(slug.into()),
            title: Set(title.into()),
            summary: Set("For the graph tests.".into()),
            description: Set("For the graph tests.".into()),
            outlook_demand: Set(Demand::Moderate),
            outlook_summary: Set("Steady.".into()),
            status: Set(status),
            internal_notes: Set(None),
            onet_soc_code: Set(None),
            job_zone: Set(Some(zone)),
            published_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        ids.insert(slug, path.id);
        for (position, (name, score)) in (0..).zip(links.iter()) {
            let importance = match score {
                75.. => Importance::Essential,
                50.. => Importance::Important,
                _ => Importance::NiceToHave,
            };
            career_path_skill::ActiveModel {
                career_path_id: Set(path.id),
                skill_id: Set(skills[name]),
                importance: Set(importance),
                position: Set(position),
                importance_score: Set(Some(*score)),
                level_score: Set(None),
            }
            .insert(db)
            .await
            .unwrap();
        }
        if let Some(median) = median {
            salary_record::ActiveModel {
                career_path_id: Set(path.id),
                country: Set("US".into()),
                currency: Set("USD".into()),
                period: Set(PayPeriod::Year),
                experience_level: Set(None),
                industry_id: Set(None),
                location: Set(None),
                average: Set(median),
                minimum: Set(median / 2),
                maximum: Set(median * 2),
                percentile_10: Set(None),
                percentile_25: Set(None),
                median: Set(Some(median)),
                percentile_75: Set(None),
                percentile_90: Set(None),
                sample_size: Set(Some(50)),
                employment: Set(None),
                source: Set("graph tests".into()),
                source_url: Set(None),
                as_of: Set(NaiveDate::from_ymd_opt(2025, 5, 1).unwrap()),
                notes: Set(None),
                ..Default::default()
            }
            .insert(db)
            .await
            .unwrap();
        }
    }
    related_career_path::ActiveModel {
        career_path_id: Set(ids["graph-one"]),
        related_career_path_id: Set(ids["graph-three"]),
        position: Set(0),
        relatedness_tier: Set(Some("Primary-Short".into())),
    }
    .insert(db)
    .await
    .unwrap();
    careergraph_domain::graph::rebuild(db).await.unwrap();
}

const MOVES: &str =
    "query ($from: String!, $first: Int, $after: String, $order: CareerMoveOrder, $filter: CareerMoveFilter) {
    careerMoves(from: $from, first: $first, after: $after, orderBy: $order, filter: $filter) {
        edges { cursor node {
            careerPath { slug } similarity medianPayChange jobZoneChange relatednessTier
            sharedSkills { skill { slug } fromScore toScore }
            skillsToLearn { skill { slug } fromScore toScore gap }
        } }
        pageInfo { hasNextPage endCursor }
    } }";

async fn ask(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Value {
    match token {
        Some(token) => app.as_user(token, query, variables).await,
        None => app.graphql(query, variables).await,
    }
}

fn edges(body: &Value) -> &Vec<Value> {
    body["data"]["careerMoves"]["edges"].as_array().unwrap_or_else(|| panic!("{body}"))
}

fn targets(body: &Value) -> Vec<&str> {
    edges(body).iter().map(|edge| edge["node"]["careerPath"]["slug"].as_str().unwrap()).collect()
}

fn close(actual: &Value, expected: f64) -> bool {
    actual.as_f64().is_some_and(|actual| (actual - expected).abs() < 1e-9)
}

/// (slug, fromScore, toScore) of a list of skill comparisons.
fn compared(list: &Value) -> Vec<(String, Option<f64>, f64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["skill"]["slug"].as_str().unwrap().to_owned(),
                item["fromScore"].as_f64(),
                item["toScore"].as_f64().unwrap(),
            )
        })
        .collect()
}

const NEXT: &str = "query ($have: [String!]!, $first: Int, $towards: [String!]) {
    nextSkills(have: $have, first: $first, towards: $towards) { skill { slug } value lifts { slug } } }";

/// (slug, value, lifted slugs) of the test's own skills, in the answer's order.
fn next_of_ours(body: &Value) -> Vec<(String, f64, Vec<String>)> {
    body["data"]["nextSkills"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .filter(|next| next["skill"]["slug"].as_str().unwrap().starts_with("graph-"))
        .map(|next| {
            let lifts = next["lifts"].as_array().unwrap().iter().map(|path| path["slug"].as_str().unwrap().to_owned());
            (next["skill"]["slug"].as_str().unwrap().to_owned(), next["value"].as_f64().unwrap(), lifts.collect())
        })
        .collect()
}

const RELATED: &str = "query ($slug: String!, $first: Int) { skill(slug: $slug) { relatedSkills(first: $first) { skill { slug } strength } } }";

fn related(body: &Value) -> Vec<(String, f64)> {
    body["data"]["skill"]["relatedSkills"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|item| (item["skill"]["slug"].as_str().unwrap().to_owned(), item["strength"].as_f64().unwrap()))
        .collect()
}

on_both_backends! {
    async fn career_moves_match_the_hand_computed_similarities_gaps_and_pay(app) {
        four_paths(&app).await;
        let anonymous = ask(&app, None, MOVES, json!({ "from": "graph-one" })).await;
        // one → two: min 80 + 60 = 140 over 180 + 180 − 140; one → three: 20 + 40 = 60 over 180 + 160 − 60.
        assert_eq!(targets(&anonymous), ["graph-two", "graph-three"], "the draft is hidden: {anonymous}");
        let (two, three) = (&edges(&anonymous)[0]["node"], &edges(&anonymous)[1]["node"]);
        assert!(close(&two["similarity"], 140.0 / 220.0), "{two}");
        assert!(close(&three["similarity"], 60.0 / 280.0), "{three}");
        assert_eq!(compared(&two["skillsToLearn"]), [("graph-d".to_owned(), None, 40.0)]);
        assert_eq!(
            compared(&three["skillsToLearn"]),
            [("graph-e".to_owned(), None, 60.0), ("graph-c".to_owned(), Some(40.0), 80.0)],
            "largest gap first"
        );
        assert_eq!(
            compared(&three["sharedSkills"]),
            [("graph-c".to_owned(), Some(40.0), 80.0), ("graph-a".to_owned(), Some(80.0), 20.0)]
        );
        assert!(close(&three["skillsToLearn"][0]["gap"], 60.0));
        assert_eq!(two["jobZoneChange"], 1);
        assert_eq!(three["jobZoneChange"], 2);
        assert_eq!(three["relatednessTier"], "Primary-Short");
        assert_eq!(two["relatednessTier"], Value::Null);
        assert_eq!(two["medianPayChange"], Value::Null, "curated medians are compared for VIEWERs only: {two}");

        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let by_pay = ask(&app, Some(&viewer), MOVES, json!({ "from": "graph-one", "order": "PAY_GAIN" })).await;
        assert_eq!(targets(&by_pay), ["graph-three", "graph-two"], "{by_pay}");
        assert_eq!(edges(&by_pay)[0]["node"]["medianPayChange"], 30_000);
        assert_eq!(edges(&by_pay)[1]["node"]["medianPayChange"], -10_000);
        let fewest = ask(&app, None, MOVES, json!({ "from": "graph-three", "order": "FEWEST_TO_LEARN" })).await;
        // From three: one asks more of a and b (2 skills), two more of a, b and d (3).
        assert_eq!(targets(&fewest), ["graph-one", "graph-two"], "{fewest}");

        let near = ask(&app, None, MOVES, json!({ "from": "graph-one", "filter": { "maxJobZoneIncrease": 1 } })).await;
        assert_eq!(targets(&near), ["graph-two"], "{near}");
        let alike = ask(&app, None, MOVES, json!({ "from": "graph-one", "filter": { "minSimilarity": 0.5 } })).await;
        assert_eq!(targets(&alike), ["graph-two"], "{alike}");

        let first = ask(&app, None, MOVES, json!({ "from": "graph-one", "first": 1 })).await;
        assert_eq!(targets(&first), ["graph-two"]);
        assert_eq!(first["data"]["careerMoves"]["pageInfo"]["hasNextPage"], true);
        let after = first["data"]["careerMoves"]["pageInfo"]["endCursor"].clone();
        let second = ask(&app, None, MOVES, json!({ "from": "graph-one", "first": 1, "after": after })).await;
        assert_eq!(targets(&second), ["graph-three"], "{second}");
        assert_eq!(second["data"]["careerMoves"]["pageInfo"]["hasNextPage"], false);

        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let drafts = ask(&app, Some(&editor), MOVES, json!({ "from": "graph-one" })).await;
        // one → four: 80 + 60 + 40 = 180 over 180 + 200 − 180.
        assert_eq!(targets(&drafts), ["graph-four", "graph-two", "graph-three"], "{drafts}");
        assert!(close(&edges(&drafts)[0]["node"]["similarity"], 0.9));
        let from_draft = ask(&app, None, MOVES, json!({ "from": "graph-four" })).await;
        assert_eq!(first_error_code(&from_draft), "BAD_USER_INPUT", "a draft is no path to anonymous callers: {from_draft}");
    }

    async fn next_skills_rank_by_fit_gained_and_list_the_paths_they_lift(app) {
        four_paths(&app).await;
        let body = ask(&app, None, NEXT, json!({ "have": ["graph-a"], "first": 50 })).await;
        // Fits with a alone: one 80/180, two 80/180, three 20/160. Values, Σ score × score/total:
        // c 40·40/180 + 80·80/160, b 60·60/180 twice, e 60·60/160, d 40·40/180. Only b lifts
        // paths past 0.7: one and two reach 140/180.
        let ours = next_of_ours(&body);
        let names: Vec<&str> = ours.iter().map(|(slug, _, _)| slug.as_str()).collect();
        assert_eq!(names, ["graph-c", "graph-b", "graph-e", "graph-d"], "{body}");
        let expected = [1600.0 / 180.0 + 40.0, 40.0, 22.5, 1600.0 / 180.0];
        for ((slug, value, _), expected) in ours.iter().zip(expected) {
            assert!((value - expected).abs() < 1e-9, "{slug}: {value} ≠ {expected}");
        }
        assert_eq!(ours[1].2, ["graph-one", "graph-two"], "lifted past 0.7, by title");
        assert!(ours.iter().filter(|(slug, _, _)| slug != "graph-b").all(|(_, _, lifts)| lifts.is_empty()));

        let towards = ask(&app, None, NEXT, json!({ "have": ["graph-a"], "towards": ["graph-three"] })).await;
        let ours = next_of_ours(&towards);
        assert_eq!(ours.iter().map(|(slug, value, _)| (slug.as_str(), *value)).collect::<Vec<_>>(), [("graph-c", 40.0), ("graph-e", 22.5)]);

        // The draft counts for editors: b gains 60·60/200, c 40·40/200, d 20·20/200.
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let drafts = ask(&app, Some(&editor), NEXT, json!({ "have": ["graph-a"], "first": 50 })).await;
        let names: Vec<String> = next_of_ours(&drafts).into_iter().map(|(slug, _, _)| slug).collect();
        assert_eq!(names, ["graph-b", "graph-c", "graph-e", "graph-d"], "{drafts}");
        let hidden = ask(&app, None, NEXT, json!({ "have": ["graph-a"], "towards": ["graph-four"] })).await;
        assert_eq!(first_error_code(&hidden), "BAD_USER_INPUT", "a draft is no path to anonymous callers: {hidden}");
    }

    async fn related_skills_sum_the_smaller_score_over_the_paths_listing_both(app) {
        four_paths(&app).await;
        let body = ask(&app, None, RELATED, json!({ "slug": "graph-a" })).await;
        let expected = [("graph-b", 120.0), ("graph-c", 60.0), ("graph-d", 40.0), ("graph-e", 20.0)];
        assert_eq!(related(&body), expected.map(|(slug, strength)| (slug.to_owned(), strength)), "{body}");
        let two = ask(&app, None, RELATED, json!({ "slug": "graph-a", "first": 2 })).await;
        assert_eq!(related(&two).len(), 2);
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let drafts = ask(&app, Some(&editor), RELATED, json!({ "slug": "graph-a" })).await;
        let expected = [("graph-b", 180.0), ("graph-c", 100.0), ("graph-d", 60.0), ("graph-e", 20.0)];
        assert_eq!(related(&drafts), expected.map(|(slug, strength)| (slug.to_owned(), strength)), "{drafts}");
    }

    async fn an_edit_of_a_paths_skills_or_status_changes_the_next_answer(app) {
        four_paths(&app).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let path = app.as_user(&editor, "{ careerPath(slug: \"graph-two\") { id version } }", json!({})).await;
        let (id, version) = (path["data"]["careerPath"]["id"].clone(), path["data"]["careerPath"]["version"].clone());
        let set = "mutation ($input: SetCareerPathSkillsInput!) { setCareerPathSkills(input: $input) { careerPath { version } } }";
        let input = json!({ "input": { "id": id, "expectedVersion": version, "skills": [{ "skill": "graph-e", "importance": "ESSENTIAL" }] } });
        let changed = app.as_user(&editor, set, input).await;
        assert!(changed.get("errors").is_none(), "{changed}");
        // Two now shares nothing with one; a goes with b in one only.
        let moves = ask(&app, None, MOVES, json!({ "from": "graph-one" })).await;
        assert_eq!(targets(&moves), ["graph-three"], "{moves}");
        let body = ask(&app, None, RELATED, json!({ "slug": "graph-a" })).await;
        assert_eq!(related(&body).first(), Some(&("graph-b".to_owned(), 60.0)), "{body}");
        // e now weighs 87.5 (ESSENTIAL's midpoint) in two, beside 60 in three: e and c go together in three only.
        let with_e = ask(&app, None, RELATED, json!({ "slug": "graph-e" })).await;
        assert_eq!(related(&with_e), [("graph-c".to_owned(), 60.0), ("graph-a".to_owned(), 20.0)], "{with_e}");
        // Two, now e alone, shares nothing with `have`, yet e alone lifts it from fit 0 to 1.
        let next = ask(&app, None, NEXT, json!({ "have": ["graph-a"], "first": 50 })).await;
        let e = next_of_ours(&next).into_iter().find(|(slug, _, _)| slug == "graph-e").expect("e is ranked");
        assert_eq!(e.2, ["graph-two"], "{next}");

        // Publishing the draft brings it to everyone.
        let four = app.as_user(&editor, "{ careerPath(slug: \"graph-four\") { id version } }", json!({})).await;
        let publish = "mutation ($input: CareerPathVersionInput!) { publishCareerPath(input: $input) { careerPath { status } } }";
        let input = json!({ "input": { "id": four["data"]["careerPath"]["id"], "expectedVersion": four["data"]["careerPath"]["version"] } });
        let published = app.as_user(&editor, publish, input).await;
        assert!(published.get("errors").is_none(), "{published}");
        let moves = ask(&app, None, MOVES, json!({ "from": "graph-one" })).await;
        assert_eq!(targets(&moves), ["graph-four", "graph-three"], "{moves}");

        // Deleting a path takes it out of every answer.
        let four = app.as_user(&editor, "{ careerPath(slug: \"graph-four\") { id version } }", json!({})).await;
        let delete = "mutation ($input: DeleteInput!) { deleteCareerPath(input: $input) { deletedId } }";
        let input = json!({ "input": { "id": four["data"]["careerPath"]["id"], "expectedVersion": four["data"]["careerPath"]["version"] } });
        let deleted = app.as_user(&editor, delete, input).await;
        assert!(deleted.get("errors").is_none(), "{deleted}");
        let moves = ask(&app, None, MOVES, json!({ "from": "graph-one" })).await;
        assert_eq!(targets(&moves), ["graph-three"], "{moves}");
    }

    async fn concurrent_edits_all_succeed_and_leave_the_answers_a_rebuild_gives(app) {
        four_paths(&app).await;
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let moves_of_all = async || {
            let mut answers = Vec::new();
            for from in ["graph-one", "graph-two", "graph-three", "graph-four"] {
                answers.push(ask(&app, Some(&editor), MOVES, json!({ "from": from })).await);
            }
            answers
        };
        let set = "mutation ($input: SetCareerPathSkillsInput!) { setCareerPathSkills(input: $input) { careerPath { version } } }";
        let skill_sets = [["graph-a", "graph-e"], ["graph-b", "graph-c"], ["graph-a", "graph-d"], ["graph-c", "graph-e"]];
        for round in 0..3 {
            // Every path's skills replaced at once: each edit's upkeep touches the lists the others rewrite.
            let edits = ["graph-one", "graph-two", "graph-three", "graph-four"].into_iter().enumerate().map(|(n, slug)| {
                let (app, editor) = (&app, &editor);
                async move {
                    let query = format!("{{ careerPath(slug: \"{slug}\") {{ id version }} }}");
                    let path = app.as_user(editor, &query, json!({})).await;
                    let skills = skill_sets[(n + round) % 4].map(|skill| json!({ "skill": skill, "importance": "ESSENTIAL" }));
                    let input = json!({ "input": { "id": path["data"]["careerPath"]["id"], "expectedVersion": path["data"]["careerPath"]["version"], "skills": skills } });
                    app.as_user(editor, set, input).await
                }
            });
            for body in futures::future::join_all(edits).await {
                assert!(body.get("errors").is_none(), "round {round}: {body}");
            }
        }
        let after_edits = moves_of_all().await;
        careergraph_domain::graph::rebuild(app.db()).await.unwrap();
        assert_eq!(after_edits, moves_of_all().await, "the tables the edits left are the ones a rebuild makes");
    }

    async fn graph_answers_cost_the_same_few_statements_whatever_the_page_size(app) {
        four_paths(&app).await;
        let count = async |query: &str, variables: Value| {
            let before = app.statement_count();
            let body = app.graphql(query, variables).await;
            assert!(body.get("errors").is_none(), "{body}");
            app.statement_count() - before
        };
        let one = count(MOVES, json!({ "from": "graph-one", "first": 1 })).await;
        let two = count(MOVES, json!({ "from": "graph-one", "first": 2 })).await;
        assert!(one <= 3 && one == two, "careerMoves: {one} statements for one move, {two} for two");
        let one = count(NEXT, json!({ "have": ["graph-a"], "first": 1 })).await;
        let many = count(NEXT, json!({ "have": ["graph-a", "graph-b"], "first": 20 })).await;
        assert!(one <= 3 && one == many, "nextSkills: {one} statements for one skill, {many} for twenty");
        let towards = count(NEXT, json!({ "have": ["graph-a"], "towards": ["graph-one", "graph-two"] })).await;
        assert!(towards <= 3, "nextSkills towards two paths: {towards} statements");
        let related_one = count("{ skills(first: 1) { nodes { relatedSkills { strength } } } }", json!({})).await;
        let related_many = count("{ skills(first: 20) { nodes { relatedSkills { strength } } } }", json!({})).await;
        assert_eq!(related_one, related_many, "relatedSkills is batched");
    }

    async fn bad_graph_input_gets_a_coded_error(app) {
        four_paths(&app).await;
        let cases = [
            (MOVES.to_owned(), json!({ "from": "no-such-path" })),
            (MOVES.to_owned(), json!({ "from": "graph-one", "first": 51 })),
            (MOVES.to_owned(), json!({ "from": "graph-one", "first": 0 })),
            (MOVES.to_owned(), json!({ "from": "graph-one", "after": "not a cursor" })),
            (MOVES.to_owned(), json!({ "from": "graph-one", "filter": { "minSimilarity": 1.5 } })),
            (MOVES.to_owned(), json!({ "from": "graph-one", "filter": { "country": "United States" } })),
            (NEXT.to_owned(), json!({ "have": [] })),
            (NEXT.to_owned(), json!({ "have": ["no-such-skill"] })),
            (NEXT.to_owned(), json!({ "have": ["graph-a"], "first": 51 })),
            (NEXT.to_owned(), json!({ "have": ["graph-a"], "towards": ["no-such-path"] })),
            (NEXT.to_owned(), json!({ "have": (0..10_000).map(|n| format!("skill-{n}")).collect::<Vec<_>>() })),
            (RELATED.to_owned(), json!({ "slug": "graph-a", "first": 51 })),
        ];
        for (query, variables) in cases {
            let body = app.graphql(&query, variables.clone()).await;
            let code = first_error_code(&body);
            assert_eq!(code, "BAD_USER_INPUT", "{variables}: {body}");
        }
        let healthy = ask(&app, None, MOVES, json!({ "from": "graph-one" })).await;
        assert_eq!(targets(&healthy).len(), 2, "the server keeps serving");
    }
}
