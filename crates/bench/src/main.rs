//! careergraph's benchmark: one command that measures the release server as users run it.
//!
//! On PostgreSQL it creates a fresh database, seeds the synthetic dataset (`careergraph seed
//! --synthetic N`), starts the release binary as a process of its own, and drives it with `wrk`
//! at concurrency 1 and 32 for each query of the table below. Every answer must be 200 without
//! `errors`. Per row it reports requests/s, p50 and p99 latency, errors, the server's CPU time
//! per request (from `/proc/<pid>/stat`), SQL statements per request (counted by PostgreSQL's
//! `pg_stat_statements`), and at the end the server's peak RSS; the table goes to
//! `bench/RESULTS.md` with the date, machine and commit. It asserts nothing: numbers on a shared
//! machine are for reading, not for failing builds.
//!
//! `cargo run --release -p careergraph-bench -- --help`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use clap::Parser;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

mod live;
mod soak;

/// Measures the release server on PostgreSQL (or the embedded SQLite default) with wrk.
#[derive(Parser, Debug)]
struct Args {
    /// Which database the server runs on: `postgres` (a fresh database on `--admin-url`) or
    /// `sqlite` (the embedded default, a file in a fresh data directory, as `cargo run` makes).
    #[arg(long, value_enum, default_value_t = Backend::Postgres)]
    database: Backend,
    /// A PostgreSQL server, as a user that may create databases; the benchmark makes its own.
    #[arg(long, env = "BENCH_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    admin_url: String,
    /// Synthetic career paths to seed.
    #[arg(long, default_value_t = 1000)]
    paths: u32,
    /// Seconds each row runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Where the table is written (Markdown). Default: `bench/RESULTS.md` for PostgreSQL,
    /// `bench/RESULTS-sqlite.md` for SQLite.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Only the rows whose name starts with this (a quick look; nothing is written then). May be
    /// given more than once: a row is kept if its name starts with any of them.
    #[arg(long)]
    only: Vec<String>,
    /// Leave out the rows whose name starts with this (after `--only`); may be given more than
    /// once. `--only "Q3 c32" --skip "Q3 c32 +"` is the Q3 row without the rows measured beside it.
    #[arg(long)]
    skip: Vec<String>,
    /// Keep the benchmark database afterwards (it is dropped by default).
    #[arg(long)]
    keep_database: bool,
    /// Synthetic career paths of the deep-page rows' own dataset (a page at position 0 against
    /// one at position 100,000); 0 leaves those rows out.
    #[arg(long, default_value_t = 100_000)]
    deep_paths: u32,
    /// Leave out the graph rows (Q6–Q8), which import a full-size synthetic O*NET release of
    /// their own (a commit without the graph answers has nothing to measure there).
    #[arg(long)]
    no_graph: bool,
    /// The server binary to measure, instead of the release build of this tree: another
    /// commit's, say, measured by the same command.
    #[arg(long)]
    server: Option<PathBuf>,
    /// Instead of the rows: mixed traffic (reads of every shape, edits, publications, sign-ins,
    /// refreshes, sign-outs, subscriptions) for MINUTES, printing every minute the server's RSS,
    /// open descriptors, database connections, p99 and errors, and at the end the slope of RSS
    /// over time. Its section of the results file replaces an earlier soak's; the rows stay.
    #[arg(long, value_name = "MINUTES")]
    soak: Option<u64>,
}

/// The database a run measures.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Args {
    fn output(&self) -> PathBuf {
        self.output.clone().unwrap_or_else(|| match self.database {
            Backend::Postgres => "bench/RESULTS.md".into(),
            Backend::Sqlite => "bench/RESULTS-sqlite.md".into(),
        })
    }
}

/// Where the server's database is: PostgreSQL with a connection to count its statements, or the
/// data directory's SQLite file.
struct Database<'a> {
    /// The server's `CAREERGRAPH_DATABASE_URL`; none for the embedded default.
    url: Option<&'a str>,
    /// PostgreSQL's administrative connection and the benchmark database's name, for
    /// `pg_stat_statements`.
    counted: Option<(&'a careergraph_domain::Db, &'a str)>,
    /// PostgreSQL's port, to count what it sends the server.
    port: Option<u16>,
}

const VIEWER_EMAIL: &str = "bench-viewer@example.com";
const EDITOR_EMAIL: &str = "bench-editor@example.com";
const PASSWORD: &str = "violet staircase 42";

/// The nested query: the first 20 career paths with their skills in order, each skill's
/// technologies, and salaries.
const Q3: &str = "{ careerPaths(first: 20) { edges { node { slug title skills { importance skill { name category technologies { name kind } } } salaryRecords { country currency period average minimum maximum asOf } } } } }";
const Q3V: &str = "{ careerPaths(first: 20) { edges { node { slug title skills { importance skill { name category technologies { name kind } } } salaryRecords { country currency period average minimum maximum asOf experienceLevel median sampleSize notes } } } } }";

/// One row of the table: a request and how many clients send it at once.
#[derive(Clone)]
struct Row {
    name: String,
    what: &'static str,
    body: Value,
    signed_in: bool,
    clients: usize,
}

fn rows() -> Vec<Row> {
    let queries: [(&str, &str, Value, bool); 7] = [
        ("Q0", "`{ __typename }`", json!({ "query": "{ __typename }" }), false),
        (
            "Q1",
            "one path by slug (title)",
            json!({ "query": "{ careerPath(slug: \"synthetic-path-00500\") { title } }" }),
            false,
        ),
        (
            "Q2",
            "first 20 paths (title, summary)",
            json!({ "query": "{ careerPaths(first: 20) { edges { node { title summary } } } }" }),
            false,
        ),
        ("Q3", "nested: 20 paths, skills, technologies, salaries", json!({ "query": Q3 }), false),
        ("Q3v", "Q3 as a VIEWER with salary detail", json!({ "query": Q3V }), true),
        (
            "Q4",
            "skillGap",
            json!({ "query": "{ skillGap(careerPath: \"synthetic-path-00042\", have: [\"synthetic-skill-000\", \"synthetic-skill-013\"]) { coverage missing { skill { name } } } }" }),
            false,
        ),
        (
            "Q5",
            "login",
            json!({ "query": "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }", "variables": { "e": VIEWER_EMAIL, "p": PASSWORD } }),
            false,
        ),
    ];
    let mut rows = Vec::new();
    for (name, what, body, signed_in) in queries {
        for clients in [1, 32] {
            rows.push(Row { name: format!("{name} c{clients}"), what, body: body.clone(), signed_in, clients });
        }
    }
    rows
}

