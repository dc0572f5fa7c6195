//! O*NET and OEWS imports, on files written here in the formats the publishers ship (exact
//! headers, CRLF, `n/a`, a byte-order mark, Windows-1252, zip, xlsx), then read back through the
//! API as users would.

use std::path::{Path, PathBuf};

use careergraph_auth::Role;
use careergraph_domain::import::{self, Action, ImportError, Options, Plan};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

const SKILLS_HEADER: &str = "O*NET-SOC Code\tElement ID\tElement Name\tScale ID\tData Value\tN\tStandard Error\tLower CI Bound\tUpper CI Bound\tRecommend Suppress\tNot Relevant\tDate\tDomain Source";

/// One rating row as O*NET writes it.
fn rating(code: &str, id: &str, name: &str, scale: &str, value: &str, suppress: &str, not_relevant: &str) -> String {
    format!("{code}\t{id}\t{name}\t{scale}\t{value}\t8\t0.19\t3.60\t4.40\t{suppress}\t{not_relevant}\t08/2023\tAnalyst")
}

/// A small release: two rated occupations (one `.00`, one `.01`), one without ratings.
pub struct Release {
    pub occupations: Vec<String>,
    pub skills: Vec<String>,
    pub knowledge: Vec<String>,
    pub technologies: Vec<String>,
    pub tasks: Vec<String>,
    pub zones: Vec<String>,
    pub related: Vec<String>,
    pub titles: Vec<String>,
}

impl Release {
    pub fn first() -> Self {
        let sd = "15-1252.00";
        let bi = "15-2051.01";
        Self {
            occupations: vec![
                format!(
                    "{sd}\tSoftware Developers\tResearch, design, and develop computer and network software or specialized utility programs. Analyze user needs and develop software solutions."
                ),
                format!(
                    "{bi}\tBusiness Intelligence Analysts\tProduce financial and market intelligence by querying data repositories and generating periodic reports."
                ),
                "27-2011.00\tActors\tPlay parts in stage, television, radio, video, or film productions.".into(),
            ],
            skills: vec![
                rating(sd, "2.B.3.e", "Programming", "IM", "4.50", "N", "n/a"),
                rating(sd, "2.B.3.e", "Programming", "LV", "5.25", "N", "N"),
                rating(sd, "2.A.2.a", "Critical Thinking", "IM", "4.00", "N", "n/a"),
                rating(sd, "2.A.2.a", "Critical Thinking", "LV", "4.38", "N", "N"),
                rating(sd, "2.A.1.b", "Active Listening", "IM", "3.00", "N", "n/a"),
                rating(sd, "2.A.1.b", "Active Listening", "LV", "3.50", "N", "N"),
                rating(sd, "2.A.1.c", "Writing", "IM", "2.00", "N", "n/a"),
                rating(sd, "2.A.1.c", "Writing", "LV", "3.00", "Y", "N"),
                rating(sd, "2.A.1.d", "Speaking", "IM", "1.80", "N", "n/a"),
                rating(sd, "2.A.1.d", "Speaking", "LV", "1.00", "N", "N"),
                rating(sd, "2.B.3.l", "Repairing", "IM", "3.00", "N", "n/a"),
                rating(sd, "2.B.3.l", "Repairing", "LV", "0.00", "N", "Y"),
                rating(bi, "2.A.2.a", "Critical Thinking", "IM", "4.00", "N", "n/a"),
                rating(bi, "2.A.2.a", "Critical Thinking", "LV", "4.00", "N", "N"),
                rating(bi, "2.B.3.e", "Programming", "IM", "3.00", "N", "n/a"),
                rating(bi, "2.B.3.e", "Programming", "LV", "3.00", "N", "N"),
            ],
            knowledge: vec![
                rating(sd, "2.C.3.a", "Computers and Electronics", "IM", "4.60", "N", "n/a"),
                rating(sd, "2.C.3.a", "Computers and Electronics", "LV", "5.60", "N", "N"),
                rating(sd, "2.C.4.a", "Mathematics", "IM", "3.50", "N", "n/a"),
                rating(sd, "2.C.4.a", "Mathematics", "LV", "3.85", "N", "N"),
            ],
            technologies: vec![
                format!("{sd}\tPython\t43232405\tObject or component oriented development software\tY\tY"),
                format!("{sd}\tPostgreSQL\t43232306\tData base user interface and query software\tY\tN"),
                format!("{sd}\tGit\t43232402\tConfiguration management software\tY\tY"),
                format!("{bi}\tTableau\t43232305\tBusiness intelligence and data analysis software\tY\tN"),
                format!("{bi}\tPython\t43232405\tObject or component oriented development software\tY\tN"),
            ],
            tasks: vec![
                format!(
                    "{sd}\t16987\tModify existing software to correct errors, adapt it to new hardware, or upgrade interfaces.\tCore\t120\t08/2023\tIncumbent"
                ),
                format!(
                    "{sd}\t16988\tAnalyze user needs and software requirements to determine feasibility of design.\tCore\t118\t08/2023\tIncumbent"
                ),
                format!(
                    "{sd}\t16990\tConfer with data processing or project managers to obtain information.\tSupplemental\t95\t08/2023\tIncumbent"
                ),
                format!(
                    "{sd}\t16989\tStore, retrieve, and manipulate data for analysis of system capabilities.\tn/a\tn/a\t08/2023\tAnalyst"
                ),
                format!(
                    "{bi}\t20001\tGenerate standard or custom reports summarizing business data.\tCore\t40\t08/2023\tIncumbent"
                ),
            ],
            zones: vec![
                format!("{sd}\t4\t08/2023\tAnalyst"),
                format!("{bi}\t4\t08/2023\tAnalyst"),
                "27-2011.00\t2\t08/2023\tAnalyst".into(),
            ],
            related: vec![
                format!("{sd}\t{bi}\tPrimary-Short\t1"),
                format!("{sd}\t27-2011.00\tSupplemental\t3"),
                format!("{sd}\t15-1299.08\tPrimary-Long\t2"),
                format!("{bi}\t{sd}\tPrimary-Short\t1"),
            ],
            titles: vec![
                format!("{sd}\tBackend Engineer\tn/a\tOccupational Outlook Handbook"),
                format!("{sd}\tApplication Developer\tn/a\tEmployer Job Postings"),
                format!("{sd}\tDéveloppeur Logiciel\tn/a\tTranslations"),
                format!("{bi}\tBI Analyst\tn/a\tEmployer Job Postings"),
            ],
        }
    }

