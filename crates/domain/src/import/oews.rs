//! The BLS Occupational Employment and Wage Statistics (public domain) as salary records: one per
//! career path whose O*NET-SOC code falls under an OEWS occupation, nationally and per state,
//! from the release's xlsx files or a CSV export of them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::files::{decode, sha256};
use super::outcome::{BadRows, ImportError, Options, Plan};
use super::provenance::Source;
use super::store::{Kind, Store, Ty, Wanted};
use crate::Db;
use crate::audit::EntityKind;
use crate::entities::career_path;

/// Where the releases are published.
pub const URL: &str = "https://www.bls.gov/oes/tables.htm";

/// What the source key of every salary record an OEWS import wrote starts with: the mark of a
/// record that is open data (public domain), whose detail anyone may read.
pub const KEY_PREFIX: &str = "oews:";

/// The first May whose OEWS release uses SOC 2018 codes, which O*NET's taxonomy follows.
const FIRST_SOC_2018_YEAR: i32 = 2019;

/// A sheet or CSV: its header (upper-cased) and its rows with their line numbers.
struct Sheet {
    name: String,
    sha256: String,
    columns: HashMap<String, usize>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Sheet {
    fn column(&self, name: &str) -> Result<usize, ImportError> {
        self.columns
            .get(name)
            .copied()
            .ok_or_else(|| ImportError::missing(format!("{}: no column `{name}`", self.name)))
    }
}

fn read_sheet(path: &Path) -> Result<Sheet, ImportError> {
    let unreadable = |error: &dyn std::fmt::Display| ImportError::missing(format!("{}: {error}", path.display()));
    let bytes = std::fs::read(path).map_err(|error| unreadable(&error))?;
    let name = path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
    let sha256 = sha256(&bytes);
    let is_xlsx = path.extension().is_some_and(|extension| {
        ["xlsx", "xls", "xlsb", "ods"].iter().any(|known| extension.eq_ignore_ascii_case(known))
    });
    let mut table: Vec<(usize, Vec<String>)> = Vec::new();
    if is_xlsx {
        drop(bytes);
        let mut workbook = calamine::open_workbook_auto(path).map_err(|error| unreadable(&error))?;
        let range = workbook
            .worksheet_range_at(0)
            .ok_or_else(|| ImportError::missing(format!("{name}: the workbook has no sheet")))?
            .map_err(|error| unreadable(&error))?;
        for (index, row) in range.rows().enumerate() {
            table.push((index + 1, row.iter().map(cell_text).collect()));
        }
    } else {
        let text = decode(&bytes);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        for record in reader.records() {
            let record = record.map_err(|error| unreadable(&error))?;
            let line = record.position().map_or(0, |position| position.line() as usize);
            table.push((line, record.iter().map(|field| field.trim().to_owned()).collect()));
        }
    }
    let mut rows = table.into_iter().filter(|(_, fields)| fields.iter().any(|field| !field.is_empty()));
    let (_, header) = rows.next().ok_or_else(|| ImportError::missing(format!("{name}: the file is empty")))?;
    let columns = header.iter().enumerate().map(|(index, name)| (name.trim().to_uppercase(), index)).collect();
    Ok(Sheet { name, sha256, columns, rows: rows.collect() })
}

/// A cell as the text a CSV export would hold: whole numbers without a decimal point.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::Float(value) if value.fract() == 0.0 && value.abs() < 1e15 => format!("{}", *value as i64),
        Data::Float(value) => value.to_string(),
        Data::Int(value) => value.to_string(),
        Data::String(text) => text.trim().to_owned(),
        other => other.to_string(),
    }
}

/// The May of the release, from a name like `national_M2024_dl.xlsx`.
pub fn year_of(path: &Path) -> Option<i32> {
    let name = path.file_name()?.to_string_lossy().to_uppercase();
    let at = name.find("_M")?;
    let digits: String = name[at + 2..].chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 4).then(|| digits.parse().ok()).flatten()
}