/// What wrk measured for one row.
#[derive(Debug)]
struct Measured {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    sample: Option<String>,
}

/// A wrk script that sends `body` (with `token`), counts answers that are not 200 or carry
/// `errors`, and prints one `BENCH {json}` line at the end.
fn wrk_script(body: &Value, token: Option<&str>) -> String {
    let authorization =
        token.map(|token| format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n")).unwrap_or_default();
    format!(
        r#"wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
{authorization}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; sample = "" end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 300) end
  end
end
function done(summary, latency, requests)
  local bad_total, first = 0, ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    if first == "" then first = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format('BENCH {{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"bad":%d,"socket":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad_total,
    e.connect + e.read + e.write + e.timeout))
  if first ~= "" then io.write("BENCH-SAMPLE " .. first .. "\n") end
end
"#
    )
}

/// Starts wrk for `row` against `url`; `script` is where its script is written.
fn start_wrk(row: &Row, token: Option<&str>, url: &str, seconds: u64, script: &Path) -> anyhow::Result<Child> {
    std::fs::write(script, wrk_script(&row.body, token.filter(|_| row.signed_in)))?;
    let threads = row.clients.min(2).to_string();
    Command::new("wrk")
        .args(["-t", &threads, "-c", &row.clients.to_string(), "-d", &format!("{seconds}s"), "--timeout", "10s"])
        .arg("-s")
        .arg(script)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run wrk (apt-get install wrk)")
}

fn finish_wrk(child: Child) -> anyhow::Result<Measured> {
    let output = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("BENCH "))
        .with_context(|| format!("wrk printed no result: {text} {}", String::from_utf8_lossy(&output.stderr)))?;
    let result: Value = serde_json::from_str(line)?;
    let number = |key: &str| result[key].as_u64().unwrap_or(0);
    Ok(Measured {
        requests: number("requests"),
        seconds: number("duration_us") as f64 / 1e6,
        p50_ms: number("p50_us") as f64 / 1e3,
        p99_ms: number("p99_us") as f64 / 1e3,
        errors: number("bad") + number("socket"),
        sample: text.lines().find_map(|line| line.strip_prefix("BENCH-SAMPLE ")).map(str::to_owned),
    })
}

/// CPU seconds (user + system) the process has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after it are fixed.
    let fields: Vec<&str> = stat.rsplit_once(')').context("a /proc stat line")?.1.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Ok((ticks(11) + ticks(12)) / ticks_per_second)
}

/// The peak resident set size of the process, in MiB (`VmHWM`).
fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    status_mib(pid, "VmHWM:")
}

/// The server's resident memory now, MiB.
fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    status_mib(pid, "VmRSS:")
}

fn status_mib(pid: u32, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|line| line.starts_with(field)).with_context(|| field.to_owned())?;
    let kib: f64 = line.split_whitespace().nth(1).context("a size")?.parse()?;
    Ok(kib / 1024.0)
}

/// Starts a new peak for [`peak_rss_mib`]: writing 5 to `/proc/<pid>/clear_refs` sets the
/// process's `VmHWM` back to its current RSS, so each row's own peak can be read.
fn reset_peak_rss(pid: u32) -> anyhow::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").context("cannot reset the peak RSS")
}

/// What the server's database has done so far, where it can tell.
async fn count(database: &Database<'_>) -> Option<Work> {
    let (admin, name) = database.counted?;
    statements(admin, name).await
}

/// What PostgreSQL has done in one database, by `pg_stat_statements`.
#[derive(Clone, Copy)]
struct Work {
    /// Statements run.
    statements: f64,
    /// Their execution time, ms.
    executing_ms: f64,
    /// The time spent planning them, ms, when `pg_stat_statements.track_planning` is on (the
    /// benchmark turns it on for its database); a statement PostgreSQL keeps re-planning costs
    /// this much on top of its execution, which `total_exec_time` leaves out.
    planning_ms: Option<f64>,
}

/// The statements PostgreSQL has run in `database` and their execution time, if
/// `pg_stat_statements` is loaded.
async fn statements(admin: &careergraph_domain::Db, database: &str) -> Option<Work> {
    let sql = format!(
        "SELECT COALESCE(SUM(s.calls), 0)::float8, COALESCE(SUM(s.total_exec_time), 0)::float8, \
         COALESCE(SUM(s.total_plan_time), 0)::float8 FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{database}'"
    );
    let statement = sea_orm::Statement::from_string(admin.get_database_backend(), sql);
    let row = admin.query_one_raw(statement).await.ok()??;
    // The setting as the benchmark database's sessions have it (set there when it is made).
    let planning_tracked = admin
        .query_one_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!(
                "SELECT s.setconfig::text FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
                 WHERE d.datname = '{database}' AND s.setrole = 0"
            ),
        ))
        .await
        .ok()
        .flatten()
        .and_then(|row| row.try_get_by_index::<String>(0).ok())
        .is_some_and(|settings| settings.contains("pg_stat_statements.track_planning=on"));
    Some(Work {
        statements: row.try_get_by_index::<f64>(0).ok()?,
        executing_ms: row.try_get_by_index::<f64>(1).ok()?,
        planning_ms: planning_tracked.then(|| row.try_get_by_index::<f64>(2).ok()).flatten(),
    })
}

