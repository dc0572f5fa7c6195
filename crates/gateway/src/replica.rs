//! Reading from a PostgreSQL streaming replica without reading older than one's own writes.
//!
//! A replica replays the primary's write-ahead log some time after the primary wrote it. Two
//! rules keep what callers read honest:
//!
//! - **Nobody reads older than the bound.** Every [`PROBE_INTERVAL`] this process reads the
//!   primary's WAL position (`pg_current_wal_lsn()`) and then the replica's replay position
//!   (`pg_last_wal_replay_lsn()`). The replica holds every commit made before the latest
//!   instant at which the primary's position was one it has replayed: its lag is the time since
//!   then, measured on this process's clock (so no clock of two servers is compared), and it only
//!   grows while the probe gets no answer. A query reads the replica only while that lag is
//!   within `CAREERGRAPH_DATABASE_READ_MAX_LAG_MS`; past it, or while the replica cannot be
//!   reached, queries read the primary, and go back by themselves once it has caught up.
//! - **A caller never reads older than their own last write.** A request that writes answers
//!   with the primary's WAL position after its commit, in the `Careergraph-Read-After` header;
//!   a request sending that header back reads the replica only once it has replayed that far, on
//!   whichever instance it lands. Each instance also remembers the position of each signed-in
//!   user's last write, from its own requests and from the change feed (which says who made each
//!   change), so a client that does not send the header back is covered too: at once on the
//!   instance that took the write, and as soon as the feed's notification arrives (milliseconds)
//!   on the others.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use careergraph_domain::Db;
use careergraph_domain::changes::{Change, Feed};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sea_orm::sqlx::{self, Connection, Row};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::tasks::AbortOnDrop;

/// How often the primary's and the replica's positions are read.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// How long one read of a position may take before its server counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The most primary positions kept while the replica has replayed none of them: about seven
/// minutes of positions that change at every probe. Past that the lag is only known to exceed
/// what they span.
const MOST_POSITIONS: usize = 4096;

/// The header a request that writes is answered with, and that a client sends back so that its
/// reads are at least that fresh on any instance.
pub const READ_AFTER_HEADER: &str = "careergraph-read-after";

/// A position in PostgreSQL's write-ahead log, written as PostgreSQL writes one (`16/B374D848`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(u64);

impl FromStr for Lsn {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let half = |part: &str| {
            let hex = !part.is_empty() && part.len() <= 8 && part.bytes().all(|byte| byte.is_ascii_hexdigit());
            hex.then(|| u32::from_str_radix(part, 16).ok()).flatten()
        };
        match text.split_once('/').map(|(high, low)| (half(high), half(low))) {
            Some((Some(high), Some(low))) => Ok(Self((u64::from(high) << 32) | u64::from(low))),
            _ => Err(format!("`{text}` is not a WAL position (two hexadecimal numbers, like 0/16B3748)")),
        }
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Where a query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The replica, which holds every commit made before `complete_as_of`.
    Replica {
        /// Every commit made before this instant is on the replica.
        complete_as_of: Instant,
    },
    /// The primary, and why not the replica.
    Primary(Fallback),
}

/// Why a query reads the primary although there is a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// The replica has not replayed the caller's last write yet.
    OwnWrite,
    /// The replica lags more than the bound, or how much is not known yet.
    Lagging,
    /// The replica cannot be reached, or is not a replica of the primary.
    Unavailable,
}

impl Fallback {
    /// The reason as a metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::OwnWrite => "own_write",
            Self::Lagging => "lagging",
            Self::Unavailable => "unavailable",
        }
    }
}

/// What the last probe found the replica to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not probed yet.
    Unknown,
    /// A standby of the primary, replaying its log.
    Following,
    /// The primary server itself (a read URL that only names another role, say): never behind.
    SameServer,
    /// Cannot be reached, or did not answer in time: why.
    Unreachable(String),
    /// Answers, but does not follow the primary (another cluster, or a promoted standby): why.
    NotAReplica(String),
}

impl Health {
    /// Whether queries may read it, lag allowing: it follows the primary, or is the primary.
    pub fn serves(&self) -> bool {
        matches!(self, Self::Following | Self::SameServer)
    }