    /// The same files as O*NET names them, CRLF line ends, a byte-order mark on the occupation
    /// file and Windows-1252 alternate titles, in `dir`.
    pub fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let file = |name: &str, header: &str, rows: &[String]| {
            let mut text = String::from(header);
            for row in rows {
                text.push_str("\r\n");
                text.push_str(row);
            }
            text.push_str("\r\n");
            (dir.join(name), text)
        };
        let (path, text) = file("Occupation Data.txt", "O*NET-SOC Code\tTitle\tDescription", &self.occupations);
        std::fs::write(path, [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()).unwrap();
        for (name, header, rows) in [
            ("Skills.txt", SKILLS_HEADER, &self.skills),
            ("Knowledge.txt", SKILLS_HEADER, &self.knowledge),
            (
                "Technology Skills.txt",
                "O*NET-SOC Code\tExample\tCommodity Code\tCommodity Title\tHot Technology\tIn Demand",
                &self.technologies,
            ),
            (
                "Task Statements.txt",
                "O*NET-SOC Code\tTask ID\tTask\tTask Type\tIncumbents Responding\tDate\tDomain Source",
                &self.tasks,
            ),
            ("Job Zones.txt", "O*NET-SOC Code\tJob Zone\tDate\tDomain Source", &self.zones),
            (
                "Related Occupations.txt",
                "O*NET-SOC Code\tRelated O*NET-SOC Code\tRelatedness Tier\tIndex",
                &self.related,
            ),
        ] {
            let (path, text) = file(name, header, rows);
            std::fs::write(path, text).unwrap();
        }
        let (path, text) =
            file("Alternate Titles.txt", "O*NET-SOC Code\tAlternate Title\tShort Title\tSource(s)", &self.titles);
        let (latin1, _, _) = encoding_rs_windows_1252(&text);
        std::fs::write(path, latin1).unwrap();
        let zones: Vec<String> = (1..=5)
            .map(|zone| format!("{zone}\tZone {zone} Preparation\tExperience {zone}\tEducation {zone}\tTraining {zone}\tExamples {zone}\t({zone}.0 to < {}.0)", zone + 1))
            .collect();
        let (path, text) = file(
            "Job Zone Reference.txt",
            "Job Zone\tName\tExperience\tEducation\tJob Training\tExamples\tSVP Range",
            &zones,
        );
        std::fs::write(path, text).unwrap();
        std::fs::write(dir.join("Abilities.txt"), format!("{SKILLS_HEADER}\r\n15-1252.00\t1.A.1.a.1\tOral Comprehension\tIM\t4.00\t8\t0\t0\t0\tN\tn/a\t08/2023\tAnalyst\r\n")).unwrap();
    }
}