/// A wage or count as OEWS prints it: `*` and `**` (no estimate) and `#` (above the top wage
/// code) are none, "1,234" is 1234.
#[derive(Debug, PartialEq)]
enum Figure {
    Known(f64),
    Unknown,
    AboveTop,
}

fn figure(text: &str) -> Option<Figure> {
    match text.trim() {
        "" | "*" | "**" | "~" => Some(Figure::Unknown),
        "#" => Some(Figure::AboveTop),
        other => other
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite() && *value >= 0.0)
            .map(Figure::Known),
    }
}

/// An OEWS occupation code is the SOC's: `15-1252`.
fn is_occupation_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 7
        && bytes[2] == b'-'
        && bytes.iter().enumerate().all(|(index, byte)| index == 2 || byte.is_ascii_digit())
}

const RECORDS: Kind = Kind {
    entity: EntityKind::SalaryRecord,
    table: "salary_record",
    columns: &[
        ("career_path_id", Ty::Uuid),
        ("country", Ty::Text),
        ("currency", Ty::Text),
        ("period", Ty::Text),
        ("location", Ty::Text),
        ("average", Ty::BigInt),
        ("minimum", Ty::BigInt),
        ("maximum", Ty::BigInt),
        ("percentile_10", Ty::BigInt),
        ("percentile_25", Ty::BigInt),
        ("median", Ty::BigInt),
        ("percentile_75", Ty::BigInt),
        ("percentile_90", Ty::BigInt),
        ("employment", Ty::BigInt),
        ("source", Ty::Text),
        ("source_url", Ty::Text),
        ("as_of", Ty::Date),
        ("notes", Ty::Text),
    ],
};

/// The credit for a release (public domain, but the source should still be named).
pub fn attribution(year: i32) -> String {
    format!("Source: U.S. Bureau of Labor Statistics, Occupational Employment and Wage Statistics (OEWS), May {year}.")
}