    fn same_kind(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// The replica as `/readyz` and the metrics report it.
#[derive(Clone, Debug)]
pub struct Status {
    /// What it is.
    pub health: Health,
    /// How far behind the primary it is now; `None` when not known (not probed yet, or further
    /// behind than the positions kept span).
    pub lag: Option<Duration>,
    /// The bound past which queries read the primary.
    pub max_lag: Duration,
}

impl Status {
    /// Whether queries read the replica now (a caller's own unreplayed write aside).
    pub fn queries_read_it(&self) -> bool {
        self.health.serves() && self.lag.is_some_and(|lag| lag <= self.max_lag)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = self.max_lag.as_secs_f64();
        let lag = match self.lag {
            Some(lag) => format!("{:.3} s behind", lag.as_secs_f64()),
            None => "behind by an unknown time".to_owned(),
        };
        let serves = if self.queries_read_it() { "queries read it" } else { "queries read the primary" };
        match &self.health {
            Health::Unknown => write!(f, "replica: not probed yet; queries read the primary"),
            Health::Following => write!(f, "replica: following, {lag} (bound {bound:.3} s); {serves}"),
            Health::SameServer => write!(f, "replica: the primary server itself, never behind; {serves}"),
            Health::Unreachable(why) => write!(f, "replica: unreachable ({why}); queries read the primary"),
            Health::NotAReplica(why) => {
                write!(f, "replica: not a replica of the primary ({why}); queries read the primary")
            }
        }
    }
}

/// Which server answered: its cluster's system identifier and when it started, and which of its
/// databases.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    system: String,
    started: String,
    database: String,
}

/// The primary as a probe reads it.
struct PrimaryState {
    position: Lsn,
    identity: Identity,
}

/// The replica as a probe reads it.
struct ReplicaState {
    recovering: bool,
    replayed: Lsn,
    identity: Identity,
}

/// How fresh a caller needs their reads: until the replica replays past a position, or until the
/// next probe of the primary tells which position that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fence {
    At(Lsn),
    /// A write heard of at this instant (from the change feed, or one whose position could not
    /// be read): it committed before then, so the primary's next position read covers it.
    Pending(Instant),
}

/// What the probes have learnt, and the writers' fences.
struct Tracking {
    health: Health,
    /// The primary's positions, oldest first, each with the instant its read was sent (a run of
    /// reads at one position keeps only the latest); those older than the latest one the replica
    /// has replayed are dropped.
    positions: VecDeque<(Instant, Lsn)>,
    /// How far the replica has replayed.
    replayed: Lsn,
    /// Every commit made before this instant is on the replica.
    complete_as_of: Option<Instant>,
    /// The signed-in users whose last write the replica may not have replayed yet.
    writers: HashMap<Uuid, Fence>,
}

impl Tracking {
    fn set_health(&mut self, health: Health) {
        if !self.health.same_kind(&health) {
            match &health {
                Health::Following | Health::SameServer => tracing::info!(?health, "the read replica serves queries"),
                Health::Unknown => {}
                Health::Unreachable(why) | Health::NotAReplica(why) => {
                    tracing::warn!(%why, "the read replica cannot serve queries; they read the primary")
                }
            }
        }
        self.health = health;
    }

    fn primary_at(&mut self, sent: Instant, position: Lsn) {
        match self.positions.back_mut() {
            Some((at, last)) if *last == position => *at = sent,
            _ => {
                self.positions.push_back((sent, position));
                if self.positions.len() > MOST_POSITIONS {
                    self.positions.pop_front();
                }
            }
        }
        for fence in self.writers.values_mut() {
            if let Fence::Pending(heard) = *fence
                && heard <= sent
            {
                *fence = Fence::At(position);
            }
        }
    }