/// `text` in Windows-1252 (every character here has a byte there), as older O*NET files are.
fn encoding_rs_windows_1252(text: &str) -> (Vec<u8>, (), ()) {
    let bytes = text
        .chars()
        .map(|character| match character {
            'é' => 0xE9,
            other => u8::try_from(u32::from(other)).expect("a Latin-1 character"),
        })
        .collect();
    (bytes, (), ())
}

pub fn release_dir(root: &tempfile::TempDir, release: &str) -> PathBuf {
    root.path().join(format!("db_{}_text", release.replace('.', "_")))
}

async fn import_onet(app: &TestApp, dir: &Path, options: Options) -> Result<Plan, ImportError> {
    import::onet::import(app.db(), dir, None, &options).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let backend = app.db().get_database_backend();
    let row = app.db().query_one_raw(Statement::from_string(backend, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

const SOFTWARE_DEVELOPERS: &str = r#"{ careerPath(slug: "software-developers") {
    title onetSocCode status version
    jobZone { zone name education }
    skills { importance importanceScore levelScore position skill { name category } }
    technologySkills { technology { name slug } commodityTitle hot inDemand }
    technologies { name }
    responsibilities { title description }
    relatedCareerPaths { slug }
    sources { name release licence attribution }
} }"#;

on_both_backends! {
    async fn an_onet_release_becomes_draft_career_paths_with_scores_tasks_and_technologies(app) {
        let root = tempfile::tempdir().unwrap();
        let dir = release_dir(&root, "29.1");
        Release::first().write(&dir);
        let plan = import_onet(&app, &dir, Options::default()).await.unwrap();
        assert_eq!(plan.of("career path", Action::Created), 3, "{plan}");
        assert_eq!(plan.of("skill", Action::Created), 8, "{plan}");
        assert_eq!(plan.of("technology", Action::Created), 2, "Python and PostgreSQL are the curated ones: {plan}");
        assert_eq!(plan.of("responsibility", Action::Created), 5, "{plan}");
        assert!(plan.to_string().contains("1 marked Not Relevant"), "{plan}");
        assert!(plan.to_string().contains("1 skipped as Recommend Suppress"), "{plan}");

        let anonymous = app.graphql(SOFTWARE_DEVELOPERS, json!({})).await;
        assert_eq!(anonymous["data"]["careerPath"], Value::Null, "new paths are drafts: {anonymous}");
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let body = app.as_user(&editor, SOFTWARE_DEVELOPERS, json!({})).await;
        let path = &body["data"]["careerPath"];
        assert_eq!(path["status"], "DRAFT", "{body}");
        assert_eq!(path["onetSocCode"], "15-1252.00");
        assert_eq!(path["jobZone"]["zone"], 4);
        assert_eq!(path["jobZone"]["name"], "Zone 4 Preparation");
        let skills: Vec<(String, String, i64, Value)> = path["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|link| {
                let name = link["skill"]["name"].as_str().unwrap().to_owned();
                (name, link["importance"].as_str().unwrap().to_owned(), link["importanceScore"].as_i64().unwrap(), link["levelScore"].clone())
            })
            .collect();
        // (4.5 − 1) / 4 × 100 = 87.5 → 88; (5.25 − 0) / 7 × 100 = 75; Writing's level row is
        // suppressed, Speaking (20) is below 25, Repairing is Not Relevant.
        assert_eq!(
            skills,
            vec![
                ("Computers and Electronics".into(), "ESSENTIAL".into(), 90, json!(80)),
                ("Programming".into(), "ESSENTIAL".into(), 88, json!(75)),
                ("Critical Thinking".into(), "ESSENTIAL".into(), 75, json!(63)),
                ("Mathematics".into(), "IMPORTANT".into(), 63, json!(55)),
                ("Active Listening".into(), "IMPORTANT".into(), 50, json!(50)),
                ("Writing".into(), "NICE_TO_HAVE".into(), 25, Value::Null),
            ],
            "{body}"
        );
        let categories: Vec<&str> = path["skills"].as_array().unwrap().iter().map(|link| link["skill"]["category"].as_str().unwrap()).collect();
        assert_eq!(categories, ["KNOWLEDGE", "TECHNICAL", "SOFT", "KNOWLEDGE", "SOFT", "SOFT"]);

        let technologies = path["technologySkills"].as_array().unwrap();
        assert_eq!(technologies.len(), 3);
        assert_eq!(technologies[0]["commodityTitle"], "Configuration management software", "grouped by commodity: {body}");
        let python = technologies.iter().find(|used| used["technology"]["name"] == "Python").unwrap();
        assert_eq!(python["technology"]["slug"], "python", "the curated technology is reused");
        assert_eq!((python["hot"].as_bool(), python["inDemand"].as_bool()), (Some(true), Some(true)));
        let tasks: Vec<&str> = path["responsibilities"].as_array().unwrap().iter().map(|task| task["description"].as_str().unwrap()).collect();
        assert_eq!(tasks, ["Core task (O*NET task 16987).", "Core task (O*NET task 16988).", "Supplemental task (O*NET task 16990).", "O*NET task 16989."]);
        let related: Vec<&str> = path["relatedCareerPaths"].as_array().unwrap().iter().map(|p| p["slug"].as_str().unwrap()).collect();
        assert_eq!(related, ["business-intelligence-analysts", "actors"], "in O*NET's order, unknown codes left out");
        assert_eq!(path["sources"][0]["name"], "O*NET");
        assert_eq!(path["sources"][0]["release"], "29.1");
        assert!(path["sources"][0]["attribution"].as_str().unwrap().contains("CC BY 4.0"));

        let sources = app.graphql("{ dataSources { name release licence url } }", json!({})).await;
        assert_eq!(sources["data"]["dataSources"][0]["url"], "https://www.onetcenter.org/database.html", "{sources}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM technology WHERE lower(name) = 'python'").await, 1, "not duplicated");
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM career_path_alternate_title WHERE title IN ('Backend Engineer', 'Développeur Logiciel')").await,
            2,
            "Windows-1252 text is read as such"
        );
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_event WHERE action = 'import'").await as usize, 3 + 8 + 2 + 5, "one event per row made; a new path's links come with it");
    }

    async fn the_same_release_again_writes_nothing(app) {
        let root = tempfile::tempdir().unwrap();
        let dir = release_dir(&root, "29.1");
        Release::first().write(&dir);
        import_onet(&app, &dir, Options::default()).await.unwrap();
        let events = count(&app, "SELECT COUNT(*) FROM audit_event").await;
        let versions = count(&app, "SELECT SUM(version) FROM career_path").await;
        let again = import_onet(&app, &dir, Options::default()).await.unwrap();
        assert!(again.is_empty(), "{again}");
        assert!(again.to_string().contains("nothing changed"), "{again}");
        assert_eq!(again.of("career path", Action::Unchanged), 3);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_event").await, events, "no audit events");
        assert_eq!(count(&app, "SELECT SUM(version) FROM career_path").await, versions, "no new versions");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM data_source").await, 1);
    }

    async fn a_dry_run_prints_the_plan_and_writes_nothing(app) {
        let root = tempfile::tempdir().unwrap();
        let dir = release_dir(&root, "29.1");
        Release::first().write(&dir);
        let before = count(&app, "SELECT COUNT(*) FROM career_path").await;
        let plan = import_onet(&app, &dir, Options { dry_run: true, ..Options::default() }).await.unwrap();
        assert_eq!(plan.of("career path", Action::Created), 3);
        assert!(plan.to_string().contains("dry run: nothing written"), "{plan}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM career_path").await, before);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM data_source").await, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM import_record").await, 0);
    }

    async fn a_newer_release_changes_only_what_changed_and_keeps_an_editors_edit(app) {
        let root = tempfile::tempdir().unwrap();
        let first = release_dir(&root, "29.1");
        Release::first().write(&first);
        import_onet(&app, &first, Options { publish: true, ..Options::default() }).await.unwrap();
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let body = app.as_user(&editor, "{ careerPath(slug: \"software-developers\") { id version } }", json!({})).await;
        let (id, version) = (body["data"]["careerPath"]["id"].clone(), body["data"]["careerPath"]["version"].clone());
        let rename = "mutation ($id: ID!, $v: Int!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: \"Software Engineers\" }) { careerPath { version } } }";
        let renamed = app.as_user(&editor, rename, json!({ "id": id, "v": version })).await;
        assert!(renamed.get("errors").is_none(), "{renamed}");

        let mut next = Release::first();
        next.occupations[0] = "15-1252.00\tSoftware Developers and Engineers\tResearch, design, and develop computer and network software. Analyze user needs.".into();
        next.skills[0] = rating("15-1252.00", "2.B.3.e", "Programming", "IM", "4.80", "N", "n/a");
        next.tasks.retain(|task| !task.contains("16990"));
        next.technologies.retain(|used| !used.contains("\tGit\t"));
        let second = release_dir(&root, "29.2");
        next.write(&second);
        let events = count(&app, "SELECT COUNT(*) FROM audit_event WHERE action = 'import'").await;
        let plan = import_onet(&app, &second, Options::default()).await.unwrap();
        assert_eq!(plan.of("career path", Action::Updated), 1, "{plan}");
        assert_eq!(plan.of("career path", Action::Unchanged), 2, "{plan}");
        assert_eq!(plan.of("responsibility", Action::Removed), 1, "{plan}");
        assert_eq!(plan.conflicts.len(), 1, "{plan}");
        assert!(plan.conflicts[0].contains("`title` was changed by an editor"), "{plan}");

        let body = app.graphql(SOFTWARE_DEVELOPERS, json!({})).await;
        let path = &body["data"]["careerPath"];
        assert_eq!(path["title"], "Software Engineers", "the editor's title is kept: {body}");
        let description = app.graphql("{ careerPath(slug: \"software-developers\") { description summary } }", json!({})).await;
        assert_eq!(description["data"]["careerPath"]["summary"], "Research, design, and develop computer and network software.");
        assert_eq!(path["skills"][0]["skill"]["name"], "Programming", "now the first: {body}");
        assert_eq!(path["skills"][0]["importanceScore"], 95, "(4.8 − 1) / 4 = 95: {body}");
        assert_eq!(path["technologySkills"].as_array().unwrap().len(), 2, "the dropped link is removed");
        assert_eq!(path["responsibilities"].as_array().unwrap().len(), 3);
        let new_events = count(&app, "SELECT COUNT(*) FROM audit_event WHERE action = 'import'").await - events;
        // The path's fields, its skills, its technologies; the removed task, and the task after
        // it, which moved up.
        assert_eq!(new_events, 5, "one event per changed row");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM data_source").await, 2, "each release is a source");

        let third = import_onet(&app, &second, Options::default()).await.unwrap();
        assert!(third.is_empty(), "{third}");
        assert_eq!(third.conflicts.len(), 1, "the conflict is listed until someone resolves it");
    }

    async fn a_path_an_editor_deleted_is_not_recreated_and_the_import_goes_on(app) {
        let root = tempfile::tempdir().unwrap();
        let first = release_dir(&root, "29.1");
        Release::first().write(&first);
        import_onet(&app, &first, Options { publish: true, ..Options::default() }).await.unwrap();
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let found = app.as_user(&editor, "{ careerPath(slug: \"business-intelligence-analysts\") { id version } }", json!({})).await;
        let path = &found["data"]["careerPath"];
        let delete = "mutation ($id: ID!, $v: Int!) { deleteCareerPath(input: { id: $id, expectedVersion: $v, detach: true }) { deletedId } }";
        let deleted = app.as_user(&editor, delete, json!({ "id": path["id"], "v": path["version"] })).await;
        assert!(deleted.get("errors").is_none(), "{deleted}");

        let mut next = Release::first();
        next.occupations[1] = "15-2051.01\tBusiness Intelligence Analysts\tProduce intelligence. Report it.".into();
        next.tasks.push("15-2051.01\t20002\tPresent findings to managers.\tCore\t40\t08/2023\tIncumbent".into());
        next.skills.push(rating("15-2051.01", "2.A.1.b", "Active Listening", "IM", "4.00", "N", "n/a"));
        let second = release_dir(&root, "29.2");
        next.write(&second);
        let plan = import_onet(&app, &second, Options::default()).await.unwrap();
        assert!(plan.conflicts.iter().any(|conflict| conflict.contains("deleted by an editor")), "{plan}");
        assert_eq!(app.graphql("{ careerPath(slug: \"business-intelligence-analysts\") { id } }", json!({})).await["data"]["careerPath"], Value::Null);
        let related = app.graphql("{ careerPath(slug: \"software-developers\") { relatedCareerPaths { slug } } }", json!({})).await;
        assert_eq!(related["data"]["careerPath"]["relatedCareerPaths"], json!([{ "slug": "actors" }]), "{related}");
    }

    async fn an_import_never_touches_curated_rows(app) {
        let root = tempfile::tempdir().unwrap();
        let dir = release_dir(&root, "29.1");
        Release::first().write(&dir);
        let curated = "{ technology(slug: \"python\") { version name kind description } careerPath(slug: \"backend-developer\") { version title } }";
        let before = app.graphql(curated, json!({})).await;
        import_onet(&app, &dir, Options { publish: true, ..Options::default() }).await.unwrap();
        assert_eq!(app.graphql(curated, json!({})).await, before);
    }

    async fn a_zipped_release_is_read_as_published_and_unsafe_archives_are_refused(app) {
        let root = tempfile::tempdir().unwrap();
        let dir = release_dir(&root, "29.1");
        Release::first().write(&dir);
        let zipped = root.path().join("db_29_1_text.zip");
        write_zip(&zipped, &dir, &[]);
        let plan = import_onet(&app, &zipped, Options::default()).await.unwrap();
        assert_eq!(plan.of("career path", Action::Created), 3, "{plan}");

        let evil = root.path().join("db_29_2_text.zip");
        write_zip(&evil, &dir, &["../escape.txt"]);
        let refused = import_onet(&app, &evil, Options::default()).await.unwrap_err();
        assert_eq!(refused.exit_code(), 2);
        assert!(refused.to_string().contains("leaves the archive"), "{refused}");
    }

    async fn missing_files_and_columns_are_named(app) {
        let root = tempfile::tempdir().unwrap();
        let dir = release_dir(&root, "29.1");
        Release::first().write(&dir);
        std::fs::remove_file(dir.join("Task Statements.txt")).unwrap();
        let missing = import_onet(&app, &dir, Options::default()).await.unwrap_err();
        assert_eq!(missing.exit_code(), 2);
        assert!(missing.to_string().contains("no Task Statements file"), "{missing}");

        Release::first().write(&dir);
        let skills = std::fs::read_to_string(dir.join("Skills.txt")).unwrap();
        std::fs::write(dir.join("Skills.txt"), skills.replace("\tNot Relevant\t", "\tIrrelevant\t")).unwrap();
        let missing = import_onet(&app, &dir, Options::default()).await.unwrap_err();
        assert_eq!(missing.to_string(), "Skills.txt: no column `Not Relevant`");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM career_path WHERE onet_soc_code IS NOT NULL").await, 0);
    }

    async fn bad_rows_are_skipped_and_reported_until_they_pass_one_in_a_hundred(app) {
        let root = tempfile::tempdir().unwrap();
        let dir = release_dir(&root, "29.1");
        let mut release = Release::first();
        // 150 well-formed tasks, so that one bad row is under 1 % and two are over it.
        for n in 0..150 {
            release.tasks.push(format!("15-2051.01\t{}\tTask number {n}.\tCore\t10\t08/2023\tIncumbent", 30000 + n));
        }
        release.tasks.push("15-2051.1\t39999\tA code of the wrong shape.\tCore\t10\t08/2023\tIncumbent".into());
        release.tasks.push(release.tasks[0].clone());
        release.write(&dir);
        let plan = import_onet(&app, &dir, Options::default()).await.unwrap();
        let skipped = plan.skipped.join("\n");
        assert!(skipped.contains("Task Statements.txt:157: `15-2051.1` is not an O*NET-SOC code"), "{skipped}");
        assert!(skipped.contains("Task Statements.txt:158: duplicate of line 2; the first wins"), "{skipped}");

        let strict = import_onet(&app, &dir, Options { strict: true, ..Options::default() }).await.unwrap_err();
        assert_eq!(strict.exit_code(), 1);

        release.tasks.push("15-2051.01\tforty\tA task id that is no number.\tCore\t10\t08/2023\tIncumbent".into());
        release.skills.push(rating("15-1252.00", "2.A.1.e", "Mathematics", "IM", "6.5", "N", "n/a"));
        release.write(&dir);
        let tasks_before = count(&app, "SELECT COUNT(*) FROM responsibility").await;
        let failed = import_onet(&app, &dir, Options::default()).await.unwrap_err();
        assert_eq!(failed.exit_code(), 1);
        let message = failed.to_string();
        assert!(message.contains("Skills.txt: 1 of 17 rows are bad") || message.contains("Task Statements.txt: 2 of 158 rows are bad"), "{message}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM responsibility").await, tasks_before, "nothing written");
    }
}

