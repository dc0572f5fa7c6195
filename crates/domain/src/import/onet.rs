//! The O*NET database (U.S. Department of Labor, CC BY 4.0) as career paths: occupations with
//! their skill and knowledge ratings, tasks, technologies, job zone, related occupations and
//! alternate titles, from the tab-separated text release (`db_NN_N_text.zip` or its folder).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use super::files::{Row, Table, TextFile, header_names, read_release};
use super::outcome::{BadRows, ImportError, Options, Plan};
use super::provenance::{Source, unique_slug};
use super::store::{Kind, LinkKind, Store, Ty, Wanted};
use crate::Db;
use crate::audit::EntityKind;
use crate::entities::{career_path, job_zone, skill, technology};
use crate::enums::Importance;

/// Where the releases are published.
pub const URL: &str = "https://www.onetcenter.org/database.html";

/// The files the import reads, each recognised by columns only it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FileKind {
    Occupations,
    Ratings,
    Technologies,
    Tasks,
    JobZones,
    JobZoneReference,
    Related,
    AlternateTitles,
    ContentModel,
}

impl FileKind {
    const REQUIRED: [Self; 8] = [
        Self::Occupations,
        Self::Ratings,
        Self::Technologies,
        Self::Tasks,
        Self::JobZones,
        Self::JobZoneReference,
        Self::Related,
        Self::AlternateTitles,
    ];

    /// How a release names the file, for messages.
    fn usual_name(self) -> &'static str {
        match self {
            Self::Occupations => "Occupation Data",
            Self::Ratings => "Skills and Knowledge",
            Self::Technologies => "Technology Skills",
            Self::Tasks => "Task Statements",
            Self::JobZones => "Job Zones",
            Self::JobZoneReference => "Job Zone Reference",
            Self::Related => "Related Occupations",
            Self::AlternateTitles => "Alternate Titles",
            Self::ContentModel => "Content Model Reference",
        }
    }

    /// Which file a header line belongs to, if the import reads it.
    fn of_header(line: &str) -> Option<Self> {
        let names: HashSet<String> = header_names(line).into_iter().map(|name| name.to_lowercase()).collect();
        let has = |name: &str| names.contains(name);
        let soc = has("o*net-soc code");
        Some(if soc && has("element id") && has("scale id") {
            Self::Ratings
        } else if soc && has("hot technology") {
            Self::Technologies
        } else if soc && has("task id") && has("task type") {
            Self::Tasks
        } else if soc && has("related o*net-soc code") {
            Self::Related
        } else if soc && has("alternate title") {
            Self::AlternateTitles
        } else if soc && has("job zone") && names.len() <= 4 {
            Self::JobZones
        } else if !soc && has("job zone") && has("svp range") {
            Self::JobZoneReference
        } else if soc && has("title") && has("description") && names.len() == 3 {
            Self::Occupations
        } else if !soc && has("element id") && has("description") && !has("scale id") {
            Self::ContentModel
        } else {
            return None;
        })
    }
}

/// The file kinds found in a release, each with its files (Skills and Knowledge share a shape).
struct Release {
    files: BTreeMap<FileKind, Vec<TextFile>>,
    version: String,
}

/// O*NET's release number from a name like `db_29_1_text.zip`, if it has one.
pub fn release_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    let rest = name.strip_prefix("db_")?;
    let mut parts = rest.split('_');
    let (major, minor) = (parts.next()?, parts.next()?);
    (major.chars().all(|c| c.is_ascii_digit()) && minor.chars().all(|c| c.is_ascii_digit()) && !major.is_empty())
        .then(|| format!("{major}.{minor}"))
}

fn read(path: &Path, version: Option<String>) -> Result<Release, ImportError> {
    let version = version.or_else(|| release_of(path)).ok_or_else(|| {
        ImportError::missing(format!(
            "{}: cannot tell which O*NET release this is; name it as published (db_29_1_text.zip) or pass --release",
            path.display()
        ))
    })?;
    let mut files: BTreeMap<FileKind, Vec<TextFile>> = BTreeMap::new();
    for file in read_release(path, |header| FileKind::of_header(header).is_some())? {
        if let Some(kind) = FileKind::of_header(file.text.lines().next().unwrap_or_default()) {
            files.entry(kind).or_default().push(file);
        }
    }
    for kind in FileKind::REQUIRED {
        if !files.contains_key(&kind) {
            return Err(ImportError::missing(format!(
                "{}: no {} file (recognised by its header) in the release",
                path.display(),
                kind.usual_name()
            )));
        }
    }
    Ok(Release { files, version })
}

/// An O*NET-SOC code is two digits, a hyphen, four digits, a dot and two digits: `15-1252.00`.
pub fn is_soc_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 10
        && bytes[2] == b'-'
        && bytes[7] == b'.'
        && bytes.iter().enumerate().all(|(index, byte)| matches!(index, 2 | 7) || byte.is_ascii_digit())
}

/// Whether `code` is one `--only` asks for: a code, or a prefix ending in `*`.
fn selected(code: &str, only: Option<&str>) -> bool {
    match only {
        None => true,
        Some(pattern) => match pattern.strip_suffix('*') {
            Some(prefix) => code.starts_with(prefix),
            None => code == pattern,
        },
    }
}

