//! A career path as schema.org's `Occupation` in JSON-LD, for search engines and anyone who
//! reads linked data: one function builds it for the API's `CareerPath.jsonLd` and for
//! `GET /careers/{slug}.jsonld` alike.
//!
//! Wages from open data (BLS OEWS, public domain) are published whole; a curated record's detail
//! (its percentiles) keeps the API's rule and appears only when the caller may read it.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Result;
use crate::entities::{career_path, import_record, salary_record};
use crate::enums::PayPeriod;
use crate::projection::Columns;
use crate::queries::career_paths;

/// The O*NET-SOC code set, as a `CategoryCodeSet`.
fn onet_code_set() -> Value {
    json!({ "@type": "CategoryCodeSet", "name": "O*NET-SOC", "url": "https://www.onetcenter.org/taxonomy.html" })
}

/// schema.org's ISO 8601 duration of a pay period.
fn duration(period: PayPeriod) -> &'static str {
    match period {
        PayPeriod::Hour => "PT1H",
        PayPeriod::Month => "P1M",
        PayPeriod::Year => "P1Y",
    }
}

/// `path` as a schema.org `Occupation`, with the salaries of `country` (ISO 3166-1 alpha-2).
/// `curated_detail` says whether the caller may read curated salary records' detail.
pub async fn occupation(
    db: &impl ConnectionTrait,
    path: &career_path::Model,
    country: &str,
    curated_detail: bool,
) -> Result<Value> {
    let ids = [path.id];
    let skills = career_paths::skills(db, &ids, Columns::all(), Columns::all()).await?;
    let responsibilities = career_paths::responsibilities(db, &ids, Columns::all()).await?;
    let country = country.trim().to_uppercase();
    let records: Vec<salary_record::Model> = career_paths::salary_records(db, &ids, Columns::all())
        .await?
        .into_iter()
        .filter(|record| record.country == country && record.experience_level.is_none() && record.industry_id.is_none())
        .collect();
    let open: HashSet<Uuid> = import_record::Entity::find()
        .select_only()
        .column(import_record::Column::EntityId)
        .filter(import_record::Column::EntityType.eq(crate::audit::EntityKind::SalaryRecord.name()))
        .filter(import_record::Column::EntityId.is_in(records.iter().map(|record| record.id)))
        .filter(import_record::Column::SourceKey.starts_with(crate::import::oews::KEY_PREFIX))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let zone = match path.job_zone {
        Some(zone) => career_paths::job_zones(db, &[zone]).await?.pop(),
        None => None,
    };
    let sources = career_paths::sources(db, &ids).await?;

    let mut fields = serde_json::Map::new();
    fields.insert("@context".into(), json!("https://schema.org"));
    fields.insert("@type".into(), json!("Occupation"));
    fields.insert("name".into(), json!(path.title));
    fields.insert("description".into(), json!(path.description));
    let skills: Vec<Value> =
        skills.iter().map(|(_, skill)| json!({ "@type": "DefinedTerm", "name": skill.name })).collect();
    fields.insert("skills".into(), Value::Array(skills));
    let tasks: Vec<Value> = responsibilities.iter().map(|task| json!(task.title)).collect();
    fields.insert("responsibilities".into(), Value::Array(tasks));
    if let Some(code) = &path.onet_soc_code {
        fields.insert(
            "occupationalCategory".into(),
            json!({ "@type": "CategoryCode", "codeValue": code, "inCodeSet": onet_code_set() }),
        );
    }
    if let Some(zone) = zone {
        fields.insert("educationRequirements".into(), Value::String(zone.education));
        fields.insert("experienceRequirements".into(), Value::String(zone.experience));
    }
    let mut locations = Vec::new();
    let salaries: Vec<Value> = records
        .iter()
        .map(|record| {
            let mut salary = json!({
                "@type": "MonetaryAmountDistribution",
                "name": "base",
                "currency": record.currency,
                "duration": duration(record.period),
                "minValue": record.minimum,
                "maxValue": record.maximum,
            });
            if curated_detail || open.contains(&record.id) {
                let percentiles = [
                    ("percentile10", record.percentile_10),
                    ("percentile25", record.percentile_25),
                    ("median", record.median),
                    ("percentile75", record.percentile_75),
                    ("percentile90", record.percentile_90),
                ];
                for (name, value) in percentiles {
                    if let (Some(value), Some(salary)) = (value, salary.as_object_mut()) {
                        salary.insert(name.into(), json!(value));
                    }
                }
            }
            let place = match &record.location {
                Some(state) => json!({ "@type": "State", "name": state, "containedInPlace": { "@type": "Country", "name": record.country } }),
                None => json!({ "@type": "Country", "name": record.country }),
            };
            if !locations.contains(&place) {
                locations.push(place);
            }
            salary
        })
        .collect();
    if !salaries.is_empty() {
        fields.insert("estimatedSalary".into(), Value::Array(salaries));
        fields.insert("occupationLocation".into(), Value::Array(locations));
    }
    if !sources.is_empty() {
        let credit: Vec<String> = sources.iter().map(|(_, source)| source.attribution.clone()).collect();
        fields.insert("creditText".into(), Value::String(credit.join(" ")));
        fields.insert(
            "isBasedOn".into(),
            Value::Array(
                sources
                    .iter()
                    .map(|(_, source)| {
                        json!({ "@type": "Dataset", "name": format!("{} {}", source.name, source.release), "url": source.url, "license": source.licence })
                    })
                    .collect(),
            ),
        );
    }
    Ok(Value::Object(fields))
}