/// Zips the files of `dir` under a folder named like it, adding an entry for each of `extra`
/// names (paths that try to leave the archive).
fn write_zip(path: &Path, dir: &Path, extra: &[&str]) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    entries.sort();
    for file in entries {
        let name = format!("{folder}/{}", file.file_name().unwrap().to_string_lossy());
        zip.start_file(name, options).unwrap();
        zip.write_all(&std::fs::read(&file).unwrap()).unwrap();
    }
    for name in extra {
        zip.start_file(*name, options).unwrap();
        zip.write_all(b"O*NET-SOC Code\tTitle\tDescription\r\n").unwrap();
    }
    zip.finish().unwrap();
}

/// An OEWS national file as BLS lays it out (the columns in their order).
const OEWS_HEADER: &str = "AREA,AREA_TITLE,AREA_TYPE,PRIM_STATE,NAICS,NAICS_TITLE,I_GROUP,OWN_CODE,OCC_CODE,OCC_TITLE,O_GROUP,TOT_EMP,EMP_PRSE,JOBS_1000,LOC_QUOTIENT,PCT_TOTAL,PCT_RPT,H_MEAN,A_MEAN,MEAN_PRSE,H_PCT10,H_PCT25,H_MEDIAN,H_PCT75,H_PCT90,A_PCT10,A_PCT25,A_MEDIAN,A_PCT75,A_PCT90,ANNUAL,HOURLY";