    fn replica_at(&mut self, sent: Instant, primary: &Identity, replica: ReplicaState) {
        if replica.identity.system != primary.system {
            let why = format!(
                "its cluster's system identifier is {}, the primary's {}",
                replica.identity.system, primary.system
            );
            return self.set_health(Health::NotAReplica(why));
        }
        if replica.identity.database != primary.database {
            let why = format!("it serves database {}, the primary {}", replica.identity.database, primary.database);
            return self.set_health(Health::NotAReplica(why));
        }
        if !replica.recovering {
            if replica.identity != *primary {
                return self.set_health(Health::NotAReplica("it is not in recovery: a promoted standby".into()));
            }
            // Never behind: `route` sends queries there without looking at positions or fences.
            self.set_health(Health::SameServer);
            self.complete_as_of = Some(sent);
            self.positions.clear();
            self.writers.clear();
            return;
        }
        self.set_health(Health::Following);
        self.replayed = replica.replayed;
        match self.positions.iter().rposition(|(_, position)| *position <= replica.replayed) {
            Some(caught_up) => {
                self.complete_as_of = Some(self.positions[caught_up].0);
                self.positions.drain(..caught_up);
            }
            None => self.complete_as_of = None,
        }
        let replayed = self.replayed;
        self.writers.retain(|_, fence| !matches!(fence, Fence::At(position) if *position <= replayed));
    }

    fn wrote(&mut self, user: Uuid, fence: Fence) {
        let kept = self.writers.entry(user).or_insert(fence);
        *kept = match (*kept, fence) {
            (Fence::At(kept), Fence::At(new)) => Fence::At(kept.max(new)),
            (Fence::Pending(kept), Fence::Pending(new)) => Fence::Pending(kept.max(new)),
            (Fence::Pending(heard), _) | (_, Fence::Pending(heard)) => Fence::Pending(heard),
        };
    }
}

/// A streaming replica that queries read while it is fresh enough for their caller.
pub struct Replica {
    /// The queries' connection pool.
    pool: Db,
    /// The primary's request pool, for the position after a write.
    primary: Db,
    /// Connections of the probes' own, so that a busy request pool does not look like lag.
    probe_primary: ProbeConnection,
    probe_replica: ProbeConnection,
    max_lag: Duration,
    tracking: Mutex<Tracking>,
    tasks: Mutex<Vec<AbortOnDrop>>,
}

impl Replica {
    /// Follows the replica at `read_url` (read through `pool`) of the primary at `primary_url`
    /// (written through `primary`), hearing who writes on `feed`. Probes once before it
    /// returns: a replica of another cluster is an error; one that cannot be reached is not
    /// (queries read the primary until it can be).
    pub async fn follow(
        pool: Db,
        primary: Db,
        urls: (&str, &str),
        max_lag: Duration,
        feed: &Feed,
    ) -> anyhow::Result<Arc<Self>> {
        let (primary_url, read_url) = urls;
        let probe_primary = ProbeConnection::new(primary_url)?;
        let probe_replica = ProbeConnection::new(read_url)?;
        let replica = Arc::new(Self {
            pool,
            primary,
            probe_primary,
            probe_replica,
            max_lag,
            tracking: Mutex::new(Tracking {
                health: Health::Unknown,
                positions: VecDeque::new(),
                replayed: Lsn(0),
                complete_as_of: None,
                writers: HashMap::new(),
            }),
            tasks: Mutex::new(Vec::new()),
        });
        replica.probe().await;
        match replica.status().health {
            Health::NotAReplica(why) => anyhow::bail!(
                "CAREERGRAPH_DATABASE_READ_URL ({}) is not a streaming replica of the database URL's server: {why}",
                crate::store::redact(read_url)
            ),
            Health::Unreachable(why) => {
                tracing::warn!(%why, "the read replica cannot be reached; queries read the primary until it can")
            }
            _ => {}
        }
        let probing = tokio::spawn(probe_forever(Arc::downgrade(&replica)));
        let hearing = tokio::spawn(hear_writers(Arc::downgrade(&replica), feed.subscribe()));
        *replica.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            vec![AbortOnDrop(probing), AbortOnDrop(hearing)];
        Ok(replica)
    }

    /// The queries' connection pool.
    pub fn pool(&self) -> &Db {
        &self.pool
    }

