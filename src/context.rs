//! Ctx: the effective config, output settings and lazily connected shared clients.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use tokio::sync::OnceCell;

use crate::clients::pg::PgOptions;
use crate::clients::postgres::{PgClient, SessionTimeouts};
use crate::clients::redis::{self as redis_client, RedisClient};
use crate::config::{Config, Source};
use crate::render::Output;
use crate::report::one_line;

/// What the command line overrides for the whole run (`--config`, `--pg`, `--redis`,
/// `--timeout`), as plain data built in `main`.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub pg: Option<String>,
    pub redis: Option<String>,
    /// Seconds; the command line has checked the range.
    pub timeout: Option<f64>,
}

pub struct Ctx {
    pub config: Config,
    pub source: Source,
    pub output: Output,
    pub overrides: Overrides,
    // Errors are kept as text so every probe that needs a down server gets the same reason
    // without a second connect attempt (and a second timeout).
    pg: OnceCell<Result<PgClient, String>>,
    redis: OnceCell<Result<RedisClient, String>>,
}

pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

impl Ctx {
    pub fn new(config: Config, source: Source, output: Output, overrides: Overrides) -> Ctx {
        Ctx {
            config,
            source,
            output,
            overrides,
            pg: OnceCell::new(),
            redis: OnceCell::new(),
        }
    }

    /// Session timeouts: `--timeout` bounds both connecting and each statement.
    pub fn timeouts(&self) -> SessionTimeouts {
        let t = &self.config.timeouts;
        // clap has checked the range already.
        let flag = self.overrides.timeout.map(Duration::from_secs_f64);
        SessionTimeouts {
            connect: flag.unwrap_or(t.connect.0),
            statement: flag.unwrap_or(t.statement.0),
            lock: t.lock.0,
        }
    }

    /// How long one probe may take in all (connect + its queries).
    pub fn probe_timeout(&self) -> Duration {
        let t = self.timeouts();
        t.connect + t.statement
    }

    pub fn pg_options(&self) -> anyhow::Result<PgOptions> {
        PgOptions::resolve(
            self.overrides.pg.as_deref(),
            self.config.postgres.url.as_deref(),
            self.config.postgres.password_file.as_deref(),
            &process_env,
        )
    }

    /// The shared PostgreSQL session, connected on first use.
    pub async fn pg(&self) -> anyhow::Result<&PgClient> {
        let cell = self
            .pg
            .get_or_init(|| async {
                let opts = self.pg_options().map_err(|e| one_line(&e))?;
                PgClient::connect(&opts, self.timeouts())
                    .await
                    .map_err(|e| one_line(&e))
            })
            .await;
        cell.as_ref().map_err(|e| anyhow!("{e}"))
    }

    pub fn redis_url(&self) -> anyhow::Result<String> {
        redis_client::resolve_url(
            self.overrides.redis.as_deref(),
            self.config.redis.url.as_deref(),
            self.config.redis.password_file.as_deref(),
            &process_env,
        )
    }

    /// The shared Redis connection, connected on first use.
    pub async fn redis(&self) -> anyhow::Result<&RedisClient> {
        let cell = self
            .redis
            .get_or_init(|| async {
                let url = self.redis_url().map_err(|e| one_line(&e))?;
                RedisClient::connect(&url, self.timeouts().connect)
                    .await
                    .map_err(|e| one_line(&e))
            })
            .await;
        cell.as_ref().map_err(|e| anyhow!("{e}"))
    }

    pub fn state_dir(&self) -> PathBuf {
        crate::state::state_dir(self.config.state_dir.as_deref(), &process_env)
    }
}
