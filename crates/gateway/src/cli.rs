//! The `careergraph` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::graphql::{build_schema, sdl};
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

#[derive(Subcommand, Debug, Clone, Copy)]
enum Command {
    /// Serve the API and the playground (the default). An empty database is migrated and
    /// loaded with the bundled dataset first.
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Migrate, then add whatever of the bundled dataset is missing (never overwrites).
    Seed,
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
}

impl Cli {
    /// Runs the chosen command to completion.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                Application::build(self.config).await?.run_until_stopped().await.context("the server failed")
            }
            Command::Migrate => {
                let store = open_store(&self.config).await?;
                careergraph_domain::migrate(store.db()).await.context("cannot migrate the database")?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Seed => {
                let store = open_store(&self.config).await?;
                careergraph_domain::migrate(store.db()).await.context("cannot migrate the database")?;
                let report = careergraph_domain::dataset::load_bundled(store.db())
                    .await
                    .context("cannot load the bundled dataset")?;
                if report.is_empty() {
                    tracing::info!("the bundled dataset is already loaded; nothing added");
                }
                Ok(())
            }
            Command::Schema => {
                print!("{}", sdl(&build_schema(&self.config)));
                Ok(())
            }
        }
    }
}
