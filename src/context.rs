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
    /// `--target NAME|GROUP`: run against these inventory targets (`targets:`).
    pub target: Option<String>,
    /// `--all`: run against every inventory target.
    pub all: bool,
}

impl Overrides {
    /// Whether the command line selected inventory targets (`--target` or `--all`).
    pub fn selects_targets(&self) -> bool {
        self.all || self.target.is_some()
    }
}

/// Which servers a run may talk to. A fanned-out run (`--target`/`--all`, `src/fleet/`)
/// gives each PostgreSQL target a `Postgres` context, each Redis target a `Redis` one, and
/// runs the host-local probes once in a `Host` context; a client outside the scope answers
/// at once with an error, so its probes cost nothing (the fan-out drops their findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Everything, as without --target/--all.
    #[default]
    Whole,
    /// Only the PostgreSQL connection.
    Postgres,
    /// Only the Redis connection.
    Redis,
    /// Neither: the host's own probes (disk, memory, services, backups directory).
    Host,
}

/// The error a client outside the run's [`Scope`] gives.
pub const OUT_OF_SCOPE: &str = "not part of this target's run";

pub struct Ctx {
    pub config: Config,
    pub source: Source,
    pub output: Output,
    pub overrides: Overrides,
    /// The servers this run may talk to ([`Scope::Whole`] unless fanned out).
    pub scope: Scope,
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
            scope: Scope::Whole,
            pg: OnceCell::new(),
            redis: OnceCell::new(),
        }
    }

    /// The same context limited to `scope` (a fanned-out run's part).
    pub fn with_scope(mut self, scope: Scope) -> Ctx {
        self.scope = scope;
        self
    }

    /// Whether this run probes the host it runs on (disk, memory, services, journal).
    pub fn probes_host(&self) -> bool {
        matches!(self.scope, Scope::Whole | Scope::Host)
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
        if !matches!(self.scope, Scope::Whole | Scope::Postgres) {
            return Err(anyhow!("{OUT_OF_SCOPE}"));
        }
        PgOptions::resolve(
            self.overrides.pg.as_deref(),
            self.config.postgres.url.as_deref(),
            self.config.postgres.password_file.as_deref(),
            &process_env,
        )
    }

    /// The shared PostgreSQL session, connected on first use.
    pub async fn pg(&self) -> anyhow::Result<&PgClient> {
        if !matches!(self.scope, Scope::Whole | Scope::Postgres) {
            return Err(anyhow!("{OUT_OF_SCOPE}"));
        }
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
        if !matches!(self.scope, Scope::Whole | Scope::Redis) {
            return Err(anyhow!("{OUT_OF_SCOPE}"));
        }
        redis_client::resolve_url(
            self.overrides.redis.as_deref(),
            self.config.redis.url.as_deref(),
            self.config.redis.password_file.as_deref(),
            &process_env,
        )
    }

    /// The shared Redis connection, connected on first use.
    pub async fn redis(&self) -> anyhow::Result<&RedisClient> {
        if !matches!(self.scope, Scope::Whole | Scope::Redis) {
            return Err(anyhow!("{OUT_OF_SCOPE}"));
        }
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
