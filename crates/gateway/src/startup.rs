//! Building and running the server. `main` and the black-box tests take the same path.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::Path;

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::authentication::{Accounts, KeyFiles};
use crate::config::Config;
use crate::graphql::execution::Execution;
use crate::graphql::execution::build_executable;
use crate::http;
use crate::metrics::Metrics;
use crate::persisted::PersistedQueries;
use crate::playground::Playground;
use crate::response_cache::ResponseCache;
use crate::store::Store;
use crate::tasks::AbortOnDrop;

/// A server that is bound to its port, with its database migrated and seeded, ready to serve.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    address: SocketAddr,
    /// The metrics listener and what it serves, when one is configured.
    metrics: Option<(TcpListener, axum::Router)>,
    /// How long requests in flight may take to finish once the server is told to stop.
    grace: std::time::Duration,
    /// Following the change feed (on PostgreSQL) and applying it, for as long as the server lives;
    /// and what sees this process's own commits before their requests are answered.
    _changes: (Option<AbortOnDrop>, AbortOnDrop, Arc<careergraph_domain::changes::CommitHook>),
}

impl Application {
    /// Prepares everything a server needs; fails with a message that says what and where.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // What configuration alone can get wrong is checked first, so a start that fails on it
        // leaves nothing on disk: no data directory, no database file, no signing key.
        let playground = match config.playground {
            true => Some(Arc::new(Playground::new(&config.playground_assets)?)),
            false => None,
        };
        let persisted = Arc::new(match &config.safelist {
            Some(path) => PersistedQueries::safelist(path)?,
            None => PersistedQueries::automatic(),
        });
        if let Some(read_url) = &config.database_read_url {
            crate::replica::check_urls(&config.database_url(), read_url)?;
        }
        let listener =
            TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        let metrics_listener = match config.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address).await.with_context(|| format!("cannot listen for metrics on {address}"))?,
            ),
            None => None,
        };
        let key_files = KeyFiles::read(&config)?;
        let store = open_store(&config).await?;
        careergraph_domain::migrate(store.db()).await.context("cannot migrate the database")?;
        if careergraph_domain::dataset::is_empty(store.db()).await? {
            let report = careergraph_domain::dataset::load_bundled(store.db())
                .await
                .context("cannot load the bundled dataset")?;
            tracing::info!(?report, "empty database: loaded the bundled dataset");
        }
        let feed = careergraph_domain::changes::Feed::of(store.db());
        let store = with_replica(store, &config, &feed).await?;
        let accounts = Arc::new(Accounts::new(store.clone(), &config, key_files.into_keys(&config)?)?);
        let graphql = build_executable(&config);
        let metrics = Metrics::new(store.clone(), accounts.passwords().clone(), graphql.slots.clone())?;
        let max_age = std::time::Duration::from_secs(config.public_max_age_secs);
        let responses = Arc::new(ResponseCache::new(config.response_cache_mib, max_age, metrics.clone()));
        // Applying first, so that nothing the listener passes on goes by unapplied.
        let applying = AbortOnDrop(crate::changes::keep_in_step(&feed, accounts.clone(), responses.clone()));
        let listening = crate::changes::listen(
            &listen_url(&config, store.db())?,
            store.db().clone(),
            feed.clone(),
            metrics.clone(),
        )
        .await?
        .map(AbortOnDrop);
        let own_commits = crate::changes::see_own_commits(&feed, responses.clone());
        let metrics_server = metrics_listener.map(|listener| (listener, http::metrics_router(metrics.clone())));
        let execution = Arc::new(Execution::new(graphql, accounts.clone(), metrics.clone(), persisted));
        let router = http::router(
            execution,
            store.clone(),
            accounts,
            playground,
            metrics,
            http::Live { responses, feed },
            &config,
        );
        let grace = std::time::Duration::from_secs(config.shutdown_grace_secs);
        Ok(Self {
            listener,
            router,
            store,
            address,
            metrics: metrics_server,
            grace,
            _changes: (listening, applying, own_commits),
        })
    }

    /// The port the server is bound to (useful when `listen` asked for port 0).
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The port metrics are served on, when a metrics listener is configured.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().and_then(|(listener, _)| listener.local_addr().ok()).map(|address| address.port())
    }

    /// The server's database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then stops accepting and finishes the requests in flight,
    /// waiting for them at most the grace period.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        tracing::info!(
            "careergraph listening on http://{0}: GraphQL at http://{0}/graphql, playground at http://{0}/",
            self.address
        );
        if let Some((listener, router)) = self.metrics {
            // Metrics stop with the process; they have no requests to finish.
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "the metrics listener failed");
                }
            });
        }
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let stop = async move {
            stop.await;
            let _ = stopping.send(());
        };
        let grace = self.grace;
        let grace_over = async move {
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        };
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let serving = axum::serve(self.listener, service).with_graceful_shutdown(stop);
        tokio::select! {
            served = serving.into_future() => served,
            () = grace_over => {
                tracing::warn!(grace_secs = grace.as_secs(), "grace period over: closing the requests still in flight");
                Ok(())
            }
        }
    }
}