#[derive(Debug)]
struct Occupation {
    code: String,
    title: String,
    description: String,
    job_zone: Option<i32>,
    ratings: BTreeMap<String, Rating>,
    tasks: Vec<(String, String, Option<String>)>,
    technologies: Vec<UsedTechnology>,
    related: Vec<(i64, String, Option<String>)>,
    alternate_titles: Vec<String>,
}

#[derive(Debug, Default)]
struct Rating {
    importance: Option<f64>,
    level: Option<f64>,
    not_relevant: bool,
}

#[derive(Debug)]
struct UsedTechnology {
    example: String,
    commodity_code: Option<i64>,
    commodity_title: Option<String>,
    hot: bool,
    in_demand: bool,
}

struct Element {
    name: String,
    description: Option<String>,
}

/// Everything the release says about the selected occupations.
struct Parsed {
    occupations: BTreeMap<String, Occupation>,
    elements: BTreeMap<String, Element>,
    zones: Vec<job_zone::Model>,
    notes: Vec<String>,
    skipped: Vec<String>,
    files: Vec<(String, usize)>,
    sources: Vec<(String, String)>,
}

/// O*NET's scales: importance (IM) runs 1 to 5, level (LV) 0 to 7.
fn scale(id: &str) -> Option<(f64, f64)> {
    match id {
        "IM" => Some((1.0, 5.0)),
        "LV" => Some((0.0, 7.0)),
        _ => None,
    }
}

/// A value on O*NET's 0–100 standard scale.
fn standard(value: f64, (min, max): (f64, f64)) -> i32 {
    ((value - min) / (max - min) * 100.0).round() as i32
}

/// The importance a score earns: ≥ 75 essential, ≥ 50 important, ≥ 25 nice to have, else the
/// skill is not linked.
pub fn importance_of(score: i32) -> Option<Importance> {
    match score {
        75.. => Some(Importance::Essential),
        50..=74 => Some(Importance::Important),
        25..=49 => Some(Importance::NiceToHave),
        _ => None,
    }
}

/// Whether an element is a skill or knowledge area the import links (O*NET's content model:
/// 2.A basic and 2.B cross-functional skills, 2.C knowledge); abilities, work activities and
/// the rest share the ratings files' shape and are left out.
fn linked_element(id: &str) -> bool {
    id.starts_with("2.A.") || id.starts_with("2.B.") || id.starts_with("2.C.")
}

fn category_of(element: &str) -> &'static str {
    if element.starts_with("2.C.") {
        "KNOWLEDGE"
    } else if element.starts_with("2.B.3.") {
        "TECHNICAL"
    } else {
        "SOFT"
    }
}

struct Checker<'a> {
    rows: BadRows,
    seen: HashMap<String, usize>,
    /// Repeated keys, reported but never counted against the file.
    duplicates: Vec<String>,
    table: &'a Table<'a>,
}

impl<'a> Checker<'a> {
    fn new(table: &'a Table<'a>, options: &Options) -> Self {
        let rows = BadRows::new(table.name(), table.row_count(), options.strict);
        Self { rows, seen: HashMap::new(), duplicates: Vec::new(), table }
    }

