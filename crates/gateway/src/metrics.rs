//! Prometheus metrics, from the `prometheus` crate: each server keeps its own registry (no
//! process-wide recorder), and serves it on a listener of its own
//! (`CAREERGRAPH_METRICS_LISTEN`), never beside the public API.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use careergraph_auth::password::Passwords;
use prometheus::{
    Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sea_orm::DatabaseBackend;

use crate::graphql::plumbing::slots::ExecutionSlots;
use crate::replica::Route;
use crate::store::Store;

/// Operation names become label values; past this many distinct ones (clients choose them),
/// further names are counted as `other`, so a client cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;

/// What the change feed, the response cache and subscriptions export.
struct Live {
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    cache_evictions: IntCounterVec,
    cache_bytes: IntGauge,
    feed_connected: IntGauge,
    feed_reconnects: IntCounter,
    websocket_connections: IntGauge,
    subscriptions: IntGauge,
    events: IntCounter,
    resyncs: IntCounter,
}

impl Live {
    fn new() -> prometheus::Result<Self> {
        Ok(Self {
            cache_hits: IntCounter::new(
                "careergraph_response_cache_hits_total",
                "Anonymous queries answered from the response cache",
            )?,
            cache_misses: IntCounter::new(
                "careergraph_response_cache_misses_total",
                "Anonymous queries the response cache had no fresh answer for",
            )?,
            cache_evictions: IntCounterVec::new(
                Opts::new(
                    "careergraph_response_cache_evictions_total",
                    "Answers the response cache let go, by cause: change (an edit that can affect them), size, expired (the public max-age)",
                ),
                &["cause"],
            )?,
            cache_bytes: IntGauge::new("careergraph_response_cache_bytes", "Bytes the response cache holds")?,
            feed_connected: IntGauge::new(
                "careergraph_change_feed_connected",
                "1 while the change feed's LISTEN connection is up (PostgreSQL); 0 otherwise",
            )?,
            feed_reconnects: IntCounter::new(
                "careergraph_change_feed_reconnects_total",
                "Times the change feed's connection was lost and made again, each forgetting everything cached",
            )?,
            websocket_connections: IntGauge::new(
                "careergraph_websocket_connections",
                "Open GraphQL WebSocket connections",
            )?,
            subscriptions: IntGauge::new("careergraph_subscriptions", "Active GraphQL subscriptions")?,
            events: IntCounter::new("careergraph_subscription_events_total", "Events delivered to subscribers")?,
            resyncs: IntCounter::new(
                "careergraph_subscription_resyncs_total",
                "RESYNC events sent to subscribers that fell behind (their missed events dropped)",
            )?,
        })
    }

    fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        for metric in [
            Box::new(self.cache_hits.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(self.cache_misses.clone()),
            Box::new(self.cache_evictions.clone()),
            Box::new(self.cache_bytes.clone()),
            Box::new(self.feed_connected.clone()),
            Box::new(self.feed_reconnects.clone()),
            Box::new(self.websocket_connections.clone()),
            Box::new(self.subscriptions.clone()),
            Box::new(self.events.clone()),
            Box::new(self.resyncs.clone()),
        ] {
            registry.register(metric)?;
        }
        Ok(())
    }
}

/// Where queries read, and the read replica's state (its gauges exported only with one).
struct ReplicaMetrics {
    routes: IntCounterVec,
    lag: Gauge,
    serving: IntGauge,
}

impl ReplicaMetrics {
    fn new(registry: &Registry, store: &Store) -> prometheus::Result<Self> {
        let routes = IntCounterVec::new(
            Opts::new(
                "careergraph_read_routes_total",
                "Requests that only read, with a read replica configured, by where they read (replica, primary) and why (fresh; own_write, lagging, unavailable)",
            ),
            &["to", "reason"],
        )?;
        let lag = Gauge::new(
            "careergraph_replica_lag_seconds",
            "How far the read replica is behind the primary (+Inf while unknown: not probed, unreachable, or further behind than measured)",
        )?;
        let serving = IntGauge::new(
            "careergraph_replica_serving",
            "1 while queries may read the read replica (it follows the primary within the lag bound); 0 while they read the primary",
        )?;
        if store.replica().is_some() {
            registry.register(Box::new(routes.clone()))?;
            registry.register(Box::new(lag.clone()))?;
            registry.register(Box::new(serving.clone()))?;
        }
        Ok(Self { routes, lag, serving })
    }

    fn render(&self, store: &Store) {
        let Some(replica) = store.replica() else { return };
        let status = replica.status();
        let lag = status.lag.filter(|_| status.health.serves()).map_or(f64::INFINITY, |lag| lag.as_secs_f64());
        self.lag.set(lag);
        self.serving.set(i64::from(status.queries_read_it()));
    }
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    errors: IntCounterVec,
    sign_ins: IntCounterVec,
    pool: IntGaugeVec,
    hash_queue: IntGauge,
    operations: IntGaugeVec,
    /// `careergraph_executions_total`'s two series, looked up once rather than per operation.
    guarded_executions: IntCounter,
    unguarded_executions: IntCounter,
    slots: Arc<ExecutionSlots>,
    live: Live,
    replica: ReplicaMetrics,
    operation_names: Mutex<HashSet<String>>,
    store: Store,
    passwords: Passwords,
}

impl Metrics {
    /// The metrics of a server using `store`, hashing with `passwords` and executing operations
    /// in `slots`.
    pub fn new(store: Store, passwords: Passwords, slots: Arc<ExecutionSlots>) -> anyhow::Result<Arc<Self>> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("careergraph_requests_total", "GraphQL requests by operation, operation type and outcome"),
            &["operation", "operation_type", "outcome"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("careergraph_request_duration_seconds", "Time to answer a GraphQL request")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["operation_type"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new("careergraph_errors_total", "Errors in GraphQL answers, by extensions.code"),
            &["code"],
        )?;
        let sign_ins =
            IntCounterVec::new(Opts::new("careergraph_sign_ins_total", "Sign-ins (login) by outcome"), &["outcome"])?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "careergraph_db_pool_connections",
                "Database pool connections by pool (primary, replica) and state (in_use, idle)",
            ),
            &["pool", "state"],
        )?;
        let hash_queue = IntGauge::new(
            "careergraph_password_hash_queue",
            "Password hashes and checks waiting for a slot of the bounded hashing pool",
        )?;
        let hash_wait = Histogram::with_opts(
            HistogramOpts::new(
                "careergraph_password_hash_wait_seconds",
                "Time password hashes and checks waited for a slot",
            )
            .buckets(vec![0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        )?;
        let operations = IntGaugeVec::new(
            Opts::new(
                "careergraph_operations",
                "GraphQL operations by state: executing, or waiting for an execution slot",
            ),
            &["state"],
        )?;
        let executions = IntCounterVec::new(
            Opts::new(
                "careergraph_executions_total",
                "Operation executions by schema: guarded (every field checked) or unguarded (a query the guards cleared before)",
            ),
            &["schema"],
        )?;
        let build = IntGaugeVec::new(
            Opts::new("careergraph_build_info", "The running build: always 1, with its version"),
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let observed = hash_wait.clone();
        passwords.observe_waits(Box::new(move |wait: Duration| observed.observe(wait.as_secs_f64())));
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(errors.clone()),
            Box::new(sign_ins.clone()),
            Box::new(pool.clone()),
            Box::new(hash_queue.clone()),
            Box::new(hash_wait.clone()),
            Box::new(operations.clone()),
            Box::new(executions.clone()),
            Box::new(slots.queued_counter().clone()),
            Box::new(build),
        ] {
            registry.register(metric).context("cannot register a metric")?;
        }
        let live = Live::new()?;
        live.register(&registry)?;
        let replica = ReplicaMetrics::new(&registry, &store)?;
        Ok(Arc::new(Self {
            registry,
            requests,
            duration,
            errors,
            sign_ins,
            pool,
            hash_queue,
            operations,
            guarded_executions: executions.with_label_values(&["guarded"]),
            unguarded_executions: executions.with_label_values(&["unguarded"]),
            slots,
            live,
            replica,
            operation_names: Mutex::new(HashSet::new()),
            store,
            passwords,
        }))
    }

    /// Counts one GraphQL request: its operations, how long it took, its error codes.
    pub fn request(&self, operations: &[(&'static str, String)], duration: Duration, codes: &[String]) {
        let outcome = if codes.is_empty() { "ok" } else { "error" };
        if operations.is_empty() {
            self.requests.with_label_values(&["-", "-", "refused"]).inc();
        }
        for (kind, name) in operations {
            self.requests.with_label_values(&[self.operation_label(name), kind, outcome]).inc();
            self.duration.with_label_values(&[kind]).observe(duration.as_secs_f64());
        }
        for code in codes {
            self.errors.with_label_values(&[code.as_str()]).inc();
        }
    }

    /// Counts one execution of an operation: `guarded` (every field checked) or not (a query the
    /// guards cleared before). Metrics know nothing of the schema, so nothing in it depends back.
    pub fn executed(&self, guarded: bool) {
        match guarded {
            true => self.guarded_executions.inc(),
            false => self.unguarded_executions.inc(),
        }
    }

    /// Counts a lookup in the response cache.
    pub fn response_cache_looked_up(&self, hit: bool) {
        match hit {
            true => self.live.cache_hits.inc(),
            false => self.live.cache_misses.inc(),
        }
    }

    /// Counts answers the response cache let go, by cause (`change`, `size`, `expired`).
    pub fn response_cache_evicted(&self, cause: &str) {
        self.live.cache_evictions.with_label_values(&[cause]).inc();
    }

    /// The response cache's size now.
    pub fn response_cache_bytes(&self, bytes: u64) {
        self.live.cache_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Whether the change feed's `LISTEN` connection is up.
    pub fn feed_connected(&self, connected: bool) {
        self.live.feed_connected.set(i64::from(connected));
    }

    /// Counts a reconnection of the change feed, after which everything cached was forgotten.
    pub fn feed_reconnected(&self) {
        self.live.feed_reconnects.inc();
    }

    /// A WebSocket connection opened (`1`) or closed (`-1`).
    pub fn websocket_connections(&self, delta: i64) {
        self.live.websocket_connections.add(delta);
    }

    /// A subscription started (`1`) or ended (`-1`).
    pub fn subscriptions(&self, delta: i64) {
        self.live.subscriptions.add(delta);
    }

    /// Counts an event sent to a subscriber; `resync` when it says events were dropped.
    pub fn subscription_event(&self, resync: bool) {
        match resync {
            true => self.live.resyncs.inc(),
            false => self.live.events.inc(),
        }
    }

    /// Counts where a request that only reads went, with a read replica configured.
    pub fn read_routed(&self, route: Route) {
        let (to, reason) = match route {
            Route::Replica { .. } => ("replica", "fresh"),
            Route::Primary(fallback) => ("primary", fallback.label()),
        };
        self.replica.routes.with_label_values(&[to, reason]).inc();
    }

    /// Counts a sign-in by its outcome (`success`, `invalid`, `rate_limited`, `disabled`, …).
    pub fn sign_in(&self, outcome: &str) {
        self.sign_ins.with_label_values(&[outcome]).inc();
    }

    /// The operation's name as a label, or `other` past the first names seen (or for names no
    /// client code would use), so that clients cannot grow the series without bound.
    fn operation_label<'a>(&self, name: &'a str) -> &'a str {
        let plain = name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let Ok(mut names) = self.operation_names.lock() else { return "other" };
        if !plain {
            return "other";
        }
        if names.contains(name) {
            return name;
        }
        if names.len() < MAX_OPERATION_NAMES {
            names.insert(name.to_owned());
            return name;
        }
        "other"
    }

    /// The metrics in Prometheus' text format, with the gauges read now.
    pub fn render(&self) -> anyhow::Result<String> {
        for (name, db) in self.store.named_pools() {
            let (size, idle) = match db.pool().get_database_backend() {
                DatabaseBackend::Postgres => {
                    let pool = db.pool().get_postgres_connection_pool();
                    (pool.size(), pool.num_idle())
                }
                _ => {
                    let pool = db.pool().get_sqlite_connection_pool();
                    (pool.size(), pool.num_idle())
                }
            };
            let idle = i64::try_from(idle).unwrap_or(i64::MAX);
            self.pool.with_label_values(&[name, "in_use"]).set(i64::from(size) - idle);
            self.pool.with_label_values(&[name, "idle"]).set(idle);
        }
        self.replica.render(&self.store);
        self.hash_queue.set(i64::try_from(self.passwords.waiting()).unwrap_or(i64::MAX));
        self.operations
            .with_label_values(&["executing"])
            .set(i64::try_from(self.slots.executing()).unwrap_or(i64::MAX));
        self.operations.with_label_values(&["waiting"]).set(i64::try_from(self.slots.waiting()).unwrap_or(i64::MAX));
        TextEncoder::new().encode_to_string(&self.registry.gather()).context("cannot encode the metrics")
    }
}
