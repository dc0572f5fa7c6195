//! A full-size synthetic O*NET text release and OEWS national file, in the publishers' formats,
//! with the row counts of O*NET 29.1 and OEWS May 2024: what `careergraph import` is measured and
//! tested on here, where the real files cannot be downloaded. Every title says "(synthetic)".

use std::path::Path;

/// O*NET 29.1's sizes: occupations, those rated on skills and knowledge, the skill and
/// knowledge elements each is rated on, and the other files' rows.
const OCCUPATIONS: usize = 1_016;
const RATED: usize = 923;
const SKILL_ELEMENTS: usize = 35;
const KNOWLEDGE_ELEMENTS: usize = 33;
const TECHNOLOGY_ROWS: usize = 32_681;
const TECHNOLOGY_EXAMPLES: usize = 8_900;
const TASK_ROWS: usize = 18_796;
const RELATED_PER_OCCUPATION: usize = 20;
const ALTERNATE_TITLE_ROWS: usize = 56_560;

/// A small deterministic generator (SplitMix64), so every run writes the same files.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// A rating between `min` and `max`, two decimals, as O*NET prints them.
    fn rating(&mut self, min: f64, max: f64) -> String {
        format!("{:.2}", min + (max - min) * (self.next() % 10_000) as f64 / 10_000.0)
    }
}

fn code(occupation: usize) -> String {
    let major = 11 + 2 * (occupation % 22);
    let detail = if occupation % 9 == 8 { 1 } else { 0 };
    format!("{major:02}-{:04}.{detail:02}", 1000 + occupation)
}

fn element(index: usize) -> (String, String) {
    if index < SKILL_ELEMENTS {
        let id = match index {
            0..=9 => format!("2.A.1.{}", (b'a' + index as u8) as char),
            10..=15 => format!("2.B.1.{}", (b'a' + (index - 10) as u8) as char),
            _ => format!("2.B.3.{}", (b'a' + (index - 16) as u8) as char),
        };
        (id, format!("Skill {index:02} (synthetic)"))
    } else {
        let k = index - SKILL_ELEMENTS;
        (format!("2.C.{}.{}", 1 + k / 10, (b'a' + (k % 10) as u8) as char), format!("Knowledge {k:02} (synthetic)"))
    }
}

fn write(dir: &Path, name: &str, header: &str, rows: impl Iterator<Item = String>) -> std::io::Result<usize> {
    let mut text = String::with_capacity(1 << 20);
    text.push_str(header);
    text.push_str("\r\n");
    let mut count = 0;
    for row in rows {
        text.push_str(&row);
        text.push_str("\r\n");
        count += 1;
    }
    std::fs::write(dir.join(name), text)?;
    Ok(count)
}