/// Bytes the process `pid` has received over its TCP connections to `port` (PostgreSQL's), by
/// the kernel's count for each socket (`ss -ti`: `bytes_received`); `None` where `ss` cannot
/// tell. A connection the pool closes during a row takes its count with it, so the figure is a
/// floor; the pool keeps its connections open under load.
fn received_from(pid: u32, port: u16) -> Option<u64> {
    let filter = format!("( dport = :{port} )");
    let output = Command::new("ss").args(["-tinpH", "state", "established", &filter]).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let owner = format!("pid={pid},");
    let mut ours = false;
    let mut total = 0;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if !line.starts_with(char::is_whitespace) {
            ours = line.contains(&owner);
            continue;
        }
        if ours {
            let received = line.split_whitespace().find_map(|field| field.strip_prefix("bytes_received:"));
            total += received.and_then(|count| count.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Some(total)
}

fn run_quietly(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let output = command.output().with_context(|| format!("cannot run {what}"))?;
    ensure!(output.status.success(), "{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The release server, built if needed, beside this benchmark's own binary.
fn release_server() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_quietly(
        Command::new(cargo).args(["build", "--release", "--package", "careergraph-gateway", "--bin", "careergraph"]),
        "cargo build --release",
    )?;
    let binary = std::env::current_exe()?.with_file_name("careergraph");
    ensure!(binary.exists(), "{} was not built", binary.display());
    Ok(binary)
}

/// The server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A line describing the machine: cores, CPU model, memory.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines().next().and_then(|line| line.split_whitespace().nth(1)).and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or_else(String::new, |kib| format!(", {:.0} GiB", kib / 1024.0 / 1024.0));
    format!("{cores} cores ({}){memory}", model.unwrap_or_else(|| "unknown CPU".into()))
}

fn commit() -> String {
    let head = Command::new("git").args(["rev-parse", "--short", "HEAD"]).output();
    let head = head.map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned()).unwrap_or_default();
    let dirty = Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]).output();
    let dirty = dirty.is_ok_and(|output| !output.stdout.is_empty());
    if dirty { format!("{head} (with uncommitted changes)") } else { head }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(Command::new("wrk").arg("--version").output().is_ok(), "wrk is not installed: apt-get install wrk");
    let binary = match &args.server {
        Some(server) => server.clone(),
        None => release_server()?,
    };
    let ticks_per_second: f64 =
        run_quietly(Command::new("getconf").arg("CLK_TCK"), "getconf CLK_TCK")?.trim().parse().unwrap_or(100.0);

    if args.database == Backend::Sqlite {
        let database = Database { url: None, counted: None, port: None };
        if let Some(minutes) = args.soak {
            let section = soak::run(&binary, &database, args.paths, minutes).await?;
            return write_soak(&args, &section);
        }
        let (mut table, peak, notes) = measure(&args, &binary, &database, ticks_per_second).await?;
        for dataset in OwnDataset::ALL.into_iter().filter(|dataset| dataset.selected(&args)) {
            table.extend(dataset.measure(&args, &binary, &database, ticks_per_second).await?);
        }
        return report(&args, &table, peak, false, &notes);
    }
    // A fresh database, seeded as users seed theirs.
    let admin = careergraph_domain::connect(&args.admin_url).await.context("cannot reach the PostgreSQL server")?;
    let name = format!("careergraph_bench_{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    create_database(&admin, &name).await?;
    // The view is there once the extension is created; it counts only when PostgreSQL preloads it.
    admin.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await.ok();
    let counting = statements(&admin, &name).await.is_some();
    if !counting {
        eprintln!(
            "note: pg_stat_statements is not loaded, so statements are not counted. To count them: \
             ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; then restart PostgreSQL"
        );
    }
    let mut url = url::Url::parse(&args.admin_url)?;
    url.set_path(&name);
    let url = url.to_string();
    let port = url::Url::parse(&url)?.port().unwrap_or(5432);
    let database = Database { url: Some(&url), counted: counting.then_some((&admin, name.as_str())), port: Some(port) };
    if let Some(minutes) = args.soak {
        // The soak counts the database's connections, which needs no extension.
        let database = Database { counted: Some((&admin, name.as_str())), ..database };
        let section = soak::run(&binary, &database, args.paths, minutes).await;
        if !args.keep_database {
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
        }
        return write_soak(&args, &section?);
    }
    let measured = measure(&args, &binary, &database, ticks_per_second).await;
    // The rows with datasets of their own, each in a database of its own, while all goes well.
    let mut names = vec![name.clone()];
    let mut own = Vec::new();
    for dataset in OwnDataset::ALL.into_iter().filter(|dataset| dataset.selected(&args)) {
        if measured.is_err() || own.iter().any(anyhow::Result::is_err) {
            break;
        }
        let own_name = format!("{name}_{}", dataset.suffix());
        names.push(own_name.clone());
        let rows = async {
            let own_url = own_database(&args, &admin, &own_name).await?;
            let counted = counting.then_some((&admin, own_name.as_str()));
            let database = Database { url: Some(&own_url), counted, port: Some(port) };
            dataset.measure(&args, &binary, &database, ticks_per_second).await
        };
        own.push(rows.await);
    }
    if !args.keep_database {
        for name in &names {
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
        }
    }
    let (mut table, peak, notes) = measured?;
    for rows in own {
        table.extend(rows?);
    }
    report(&args, &table, peak, counting, &notes)
}

/// Creates the benchmark database `name`, whose sessions count their planning too (a superuser's
/// setting: without it, planning is reported as not measured).
async fn create_database(admin: &careergraph_domain::Db, name: &str) -> anyhow::Result<()> {
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
    admin.execute_unprepared(&format!("ALTER DATABASE {name} SET pg_stat_statements.track_planning = on")).await.ok();
    Ok(())
}