/// Imports OEWS `files` (a national file, state files, or the all-areas file; xlsx or CSV) of the
/// May `year` release (read from the file names when `None`).
pub async fn import(db: &Db, files: &[PathBuf], year: Option<i32>, options: &Options) -> Result<Plan, ImportError> {
    let first = files.first().ok_or_else(|| ImportError::missing("no OEWS file given"))?;
    let year = year.or_else(|| year_of(first)).ok_or_else(|| {
        ImportError::missing(format!(
            "{}: cannot tell the release's year; name it as published (national_M2024_dl.xlsx) or pass --year",
            first.display()
        ))
    })?;
    if year < FIRST_SOC_2018_YEAR {
        return Err(ImportError::refused(format!(
            "OEWS May {year} uses SOC 2010 codes, which do not match O*NET's SOC 2018 taxonomy; use May {FIRST_SOC_2018_YEAR} or later"
        )));
    }
    let sheets = files.iter().map(|path| read_sheet(path)).collect::<Result<Vec<_>, _>>()?;

    let txn = db.begin().await?;
    let paths: Vec<(Uuid, String)> = career_path::Entity::find()
        .select_only()
        .columns([career_path::Column::Id, career_path::Column::OnetSocCode])
        .filter(career_path::Column::OnetSocCode.is_not_null())
        .into_tuple()
        .all(&txn)
        .await?;
    let mut paths_of: HashMap<&str, Vec<(Uuid, &str)>> = HashMap::new();
    for (id, code) in &paths {
        paths_of.entry(code.get(..7).unwrap_or(code)).or_default().push((*id, code));
    }

    let mut wanted = Vec::new();
    let mut plan = Plan::default();
    let mut areas = HashSet::new();
    let (mut unmatched, mut without_mean, mut above_top, mut other_areas) = (0, 0, 0, 0);
    for sheet in &sheets {
        plan.files.push((sheet.name.clone(), sheet.rows.len()));
        let names =
            ["OCC_CODE", "O_GROUP", "TOT_EMP", "A_MEAN", "A_PCT10", "A_PCT25", "A_MEDIAN", "A_PCT75", "A_PCT90"];
        let annual: Vec<usize> = names.iter().map(|name| sheet.column(name)).collect::<Result<_, _>>()?;
        let hourly: Vec<usize> = ["H_MEAN", "H_PCT10", "H_PCT25", "H_MEDIAN", "H_PCT75", "H_PCT90"]
            .iter()
            .map(|name| sheet.column(name))
            .collect::<Result<_, _>>()?;
        let (hourly_only_at, area_type_at, state_at, area_title_at, industry_at) = (
            sheet.column("HOURLY")?,
            sheet.columns.get("AREA_TYPE").copied(),
            sheet.columns.get("PRIM_STATE").copied(),
            sheet.columns.get("AREA_TITLE").copied(),
            sheet.columns.get("I_GROUP").copied(),
        );
        sheet.column("ANNUAL")?;
        let mut bad = BadRows::new(&sheet.name, sheet.rows.len(), options.strict);
        let mut seen = HashSet::new();
        for (line, row) in &sheet.rows {
            let get = |at: usize| row.get(at).map_or("", |field| field.trim());
            if industry_at.is_some_and(|at| !get(at).is_empty() && !get(at).eq_ignore_ascii_case("cross-industry")) {
                continue;
            }
            let code = get(annual[0]);
            if !is_occupation_code(code) {
                bad.bad(*line, format_args!("`{code}` is not an SOC occupation code like 15-1252"))?;
                continue;
            }
            if !get(annual[1]).eq_ignore_ascii_case("detailed") {
                continue;
            }
            let (area, location) = match area_type_at.map(get) {
                None | Some("1") => ("US".to_owned(), None),
                Some("2") => {
                    let state = state_at.map(get).unwrap_or_default();
                    if state.len() != 2 {
                        bad.bad(*line, format_args!("a state row without a two-letter PRIM_STATE (`{state}`)"))?;
                        continue;
                    }
                    (state.to_uppercase(), area_title_at.map(get).filter(|title| !title.is_empty()).map(str::to_owned))
                }
                Some(_) => {
                    other_areas += 1;
                    continue;
                }
            };
            let hourly_only = get(hourly_only_at).eq_ignore_ascii_case("TRUE");
            let columns: Vec<usize> = if hourly_only { hourly.clone() } else { annual[3..].to_vec() };
            let mut values = Vec::with_capacity(6);
            for &at in &columns {
                match figure(get(at)) {
                    Some(value) => values.push(value),
                    None => {
                        bad.bad(*line, format_args!("`{}` is not a number", get(at)))?;
                        break;
                    }
                }
            }
            let employment = match figure(get(annual[2])) {
                Some(Figure::Known(value)) => Some(value.round() as i64),
                Some(_) => None,
                None => {
                    bad.bad(*line, format_args!("TOT_EMP `{}` is not a number", get(annual[2])))?;
                    continue;
                }
            };
            if values.len() < columns.len() {
                continue;
            }
            let period = if hourly_only { "HOUR" } else { "YEAR" };
            if !seen.insert(format!("{area}:{code}:{period}")) {
                plan.skipped.push(format!("{}:{line}: duplicate of an earlier row; the first wins", sheet.name));
                continue;
            }
            let Figure::Known(mean) = values[0] else {
                without_mean += 1;
                continue;
            };
            let whole = |figure: &Figure| match figure {
                Figure::Known(value) => Json::from(value.round() as i64),
                _ => Json::Null,
            };
            let percentiles: Vec<Json> = values[1..].iter().map(whole).collect();
            let mut notes = Vec::new();
            if values.contains(&Figure::AboveTop) {
                above_top += 1;
                notes.push("Percentiles marked # by BLS are above its top wage code ($239,200 a year, $115 an hour) and left empty.");
            }
            if hourly_only {
                notes.push("BLS publishes hourly wages only for this occupation; rounded to whole dollars.");
            }
            let highest = percentiles.iter().rev().find(|value| !value.is_null()).cloned();
            let Some(matching) = paths_of.get(code) else {
                unmatched += 1;
                continue;
            };
            areas.insert(area.clone());
            for (path, path_code) in matching {
                let mut key = format!("{KEY_PREFIX}{year}:{area}:{code}:{period}");
                if !path_code.ends_with(".00") {
                    key.push_str(&format!("@{path_code}"));
                }
                let owned = Map::from_iter([
                    ("career_path_id".to_owned(), Json::String(path.to_string())),
                    ("country".to_owned(), Json::from("US")),
                    ("currency".to_owned(), Json::from("USD")),
                    ("period".to_owned(), Json::from(period)),
                    ("location".to_owned(), location.clone().map_or(Json::Null, Json::String)),
                    ("average".to_owned(), Json::from(mean.round() as i64)),
                    (
                        "minimum".to_owned(),
                        percentiles[0].clone().as_i64().map_or(Json::from(mean.round() as i64), Json::from),
                    ),
                    ("maximum".to_owned(), highest.clone().unwrap_or_else(|| Json::from(mean.round() as i64))),
                    ("percentile_10".to_owned(), percentiles[0].clone()),
                    ("percentile_25".to_owned(), percentiles[1].clone()),
                    ("median".to_owned(), percentiles[2].clone()),
                    ("percentile_75".to_owned(), percentiles[3].clone()),
                    ("percentile_90".to_owned(), percentiles[4].clone()),
                    ("employment".to_owned(), employment.map_or(Json::Null, Json::from)),
                    ("source".to_owned(), Json::String(format!("BLS OEWS May {year}"))),
                    ("source_url".to_owned(), Json::from(URL)),
                    ("as_of".to_owned(), Json::String(format!("{year}-05-01"))),
                    ("notes".to_owned(), if notes.is_empty() { Json::Null } else { Json::String(notes.join(" ")) }),
                ]);
                wanted.push(Wanted { label: format!("salary record {key}"), key, owned, initial: Map::new() });
            }
        }
        bad.check()?;
        plan.skipped.extend(bad.into_skipped());
    }
    plan.notes.push(format!(
        "{unmatched} detailed occupations match no career path; {without_mean} without a mean wage (* in the release) \
         made no record; {above_top} with percentiles above the top wage code (#) left empty; {other_areas} rows of \
         other area types skipped"
    ));

    let source = Source {
        name: "BLS OEWS",
        release: format!("May {year}"),
        licence: "Public domain (U.S. government work)",
        url: URL,
        attribution: attribution(year),
        files: sheets.iter().map(|sheet| (sheet.name.clone(), sheet.sha256.clone())).collect(),
    };
    drop(sheets);
    let source_id = source.record(&txn).await?;
    let mut store =
        Store::open(&txn, source_id, format!("import oews {year}"), &format!("{KEY_PREFIX}{year}:")).await?;
    store.plan = Plan { source: format!("BLS OEWS May {year}"), dry_run: options.dry_run, ..plan };
    let in_scope = |key: &str| key.split(':').nth(2).is_some_and(|area| areas.contains(area));
    store.sync_rows(&RECORDS, wanted, in_scope).await?;
    let plan = store.finish().await?;
    super::provenance::conclude(db, txn, &plan).await?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_bls_prints_them() {
        assert_eq!(figure("1,234"), Some(Figure::Known(1234.0)));
        assert_eq!(figure("*"), Some(Figure::Unknown));
        assert_eq!(figure("**"), Some(Figure::Unknown));
        assert_eq!(figure("#"), Some(Figure::AboveTop));
        assert_eq!(figure("lots"), None);
    }

    #[test]
    fn the_year_comes_from_the_published_name() {
        assert_eq!(year_of(Path::new("national_M2024_dl.xlsx")), Some(2024));
        assert_eq!(year_of(Path::new("/x/state_M2023_dl.csv")), Some(2023));
        assert_eq!(year_of(Path::new("wages.csv")), None);
        assert!(is_occupation_code("15-1252") && !is_occupation_code("15-1252.00"));
    }
}
