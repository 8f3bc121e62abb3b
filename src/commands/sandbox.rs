//! `opsbook sandbox up|env|status|down`: a throwaway PostgreSQL + Redis to try opsbook on.
//! The same code gives the test suite its real servers.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::progress::Phase;
use crate::report::{Finding, Report, Section, Status};
use crate::runbook::quote::shell_word;
use crate::sandbox::{Sandbox, UpOptions};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "sandbox",
    page: "commands/sandbox.md",
    ids: &[
        "sandbox.postgres",
        "sandbox.redis",
        "sandbox.demo_data",
        "sandbox.ha",
        "sandbox.down",
    ],
};

/// Start, show or stop a throwaway PostgreSQL + Redis on free loopback ports
#[derive(Debug, Args)]
#[command(
    after_help = format!("{}\n\n{}", FINDING_IDS.help(), "Example:\n  opsbook sandbox up --demo-data\n  eval \"$(opsbook sandbox env)\"\n  opsbook check morning\n  opsbook sandbox down")
)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub which: SandboxCommand,
}

#[derive(Debug, Args, Clone)]
pub struct DirArg {
    /// Sandbox directory (default: $OPSBOOK_SANDBOX_DIR, else <tmp>/opsbook-sandbox-<uid>)
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
}

impl DirArg {
    fn resolve(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(Sandbox::default_dir)
    }
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Create and start the sandbox (initdb + pg_ctl, redis-server) and print how to use it
    Up {
        #[command(flatten)]
        dir: DirArg,
        /// Load a small schema shaped like the seeds' (users_global, global_unique_invited_users,
        /// competitions_global) into database opsbook_demo and take a first backup of it
        #[arg(long)]
        demo_data: bool,
        /// Multiply the demo data: 1 = 5,000 users and 20,000 invites; 400 is a database of
        /// about 1.1 GB (for the backup benchmark)
        #[arg(long, value_name = "N", default_value_t = 1, requires = "demo_data",
              value_parser = clap::value_parser!(u32).range(1..=10000))]
        demo_scale: u32,
        /// Do not start redis-server
        #[arg(long, conflicts_with = "ha")]
        no_redis: bool,
        /// Also start the HA engines on loopback: a single-node etcd, two Patroni-managed
        /// PostgreSQL nodes (leader + streaming replica), a Redis replica with three Sentinels,
        /// and HAProxy (pg_write / redis_write backends, stats page and socket); the config
        /// gains their `targets:`
        #[arg(long)]
        ha: bool,
    },
    /// Print `export` lines that point opsbook, psql and redis-cli at the sandbox
    Env {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Show whether the sandbox's servers are running
    Status {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Stop both servers and remove the sandbox directory
    Down {
        #[command(flatten)]
        dir: DirArg,
    },
}

impl SandboxArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            SandboxCommand::Up { .. } => "up",
            SandboxCommand::Env { .. } => "env",
            SandboxCommand::Status { .. } => "status",
            SandboxCommand::Down { .. } => "down",
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Take the demo database's first backup; a sandbox whose promised backup failed is removed,
/// like any other failed `sandbox up`, so a retry starts clean.
async fn first_backup(sb: &Sandbox, ctx: &Ctx) -> anyhow::Result<Finding> {
    match sb.backup_demo(ctx.timeouts()).await {
        Ok(w) => {
            // Into the sandbox's own run history (the OPSBOOK_STATE_DIR its env line sets), as
            // `opsbook backup` records it: `opsbook report` draws the first backup too.
            crate::state::History::default().record_or_warn(
                &sb.state_dir(),
                "backup",
                crate::backup::history_values(&w.manifest),
                crate::state::now_secs(),
            );
            Ok(Finding::ok(
                "sandbox.demo_data",
                format!(
                    "database {} loaded; first backup {} (verified) in {}",
                    w.manifest.database,
                    w.manifest.id,
                    sb.backup_dir().display()
                ),
            )
            .value(w.manifest.total_rows(), "rows"))
        }
        Err(e) => {
            let sb = sb.clone();
            let down = tokio::task::spawn_blocking(move || sb.down()).await;
            let e = e.context("sandbox up --demo-data");
            match down {
                Ok(Ok(())) => Err(e.context("the sandbox was removed\nhint: run `opsbook sandbox up --demo-data` again")),
                Ok(Err(cleanup)) => Err(e.context(format!("removing the sandbox failed too ({cleanup:#})\nhint: stop what is left with `opsbook sandbox down`"))),
                Err(join) => Err(e.context(format!("removing the sandbox failed too ({join})"))),
            }
        }
    }
}

fn loaded(dir: &std::path::Path) -> anyhow::Result<Sandbox> {
    Sandbox::load(dir)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no sandbox in {}\nhint: start one with `opsbook sandbox up` (or pass the --dir it was started with)",
            dir.display()
        )
    })
}

/// The line that points a shell at the sandbox: with `--dir` (quoted for the shell) unless it
/// is the default directory, which `sandbox env` finds by itself.
pub fn eval_line(sb: &Sandbox) -> String {
    let default = Sandbox::default_dir();
    let default = default.canonicalize().unwrap_or(default);
    if sb.state.dir == default {
        "eval \"$(opsbook sandbox env)\"".to_string()
    } else {
        format!(
            "eval \"$(opsbook sandbox env --dir {})\"",
            shell_word(&sb.state.dir.to_string_lossy())
        )
    }
}