/// Creates the database `name` for rows that need a dataset of their own; returns its URL.
async fn own_database(args: &Args, admin: &careergraph_domain::Db, name: &str) -> anyhow::Result<String> {
    create_database(admin, name).await?;
    let mut url = url::Url::parse(&args.admin_url)?;
    url.set_path(name);
    Ok(url.to_string())
}

/// The deep-page rows: the first page, and the page at position 100,000.
const DEEP_ROWS: [&str; 2] = ["P0 c1", "P100k c1"];

/// Whether `--only` leaves the row named `name` in.
fn selected(args: &Args, name: &str) -> bool {
    let starts = |prefixes: &[String]| prefixes.iter().any(|prefix| name.starts_with(prefix.as_str()));
    (args.only.is_empty() || starts(&args.only)) && !starts(&args.skip)
}

/// Rows that need a dataset of their own: the deep pages, and the graph answers.
#[derive(Clone, Copy)]
enum OwnDataset {
    Deep,
    Graph,
}

impl OwnDataset {
    const ALL: [Self; 2] = [Self::Deep, Self::Graph];

    /// What its database's name ends with.
    fn suffix(self) -> &'static str {
        match self {
            Self::Deep => "deep",
            Self::Graph => "graph",
        }
    }

    /// Whether the arguments leave any of its rows in.
    fn selected(self, args: &Args) -> bool {
        match self {
            Self::Deep => args.deep_paths > 0 && DEEP_ROWS.iter().any(|name| selected(args, name)),
            Self::Graph => {
                !args.no_graph
                    && GRAPH_ROWS
                        .iter()
                        .any(|(name, _, _)| [1, 8].iter().any(|c| selected(args, &format!("{name} c{c}"))))
            }
        }
    }

    /// Seeds `database` and measures the rows.
    async fn measure(
        self,
        args: &Args,
        binary: &Path,
        database: &Database<'_>,
        ticks_per_second: f64,
    ) -> anyhow::Result<Vec<TableRow>> {
        match self {
            Self::Deep => deep_pages(args, binary, database, ticks_per_second).await,
            Self::Graph => graph_answers(args, binary, database, ticks_per_second).await,
        }
    }
}

/// The graph rows, each at 1 and 8 clients.
const GRAPH_ROWS: [(&str, &str, &str); 3] = [
    (
        "Q6",
        "careerMoves: 10 moves with pay, zones and skills to learn",
        "{ careerMoves(from: \"occupation-0042-synthetic\", first: 10) { edges { node { similarity medianPayChange jobZoneChange careerPath { title } skillsToLearn { skill { name } gap } } } } }",
    ),
    (
        "Q7",
        "nextSkills: 10 skills with the paths each lifts",
        "{ nextSkills(have: [\"skill-00-synthetic\", \"skill-01-synthetic\", \"knowledge-00-synthetic\"], first: 10) { value skill { name } lifts { title } } }",
    ),
    (
        "Q8",
        "relatedSkills: 10 skills that go with one",
        "{ skill(slug: \"skill-03-synthetic\") { relatedSkills(first: 10) { strength skill { name } } } }",
    ),
];

/// The graph rows, on a dataset of their own: the full-size synthetic O*NET release (1,016
/// occupations, 923 rated on 35 skills and 33 knowledge elements) and its OEWS wages, imported
/// and published through the binary as a user imports the real ones.
async fn graph_answers(
    args: &Args,
    binary: &Path,
    database: &Database<'_>,
    ticks_per_second: f64,
) -> anyhow::Result<Vec<TableRow>> {
    let dir = tempfile::tempdir()?;
    let release = tempfile::tempdir()?;
    careergraph_domain::synthetic::release::write_release(release.path())?;
    let careergraph = || careergraph_command(binary, dir.path(), database);
    eprintln!("importing the full-size synthetic O*NET release ({:?})", args.database);
    let onet = release.path().join("db_29_1_text");
    run_quietly(careergraph().arg("import").arg("onet").arg(&onet).arg("--publish"), "careergraph import onet")?;
    let oews = release.path().join("national_M2024_dl.csv");
    run_quietly(careergraph().arg("import").arg("oews").arg(&oews), "careergraph import oews")?;
    if let Some(url) = database.url {
        let fresh = careergraph_domain::connect(url).await?;
        fresh.execute_unprepared("VACUUM ANALYZE").await?;
        fresh.close().await.ok();
    }
    let (server, base) = serve(careergraph()).await?;
    let graphql = format!("{base}/graphql");
    let target = Target { graphql: &graphql, pid: server.0.id(), database, ticks_per_second, dir: dir.path() };
    let mut table = Vec::new();
    for (name, what, query) in GRAPH_ROWS {
        for clients in [1, 8] {
            let row = Row {
                name: format!("{name} c{clients}"),
                what,
                body: json!({ "query": query }),
                signed_in: false,
                clients,
            };
            if selected(args, &row.name) {
                table.push(measure_row(args, &row, None, &target).await?);
            }
        }
    }
    Ok(table)
}

/// Writes the table (unless `--only` or `--skip` picked rows), and fails if any row had errors.
fn report(args: &Args, table: &[TableRow], peak: f64, counting: bool, notes: &[String]) -> anyhow::Result<()> {
    println!("server peak RSS: {peak:.1} MiB");
    if args.only.is_empty() && args.skip.is_empty() {
        write_results(args, table, peak, counting, notes)?;
        println!("written to {}", args.output().display());
    }
    if let Some(row) = table.iter().find(|row| row.measured.errors > 0) {
        bail!(
            "{}: {} answers were not 200 without errors; first: {}",
            row.name,
            row.measured.errors,
            row.measured.sample.clone().unwrap_or_default()
        );
    }
    Ok(())
}