    /// The row's O*NET-SOC code in `column` if well formed (else the row is bad); `None` also
    /// when it is not selected.
    fn code(&mut self, row: &Row<'a>, column: usize, only: Option<&str>) -> Result<Option<&'a str>, ImportError> {
        let code = row.get(column);
        if !is_soc_code(code) {
            self.rows.bad(row.line, format_args!("`{code}` is not an O*NET-SOC code like 15-1252.00"))?;
            return Ok(None);
        }
        Ok(selected(code, only).then_some(code))
    }

    /// Whether `key` is new in this file; a repeat is reported and skipped (the first wins).
    fn first(&mut self, row: &Row<'_>, key: String) -> bool {
        match self.seen.get(&key) {
            Some(first) => {
                self.duplicates.push(format!(
                    "{}:{}: duplicate of line {first}; the first wins",
                    self.table.name(),
                    row.line
                ));
                false
            }
            None => {
                self.seen.insert(key, row.line);
                true
            }
        }
    }

    fn finish(self, parsed: &mut Parsed) -> Result<(), ImportError> {
        self.rows.check()?;
        parsed.skipped.extend(self.rows.into_skipped());
        if !self.duplicates.is_empty() {
            parsed.notes.push(format!(
                "{}: {} duplicate rows skipped (the first wins)",
                self.table.name(),
                self.duplicates.len()
            ));
        }
        parsed.skipped.extend(self.duplicates);
        Ok(())
    }
}

fn number(text: &str) -> Option<f64> {
    text.replace(',', "").parse::<f64>().ok().filter(|value| value.is_finite())
}

fn parse(release: &Release, options: &Options) -> Result<Parsed, ImportError> {
    let only = options.only.as_deref();
    let mut parsed = Parsed {
        occupations: BTreeMap::new(),
        elements: BTreeMap::new(),
        zones: Vec::new(),
        notes: Vec::new(),
        skipped: Vec::new(),
        files: Vec::new(),
        sources: Vec::new(),
    };
    for file in release.files.values().flatten() {
        parsed.files.push((file.name.clone(), file.table().row_count()));
        parsed.sources.push((file.name.clone(), file.sha256.clone()));
    }
    let files = |kind: FileKind| release.files.get(&kind).into_iter().flatten();

    for file in files(FileKind::Occupations) {
        let table = file.table();
        let (code_at, title_at, description_at) =
            (table.column("O*NET-SOC Code")?, table.column("Title")?, table.column("Description")?);
        let mut check = Checker::new(&table, options);
        for row in table.rows() {
            let Some(code) = check.code(&row, code_at, only)? else { continue };
            if row.get(title_at).is_empty() {
                check.rows.bad(row.line, "no title")?;
                continue;
            }
            if !check.first(&row, code.to_owned()) {
                continue;
            }
            parsed.occupations.insert(
                code.to_owned(),
                Occupation {
                    code: code.to_owned(),
                    title: row.get(title_at).to_owned(),
                    description: row.get(description_at).to_owned(),
                    job_zone: None,
                    ratings: BTreeMap::new(),
                    tasks: Vec::new(),
                    technologies: Vec::new(),
                    related: Vec::new(),
                    alternate_titles: Vec::new(),
                },
            );
        }
        check.finish(&mut parsed)?;
    }

    for file in files(FileKind::ContentModel) {
        let table = file.table();
        let (id_at, description_at) = (table.column("Element ID")?, table.column("Description")?);
        for row in table.rows() {
            if let Some(description) = row.value(description_at) {
                parsed
                    .elements
                    .entry(row.get(id_at).to_owned())
                    .or_insert_with(|| Element { name: String::new(), description: None })
                    .description = Some(description.to_owned());
            }
        }
    }

    let (mut suppressed, mut not_relevant) = (0, 0);
    for file in files(FileKind::Ratings) {
        let table = file.table();
        let columns = [
            "O*NET-SOC Code",
            "Element ID",
            "Element Name",
            "Scale ID",
            "Data Value",
            "Recommend Suppress",
            "Not Relevant",
        ]
        .map(|name| table.column(name));
        let [code_at, id_at, name_at, scale_at, value_at, suppress_at, relevant_at] = columns;
        let (code_at, id_at, name_at, scale_at, value_at, suppress_at, relevant_at) =
            (code_at?, id_at?, name_at?, scale_at?, value_at?, suppress_at?, relevant_at?);
        let mut check = Checker::new(&table, options);
        for row in table.rows() {
            let Some(code) = check.code(&row, code_at, only)? else { continue };
            let element = row.get(id_at);
            if !linked_element(element) {
                continue;
            }
            let Some(bounds) = scale(row.get(scale_at)) else { continue };
            let Some(value) = number(row.get(value_at)) else {
                check.rows.bad(row.line, format_args!("`{}` is not a number", row.get(value_at)))?;
                continue;
            };
            if value < bounds.0 || value > bounds.1 {
                check.rows.bad(
                    row.line,
                    format_args!("{value} is off the {} scale ({} to {})", row.get(scale_at), bounds.0, bounds.1),
                )?;
                continue;
            }
            if !check.first(&row, format!("{code}\t{element}\t{}", row.get(scale_at))) {
                continue;
            }
            let Some(occupation) = parsed.occupations.get_mut(code) else { continue };
            let entry = parsed
                .elements
                .entry(element.to_owned())
                .or_insert_with(|| Element { name: String::new(), description: None });
            if entry.name.is_empty() {
                entry.name = row.get(name_at).to_owned();
            }
            if row.get(suppress_at).eq_ignore_ascii_case("Y") {
                suppressed += 1;
                continue;
            }
            let rating = occupation.ratings.entry(element.to_owned()).or_default();
            if row.get(relevant_at).eq_ignore_ascii_case("Y") {
                not_relevant += 1;
                rating.not_relevant = true;
            }
            match row.get(scale_at) {
                "IM" => rating.importance = Some(value),
                _ => rating.level = Some(value),
            }
        }
        check.finish(&mut parsed)?;
    }
    parsed.notes.push(format!(
        "ratings: {suppressed} skipped as Recommend Suppress = Y, {not_relevant} marked Not Relevant (not linked)"
    ));

    for file in files(FileKind::Technologies) {
        let table = file.table();
        let (code_at, example_at, commodity_at, title_at, hot_at) = (
            table.column("O*NET-SOC Code")?,
            table.column("Example")?,
            table.column("Commodity Code")?,
            table.column("Commodity Title")?,
            table.column("Hot Technology")?,
        );
        let demand_at = table.optional_column("In Demand");
        let mut check = Checker::new(&table, options);
        for row in table.rows() {
            let Some(code) = check.code(&row, code_at, only)? else { continue };
            let example = row.get(example_at);
            if example.is_empty() {
                check.rows.bad(row.line, "no example")?;
                continue;
            }
            let commodity_code = match row.value(commodity_at) {
                None => None,
                Some(text) => match text.parse::<i64>() {
                    Ok(code) => Some(code),
                    Err(_) => {
                        check.rows.bad(row.line, format_args!("commodity code `{text}` is not a number"))?;
                        continue;
                    }
                },
            };
            if !check.first(&row, format!("{code}\t{}", example.to_lowercase())) {
                continue;
            }
            let Some(occupation) = parsed.occupations.get_mut(code) else { continue };
            occupation.technologies.push(UsedTechnology {
                example: example.to_owned(),
                commodity_code,
                commodity_title: row.value(title_at).map(str::to_owned),
                hot: row.get(hot_at).eq_ignore_ascii_case("Y"),
                in_demand: demand_at.is_some_and(|at| row.get(at).eq_ignore_ascii_case("Y")),
            });
        }
        check.finish(&mut parsed)?;
    }

    for file in files(FileKind::Tasks) {
        let table = file.table();
        let (code_at, id_at, task_at, type_at) = (
            table.column("O*NET-SOC Code")?,
            table.column("Task ID")?,
            table.column("Task")?,
            table.column("Task Type")?,
        );
        let mut check = Checker::new(&table, options);
        for row in table.rows() {
            let Some(code) = check.code(&row, code_at, only)? else { continue };
            let (id, task) = (row.get(id_at), row.get(task_at));
            if id.parse::<u64>().is_err() || task.is_empty() {
                check.rows.bad(row.line, "a task needs a numeric Task ID and a statement")?;
                continue;
            }
            if !check.first(&row, id.to_owned()) {
                continue;
            }
            if let Some(occupation) = parsed.occupations.get_mut(code) {
                occupation.tasks.push((id.to_owned(), task.to_owned(), row.value(type_at).map(str::to_owned)));
            }
        }
        check.finish(&mut parsed)?;
    }

    for file in files(FileKind::JobZones) {
        let table = file.table();
        let (code_at, zone_at) = (table.column("O*NET-SOC Code")?, table.column("Job Zone")?);
        let mut check = Checker::new(&table, options);
        for row in table.rows() {
            let Some(code) = check.code(&row, code_at, only)? else { continue };
            let zone = match row.get(zone_at).parse::<i32>() {
                Ok(zone @ 1..=5) => zone,
                _ => {
                    check.rows.bad(row.line, format_args!("job zone `{}` is not 1 to 5", row.get(zone_at)))?;
                    continue;
                }
            };
            if check.first(&row, code.to_owned())
                && let Some(occupation) = parsed.occupations.get_mut(code)
            {
                occupation.job_zone = Some(zone);
            }
        }
        check.finish(&mut parsed)?;
    }

    for file in files(FileKind::JobZoneReference) {
        let table = file.table();
        let names = ["Job Zone", "Name", "Experience", "Education", "Job Training", "Examples", "SVP Range"];
        let [zone_at, name_at, experience_at, education_at, training_at, examples_at, svp_at] =
            names.map(|name| table.column(name));
        let (zone_at, name_at, experience_at, education_at, training_at, examples_at, svp_at) =
            (zone_at?, name_at?, experience_at?, education_at?, training_at?, examples_at?, svp_at?);
        let mut check = Checker::new(&table, options);
        for row in table.rows() {
            let Ok(zone @ 1..=5) = row.get(zone_at).parse::<i32>() else {
                check.rows.bad(row.line, format_args!("job zone `{}` is not 1 to 5", row.get(zone_at)))?;
                continue;
            };
            if check.first(&row, zone.to_string()) {
                parsed.zones.push(job_zone::Model {
                    zone,
                    name: row.get(name_at).to_owned(),
                    experience: row.get(experience_at).to_owned(),
                    education: row.get(education_at).to_owned(),
                    job_training: row.get(training_at).to_owned(),
                    examples: row.get(examples_at).to_owned(),
                    svp_range: row.get(svp_at).to_owned(),
                });
            }
        }
        check.finish(&mut parsed)?;
    }

    for file in files(FileKind::Related) {
        let table = file.table();
        let (code_at, related_at) = (table.column("O*NET-SOC Code")?, table.column("Related O*NET-SOC Code")?);
        let (tier_at, index_at) = (table.optional_column("Relatedness Tier"), table.optional_column("Index"));
        let mut check = Checker::new(&table, options);
        for row in table.rows() {
            let Some(code) = check.code(&row, code_at, only)? else { continue };
            let related = row.get(related_at);
            if !is_soc_code(related) {
                check.rows.bad(row.line, format_args!("`{related}` is not an O*NET-SOC code like 15-1252.00"))?;
                continue;
            }
            let index = match index_at.map(|at| row.get(at).parse::<i64>()) {
                Some(Err(_)) => {
                    check.rows.bad(row.line, "the Index is not a number")?;
                    continue;
                }
                Some(Ok(index)) => index,
                None => row.line as i64,
            };
            if !check.first(&row, format!("{code}\t{related}")) {
                continue;
            }
            if let Some(occupation) = parsed.occupations.get_mut(code) {
                let tier = tier_at.and_then(|at| row.value(at)).map(str::to_owned);
                occupation.related.push((index, related.to_owned(), tier));
            }
        }
        check.finish(&mut parsed)?;
    }

    for file in files(FileKind::AlternateTitles) {
        let table = file.table();
        let (code_at, title_at) = (table.column("O*NET-SOC Code")?, table.column("Alternate Title")?);
        let mut check = Checker::new(&table, options);
        for row in table.rows() {
            let Some(code) = check.code(&row, code_at, only)? else { continue };
            let title = row.get(title_at);
            if title.is_empty() || !check.first(&row, format!("{code}\t{}", title.to_lowercase())) {
                continue;
            }
            if let Some(occupation) = parsed.occupations.get_mut(code) {
                occupation.alternate_titles.push(title.to_owned());
            }
        }
        check.finish(&mut parsed)?;
    }
    let unrated = parsed.occupations.values().filter(|occupation| occupation.ratings.is_empty()).count();
    parsed.notes.push(format!(
        "{} occupations, {} of them rated on skills and knowledge ({unrated} without ratings)",
        parsed.occupations.len(),
        parsed.occupations.len() - unrated
    ));
    Ok(parsed)
}

/// O*NET's credit line, which its licence asks every user to show, with the notice that
/// careergraph derived scores and importance from it.
pub fn attribution(release: &str) -> String {
    format!(
        "This information includes the O*NET {release} Database by the U.S. Department of Labor, Employment and \
         Training Administration (USDOL/ETA), used under the CC BY 4.0 license. O*NET® is a trademark of USDOL/ETA. \
         careergraph has modified all or some of this information (0–100 scores and importance levels derived from \
         the ratings). USDOL/ETA has not approved, endorsed, or tested these modifications."
    )
}

const PATHS: Kind = Kind {
    entity: EntityKind::CareerPath,
    table: "career_path",
    columns: &[
        ("title", Ty::Text),
        ("summary", Ty::Text),
        ("description", Ty::Text),
        ("onet_soc_code", Ty::Text),
        ("job_zone", Ty::Int),
        ("slug", Ty::Text),
        ("outlook_demand", Ty::Text),
        ("outlook_summary", Ty::Text),
        ("status", Ty::Text),
    ],
};

const SKILLS: Kind = Kind {
    entity: EntityKind::Skill,
    table: "skill",
    columns: &[("name", Ty::Text), ("category", Ty::Text), ("description", Ty::Text), ("slug", Ty::Text)],
};

const TECHNOLOGIES: Kind = Kind {
    entity: EntityKind::Technology,
    table: "technology",
    columns: &[("name", Ty::Text), ("kind", Ty::Text), ("slug", Ty::Text)],
};

const TASKS: Kind = Kind {
    entity: EntityKind::Responsibility,
    table: "responsibility",
    columns: &[("career_path_id", Ty::Uuid), ("position", Ty::Int), ("title", Ty::Text), ("description", Ty::Text)],
};

const PATH_SKILLS: LinkKind = LinkKind {
    name: "skills",
    table: "career_path_skill",
    owner: "career_path_id",
    target: "skill_id",
    columns: &[
        ("importance", Ty::Text),
        ("position", Ty::Int),
        ("importance_score", Ty::Int),
        ("level_score", Ty::Int),
    ],
};

const PATH_TECHNOLOGIES: LinkKind = LinkKind {
    name: "technologies",
    table: "career_path_technology",
    owner: "career_path_id",
    target: "technology_id",
    columns: &[
        ("position", Ty::Int),
        ("commodity_code", Ty::Int),
        ("commodity_title", Ty::Text),
        ("hot", Ty::Bool),
        ("in_demand", Ty::Bool),
    ],
};

const RELATED: LinkKind = LinkKind {
    name: "related",
    table: "related_career_path",
    owner: "career_path_id",
    target: "related_career_path_id",
    columns: &[("position", Ty::Int), ("relatedness_tier", Ty::Text)],
};

fn text(value: &str) -> Json {
    Json::String(value.to_owned())
}

fn path_key(code: &str) -> String {
    format!("onet:{code}")
}

fn technology_key(example: &str) -> String {
    format!("onet:technology:{}", example.to_lowercase())
}

/// The first sentence of `description` (at most 300 characters), for a path's summary.
fn first_sentence(description: &str) -> String {
    let end = description.find(". ").map_or(description.len(), |at| at + 1);
    let sentence = &description[..end];
    if sentence.chars().count() <= 300 {
        sentence.to_owned()
    } else {
        let cut: String = sentence.chars().take(299).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Imports the O*NET release at `path` (a `db_NN_N_text.zip` or its folder); `release` names
/// the release when the path does not. Returns what was (or, with `dry_run`, would be) done.
pub async fn import(db: &Db, path: &Path, release: Option<String>, options: &Options) -> Result<Plan, ImportError> {
    let release = read(path, release)?;
    let parsed = parse(&release, options)?;
    let source = Source {
        name: "O*NET",
        release: release.version.clone(),
        licence: "CC BY 4.0",
        url: URL,
        attribution: attribution(&release.version),
        files: parsed.sources.clone(),
    };
    drop(release);

    let txn = db.begin().await?;
    let source_id = source.record(&txn).await?;
    let mut store = Store::open(&txn, source_id, format!("import onet {}", source.release), "onet:").await?;
    store.plan.source = format!("O*NET {}", source.release);
    store.plan.dry_run = options.dry_run;

    let skill_ids = sync_skills(&txn, &mut store, &parsed).await?;
    let skill_ids = store.existing("skill", skill_ids).await?;
    let technology_ids = sync_technologies(&txn, &mut store, &parsed).await?;
    let technology_ids = store.existing("technology", technology_ids).await?;
    let path_ids = sync_paths(&txn, &mut store, &parsed, options).await?;
    let path_ids = store.existing("career_path", path_ids).await?;
    sync_tasks(&mut store, &parsed, &path_ids).await?;
    sync_path_links(&mut store, &parsed, &path_ids, &skill_ids, &technology_ids).await?;
    sync_job_zones(&txn, &mut store.plan, &parsed.zones).await?;

    let mut plan = store.finish().await?;
    plan.files = parsed.files;
    plan.skipped = parsed.skipped;
    plan.notes.extend(parsed.notes);
    super::provenance::conclude(db, txn, &plan).await?;
    Ok(plan)
}

async fn sync_skills(
    txn: &impl ConnectionTrait,
    store: &mut Store<'_>,
    parsed: &Parsed,
) -> Result<HashMap<String, Uuid>, ImportError> {
    let used: HashSet<&String> = parsed.occupations.values().flat_map(|occupation| occupation.ratings.keys()).collect();
    let mut taken: HashSet<String> = skill::Entity::find()
        .select_only()
        .column(skill::Column::Slug)
        .into_tuple::<String>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let wanted = parsed
        .elements
        .iter()
        .filter(|(id, element)| used.contains(id) && !element.name.is_empty())
        .map(|(id, element)| {
            let key = format!("onet:{id}");
            let kind = if id.starts_with("2.C.") { "Knowledge" } else { "Skills" };
            let description =
                element.description.clone().unwrap_or_else(|| format!("O*NET {kind} element {id}: {}.", element.name));
            let mut initial = Map::new();
            if store.id_of(&key).is_none() {
                initial.insert("slug".into(), Json::String(unique_slug(&element.name, &mut taken)));
            }
            Wanted {
                label: format!("skill {} ({key})", element.name),
                key,
                owned: Map::from_iter([
                    ("name".to_owned(), text(&element.name)),
                    ("category".to_owned(), text(category_of(id))),
                    ("description".to_owned(), Json::String(description)),
                ]),
                initial,
            }
        })
        .collect();
    Ok(store.sync_rows(&SKILLS, wanted, |_| false).await?)
}

/// Technologies by name: a curated one of the same name (any case) is linked as it is; the rest
/// are created once and shared by every occupation that uses them.
async fn sync_technologies(
    txn: &impl ConnectionTrait,
    store: &mut Store<'_>,
    parsed: &Parsed,
) -> Result<HashMap<String, Uuid>, ImportError> {
    let existing: Vec<(Uuid, String, String)> = technology::Entity::find()
        .select_only()
        .columns([technology::Column::Id, technology::Column::Name, technology::Column::Slug])
        .into_tuple()
        .all(txn)
        .await?;
    let imported = store.imported(EntityKind::Technology);
    let curated: HashMap<String, Uuid> = existing
        .iter()
        .filter(|(id, ..)| !imported.contains(id))
        .map(|(id, name, _)| (name.to_lowercase(), *id))
        .collect();
    let mut taken: HashSet<String> = existing.into_iter().map(|(_, _, slug)| slug).collect();
    let mut ids = HashMap::new();
    let mut wanted = Vec::new();
    let mut seen = HashSet::new();
    for used in parsed.occupations.values().flat_map(|occupation| &occupation.technologies) {
        let key = technology_key(&used.example);
        if !seen.insert(key.clone()) {
            continue;
        }
        if let Some(&id) = curated.get(&used.example.to_lowercase()) {
            ids.insert(key, id);
            continue;
        }
        let database = used.commodity_title.as_deref().is_some_and(|title| title.to_lowercase().contains("database"));
        let mut initial = Map::new();
        if store.id_of(&key).is_none() {
            initial.insert("slug".into(), Json::String(unique_slug(&used.example, &mut taken)));
        }
        wanted.push(Wanted {
            label: format!("technology {}", used.example),
            key,
            owned: Map::from_iter([
                ("name".to_owned(), text(&used.example)),
                ("kind".to_owned(), text(if database { "DATABASE" } else { "TOOL" })),
            ]),
            initial,
        });
    }
    ids.extend(store.sync_rows(&TECHNOLOGIES, wanted, |_| false).await?);
    Ok(ids)
}

async fn sync_paths(
    txn: &impl ConnectionTrait,
    store: &mut Store<'_>,
    parsed: &Parsed,
    options: &Options,
) -> Result<HashMap<String, Uuid>, ImportError> {
    let mut taken: HashSet<String> = career_path::Entity::find()
        .select_only()
        .column(career_path::Column::Slug)
        .into_tuple::<String>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let status = if options.publish { "PUBLISHED" } else { "DRAFT" };
    let wanted = parsed
        .occupations
        .values()
        .map(|occupation| {
            let key = path_key(&occupation.code);
            let mut initial = Map::new();
            if store.id_of(&key).is_none() {
                initial.extend([
                    ("slug".to_owned(), Json::String(unique_slug(&occupation.title, &mut taken))),
                    ("outlook_demand".to_owned(), text("MODERATE")),
                    (
                        "outlook_summary".to_owned(),
                        text("O*NET does not rate hiring demand; editors may add an outlook."),
                    ),
                    ("status".to_owned(), text(status)),
                ]);
            }
            Wanted {
                label: format!("career path {} ({})", occupation.title, occupation.code),
                key,
                owned: Map::from_iter([
                    ("title".to_owned(), text(&occupation.title)),
                    ("summary".to_owned(), Json::String(first_sentence(&occupation.description))),
                    ("description".to_owned(), text(&occupation.description)),
                    ("onet_soc_code".to_owned(), text(&occupation.code)),
                    ("job_zone".to_owned(), occupation.job_zone.map_or(Json::Null, Json::from)),
                ]),
                initial,
            }
        })
        .collect();
    let ids = store.sync_rows(&PATHS, wanted, |_| false).await?;
    if options.publish {
        let now = chrono::Utc::now();
        career_path::Entity::update_many()
            .col_expr(career_path::Column::PublishedAt, sea_orm::sea_query::Expr::value(now))
            .filter(career_path::Column::Id.is_in(ids.values().copied()))
            .filter(career_path::Column::Status.eq(crate::enums::PublicationStatus::Published))
            .filter(career_path::Column::PublishedAt.is_null())
            .exec(txn)
            .await?;
    }
    Ok(ids)
}

/// Tasks become responsibilities, core before supplemental; a task the release dropped is
/// removed from its path.
async fn sync_tasks(
    store: &mut Store<'_>,
    parsed: &Parsed,
    path_ids: &HashMap<String, Uuid>,
) -> Result<(), ImportError> {
    let mut wanted = Vec::new();
    for occupation in parsed.occupations.values() {
        let Some(path) = path_ids.get(&path_key(&occupation.code)) else { continue };
        let mut tasks: Vec<&(String, String, Option<String>)> = occupation.tasks.iter().collect();
        tasks.sort_by_key(|(_, _, kind)| match kind.as_deref() {
            Some("Core") => 0,
            Some("Supplemental") => 1,
            _ => 2,
        });
        for (position, (id, task, kind)) in tasks.into_iter().enumerate() {
            let description = match kind.as_deref() {
                Some(kind) => format!("{kind} task (O*NET task {id})."),
                None => format!("O*NET task {id}."),
            };
            wanted.push(Wanted {
                key: format!("onet:task:{}:{id}", occupation.code),
                label: format!("task {id} of {}", occupation.code),
                owned: Map::from_iter([
                    ("career_path_id".to_owned(), Json::String(path.to_string())),
                    ("position".to_owned(), Json::from(position)),
                    ("title".to_owned(), text(task)),
                    ("description".to_owned(), Json::String(description)),
                ]),
                initial: Map::new(),
            });
        }
    }
    let codes: HashSet<&str> = parsed.occupations.keys().map(String::as_str).collect();
    let in_scope = |key: &str| {
        key.strip_prefix("onet:task:").and_then(|rest| rest.split(':').next()).is_some_and(|code| codes.contains(code))
    };
    store.sync_rows(&TASKS, wanted, in_scope).await?;
    Ok(())
}

async fn sync_path_links(
    store: &mut Store<'_>,
    parsed: &Parsed,
    path_ids: &HashMap<String, Uuid>,
    skill_ids: &HashMap<String, Uuid>,
    technology_ids: &HashMap<String, Uuid>,
) -> Result<(), ImportError> {
    let owners = || {
        parsed
            .occupations
            .values()
            .filter_map(|occupation| path_ids.get(&path_key(&occupation.code)).map(|id| (*id, occupation)))
    };

    let skills = owners()
        .map(|(id, occupation)| {
            let mut scored: Vec<(String, i32, Option<i32>)> = occupation
                .ratings
                .iter()
                .filter(|(_, rating)| !rating.not_relevant)
                .filter_map(|(element, rating)| {
                    let score = standard(rating.importance?, (1.0, 5.0));
                    importance_of(score)?;
                    Some((format!("onet:{element}"), score, rating.level.map(|level| standard(level, (0.0, 7.0)))))
                })
                .collect();
            scored.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let links = scored
                .into_iter()
                .enumerate()
                .filter_map(|(position, (key, score, level))| {
                    let importance = importance_of(score)?;
                    Some((
                        key,
                        columns(json!({
                            "importance": importance.as_str(),
                            "position": position,
                            "importance_score": score,
                            "level_score": level,
                        })),
                    ))
                })
                .collect();
            (id, path_key(&occupation.code), links)
        })
        .collect();
    store.sync_links(&PATH_SKILLS, EntityKind::CareerPath, skills, skill_ids).await?;

    let technologies = owners()
        .map(|(id, occupation)| {
            let mut used: Vec<&UsedTechnology> = occupation.technologies.iter().collect();
            used.sort_by(|a, b| a.commodity_title.cmp(&b.commodity_title).then_with(|| a.example.cmp(&b.example)));
            let links = used
                .into_iter()
                .enumerate()
                .map(|(position, used)| {
                    (
                        technology_key(&used.example),
                        columns(json!({
                            "position": position,
                            "commodity_code": used.commodity_code,
                            "commodity_title": used.commodity_title,
                            "hot": used.hot,
                            "in_demand": used.in_demand,
                        })),
                    )
                })
                .collect();
            (id, path_key(&occupation.code), links)
        })
        .collect();
    store.sync_links(&PATH_TECHNOLOGIES, EntityKind::CareerPath, technologies, technology_ids).await?;

    // Related occupations may have been imported in an earlier run (with another `--only`).
    let mut every_path = store.ids_of_kind(EntityKind::CareerPath);
    every_path.extend(path_ids.iter().map(|(key, id)| (key.clone(), *id)));
    let every_path = store.existing("career_path", every_path).await?;
    let related = owners()
        .map(|(id, occupation)| {
            let mut listed: Vec<&(i64, String, Option<String>)> = occupation.related.iter().collect();
            listed.sort_by_key(|(index, ..)| *index);
            let links = listed
                .into_iter()
                .filter(|(_, code, _)| every_path.contains_key(&path_key(code)))
                .enumerate()
                .map(|(position, (_, code, tier))| {
                    (path_key(code), columns(json!({ "position": position, "relatedness_tier": tier })))
                })
                .collect();
            (id, path_key(&occupation.code), links)
        })
        .collect();
    store.sync_links(&RELATED, EntityKind::CareerPath, related, &every_path).await?;

    let titles = owners()
        .map(|(id, occupation)| (id, path_key(&occupation.code), occupation.alternate_titles.clone()))
        .collect();
    store.sync_list("alternate titles", "career_path_alternate_title", EntityKind::CareerPath, titles).await?;
    Ok(())
}

fn columns(value: Json) -> Map<String, Json> {
    match value {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

/// O*NET's job zone descriptions: reference text, replaced when a release words it differently.
async fn sync_job_zones(
    txn: &impl ConnectionTrait,
    plan: &mut Plan,
    zones: &[job_zone::Model],
) -> Result<(), ImportError> {
    let existing: HashMap<i32, job_zone::Model> =
        job_zone::Entity::find().all(txn).await?.into_iter().map(|zone| (zone.zone, zone)).collect();
    let mut changed = 0;
    for zone in zones {
        if existing.get(&zone.zone) == Some(zone) {
            continue;
        }
        job_zone::Entity::delete_by_id(zone.zone).exec(txn).await?;
        let row: job_zone::ActiveModel = zone.clone().into();
        job_zone::Entity::insert(row).exec_without_returning(txn).await?;
        changed += 1;
    }
    if changed > 0 {
        plan.notes.push(format!("job zones: {changed} described anew"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_by_shape() {
        assert!(is_soc_code("15-1252.00") && is_soc_code("15-1252.01"));
        for bad in ["15-1252", "151252.00", "15-1252.0a", " 15-1252.00", "15_1252.00"] {
            assert!(!is_soc_code(bad), "{bad}");
        }
    }

    #[test]
    fn scores_are_on_the_standard_scale_and_earn_an_importance() {
        assert_eq!(standard(4.0, (1.0, 5.0)), 75);
        assert_eq!(standard(3.5, (0.0, 7.0)), 50);
        assert_eq!(importance_of(75), Some(Importance::Essential));
        assert_eq!(importance_of(50), Some(Importance::Important));
        assert_eq!(importance_of(25), Some(Importance::NiceToHave));
        assert_eq!(importance_of(24), None);
    }

    #[test]
    fn the_release_comes_from_the_published_name() {
        assert_eq!(release_of(Path::new("/tmp/db_29_1_text.zip")).as_deref(), Some("29.1"));
        assert_eq!(release_of(Path::new("db_30_0_text")).as_deref(), Some("30.0"));
        assert_eq!(release_of(Path::new("onet.zip")), None);
    }

    #[test]
    fn files_are_known_by_their_headers() {
        let of = FileKind::of_header;
        assert_eq!(of("O*NET-SOC Code\tTitle\tDescription"), Some(FileKind::Occupations));
        assert_eq!(
            of("O*NET-SOC Code\tElement ID\tElement Name\tScale ID\tData Value\tN\tStandard Error"),
            Some(FileKind::Ratings)
        );
        assert_eq!(of("O*NET-SOC Code\tJob Zone\tDate\tDomain Source"), Some(FileKind::JobZones));
        assert_eq!(of("O*NET-SOC Code\tExample\tCommodity Code\tCommodity Title"), None);
        assert_eq!(first_sentence("Develop software. Test it."), "Develop software.");
    }
}