fn env_section(sb: &Sandbox) -> Section {
    Section {
        title: format!("Point opsbook at it with: {}", eval_line(sb)),
        columns: vec!["VARIABLE".into(), "VALUE".into()],
        rows: sb.env().into_iter().map(|(k, v)| vec![k, v]).collect(),
        fit: Vec::new(),
    }
}

fn health_findings(sb: &Sandbox) -> Vec<Finding> {
    let h = sb.status();
    let st = &sb.state;
    let pg = if h.pg_running {
        Finding::ok(
            "sandbox.postgres",
            format!(
                "PostgreSQL {} on 127.0.0.1:{} (data {})",
                st.pg_version,
                st.pg_port,
                st.dir.join("pg/data").display()
            ),
        )
    } else {
        Finding::new(
            "sandbox.postgres",
            Status::Critical,
            format!("PostgreSQL on port {} is not running", st.pg_port),
        )
        .hint("recreate it: `opsbook sandbox down && opsbook sandbox up`")
    };
    let redis = if st.redis_pid.is_none() && st.redis_port == 0 {
        Finding::ok("sandbox.redis", "not started (--no-redis)")
    } else if h.redis_running {
        Finding::ok(
            "sandbox.redis",
            format!("redis-server on 127.0.0.1:{}", st.redis_port),
        )
    } else {
        Finding::new(
            "sandbox.redis",
            Status::Critical,
            format!("redis-server on port {} is not running", st.redis_port),
        )
        .hint("recreate it: `opsbook sandbox down && opsbook sandbox up`")
    };
    let mut out = vec![
        pg.value(st.pg_port, "port"),
        redis.value(st.redis_port, "port"),
    ];
    out.extend(ha_finding(sb));
    out
}

/// One finding for the HA stack of `up --ha`: what runs, or which processes do not.
fn ha_finding(sb: &Sandbox) -> Option<Finding> {
    let ha = sb.ha()?;
    let health = sb.ha_health();
    let down: Vec<String> = health
        .iter()
        .filter(|h| !h.running)
        .map(|h| format!("{} (:{})", h.name, h.port))
        .collect();
    let f = if down.is_empty() {
        Finding::ok(
            "sandbox.ha",
            format!(
                "etcd, Patroni {} (PostgreSQL :{}), Redis replica :{}, {} Sentinels, HAProxy (stats :{}, pg_write :{}, redis_write :{}); started in {:.1} s",
                ha.patroni
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" + "),
                ha.patroni
                    .iter()
                    .map(|n| n.pg_port.to_string())
                    .collect::<Vec<_>>()
                    .join(", :"),
                ha.redis_replica.port,
                ha.sentinels.len(),
                ha.haproxy.port,
                ha.pg_write_port,
                ha.redis_write_port,
                ha.started_in_seconds,
            ),
        )
    } else {
        Finding::new(
            "sandbox.ha",
            Status::Critical,
            format!("not running: {}", down.join(", ")),
        )
        .hint("recreate it: `opsbook sandbox down && opsbook sandbox up --ha`")
    };
    Some(f.value(health.len() - down.len(), "processes"))
}

pub async fn run(args: &SandboxArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let mut report = Report::new(format!("sandbox {}", args.name()));
    match &args.which {
        SandboxCommand::Up {
            dir,
            demo_data,
            demo_scale,
            no_redis,
            ha,
        } => {
            let opts = UpOptions {
                dir: dir.resolve(),
                demo_data: *demo_data,
                demo_scale: *demo_scale,
                owner_pid: None,
                redis: !*no_redis,
                ha: *ha,
            };
            // initdb, pg_ctl and the demo load are blocking child processes.
            let servers = if opts.ha {
                "PostgreSQL, Redis and the HA engines (etcd, Patroni, Sentinel, HAProxy)"
            } else if opts.redis {
                "PostgreSQL and Redis"
            } else {
                "PostgreSQL"
            };
            let demo = if opts.demo_data {
                ", loading the demo data"
            } else {
                ""
            };
            let phase = Phase::start(&ctx.output, format!("starting {servers}{demo}"));
            let sb = tokio::task::spawn_blocking(move || Sandbox::up(&opts)).await??;
            report.extend(health_findings(&sb));
            if sb.state.demo_db.is_some() {
                phase.next("taking the first backup");
                report.push(first_backup(&sb, ctx).await?);
            }
            phase.finish();
            report.sections.push(env_section(&sb));
            report.data = Some(serde_json::to_value(&sb.state)?);
        }
        SandboxCommand::Env { dir } => {
            let sb = loaded(&dir.resolve())?;
            let env = sb.env();
            report.text = Some(
                env.iter()
                    .map(|(k, v)| format!("export {k}={}\n", shell_quote(v)))
                    .collect(),
            );
            report.data = Some(serde_json::Value::Object(
                env.into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            ));
        }
        SandboxCommand::Status { dir } => {
            let sb = loaded(&dir.resolve())?;
            report.extend(health_findings(&sb));
            report.data = Some(serde_json::to_value(&sb.state)?);
        }
        SandboxCommand::Down { dir } => {
            let dir = dir.resolve();
            let sb = loaded(&dir)?;
            let phase = Phase::start(&ctx.output, "stopping the servers");
            tokio::task::spawn_blocking(move || sb.down()).await??;
            phase.finish();
            report.push(Finding::ok(
                "sandbox.down",
                format!("stopped the servers and removed {}", dir.display()),
            ));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(super::shell_quote("a'b"), "'a'\\''b'");
    }
}