/// Writes `out/db_29_1_text/` (an O*NET text release) and `out/national_M2024_dl.csv` (an OEWS
/// national file), returning each file's name and row count.
pub fn write_release(out: &Path) -> std::io::Result<Vec<(String, usize)>> {
    let dir = out.join("db_29_1_text");
    std::fs::create_dir_all(&dir)?;
    let mut numbers = Numbers(291);
    let codes: Vec<String> = (0..OCCUPATIONS).map(code).collect();
    let ratings_header = "O*NET-SOC Code\tElement ID\tElement Name\tScale ID\tData Value\tN\tStandard Error\tLower CI Bound\tUpper CI Bound\tRecommend Suppress\tNot Relevant\tDate\tDomain Source";

    let mut report = Vec::new();
    let mut wrote = |name: &str, rows: usize| report.push((name.to_owned(), rows));
    let rows = write(
        &dir,
        "Occupation Data.txt",
        "O*NET-SOC Code\tTitle\tDescription",
        codes.iter().enumerate().map(|(n, code)| {
            format!("{code}\tOccupation {n:04} (synthetic)\tSynthetic occupation {n} for measuring imports. It does work {n}.")
        }),
    )?;
    wrote("Occupation Data.txt", rows);
    for (name, elements) in
        [("Skills.txt", 0..SKILL_ELEMENTS), ("Knowledge.txt", SKILL_ELEMENTS..SKILL_ELEMENTS + KNOWLEDGE_ELEMENTS)]
    {
        let mut lines = Vec::new();
        for code in &codes[..RATED] {
            for index in elements.clone() {
                let (id, element_name) = element(index);
                let suppress = if numbers.below(50) == 0 { "Y" } else { "N" };
                let importance = numbers.rating(1.0, 5.0);
                let level = numbers.rating(0.0, 7.0);
                let relevant = if numbers.below(40) == 0 { "Y" } else { "N" };
                lines.push(format!(
                    "{code}\t{id}\t{element_name}\tIM\t{importance}\t8\t0.19\t3.6\t4.4\tN\tn/a\t08/2024\tAnalyst"
                ));
                lines.push(format!("{code}\t{id}\t{element_name}\tLV\t{level}\t8\t0.21\t3.9\t4.7\t{suppress}\t{relevant}\t08/2024\tAnalyst"));
            }
        }
        wrote(name, write(&dir, name, ratings_header, lines.into_iter())?);
    }
    let commodities = [
        "Object or component oriented development software",
        "Data base management system software",
        "Web platform development software",
        "Operating system software",
        "Spreadsheet software",
        "Enterprise resource planning ERP software",
    ];
    let mut seen = std::collections::HashSet::new();
    let technologies: Vec<String> = (0..TECHNOLOGY_ROWS)
        .filter_map(|row| {
            let occupation = row % RATED;
            let example = numbers.below(TECHNOLOGY_EXAMPLES);
            seen.insert((occupation, example)).then(|| {
                let commodity = example % commodities.len();
                let hot = if example.is_multiple_of(5) { "Y" } else { "N" };
                let demand = if example.is_multiple_of(11) { "Y" } else { "N" };
                format!(
                    "{}\tTool {example:04} (synthetic)\t{}\t{}\t{hot}\t{demand}",
                    codes[occupation],
                    43232400 + commodity,
                    commodities[commodity]
                )
            })
        })
        .collect();
    wrote(
        "Technology Skills.txt",
        write(
            &dir,
            "Technology Skills.txt",
            "O*NET-SOC Code\tExample\tCommodity Code\tCommodity Title\tHot Technology\tIn Demand",
            technologies.into_iter(),
        )?,
    );
    wrote(
        "Task Statements.txt",
        write(
            &dir,
            "Task Statements.txt",
            "O*NET-SOC Code\tTask ID\tTask\tTask Type\tIncumbents Responding\tDate\tDomain Source",
            (0..TASK_ROWS).map(|task| {
                let kind = if task % 4 == 3 { "Supplemental" } else { "Core" };
                format!(
                    "{}\t{}\tDo synthetic task {task} carefully and on time.\t{kind}\t40\t08/2024\tIncumbent",
                    codes[task % RATED],
                    1000 + task
                )
            }),
        )?,
    );
    wrote(
        "Job Zones.txt",
        write(
            &dir,
            "Job Zones.txt",
            "O*NET-SOC Code\tJob Zone\tDate\tDomain Source",
            codes[..RATED].iter().enumerate().map(|(n, code)| format!("{code}\t{}\t08/2024\tAnalyst", 1 + n % 5)),
        )?,
    );
    wrote(
        "Job Zone Reference.txt",
        write(
            &dir,
            "Job Zone Reference.txt",
            "Job Zone\tName\tExperience\tEducation\tJob Training\tExamples\tSVP Range",
            (1..=5).map(|zone| format!("{zone}\tZone {zone} (synthetic)\tExperience {zone}\tEducation {zone}\tTraining {zone}\tExamples {zone}\t({zone}.0 to < {}.0)", zone + 1)),
        )?,
    );
    wrote(
        "Related Occupations.txt",
        write(
            &dir,
            "Related Occupations.txt",
            "O*NET-SOC Code\tRelated O*NET-SOC Code\tRelatedness Tier\tIndex",
            (0..RATED).flat_map(|n| {
                let codes = &codes;
                (1..=RELATED_PER_OCCUPATION).map(move |index| {
                    let tier = if index <= 5 {
                        "Primary-Short"
                    } else if index <= 10 {
                        "Primary-Long"
                    } else {
                        "Supplemental"
                    };
                    format!("{}\t{}\t{tier}\t{index}", codes[n], codes[(n + index * 7) % OCCUPATIONS])
                })
            }),
        )?,
    );
    wrote(
        "Alternate Titles.txt",
        write(
            &dir,
            "Alternate Titles.txt",
            "O*NET-SOC Code\tAlternate Title\tShort Title\tSource(s)",
            (0..ALTERNATE_TITLE_ROWS)
                .map(|row| format!("{}\tAlternate title {row} (synthetic)\tn/a\t08", codes[row % OCCUPATIONS])),
        )?,
    );

    let national = out.join("national_M2024_dl.csv");
    let mut csv = String::from(
        "AREA,AREA_TITLE,AREA_TYPE,PRIM_STATE,NAICS,NAICS_TITLE,I_GROUP,OWN_CODE,OCC_CODE,OCC_TITLE,O_GROUP,TOT_EMP,EMP_PRSE,JOBS_1000,LOC_QUOTIENT,PCT_TOTAL,PCT_RPT,H_MEAN,A_MEAN,MEAN_PRSE,H_PCT10,H_PCT25,H_MEDIAN,H_PCT75,H_PCT90,A_PCT10,A_PCT25,A_MEDIAN,A_PCT75,A_PCT90,ANNUAL,HOURLY\r\n",
    );
    let mut occupations = 0;
    let mut seen = std::collections::HashSet::new();
    for code in &codes {
        let soc = &code[..7];
        if !seen.insert(soc.to_owned()) {
            continue;
        }
        let mean = 30_000 + numbers.below(150_000);
        let pct = [mean * 55 / 100, mean * 75 / 100, mean * 95 / 100, mean * 120 / 100, mean * 150 / 100];
        let hourly: Vec<String> =
            std::iter::once(mean).chain(pct).map(|value| format!("{:.2}", value as f64 / 2080.0)).collect();
        csv.push_str(&format!(
            "99,U.S.,1,US,000000,Cross-industry,cross-industry,1235,{soc},Occupation {soc} (synthetic),detailed,\"{}\",1.2,,,,,{},\"{mean}\",0.5,{},{},{},{},{},{},{},{},{},{},,\r\n",
            1_000 + numbers.below(500_000),
            hourly[0],
            hourly[1],
            hourly[2],
            hourly[3],
            hourly[4],
            hourly[5],
            pct[0],
            pct[1],
            pct[2],
            pct[3],
            pct[4]
        ));
        occupations += 1;
    }
    std::fs::write(&national, csv)?;
    wrote("national_M2024_dl.csv", occupations);
    Ok(report)
}