    /// Where a query of `user` (`None`: anonymous) reads, who has asked to read no older than
    /// `read_after`.
    pub fn route(&self, user: Option<Uuid>, read_after: Option<Lsn>) -> Route {
        let now = Instant::now();
        let tracking = self.lock();
        match tracking.health {
            Health::SameServer => return Route::Replica { complete_as_of: now },
            Health::Following => {}
            Health::Unknown | Health::Unreachable(_) | Health::NotAReplica(_) => {
                return Route::Primary(Fallback::Unavailable);
            }
        }
        let fresh = tracking.complete_as_of.filter(|complete| now.saturating_duration_since(*complete) <= self.max_lag);
        let Some(complete_as_of) = fresh else { return Route::Primary(Fallback::Lagging) };
        let replayed = tracking.replayed;
        let own_write = user.and_then(|user| tracking.writers.get(&user)).copied();
        let unreplayed = match own_write {
            Some(Fence::Pending(_)) => true,
            Some(Fence::At(position)) => position > replayed,
            None => false,
        };
        if unreplayed || read_after.is_some_and(|position| position > replayed) {
            return Route::Primary(Fallback::OwnWrite);
        }
        Route::Replica { complete_as_of }
    }

    /// Notes that a request of `user` (`None`: anonymous) wrote, and returns the primary's
    /// position after it, which its reads must wait for; `None` when that position cannot be
    /// read (the user's reads then go to the primary until the next probe reads one).
    pub async fn wrote(&self, user: Option<Uuid>) -> Option<Lsn> {
        let position = current_position(&self.primary).await;
        let fence = match &position {
            Ok(position) => Fence::At(*position),
            Err(error) => {
                tracing::warn!(%error, "cannot read the primary's WAL position after a write");
                Fence::Pending(Instant::now())
            }
        };
        if let Some(user) = user {
            self.lock().wrote(user, fence);
        }
        position.ok()
    }

    /// What the replica is and how far behind, now.
    pub fn status(&self) -> Status {
        let tracking = self.lock();
        let lag = match tracking.health {
            Health::SameServer => Some(Duration::ZERO),
            _ => tracking.complete_as_of.map(|complete| complete.elapsed()),
        };
        Status { health: tracking.health.clone(), lag, max_lag: self.max_lag }
    }

    fn lock(&self) -> MutexGuard<'_, Tracking> {
        self.tracking.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the primary's position, then the replica's. A primary that does not answer leaves
    /// everything as it was: the replica's lag grows from its last known point.
    async fn probe(&self) {
        let sent = Instant::now();
        let primary = match tokio::time::timeout(PROBE_TIMEOUT, read_primary(&self.probe_primary)).await {
            Ok(Ok(primary)) => primary,
            Ok(Err(error)) => return tracing::debug!(%error, "cannot read the primary's WAL position"),
            Err(_) => return tracing::debug!("the primary's WAL position took over {PROBE_TIMEOUT:?} to read"),
        };
        self.lock().primary_at(sent, primary.position);
        let replica = tokio::time::timeout(PROBE_TIMEOUT, read_replica(&self.probe_replica)).await;
        let mut tracking = self.lock();
        match replica {
            Ok(Ok(replica)) => tracking.replica_at(sent, &primary.identity, replica),
            Ok(Err(error)) => tracking.set_health(Health::Unreachable(error.to_string())),
            Err(_) => tracking.set_health(Health::Unreachable(format!("no answer within {PROBE_TIMEOUT:?}"))),
        }
    }
}

async fn probe_forever(replica: Weak<Replica>) {
    let mut ticks = tokio::time::interval(PROBE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(replica) = replica.upgrade() else { return };
        replica.probe().await;
    }
}

/// Fences the users the change feed says made a change (through any instance), from the
/// moment the notification arrives.
async fn hear_writers(replica: Weak<Replica>, mut feed: tokio::sync::broadcast::Receiver<Arc<Change>>) {
    loop {
        let writer = match feed.recv().await {
            Ok(change) => match &*change {
                Change::Content(change) => change.actor_id,
                // A user's account changed, perhaps by themselves.
                Change::User { id } => Some(*id),
                Change::SessionEnded { .. } | Change::Everything => None,
            },
            // Who wrote is lost with the changes missed; their own instances fenced them.
            Err(RecvError::Lagged(_)) => None,
            Err(RecvError::Closed) => return,
        };
        let Some(replica) = replica.upgrade() else { return };
        if let Some(writer) = writer {
            replica.lock().wrote(writer, Fence::Pending(Instant::now()));
        }
    }
}