fn oews_row(
    area: (&str, &str, &str, &str),
    occupation: (&str, &str, &str),
    employment: &str,
    hourly: [&str; 6],
    annual: [&str; 6],
    flags: (&str, &str),
) -> Vec<String> {
    let mut row: Vec<String> = vec![
        area.0,
        area.1,
        area.2,
        area.3,
        "000000",
        "Cross-industry",
        "cross-industry",
        "1235",
        occupation.0,
        occupation.1,
        occupation.2,
        employment,
        "0.4",
        "",
        "",
        "",
        "",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    row.push(hourly[0].into());
    row.push(annual[0].into());
    row.push("0.2".into());
    row.extend(hourly[1..].iter().map(|value| (*value).to_owned()));
    row.extend(annual[1..].iter().map(|value| (*value).to_owned()));
    row.push(flags.0.into());
    row.push(flags.1.into());
    row
}

fn oews_rows(area: (&str, &str, &str, &str)) -> Vec<Vec<String>> {
    vec![
        oews_row(
            area,
            ("00-0000", "All Occupations", "total"),
            "151,853,870",
            ["31.48", "14.21", "16.88", "23.11", "36.79", "56.16"],
            ["65,470", "29,550", "35,110", "48,060", "76,530", "116,810"],
            ("", ""),
        ),
        oews_row(
            area,
            ("15-0000", "Computer and Mathematical Occupations", "major"),
            "5,177,910",
            ["54.09", "*", "*", "*", "*", "*"],
            ["112,500", "*", "*", "*", "*", "*"],
            ("", ""),
        ),
        oews_row(
            area,
            ("15-1252", "Software Developers", "detailed"),
            "1,654,440",
            ["69.50", "38.39", "49.54", "63.98", "80.55", "#"],
            ["144,570", "79,850", "103,050", "133,080", "167,540", "#"],
            ("", ""),
        ),
        oews_row(
            area,
            ("15-2051", "Data Scientists", "detailed"),
            "192,710",
            ["58.00", "29.00", "38.00", "53.00", "72.00", "94.00"],
            ["120,640", "61,070", "79,050", "108,020", "149,340", "194,410"],
            ("", ""),
        ),
        oews_row(
            area,
            ("27-2011", "Actors", "detailed"),
            "57,730",
            ["27.38", "13.00", "16.99", "23.33", "35.70", "61.08"],
            ["*", "*", "*", "*", "*", "*"],
            ("", "TRUE"),
        ),
        oews_row(
            area,
            ("11-3021", "Computer and Information Systems Managers", "detailed"),
            "591,650",
            ["87.20", "*", "*", "*", "*", "*"],
            ["*", "*", "*", "*", "*", "*"],
            ("", ""),
        ),
    ]
}

fn write_oews_csv(path: &Path, rows: &[Vec<String>]) {
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer.write_record(OEWS_HEADER.split(',')).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.flush().unwrap();
}

fn write_oews_xlsx(path: &Path, rows: &[Vec<String>]) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, name) in OEWS_HEADER.split(',').enumerate() {
        sheet.write_string(0, column as u16, name).unwrap();
    }
    for (index, row) in rows.iter().enumerate() {
        for (column, value) in row.iter().enumerate() {
            let (row_at, column_at) = (index as u32 + 1, column as u16);
            // BLS stores figures as numbers and the special marks as text.
            match value.replace(',', "").parse::<f64>() {
                Ok(number) if column >= 11 => sheet.write_number(row_at, column_at, number).unwrap(),
                _ => sheet.write_string(row_at, column_at, value).unwrap(),
            };
        }
    }
    workbook.save(path).unwrap();
}