/// The server `binary` on `database` (a data directory of its own in `dir`), as a command to
/// finish.
fn careergraph_command(binary: &Path, dir: &Path, database: &Database<'_>) -> Command {
    let mut command = Command::new(binary);
    command.env("CAREERGRAPH_DATA_DIR", dir).env("CAREERGRAPH_LOG", "warn");
    match database.url {
        Some(url) => command.env("CAREERGRAPH_DATABASE_URL", url),
        None => command.env_remove("CAREERGRAPH_DATABASE_URL"),
    };
    command
}

/// Seeds `paths` synthetic career paths, adds the viewer and the editor the rows sign in as.
async fn seed_and_add_users(
    paths: u32,
    mut careergraph: impl FnMut() -> Command,
    database: &Database<'_>,
) -> anyhow::Result<()> {
    seed(paths, &mut careergraph, database).await?;
    for (email, role) in [(VIEWER_EMAIL, "viewer"), (EDITOR_EMAIL, "editor")] {
        let mut add = careergraph()
            .args(["user", "add", "--email", email, "--role", role, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        add.stdin.take().context("stdin")?.write_all(format!("{PASSWORD}\n").as_bytes())?;
        ensure!(add.wait()?.success(), "careergraph user add failed");
    }
    Ok(())
}

/// Seeds `paths` synthetic career paths and freshens the planner's statistics.
async fn seed(paths: u32, mut careergraph: impl FnMut() -> Command, database: &Database<'_>) -> anyhow::Result<()> {
    eprintln!(
        "seeding {paths} synthetic career paths ({})",
        if database.url.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    run_quietly(careergraph().args(["seed", "--synthetic", &paths.to_string()]), "careergraph seed")?;
    // Fresh statistics, as a database in service has (seeding ends with ANALYZE on SQLite).
    if let Some(url) = database.url {
        let fresh = careergraph_domain::connect(url).await?;
        fresh.execute_unprepared("VACUUM ANALYZE").await?;
        fresh.close().await.ok();
    }
    Ok(())
}

/// Starts the server and waits until it is ready; returns it and its base URL.
async fn serve(mut careergraph: Command) -> anyhow::Result<(Server, String)> {
    // The rows measure the work of answering: the response cache is off unless the command
    // turns it on (the `… cached` rows, see `live`).
    if !careergraph.get_envs().any(|(name, _)| name == "CAREERGRAPH_RESPONSE_CACHE_MIB") {
        careergraph.env("CAREERGRAPH_RESPONSE_CACHE_MIB", "0");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let server = Server(
        careergraph
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            // The benchmark is one client at one address signing in to one account over and over:
            // the per-client budget and the sign-in throttles, which count attempts in flight,
            // would refuse it. It measures what a sign-in costs, not how attackers are stopped.
            .env("CAREERGRAPH_BUDGET_PER_MINUTE", "0")
            .env("CAREERGRAPH_LOGIN_FREE_FAILURES", "1000000")
            .env("CAREERGRAPH_LOGIN_FREE_FAILURES_PER_ADDRESS", "1000000")
            .stdout(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok((server, base));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server did not come up")
}

/// Measures `row` against `graphql` (the server `pid`): requests, latency, and the server's and
/// the database's work per request.
/// The running server a row is measured against.
#[derive(Clone, Copy)]
struct Target<'a> {
    graphql: &'a str,
    pid: u32,
    database: &'a Database<'a>,
    ticks_per_second: f64,
    /// Where wrk's scripts are written.
    dir: &'a Path,
}

async fn measure_row(args: &Args, row: &Row, token: Option<&str>, target: &Target<'_>) -> anyhow::Result<TableRow> {
    let Target { graphql, pid, database, ticks_per_second, dir } = *target;
    // A moment of warm-up, unmeasured, then the row itself.
    reset_peak_rss(pid)?;
    finish_wrk(start_wrk(row, token, graphql, 1, &dir.join("warm.lua"))?)?;
    let received = || database.port.and_then(|port| received_from(pid, port));
    let (cpu_before, statements_before, received_before) =
        (cpu_seconds(pid, ticks_per_second)?, count(database).await, received());
    let measured = finish_wrk(start_wrk(row, token, graphql, args.seconds, &dir.join("row.lua"))?)?;
    let (cpu_after, statements_after, received_after) =
        (cpu_seconds(pid, ticks_per_second)?, count(database).await, received());
    let requests = measured.requests.max(1) as f64;
    let work = statements_before.zip(statements_after);
    let statements = work.map(|(before, after)| (after.statements - before.statements) / requests);
    let database_ms = work.map(|(before, after)| (after.executing_ms - before.executing_ms) / requests);
    let planning_ms = work.and_then(|(before, after)| Some((after.planning_ms? - before.planning_ms?) / requests));
    let received_kib = received_before
        .zip(received_after)
        .map(|(before, after)| after.saturating_sub(before) as f64 / requests / 1024.0);
    let cpu_ms = (cpu_after - cpu_before) / requests * 1e3;
    let row = TableRow {
        name: row.name.clone(),
        what: row.what.into(),
        measured,
        cpu_ms,
        statements,
        database_ms,
        planning_ms,
        received_kib,
        peak_mib: peak_rss_mib(pid)?,
    };
    println!("{}", row.line());
    Ok(row)
}

/// The deep-page rows, on a dataset of their own with `--deep-paths` paths: the first page of 20
/// paths by title, and the page of 20 that starts at position 100,000 (or as deep as the data
/// reaches), whose cursor is found by walking the list as a client does.
async fn deep_pages(
    args: &Args,
    binary: &Path,
    database: &Database<'_>,
    ticks_per_second: f64,
) -> anyhow::Result<Vec<TableRow>> {
    let dir = tempfile::tempdir()?;
    seed(args.deep_paths, || careergraph_command(binary, dir.path(), database), database).await?;
    let (server, base) = serve(careergraph_command(binary, dir.path(), database)).await?;
    let graphql = format!("{base}/graphql");
    let client = reqwest::Client::new();
    let depth = u64::from(args.deep_paths).min(100_000).saturating_sub(20);
    let (mut walked, mut after) = (0, Value::Null);
    while walked < depth {
        let first = (depth - walked).min(100);
        let body = json!({ "query": "query ($first: Int, $after: String) { careerPaths(first: $first, after: $after) { pageInfo { endCursor } } }", "variables": { "first": first, "after": after } });
        let answer: Value = client.post(&graphql).json(&body).send().await?.json().await?;
        after = answer["data"]["careerPaths"]["pageInfo"]["endCursor"].clone();
        ensure!(after.is_string(), "walking the list failed at {walked}: {answer}");
        walked += first;
    }
    let page =
        "query ($after: String) { careerPaths(first: 20, after: $after) { edges { cursor node { slug title } } } }";
    let rows = [
        Row {
            name: DEEP_ROWS[0].into(),
            what: "first page of 20 paths by title",
            body: json!({ "query": page }),
            signed_in: false,
            clients: 1,
        },
        Row {
            name: DEEP_ROWS[1].into(),
            what: "the page of 20 paths at position 100,000",
            body: json!({ "query": page, "variables": { "after": after } }),
            signed_in: false,
            clients: 1,
        },
    ];
    let mut table = Vec::new();
    for row in rows.iter().filter(|row| selected(args, &row.name)) {
        table.push(
            measure_row(
                args,
                row,
                None,
                &Target { graphql: &graphql, pid: server.0.id(), database, ticks_per_second, dir: dir.path() },
            )
            .await?,
        );
    }
    Ok(table)
}

async fn measure(
    args: &Args,
    binary: &Path,
    database: &Database<'_>,
    ticks_per_second: f64,
) -> anyhow::Result<(Vec<TableRow>, f64, Vec<String>)> {
    let dir = tempfile::tempdir()?;
    let careergraph = || careergraph_command(binary, dir.path(), database);
    seed_and_add_users(args.paths, careergraph, database).await?;
    let (server, base) = serve(careergraph()).await?;
    let pid = server.0.id();
    let client = reqwest::Client::new();
    let graphql = format!("{base}/graphql");
    let all = rows();
    let row_named = |name: &str| all.iter().find(|row| row.name == name).with_context(|| format!("no row {name}"));
    let answer: Value = client.post(&graphql).json(&row_named("Q5 c1")?.body).send().await?.json().await?;
    let token = answer["data"]["login"]["accessToken"].as_str().context("the viewer signs in")?.to_owned();

    const FLOOD_ROW: &str = "Q3 c32 + login flood";
    let selected = |name: &str| selected(args, name);
    let mut table = Vec::new();
    // Start-up and the first sign-in, before any row.
    let mut peak = peak_rss_mib(pid)?;
    for row in all.iter().filter(|row| selected(&row.name)) {
        let row = measure_row(
            args,
            row,
            Some(&token),
            &Target { graphql: &graphql, pid, database, ticks_per_second, dir: dir.path() },
        )
        .await?;
        peak = peak.max(row.peak_mib);
        table.push(row);
    }
    // Three times: the flood's effect on Q3's p99 is judged on every run, not on a good one. Each
    // run measures Q3 alone right before it, and is judged against that: on this shared machine
    // Q3's own rate drifts by a tenth within minutes, more than the flood's effect.
    for run in 1..=3 {
        if !selected(FLOOD_ROW) {
            break;
        }
        // Q3 at 32 clients while 8 more sign in as fast as they can.
        let q3 = row_named("Q3 c32")?;
        let logins = Row { clients: 8, ..row_named("Q5 c32")?.clone() };
        let alone = finish_wrk(start_wrk(q3, None, &graphql, args.seconds, &dir.path().join("row.lua"))?)?;
        reset_peak_rss(pid)?;
        let cpu_before = cpu_seconds(pid, ticks_per_second)?;
        let flooding = start_wrk(&logins, None, &graphql, args.seconds, &dir.path().join("flood.lua"))?;
        let measured = finish_wrk(start_wrk(q3, None, &graphql, args.seconds, &dir.path().join("row.lua"))?)?;
        let flooded = finish_wrk(flooding)?;
        let cpu = cpu_seconds(pid, ticks_per_second)? - cpu_before;
        let cpu_ms = cpu / (measured.requests + flooded.requests).max(1) as f64 * 1e3;
        let what = format!(
            "Q3 while 8 clients sign in nonstop (run {run} of 3; {} logins); p99 {:.2}× of Q3 alone just before ({:.0}/s, p99 {:.2} ms)",
            flooded.requests,
            measured.p99_ms / alone.p99_ms.max(1e-9),
            alone.requests as f64 / alone.seconds.max(1e-9),
            alone.p99_ms,
        );
        eprintln!("  ({what}; {} errors)", flooded.errors);
        let row = TableRow::alongside(FLOOD_ROW, what, measured, cpu_ms, peak_rss_mib(pid)?);
        peak = peak.max(row.peak_mib);
        table.push(row);
        println!("{}", table.last().context("a row")?.line());
    }
    const SIGN_IN_UNDER_LOAD_ROW: &str = "Q5 c1 + Q3 c32";
    if selected(SIGN_IN_UNDER_LOAD_ROW) {
        // The other side of the flood row: hashes yield the cores to reads, so what does one
        // person signing in wait while reads keep both cores busy?
        let q3 = row_named("Q3 c32")?;
        reset_peak_rss(pid)?;
        let cpu_before = cpu_seconds(pid, ticks_per_second)?;
        let reading = start_wrk(q3, None, &graphql, args.seconds, &dir.path().join("row.lua"))?;
        let measured =
            finish_wrk(start_wrk(row_named("Q5 c1")?, None, &graphql, args.seconds, &dir.path().join("login.lua"))?)?;
        let read = finish_wrk(reading)?;
        let cpu = cpu_seconds(pid, ticks_per_second)? - cpu_before;
        let cpu_ms = cpu / (measured.requests + read.requests).max(1) as f64 * 1e3;
        let what = format!(
            "one client signing in while 32 read Q3 nonstop ({:.0} reads/s meanwhile)",
            read.requests as f64 / read.seconds.max(1e-9)
        );
        let row = TableRow::alongside(SIGN_IN_UNDER_LOAD_ROW, what, measured, cpu_ms, peak_rss_mib(pid)?);
        peak = peak.max(row.peak_mib);
        table.push(row);
        println!("{}", table.last().context("a row")?.line());
    }
    const WRITES_ROW: &str = "Q3 c32 + editor writes";
    if selected(WRITES_ROW) {
        // Q3 at 32 clients while an editor renames one path back to back: readers should not
        // wait for the writer (WAL on SQLite; MVCC on PostgreSQL).
        let login = json!({ "query": format!("mutation {{ login(input: {{ email: \"{EDITOR_EMAIL}\", password: \"{PASSWORD}\" }}) {{ accessToken }} }}") });
        let answer: Value = client.post(&graphql).json(&login).send().await?.json().await?;
        let editor = answer["data"]["login"]["accessToken"].as_str().context("the editor signs in")?.to_owned();
        let path: Value = client
            .post(&graphql)
            .json(&json!({ "query": "{ careerPath(slug: \"synthetic-path-00001\") { id version } }" }))
            .send()
            .await?
            .json()
            .await?;
        let id = path["data"]["careerPath"]["id"].as_str().context("the path to edit")?.to_owned();
        let mut version = path["data"]["careerPath"]["version"].as_i64().context("its version")?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (client, graphql, stop) = (client.clone(), graphql.clone(), stop.clone());
            tokio::spawn(async move {
                let update = "mutation ($id: ID!, $v: Int!, $t: String!) { updateCareerPath(input: { id: $id, expectedVersion: $v, title: $t }) { careerPath { version } } }";
                let mut took = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let started = std::time::Instant::now();
                    let body = json!({ "query": update, "variables": { "id": id, "v": version, "t": format!("Synthetic path 1, edit {}", took.len()) } });
                    let answer: Value =
                        client.post(&graphql).bearer_auth(&editor).json(&body).send().await?.json().await?;
                    took.push(started.elapsed());
                    version = answer["data"]["updateCareerPath"]["careerPath"]["version"]
                        .as_i64()
                        .with_context(|| format!("the edit failed: {answer}"))?;
                }
                anyhow::Ok(took)
            })
        };
        reset_peak_rss(pid)?;
        let cpu_before = cpu_seconds(pid, ticks_per_second)?;
        let measured =
            finish_wrk(start_wrk(row_named("Q3 c32")?, None, &graphql, args.seconds, &dir.path().join("row.lua"))?)?;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut took = writer.await??;
        let cpu = cpu_seconds(pid, ticks_per_second)? - cpu_before;
        let cpu_ms = cpu / (measured.requests + took.len() as u64).max(1) as f64 * 1e3;
        took.sort();
        let p99 = took.get(took.len() * 99 / 100).or(took.last()).map_or(0.0, |took| took.as_secs_f64() * 1e3);
        let what = format!(
            "Q3 while an editor renames a path back to back ({:.0} edits/s, p99 {p99:.1} ms)",
            took.len() as f64 / measured.seconds.max(1e-9)
        );
        let row = TableRow::alongside(WRITES_ROW, what, measured, cpu_ms, peak_rss_mib(pid)?);
        peak = peak.max(row.peak_mib);
        table.push(row);
        println!("{}", table.last().context("a row")?.line());
    }
    drop(server);
    let (cached, notes) = live::measure(args, careergraph, dir.path(), database, ticks_per_second).await?;
    for row in &cached {
        peak = peak.max(row.peak_mib);
    }
    table.extend(cached);
    Ok((table, peak, notes))
}

/// A row as measured.
struct TableRow {
    name: String,
    what: String,
    measured: Measured,
    cpu_ms: f64,
    statements: Option<f64>,
    /// PostgreSQL's execution time per request (`pg_stat_statements`), ms.
    database_ms: Option<f64>,
    /// PostgreSQL's planning time per request, ms, where it was tracked.
    planning_ms: Option<f64>,
    /// What PostgreSQL sent the server per request, KiB.
    received_kib: Option<f64>,
    /// The server's peak RSS during the row (its warm-up included), MiB.
    peak_mib: f64,
}

impl TableRow {
    /// A row measured beside other load (a flood, an editor), whose database figures would count
    /// that load too, so they are left out.
    fn alongside(name: &str, what: String, measured: Measured, cpu_ms: f64, peak_mib: f64) -> Self {
        Self {
            name: name.into(),
            what,
            measured,
            cpu_ms,
            statements: None,
            database_ms: None,
            planning_ms: None,
            received_kib: None,
            peak_mib,
        }
    }

    /// The measured cells: requests/s, p50, p99, errors, CPU ms/request, statements/request,
    /// database ms/request, planning ms/request, KiB from the database per request, peak RSS.
    fn cells(&self) -> [String; 10] {
        let measured = &self.measured;
        [
            format!("{:.0}", measured.requests as f64 / measured.seconds.max(1e-9)),
            format!("{:.2}", measured.p50_ms),
            format!("{:.2}", measured.p99_ms),
            measured.errors.to_string(),
            format!("{:.3}", self.cpu_ms),
            self.statements.map_or_else(|| "-".into(), |count| format!("{count:.2}")),
            self.database_ms.map_or_else(|| "-".into(), |ms| format!("{ms:.3}")),
            self.planning_ms.map_or_else(|| "-".into(), |ms| format!("{ms:.3}")),
            self.received_kib.map_or_else(|| "-".into(), |kib| format!("{kib:.1}")),
            format!("{:.1}", self.peak_mib),
        ]
    }

    /// The row as the terminal shows it.
    fn line(&self) -> String {
        let [rate, p50, p99, errors, cpu, statements, database, planning, received, peak] = self.cells();
        format!(
            "{:<22} {rate:>7}/s  p50 {p50:>8} ms  p99 {p99:>8} ms  errors {errors:<4} cpu {cpu:>7} ms/req  statements {statements:>5}  db {database:>6} ms/req  plan {planning:>6} ms/req  {received:>6} KiB/req  peak {peak:>6} MiB",
            self.name
        )
    }
}

/// Where a soak's section of the results file begins.
const SOAK_HEADING: &str = "## Soak";

/// Puts a soak's `section` into the results file in place of an earlier soak's, keeping the rows.
fn write_soak(args: &Args, section: &str) -> anyhow::Result<()> {
    let output = args.output();
    let existing = std::fs::read_to_string(&output).unwrap_or_default();
    let rows = existing.split_once(SOAK_HEADING).map_or(existing.as_str(), |(rows, _)| rows).trim_end();
    std::fs::write(&output, format!("{rows}\n\n{section}"))?;
    println!("written to {}", output.display());
    Ok(())
}

fn write_results(args: &Args, table: &[TableRow], peak: f64, counting: bool, notes: &[String]) -> anyhow::Result<()> {
    let wrk = Command::new("wrk").arg("--version").output().map(|output| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .split(" Copyright")
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let mut text = format!(
        "# Benchmark results\n\n\
         Written by `cargo run --release -p careergraph-bench` (see \"Benchmark\" in README.md).\n\n\
         - date: {}\n- machine: {}\n- commit: {}\n- load generator: {}\n\
         - data: {} synthetic career paths (10 skills each, 3 technologies per skill, 8 salary records) on {}, beside the bundled dataset; \
         the deep-page rows (P…) have a dataset of their own, {} paths, and their page at position 100,000 starts after the cursor a client walking the list by 100s is given; \
         the graph rows (Q6–Q8) have one too: the full-size synthetic O*NET release (1,016 occupations, 923 rated on 35 skills and 33 knowledge elements) and its OEWS wages, imported with `--publish`\n\
         - each row: {} s after 1 s of warm-up; client, server and database share the machine\n\n\
         | row | what | requests/s | p50 ms | p99 ms | errors | gateway CPU ms/request | SQL statements/request | database ms/request | planning ms/request | KiB from the database/request | peak RSS MiB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(),
        commit(),
        wrk.unwrap_or_default(),
        args.paths,
        match args.database {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite =>
                "SQLite (the embedded default: a file in the data directory; its work is the server's CPU too)",
        },
        args.deep_paths,
        args.seconds,
    );
    for row in table {
        text.push_str(&format!("| {} | {} | {} |\n", row.name, row.what, row.cells().join(" | ")));
    }
    text.push_str(&format!(
        "\nServer peak RSS over the whole run: **{peak:.1} MiB** (start-up included); each row's column is the \
         peak during that row and its warm-up (`VmHWM`, reset before each row through `/proc/<pid>/clear_refs`).\n\n\
         Gateway CPU is the server process's user + system time (`/proc/<pid>/stat`) over the row, \
         divided by its requests (in the flood row, by the Q3 requests and the logins together). \
         SQL statements are {} over the row, divided by its requests; they include `BEGIN` and `COMMIT`. \
         Database time is {}. KiB from the database are the bytes PostgreSQL sent the server over the row \
         (the kernel's `bytes_received` of each of the server's connections to it, `ss -ti`), per request.\n",
        if counting {
            "PostgreSQL's own count (`pg_stat_statements` calls in the benchmark database)"
        } else {
            "not counted (`pg_stat_statements` was not loaded, or the database is SQLite)"
        },
        if counting {
            "PostgreSQL's execution time of those statements (`pg_stat_statements.total_exec_time`; planning not included) per request"
        } else {
            "not measured"
        }
    ));
    text.push_str(
        "Planning time is PostgreSQL's time spent planning them (`total_plan_time`, which the benchmark database \
         tracks with `pg_stat_statements.track_planning`; `-` where it could not be turned on), per request: a \
         prepared statement is planned once and kept, or planned anew for every execution when PostgreSQL expects \
         a plan for the given values to run faster, so this is database work the execution time leaves out.\n",
    );
    if !notes.is_empty() {
        text.push_str(
            "\nRows named `… cached` ran on a server with the response cache on (`CAREERGRAPH_RESPONSE_CACHE_MIB=64`, \
             as `careergraph serve` starts by default); every other row on one with it off (`=0`), so they measure \
             the work of answering. Live updates:\n\n",
        );
        for note in notes {
            text.push_str(&format!("- {note}\n"));
        }
    }
    let output = args.output();
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if let Some(sections) = sections_kept(&std::fs::read_to_string(&output).unwrap_or_default()) {
        text.push_str(&format!("\n{sections}"));
    }
    std::fs::write(&output, text)?;
    Ok(())
}

/// The part of a results file a run of the rows keeps: every section after the table and its
/// notes (which have no `## ` heading), from the first `## ` heading on. A soak's section is one;
/// so are the same-hour comparisons written by hand, which issue 26 asks the file to record and
/// which a run of the rows once dropped with the rest.
fn sections_kept(existing: &str) -> Option<&str> {
    if existing.starts_with("## ") {
        return Some(existing);
    }
    existing.find("\n## ").map(|at| &existing[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::sections_kept;

    #[test]
    fn a_run_of_the_rows_keeps_every_section_after_the_table() {
        let existing = "# Benchmark results\n\n| row |\n|---|\n| Q1 |\n\nnotes\n\n## Q3 c32 against 64df6e0\n\n| round |\n\n## Soak (`--soak 10`)\n\nminutes\n";
        assert_eq!(
            sections_kept(existing),
            Some("## Q3 c32 against 64df6e0\n\n| round |\n\n## Soak (`--soak 10`)\n\nminutes\n")
        );
        assert_eq!(sections_kept("# Benchmark results\n\n| row |\n"), None);
        assert_eq!(sections_kept(""), None);
    }
}