async fn query_one(db: &Db, sql: &str) -> Result<sea_orm::QueryResult, DbErr> {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("no row from `{sql}`")))
}

fn position_of(row: &sea_orm::QueryResult) -> Result<Lsn, DbErr> {
    let text: String = row.try_get("", "position")?;
    text.parse().map_err(DbErr::Custom)
}

/// The primary's WAL position now: past every commit that has returned.
async fn current_position(db: &Db) -> Result<Lsn, DbErr> {
    position_of(&query_one(db, "SELECT pg_current_wal_lsn()::text AS position").await?)
}

async fn read_primary(probe: &ProbeConnection) -> Result<PrimaryState, sqlx::Error> {
    let row = probe
        .query_one(
            "SELECT pg_current_wal_lsn()::text AS position, \
             (SELECT system_identifier FROM pg_control_system())::text AS system, \
             pg_postmaster_start_time()::text AS started, current_database()::text AS database",
        )
        .await?;
    Ok(PrimaryState { position: probed_position(&row)?, identity: probed_identity(&row)? })
}

async fn read_replica(probe: &ProbeConnection) -> Result<ReplicaState, sqlx::Error> {
    let row = probe
        .query_one(
            "SELECT pg_is_in_recovery()::text AS recovering, \
             COALESCE(pg_last_wal_replay_lsn(), '0/0')::text AS position, \
             (SELECT system_identifier FROM pg_control_system())::text AS system, \
             pg_postmaster_start_time()::text AS started, current_database()::text AS database",
        )
        .await?;
    Ok(ReplicaState {
        recovering: row.try_get::<String, _>("recovering")? == "true",
        replayed: probed_position(&row)?,
        identity: probed_identity(&row)?,
    })
}

fn probed_position(row: &PgRow) -> Result<Lsn, sqlx::Error> {
    row.try_get::<String, _>("position")?.parse().map_err(|why: String| sqlx::Error::Decode(why.into()))
}

fn probed_identity(row: &PgRow) -> Result<Identity, sqlx::Error> {
    Ok(Identity {
        system: row.try_get("system")?,
        started: row.try_get("started")?,
        database: row.try_get("database")?,
    })
}

/// A probe's connection, opened in one attempt when it has none. A pool retries a refused
/// connection, and one to a server starting up or shutting down, until its acquire timeout,
/// during which a stopped replica would still look like it follows; one attempt tells at once.
/// Its statements go by the simple query protocol, so a pooler between is no matter.
struct ProbeConnection {
    options: PgConnectOptions,
    connection: Mutex<Option<PgConnection>>,
}

impl ProbeConnection {
    fn new(url: &str) -> anyhow::Result<Self> {
        let options = careergraph_domain::postgres_connect_options(url)?.application_name("careergraph replica probe");
        Ok(Self { options, connection: Mutex::new(None) })
    }

    async fn query_one(&self, sql: &'static str) -> Result<PgRow, sqlx::Error> {
        // Taken out while in use: a probe given up on mid-statement drops it with its future.
        let taken = self.connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let mut connection = match taken {
            Some(connection) => connection,
            None => PgConnection::connect_with(&self.options).await?,
        };
        let row = sqlx::raw_sql(sql).fetch_one(&mut connection).await?;
        *self.connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(connection);
        Ok(row)
    }
}