/// Opens the configured database, creating the data directory for the embedded default.
/// Where the change feed listens: `CAREERGRAPH_DATABASE_LISTEN_URL`, else the database URL,
/// unless that goes through a transaction pooler, which cannot carry `LISTEN`.
fn listen_url(config: &Config, db: &careergraph_domain::Db) -> anyhow::Result<String> {
    match &config.database_listen_url {
        Some(url) => Ok(url.clone()),
        None if db.is_behind_pooler() => anyhow::bail!(
            "the database URL goes through a transaction pooler ({}=true), which cannot carry the change feed's \
             LISTEN: set CAREERGRAPH_DATABASE_LISTEN_URL to a direct PostgreSQL URL",
            careergraph_domain::POOLER_PARAMETER
        ),
        None => Ok(config.database_url()),
    }
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    // The data directory holds the embedded database and, unless a key file is configured,
    // the token signing key.
    if config.uses_embedded_database() || config.jwt_key_file.is_none() {
        ensure_writable(&config.data_dir)?;
    }
    // Any SQLite file, not only the default one: it holds e-mail addresses and password hashes.
    // A URL without `mode=rwc` opens only an existing file, so none is created for it here.
    let creates = config.uses_embedded_database() || config.database_url().contains("mode=rwc");
    if let Some(file) = config.sqlite_file().filter(|file| creates || file.exists()) {
        create_private_file(&file)?;
    }
    let url = config.database_url();
    let max_connections =
        config.db_max_connections.unwrap_or_else(|| careergraph_domain::default_max_connections(&url));
    let acquire_timeout = std::time::Duration::from_secs(config.db_acquire_timeout_secs);
    Store::connect(&url, max_connections, acquire_timeout).await
}

/// `store`, reading the configured streaming replica (if any); who writes is heard on `feed`.
async fn with_replica(
    store: Store,
    config: &Config,
    feed: &careergraph_domain::changes::Feed,
) -> anyhow::Result<Store> {
    let Some(read_url) = &config.database_read_url else { return Ok(store) };
    let url = config.database_url();
    let max_connections =
        config.db_max_connections.unwrap_or_else(|| careergraph_domain::default_max_connections(read_url));
    let acquire_timeout = std::time::Duration::from_secs(config.db_acquire_timeout_secs);
    let max_lag = std::time::Duration::from_millis(config.database_read_max_lag_ms);
    store.with_replica((&url, read_url), max_connections, acquire_timeout, max_lag, feed).await
}

/// Creates `dir` if needed, private to this user (it holds e-mail addresses, password hashes and
/// the signing key), and proves that files can be written in it, so a read-only or misnamed data
/// directory fails at start with its path rather than at the first write.
fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    let fail = |error: std::io::Error| anyhow::anyhow!("cannot write the data directory {}: {error}", dir.display());
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(fail)?;
    restrict(dir, 0o700).map_err(fail)?;
    let probe = dir.join(".careergraph-write-test");
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// Creates the SQLite database file readable and writable by this user only (SQLite gives its
/// journal files the same mode), and takes those rights back from others on an existing one.
fn create_private_file(path: &Path) -> anyhow::Result<()> {
    let fail = |error: std::io::Error| anyhow::anyhow!("cannot create the database file {}: {error}", path.display());
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(fail)?;
    restrict(path, 0o600).map_err(fail)
}

/// Sets the permission bits of `path` on Unix; elsewhere the platform's defaults stand.
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