async fn import_release_and_wages(app: &TestApp, root: &tempfile::TempDir) -> Plan {
    let dir = release_dir(root, "29.1");
    Release::first().write(&dir);
    import_onet(app, &dir, Options { publish: true, ..Options::default() }).await.unwrap();
    let national = root.path().join("national_M2024_dl.csv");
    write_oews_csv(&national, &oews_rows(("99", "U.S.", "1", "US")));
    let states = root.path().join("state_M2024_dl.xlsx");
    let mut rows = oews_rows(("06", "California", "2", "CA"));
    rows.extend(oews_rows(("48", "Texas", "2", "TX")));
    write_oews_xlsx(&states, &rows);
    import::oews::import(app.db(), &[national, states], None, &Options::default()).await.unwrap()
}

const WAGES: &str = r#"{ careerPath(slug: "software-developers") { salary(country: "US") { average minimum maximum currency period source asOf }
    salaryRecords { location period average minimum maximum percentile10 median percentile90 employment source sourceUrl notes } } }"#;

on_both_backends! {
    async fn oews_wages_become_salary_records_per_matching_path_and_state(app) {
        let root = tempfile::tempdir().unwrap();
        let plan = import_release_and_wages(&app, &root).await;
        // Software developers and data scientists (15-2051 matches 15-2051.01) in three areas;
        // actors hourly only; 11-3021 has no mean wage and no path.
        assert_eq!(plan.of("salary record", Action::Created), 9, "{plan}");
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let body = app.as_user(&viewer, WAGES, json!({})).await;
        let path = &body["data"]["careerPath"];
        assert_eq!(path["salary"]["average"], 144570, "{body}");
        assert_eq!(path["salary"]["period"], "YEAR");
        assert_eq!(path["salary"]["asOf"], "2024-05-01");
        assert_eq!(path["salary"]["source"], "BLS OEWS May 2024");
        let records = path["salaryRecords"].as_array().unwrap();
        assert_eq!(records.len(), 3, "{body}");
        let national = records.iter().find(|record| record["location"].is_null()).unwrap();
        assert_eq!(national["employment"], 1654440, "1,654,440 is a number");
        assert_eq!(national["percentile90"], Value::Null, "# is above the top wage code");
        assert_eq!(national["maximum"], 167540, "the highest published percentile");
        assert_eq!((national["minimum"].as_i64(), national["median"].as_i64()), (Some(79850), Some(133080)));
        assert!(national["notes"].as_str().unwrap().contains("top wage code"));
        let california = records.iter().find(|record| record["location"] == "California").unwrap();
        assert_eq!(california["average"], 144570, "the xlsx state file reads the same figures");

        let actors = app.as_user(&viewer, "{ careerPath(slug: \"actors\") { salaryRecords { period average minimum maximum } } }", json!({})).await;
        assert_eq!(actors["data"]["careerPath"]["salaryRecords"][0], json!({ "period": "HOUR", "average": 27, "minimum": 13, "maximum": 61 }), "{actors}");

        let again = import::oews::import(app.db(), &[root.path().join("national_M2024_dl.csv"), root.path().join("state_M2024_dl.xlsx")], None, &Options::default()).await.unwrap();
        assert!(again.is_empty(), "{again}");
        let sources = app.graphql("{ careerPath(slug: \"software-developers\") { sources { name release } } }", json!({})).await;
        let names: Vec<&str> = sources["data"]["careerPath"]["sources"].as_array().unwrap().iter().map(|source| source["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"O*NET") && names.contains(&"BLS OEWS"), "{sources}");
    }

    async fn oews_refuses_soc_2010_releases_and_names_missing_columns(app) {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("national_M2018_dl.csv");
        write_oews_csv(&old, &oews_rows(("99", "U.S.", "1", "US")));
        let refused = import::oews::import(app.db(), &[old], None, &Options::default()).await.unwrap_err();
        assert_eq!(refused.exit_code(), 2);
        assert!(refused.to_string().contains("SOC 2010"), "{refused}");

        let headless = root.path().join("national_M2024_dl.csv");
        std::fs::write(&headless, "OCC_CODE,TOT_EMP\r\n15-1252,\"1,654,440\"\r\n").unwrap();
        let missing = import::oews::import(app.db(), &[headless], None, &Options::default()).await.unwrap_err();
        assert_eq!(missing.to_string(), "national_M2024_dl.csv: no column `O_GROUP`");
    }
}
