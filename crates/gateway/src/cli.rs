//! The `careergraph` command line.

use std::io::Read;

use anyhow::Context;
use careergraph_domain::audit::Actor;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use secrecy::SecretString;

use careergraph_auth::Role;

use crate::authentication::{self as accounts, AccountError, password_rules};
use crate::config::Config;
use crate::graphql::schema::{build_schema, sdl};
use crate::startup::{Application, open_store};

/// careergraph: a GraphQL API for a knowledge graph of tech careers.
#[derive(Parser, Debug)]
#[command(name = "careergraph", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand, Debug, Clone)]
enum Command {
    /// Serve the API and the playground (the default). An empty database is migrated and
    /// loaded with the bundled dataset first.
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Migrate, then add whatever of the bundled dataset is missing (never overwrites).
    Seed {
        /// Also add N synthetic career paths for benchmarks: deterministic, labelled
        /// "(synthetic)" with slugs `synthetic-path-…`, beside the bundled facts, never in them.
        #[arg(long, value_name = "N")]
        synthetic: Option<u32>,
    },
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
    /// Import open labour-market data (O*NET, BLS OEWS) beside the curated content. Each import
    /// is one transaction; the same files again change nothing; an editor's later change is
    /// never overwritten (it is listed as a conflict). Exit status 2: a file or column is
    /// missing; 1: too many bad rows, or the database failed.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Create a new Ed25519 key for signing access tokens (PKCS#8 PEM, readable by its owner
    /// only) at FILE; never replaces an existing file. Its public key is printed.
    Keygen {
        /// Where to write the key, like `secrets/jwt-ed25519.pem`.
        file: std::path::PathBuf,
    },
    /// Copy everything in this database (content with its versions, audit history, users,
    /// sessions, data sources) into a new, empty one, and verify each table's row count and
    /// checksum there: to grow from the embedded SQLite file to PostgreSQL, say. One pass, one
    /// transaction: the target gets nothing unless everything copies, and one with any rows is
    /// refused. This database may still be served meanwhile; its changes after the copy began are
    /// not copied, so stop its servers first to move for good.
    Copy {
        /// The target database, like `postgres://careergraph@db.example/careergraph` (created
        /// beforehand, empty).
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Write a consistent copy of the SQLite database to FILE while the server runs on it (FILE
    /// must not exist; it is readable by its owner only). For PostgreSQL, use pg_dump.
    Backup {
        /// Where to write the copy, like `backups/careergraph-2026-12-07.db`.
        file: std::path::PathBuf,
    },
    /// Exit 0 if the server answers `/readyz` with 200 (it is up and reaches its database),
    /// else 1: for container health checks, where images have no curl.
    Healthcheck {
        /// The readiness URL. Default: `/readyz` on the address the server listens on (an
        /// unspecified address such as 0.0.0.0 is reached through loopback).
        #[arg(long)]
        url: Option<url::Url>,
    },
}

#[derive(Subcommand, Debug, Clone)]
enum ImportCommand {
    /// Import an O*NET text release (`db_29_1_text.zip` or its unzipped folder, from
    /// https://www.onetcenter.org/database.html): occupations become career paths, with their
    /// skills and knowledge (0–100 scores), tasks, technologies, job zone, related occupations and
    /// alternate titles.
    Onet {
        /// The release: the zip as downloaded, or its folder.
        source: std::path::PathBuf,
        /// Only occupations whose O*NET-SOC code matches: a code, or a prefix and `*` (`15-*`).
        #[arg(long, value_name = "PATTERN")]
        only: Option<String>,
        /// Publish new career paths (default: drafts, for editors to review).
        #[arg(long)]
        publish: bool,
        /// Print what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Fail on any bad row (default: skip and report up to 1 % of a file's rows).
        #[arg(long)]
        strict: bool,
        /// The release number, when the file name does not tell it (`db_29_1_text` is 29.1).
        #[arg(long, value_name = "NN.N")]
        release: Option<String>,
    },
    /// Import BLS Occupational Employment and Wage Statistics (from
    /// https://www.bls.gov/oes/tables.htm): a national file and any state files, as xlsx or CSV.
    /// Each career path with a matching O*NET-SOC code gets a salary record per area.
    Oews {
        /// The files, e.g. `national_M2024_dl.xlsx state_M2024_dl.xlsx`.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// The release year (May), when the file names do not tell it.
        #[arg(long)]
        year: Option<i32>,
        /// Print what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Fail on any bad row (default: skip and report up to 1 % of a file's rows).
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Subcommand, Debug, Clone)]
enum UserCommand {
    /// Create a user. The password is read from standard input with --password-stdin, or
    /// asked for twice at a hidden prompt.
    Add {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// What the user may do.
        #[arg(long, value_enum, default_value_t = Role::Viewer)]
        role: Role,
        /// Name shown to others (default: the part of the e-mail before the @).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (one line) instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role. Their sessions end, so the new role applies at once.
    SetRole {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// The new role.
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Disable a user: they cannot sign in, and their sessions and tokens stop working.
    Disable {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<SecretString> {
    if from_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the password from standard input")?;
        let line = text.strip_suffix('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).unwrap_or(&text);
        return Ok(SecretString::from(line.to_owned()));
    }
    let first =
        rpassword::prompt_password(format!("Password ({}): ", password_rules())).context("cannot read the password")?;
    let second = rpassword::prompt_password("Repeat the password: ").context("cannot read the password")?;
    anyhow::ensure!(first == second, "the passwords differ");
    Ok(SecretString::from(first))
}

fn describe(error: AccountError) -> anyhow::Error {
    match error {
        AccountError::Domain(
            careergraph_domain::Error::InvalidInput { field, message }
            | careergraph_domain::Error::Conflict { field, message },
        ) => anyhow::anyhow!("{field} {message}"),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn run_import_command(config: &Config, command: ImportCommand) -> anyhow::Result<()> {
    use careergraph_domain::import::{self, Options};
    let started = std::time::Instant::now();
    let store = open_store(config).await?;
    careergraph_domain::migrate(store.db()).await.context("cannot migrate the database")?;
    let plan = match command {
        ImportCommand::Onet { source, only, publish, dry_run, strict, release } => {
            let options = Options { publish, dry_run, strict, only };
            import::onet::import(store.db(), &source, release, &options).await?
        }
        ImportCommand::Oews { files, year, dry_run, strict } => {
            let options = Options { dry_run, strict, ..Options::default() };
            import::oews::import(store.db(), &files, year, &options).await?
        }
    };
    print!("{plan}");
    let peak = peak_memory_mib().map_or_else(String::new, |mib| format!(", peak memory {mib} MiB"));
    println!("took {:.1} s{peak}", started.elapsed().as_secs_f64());
    Ok(())
}

async fn copy_database(config: &Config, to: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let shown = crate::store::redact(to);
    let store = open_store(config).await?;
    let target = careergraph_domain::connect(to).await.with_context(|| format!("cannot reach {shown}"))?;
    let copied = careergraph_domain::copy::copy_database(store.db(), &target)
        .await
        .with_context(|| format!("cannot copy into {shown}"))?;
    println!("{:<28} {:>10}  checksum (the same on both sides)", "table", "rows");
    for table in &copied {
        println!("{:<28} {:>10}  {}", table.table, table.rows, table.checksum);
    }
    let rows: u64 = copied.iter().map(|table| table.rows).sum();
    println!(
        "copied {rows} rows in {} tables into {shown}, each verified there, in {:.1} s",
        copied.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The most memory this process has held (its high-water resident set), where Linux tells it.
fn peak_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

async fn run_user_command(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    careergraph_domain::migrate(store.db()).await.context("cannot migrate the database")?;
    let find = |email: String| {
        let store = store.clone();
        async move {
            careergraph_domain::accounts::user_by_email(store.db(), &email)
                .await?
                .with_context(|| format!("no user has the e-mail address {}", email.trim().to_lowercase()))
        }
    };
    match command {
        UserCommand::Add { email, role, display_name, password_stdin } => {
            let display_name =
                display_name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().trim().to_owned());
            let password = read_password(password_stdin)?;
            let passwords = accounts::command_line_passwords().map_err(describe)?;
            let user = accounts::create_user(&store, &passwords, &email, &display_name, role, password, "password")
                .await
                .map_err(describe)?;
            println!("created {} {} ({})", user.role.as_str().to_lowercase(), user.email, user.id);
        }
        UserCommand::SetRole { email, role } => {
            let user = find(email).await?;
            let user = careergraph_domain::accounts::set_role(store.db(), &Actor::default(), user.id, role)
                .await
                .map_err(|error| describe(error.into()))?;
            println!("{} is now {}", user.email, user.role.as_str().to_lowercase());
        }
        UserCommand::Disable { email } => {
            let user = find(email).await?;
            let user = careergraph_domain::accounts::disable(store.db(), &Actor::default(), user.id)
                .await
                .map_err(|error| describe(error.into()))?;
            println!("disabled {}", user.email);
        }
    }
    Ok(())
}

/// `/readyz` on the address the server listens on, through loopback when that is unspecified.
fn readiness_url(listen: std::net::SocketAddr) -> anyhow::Result<url::Url> {
    let ip = match listen.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let address = std::net::SocketAddr::new(ip, listen.port());
    url::Url::parse(&format!("http://{address}/readyz")).context("the listen address makes no URL")
}

/// The server settings a command other than `serve` reads, beside its own options: its help lists
/// these and hides the other forty (still accepted, as they may be set in the environment for
/// the server).
fn settings_read_by(command: &str) -> &'static [&'static str] {
    const DATABASE: &[&str] =
        &["database_url", "data_dir", "db_max_connections", "db_acquire_timeout_secs", "log_format"];
    match command {
        "migrate" | "seed" | "user" | "add" | "set-role" | "disable" | "import" | "onet" | "oews" | "copy"
        | "backup" => DATABASE,
        "healthcheck" => &["listen", "log_format"],
        _ => &["log_format"],
    }
}

/// Gives each of `command`'s subcommands (but `serve`) its own copy of every setting, hidden
/// where it does not read it. clap would copy the global settings itself, all shown, and a copy
/// cannot be changed once made; one already there is left alone.
fn scope_help(command: clap::Command, settings: &[clap::Arg]) -> clap::Command {
    let names: Vec<String> = command.get_subcommands().map(|sub| sub.get_name().to_owned()).collect();
    names.into_iter().filter(|name| name != "serve").fold(command, |command, name| {
        command.mut_subcommand(&name, |sub| {
            let read = settings_read_by(&name);
            let sub = settings.iter().fold(sub, |sub, setting| {
                let shown = read.contains(&setting.get_id().as_str());
                sub.arg(setting.clone().hide(!shown))
            });
            scope_help(sub, settings)
        })
    })
}

impl Cli {
    /// The command line, parsed, with each command's help scoped to what it reads.
    pub fn from_command_line() -> Self {
        let settings: Vec<clap::Arg> =
            Config::augment_args(clap::Command::new("settings")).get_arguments().cloned().collect();
        let mut command = scope_help(Cli::command(), &settings);
        let matches = command.get_matches_mut();
        Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.format(&mut command).exit())
    }

    /// How to write log lines.
    pub fn log_format(&self) -> crate::config::LogFormat {
        self.config.log_format
    }

    /// Where to export traces, if anywhere.
    pub fn otlp_endpoint(&self) -> Option<&url::Url> {
        self.config.otlp_endpoint.as_ref()
    }

    /// Runs the chosen command to completion.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command.clone().unwrap_or(Command::Serve) {
            Command::Serve => {
                Application::build(self.config).await?.run_until_stopped().await.context("the server failed")
            }
            Command::Migrate => {
                let store = open_store(&self.config).await?;
                careergraph_domain::migrate(store.db()).await.context("cannot migrate the database")?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Seed { synthetic } => {
                let store = open_store(&self.config).await?;
                careergraph_domain::migrate(store.db()).await.context("cannot migrate the database")?;
                let report = careergraph_domain::dataset::load_bundled(store.db())
                    .await
                    .context("cannot load the bundled dataset")?;
                if report.is_empty() {
                    tracing::info!("the bundled dataset is already loaded; nothing added");
                }
                if let Some(count) = synthetic {
                    let added = careergraph_domain::synthetic::load_benchmark_data(store.db(), count)
                        .await
                        .context("cannot load the synthetic data")?;
                    println!(
                        "synthetic data: {count} career paths wanted, {} added ({} skills and technologies added)",
                        added.career_paths, added.skills_and_technologies
                    );
                }
                Ok(())
            }
            Command::Schema => {
                print!("{}", sdl(&build_schema(&self.config)));
                Ok(())
            }
            Command::User(command) => run_user_command(&self.config, command).await,
            Command::Import(command) => run_import_command(&self.config, command).await,
            Command::Copy { to } => copy_database(&self.config, &to).await,
            Command::Backup { file } => {
                let store = open_store(&self.config).await?;
                let started = std::time::Instant::now();
                let backup = careergraph_domain::copy::backup_sqlite(store.db(), &file)
                    .await
                    .with_context(|| format!("cannot back up to {}", file.display()))?;
                println!(
                    "backed up to {} ({:.1} MiB, integrity checked) in {:.1} s",
                    backup.file.display(),
                    backup.bytes as f64 / (1024.0 * 1024.0),
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            }
            Command::Keygen { file } => {
                let key = careergraph_auth::keys::create_signing_key(&file)
                    .with_context(|| format!("cannot create the key {}", file.display()))?;
                println!("created {} (kid {})", file.display(), careergraph_auth::keys::thumbprint(&key.public));
                Ok(())
            }
            Command::Healthcheck { url } => {
                let url = match url {
                    Some(url) => url,
                    None => readiness_url(self.config.listen)?,
                };
                let status = crate::healthcheck::status_of(&url).await?;
                anyhow::ensure!(status == 200, "{url} answered {status}");
                println!("{url} answered {status}");
                Ok(())
            }
        }
    }
}
