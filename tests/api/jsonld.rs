//! Career paths as schema.org `Occupation` JSON-LD: over HTTP for search engines, and in the API.

use careergraph_auth::Role;
use careergraph_domain::import::{self, Options};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::imports::{Release, release_dir};
use crate::on_both_backends;

async fn import_release(app: &TestApp, publish: bool) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = release_dir(&root, "29.1");
    Release::first().write(&dir);
    import::onet::import(app.db(), &dir, None, &Options { publish, ..Options::default() }).await.unwrap();
    let national = root.path().join("national_M2024_dl.csv");
    std::fs::write(
        &national,
        "OCC_CODE,O_GROUP,TOT_EMP,H_MEAN,A_MEAN,H_PCT10,H_PCT25,H_MEDIAN,H_PCT75,H_PCT90,A_PCT10,A_PCT25,A_MEDIAN,A_PCT75,A_PCT90,ANNUAL,HOURLY\r\n\
         15-1252,detailed,\"1,654,440\",69.50,\"144,570\",38.39,49.54,63.98,80.55,#,\"79,850\",\"103,050\",\"133,080\",\"167,540\",#,,\r\n",
    )
    .unwrap();
    import::oews::import(app.db(), &[national], None, &Options::default()).await.unwrap();
    root
}

/// Checks what schema.org and search engines expect of an `Occupation`: its type and name, and
/// for each estimated salary a `MonetaryAmountDistribution` with a currency, an ISO 8601
/// duration and at least one figure; an occupation location for salaries; categories as
/// `CategoryCode` in a code set; skills as `DefinedTerm`s.
fn assert_valid_occupation(document: &Value) {
    assert_eq!(document["@context"], "https://schema.org", "{document}");
    assert_eq!(document["@type"], "Occupation");
    assert!(document["name"].as_str().is_some_and(|name| !name.is_empty()), "{document}");
    for salary in document["estimatedSalary"].as_array().into_iter().flatten() {
        assert_eq!(salary["@type"], "MonetaryAmountDistribution", "{salary}");
        assert!(salary["currency"].as_str().is_some_and(|code| code.len() == 3), "{salary}");
        assert!(["P1Y", "P1M", "PT1H"].contains(&salary["duration"].as_str().unwrap_or_default()), "{salary}");
        let figures =
            ["minValue", "maxValue", "percentile10", "percentile25", "median", "percentile75", "percentile90"];
        assert!(figures.iter().any(|figure| salary[figure].is_number()), "{salary}");
    }
    if document.get("estimatedSalary").is_some() {
        let places = document["occupationLocation"].as_array().expect("a location for the salaries");
        assert!(
            places
                .iter()
                .all(|place| ["Country", "State", "City"].contains(&place["@type"].as_str().unwrap_or_default()))
        );
    }
    if let Some(category) = document.get("occupationalCategory") {
        assert_eq!(category["@type"], "CategoryCode");
        assert!(category["codeValue"].is_string() && category["inCodeSet"]["@type"] == "CategoryCodeSet", "{category}");
    }
    for skill in document["skills"].as_array().into_iter().flatten() {
        assert_eq!(skill["@type"], "DefinedTerm", "{skill}");
    }
}

on_both_backends! {
    async fn a_published_career_is_served_as_schema_org_json_ld_with_etag_and_304(app) {
        let _root = import_release(&app, true).await;
        let url = format!("{}/careers/software-developers.jsonld", app.address);
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/ld+json");
        let etag = response.headers()["etag"].clone();
        let document: Value = response.json().await.unwrap();
        assert_valid_occupation(&document);
        assert_eq!(document["occupationalCategory"]["codeValue"], "15-1252.00");
        assert_eq!(document["educationRequirements"], "Education 4");
        assert_eq!(document["skills"][0]["name"], "Computers and Electronics");
        assert_eq!(document["responsibilities"][0], "Modify existing software to correct errors, adapt it to new hardware, or upgrade interfaces.");
        let salary = &document["estimatedSalary"][0];
        assert_eq!((salary["currency"].as_str(), salary["duration"].as_str()), (Some("USD"), Some("P1Y")));
        assert_eq!((salary["median"].as_i64(), salary["percentile10"].as_i64()), (Some(133080), Some(79850)), "open data is public");
        assert_eq!(salary.get("percentile90"), None, "# is no figure");
        assert_eq!(document["occupationLocation"], json!([{ "@type": "Country", "name": "US" }]));
        assert!(document["creditText"].as_str().unwrap().contains("CC BY 4.0"), "{document}");

        let again = app.client.get(&url).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(again.status(), 304);

        let from_api = app.graphql("{ careerPath(slug: \"software-developers\") { jsonLd } }", json!({})).await;
        assert_eq!(from_api["data"]["careerPath"]["jsonLd"], document, "one function builds both");
    }

    async fn drafts_and_unknown_careers_are_404(app) {
        let _root = import_release(&app, false).await;
        for path in ["/careers/software-developers.jsonld", "/careers/no-such-career.jsonld", "/careers/backend-developer.json"] {
            let response = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
            assert_eq!(response.status(), 404, "{path}");
        }
        let curated = app.client.get(format!("{}/careers/backend-developer.jsonld", app.address)).send().await.unwrap();
        assert_eq!(curated.status(), 200);
        assert_valid_occupation(&curated.json().await.unwrap());
    }

    async fn a_curated_records_percentiles_keep_the_viewer_rule(app) {
        let editor = app.token_for("editor@example.com", Role::Editor).await;
        let path = app.graphql("{ careerPath(slug: \"backend-developer\") { id } }", json!({})).await;
        let create = "mutation ($input: CreateSalaryRecordInput!) { createSalaryRecord(input: $input) { salaryRecord { id } } }";
        let input = json!({ "careerPathId": path["data"]["careerPath"]["id"], "country": "DE", "currency": "EUR", "period": "YEAR",
            "average": 60000, "minimum": 45000, "maximum": 80000, "median": 58000, "source": "A survey", "asOf": "2024-01-01" });
        let created = app.as_user(&editor, create, json!({ "input": input })).await;
        assert!(created.get("errors").is_none(), "{created}");
        let query = "{ careerPath(slug: \"backend-developer\") { jsonLd(country: \"DE\") } }";
        let anonymous = app.graphql(query, json!({})).await;
        let salary = &anonymous["data"]["careerPath"]["jsonLd"]["estimatedSalary"][0];
        assert_eq!((salary["minValue"].as_i64(), salary.get("median")), (Some(45000), None), "{anonymous}");
        let viewer = app.token_for("viewer@example.com", Role::Viewer).await;
        let signed_in = app.as_user(&viewer, query, json!({})).await;
        assert_eq!(signed_in["data"]["careerPath"]["jsonLd"]["estimatedSalary"][0]["median"], 58000, "{signed_in}");
        let page = app.client.get(format!("{}/careers/backend-developer.jsonld?country=DE", app.address)).send().await.unwrap();
        let page: Value = page.json().await.unwrap();
        assert_eq!(page["estimatedSalary"][0].get("median"), None, "the page is anonymous");
    }
}