/// Checks that `read_url` can name a replica of the database at `url`: both PostgreSQL.
pub fn check_urls(url: &str, read_url: &str) -> anyhow::Result<()> {
    let postgres = |url: &str| url.starts_with("postgres:") || url.starts_with("postgresql:");
    if !postgres(url) || !postgres(read_url) {
        anyhow::bail!(
            "CAREERGRAPH_DATABASE_READ_URL must be a PostgreSQL streaming replica of a PostgreSQL database URL; \
             a SQLite database already reads through read-only connections of its own file"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(started: &str) -> Identity {
        Identity { system: "7716394748373383346".into(), started: started.into(), database: "careergraph".into() }
    }

    fn tracking() -> Tracking {
        Tracking {
            health: Health::Unknown,
            positions: VecDeque::new(),
            replayed: Lsn(0),
            complete_as_of: None,
            writers: HashMap::new(),
        }
    }

    fn following(replayed: u64) -> ReplicaState {
        ReplicaState { recovering: true, replayed: Lsn(replayed), identity: identity("standby") }
    }

    #[test]
    fn positions_read_and_write_as_postgresql_writes_them() {
        assert_eq!("16/B374D848".parse::<Lsn>(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!("0/0".parse::<Lsn>(), Ok(Lsn(0)));
        for bad in ["", "0", "/1", "1/", "g/1", "+1/1", "1/123456789", "1/2/3", " 1/2"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn the_replica_is_complete_as_of_the_latest_primary_position_it_has_replayed() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut tracking = tracking();
        tracking.primary_at(at(0), Lsn(100));
        tracking.primary_at(at(100), Lsn(100));
        tracking.primary_at(at(200), Lsn(300));
        tracking.primary_at(at(300), Lsn(500));
        tracking.replica_at(at(300), &identity("primary"), following(300));
        assert_eq!(tracking.health, Health::Following);
        assert_eq!(tracking.complete_as_of, Some(at(200)), "the primary was at 300 at 200 ms");
        assert_eq!(tracking.positions.len(), 2, "older positions are dropped");
        tracking.replica_at(at(400), &identity("primary"), following(499));
        assert_eq!(tracking.complete_as_of, Some(at(200)), "not yet at 500");
        tracking.replica_at(at(400), &identity("primary"), following(500));
        assert_eq!(tracking.complete_as_of, Some(at(300)));
        tracking.replica_at(at(400), &identity("primary"), following(50));
        assert_eq!(tracking.complete_as_of, None, "behind every position kept: unknown");
    }

    #[test]
    fn a_writer_is_fenced_until_the_replica_replays_their_write() {
        let now = Instant::now();
        let user = Uuid::now_v7();
        let mut tracking = tracking();
        tracking.wrote(user, Fence::At(Lsn(400)));
        tracking.wrote(user, Fence::At(Lsn(300)));
        assert_eq!(tracking.writers[&user], Fence::At(Lsn(400)), "the later write counts");
        tracking.primary_at(now, Lsn(450));
        tracking.replica_at(now, &identity("primary"), following(399));
        assert!(tracking.writers.contains_key(&user));
        tracking.replica_at(now, &identity("primary"), following(400));
        assert!(!tracking.writers.contains_key(&user), "replayed: the fence is lifted");
        // Heard of from the feed: fenced until a position read after it is replayed.
        tracking.wrote(user, Fence::Pending(now));
        tracking.primary_at(now - Duration::from_millis(1), Lsn(600));
        assert_eq!(tracking.writers[&user], Fence::Pending(now), "a read sent before does not cover it");
        tracking.primary_at(now + Duration::from_millis(1), Lsn(700));
        assert_eq!(tracking.writers[&user], Fence::At(Lsn(700)));
    }

    #[test]
    fn the_same_server_and_strangers_are_told_apart() {
        let now = Instant::now();
        let mut tracking = tracking();
        tracking.primary_at(now, Lsn(10));
        let myself = ReplicaState { recovering: false, replayed: Lsn(0), identity: identity("primary") };
        tracking.replica_at(now, &identity("primary"), myself);
        assert_eq!(tracking.health, Health::SameServer);
        assert_eq!(tracking.complete_as_of, Some(now));
        let promoted = ReplicaState { recovering: false, replayed: Lsn(0), identity: identity("standby") };
        tracking.replica_at(now, &identity("primary"), promoted);
        assert!(matches!(tracking.health, Health::NotAReplica(_)));
        let stranger = ReplicaState {
            recovering: true,
            replayed: Lsn(10),
            identity: Identity { system: "1".into(), started: "primary".into(), database: "careergraph".into() },
        };
        tracking.replica_at(now, &identity("primary"), stranger);
        assert!(matches!(&tracking.health, Health::NotAReplica(why) if why.contains("system identifier")));
        let elsewhere = ReplicaState {
            recovering: true,
            replayed: Lsn(10),
            identity: Identity { database: "other".into(), ..identity("standby") },
        };
        tracking.replica_at(now, &identity("primary"), elsewhere);
        assert!(matches!(&tracking.health, Health::NotAReplica(why) if why.contains("database other")));
    }
}
