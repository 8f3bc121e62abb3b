//! `opsbook monitor`: one snapshot of the stack's numbers (for cron every minute) or one every
//! `--watch` interval; findings at WARNING or worse are alerts, sent through `notify:` once
//! when they start, on a status change, after `repeat_after`, and once when they clear.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use crate::config::Span;
use crate::context::{process_env, Ctx};
use crate::notify::{self, Notifier};
use crate::probes::pg_probe;
use crate::probes::{self, guarded, statements};
use crate::render::{self, Style};
use crate::report::{Finding, Report, Status};
use crate::state::History;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "monitor",
    page: "commands/monitor.md",
    ids: &[
        "host.cpu_usage",
        "host.memory_usage",
        "host.disk_usage",
        "host.load",
        "postgres.up",
        "postgres.connections",
        "postgres.database_size",
        "postgres.slow_query_count",
        "postgres.waiting_locks",
        "redis.up",
        "redis.memory",
        "redis.clients",
        "rq.backlog",
        "pitr.archiver (when the config has a pitr: section)",
        "metric.<name> (custom metrics listing monitor)",
        "cluster.primary (fanned out over a Patroni API or Sentinel: who is primary, as cluster status judges)",
        "cluster.paused (likewise: Patroni's maintenance mode)",
        "cluster.pending_restart (likewise)",
        "cluster.timeline (likewise: the primary's timeline since this command's previous run)",
        "cluster.sentinels (likewise: Sentinels answering, quorum)",
        "notify.telegram (when an alert or recovery was due: ok sent, warning not; every run while it cannot send)",
        "notify.webhook (likewise)",
        "notify.state (when alerts.json could not be read or written)",
    ],
};

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!("{}{}", FINDING_IDS.help(), "\n\n\
Examples:\n  * * * * * opsbook monitor -q --textfile /var/lib/node_exporter/textfile/opsbook.prom\n  \
opsbook monitor --watch 60s\n  opsbook monitor --watch 10s --count 6 --format json\n\n\
Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (of the last snapshot). See commands/monitor.md.")
}

/// Take a snapshot of host, PostgreSQL, Redis and RQ numbers and send alerts
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Take a snapshot every INTERVAL (30s, 1m, ...) until Ctrl-C or --count
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    pub watch: Option<Span>,

    /// With --watch: stop after N snapshots
    #[arg(long, value_name = "N", requires = "watch", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Do not record this run's numbers (connection count, CPU counters) in the run history
    #[arg(long)]
    pub no_record: bool,

    /// Send no notification this run (findings and exit status are the same)
    #[arg(long)]
    pub no_notify: bool,
}

fn parse_interval(s: &str) -> Result<Span, String> {
    let span = Span::parse(s)?;
    if span.0 < Duration::from_millis(100) {
        return Err(format!(
            "`{s}` is too short an interval (at least 100ms, e.g. 60s)"
        ));
    }
    Ok(span)
}

pub async fn run(args: &MonitorArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    // Secrets are read before any probe: a token file others can read is an error (exit 3).
    let notifier = if args.no_notify {
        Notifier::none()
    } else {
        Notifier::from_config(&ctx.config.notify, &process_env)?
    };
    let Some(every) = args.watch else {
        return snapshot(args, ctx, &notifier).await;
    };
    let interrupt = crate::interrupt::Interrupt::install()?;
    let mut due = Instant::now();
    let mut taken: u64 = 0;
    loop {
        // A fresh context each time: a server that went away (or came back) is reconnected.
        let fresh = Ctx::new(
            ctx.config.clone(),
            ctx.source.clone(),
            ctx.output.clone(),
            ctx.overrides.clone(),
        );
        let mut report = if fresh.overrides.selects_targets() {
            // --watch with --target/--all: each round fans out afresh, alerts once per round.
            let plan = crate::fleet::Plan::each(&fresh, Duration::ZERO)?;
            let none = Notifier::none();
            let mut r = plan.run(&fresh, "monitor", |c| snapshot(args, c, &none))?;
            notify_merged(args, &fresh, &mut r).await?;
            r
        } else {
            snapshot(args, &fresh, &notifier).await?
        };
        drop(fresh);
        taken += 1;
        if args.count.is_some_and(|c| taken >= c) || interrupt.is_set() {
            // On a terminal the last snapshot replaces the one before it too.
            if render::watch::redraws(&ctx.output) && show(ctx, &report)? {
                report.shown = true;
            }
            return Ok(report);
        }
        if !show(ctx, &report)? {
            report.shown = true;
            return Ok(report);
        }
        // The rhythm is kept from the start; a snapshot that overran starts the next at once.
        due = (due + every.0).max(Instant::now());
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = interrupt.wait() => {
                report.shown = true;
                return Ok(report);
            }
        }
    }
}

/// Print one intermediate snapshot and refresh the textfile; false when stdout is closed.
fn show(ctx: &Ctx, report: &Report) -> anyhow::Result<bool> {
    let text = render::watch::frame(
        &render::render(report, ctx.output.format, Style::for_stdout(&ctx.output)),
        render::watch::redraws(&ctx.output),
    );
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(false);
        }
        return Err(anyhow::Error::from(e).context("writing the report to stdout"));
    }
    if let Some(path) = &ctx.output.textfile {
        render::write_textfile(path, report)?;
    }
    Ok(true)
}

async fn snapshot(args: &MonitorArgs, ctx: &Ctx, notifier: &Notifier) -> anyhow::Result<Report> {
    let started = Instant::now();
    let now = crate::state::now_secs();
    let th = &ctx.config.thresholds;
    let mc = &ctx.config.monitor;
    let timeout = ctx.probe_timeout();
    let state_dir = ctx.state_dir();
    let mut history = History::load_or_warn(
        &state_dir,
        "growth is not shown and the CPU is sampled this run",
    );
    let cpu_counters = std::sync::Mutex::new(None::<crate::clients::host::CpuTimes>);
    // A fanned-out run (--target/--all) probes this host in one part only (`fleet`).
    let host = ctx.probes_host();

    let (cpu, memory, disks, load, (pg_up, conns, sizes), slow, locks, redis, rq, metrics) = tokio::join!(
        guarded("host.cpu_usage", timeout + mc.cpu_sample.0, async {
            if !host {
                return Ok(Vec::new());
            }
            let (findings, counters) = probes::host::cpu_usage(
                th.cpu_pct,
                mc.cpu_sample.0,
                &history,
                mc.cpu_sample_max_age.0,
                now,
            )
            .await?;
            *cpu_counters.lock().unwrap_or_else(|e| e.into_inner()) = Some(counters);
            Ok(findings)
        }),
        guarded("host.memory_usage", timeout, async {
            if !host {
                return Ok(Vec::new());
            }
            probes::host::memory_usage(th.memory_pct)
        }),
        guarded("host.disk_usage", timeout, async {
            if !host {
                return Ok(Vec::new());
            }
            let data_dir = probes::postgres::data_directory(ctx).await;
            let mut dirs = vec![("root", PathBuf::from("/"))];
            if let Some(d) = data_dir {
                dirs.push(("data", d));
            }
            probes::host::disk_usage(&dirs, th.disk_pct)
        }),
        guarded("host.load", timeout, async {
            if !host {
                return Ok(Vec::new());
            }
            probes::host::load(th.load_per_core)
        }),
        probes::postgres::up_connections_sizes(ctx, th.connections_pct, &history, now),
        pg_probe(
            ctx,
            "postgres.slow_query_count",
            slow_queries(ctx, statements::Slow::of(th), th.slow_queries)
        ),
        pg_probe(
            ctx,
            "postgres.waiting_locks",
            probes::postgres::waiting_locks(ctx, th.waiting_locks)
        ),
        guarded("redis.up", timeout, async {
            Ok(probes::redis::overview(ctx, th.redis_memory_pct, Some(th.redis_clients)).await)
        }),
        guarded("rq.backlog", timeout, async {
            Ok(probes::redis::rq_backlog(ctx, &mc.queues, th.rq_backlog).await)
        }),
        crate::metrics::findings(ctx, "monitor"),
    );

    let mut report = Report::new("monitor");
    let server = ctx.pg().await.ok().map(|pg| &pg.options);
    let mut values = history_values(server, &conns, &slow);
    if let Some(c) = cpu_counters.into_inner().unwrap_or_else(|e| e.into_inner()) {
        values.insert(probes::host::CPU_BUSY_KEY.to_string(), c.busy);
        values.insert(probes::host::CPU_TOTAL_KEY.to_string(), c.total);
    }
    for part in [
        cpu, memory, disks, load, pg_up, conns, sizes, slow, locks, redis, rq, metrics,
    ] {
        report.extend(part);
    }
    if let Some(pitr) = &ctx.config.pitr {
        report.extend(crate::pitr::archiver::probe(ctx, &pitr.stanza).await);
    }
    if !notifier.is_empty() {
        let (failed, delivered) = notify::dispatch_alerts(
            notifier,
            &ctx.config.notify,
            &state_dir,
            "monitor",
            &report.findings,
            now,
        )
        .await;
        report.extend(failed);
        // The UTC day's running total: thinning keeps a day's last run only.
        let today = history.series(NOTIFY_SENT_KEY, now - now.rem_euclid(86_400));
        let before = today.last().map_or(0.0, |p| p.1);
        values.insert(NOTIFY_SENT_KEY.to_string(), before + delivered as f64);
    }
    if !args.no_record {
        history.record_or_warn(&state_dir, "monitor", values, now);
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// After a fanned-out `monitor` (`--target`/`--all`, whose parts send nothing): the alerts of
/// the merged report, sent once, keyed by target too.
pub async fn notify_merged(
    args: &MonitorArgs,
    ctx: &Ctx,
    report: &mut Report,
) -> anyhow::Result<()> {
    if args.no_notify {
        return Ok(());
    }
    let notifier = Notifier::from_config(&ctx.config.notify, &process_env)?;
    if notifier.is_empty() {
        return Ok(());
    }
    let (failed, _) = notify::dispatch_alerts(
        &notifier,
        &ctx.config.notify,
        &ctx.state_dir(),
        "monitor",
        &report.findings,
        crate::state::now_secs(),
    )
    .await;
    report.extend(failed);
    Ok(())
}

/// `postgres.slow_query_count`: the slow statements of the connected database (one definition
/// with check afternoon and diagnose queries: `statements::Slow`).
async fn slow_queries(
    ctx: &Ctx,
    slow: statements::Slow,
    limits: crate::config::Limits,
) -> anyhow::Result<Vec<Finding>> {
    let pg = ctx.pg().await?;
    let Some(pgss) = statements::locate(pg).await? else {
        return Ok(vec![Finding::new(
            "postgres.slow_query_count",
            Status::Unknown,
            "pg_stat_statements is not installed in this database: slow statements cannot be counted",
        )
        .hint(statements::ENABLE_STEPS)]);
    };
    let n = statements::count_slow(pg, &pgss, slow).await?;
    let status = Status::above(n as f64, limits.warning, limits.critical);
    let mut f = Finding::new(
        "postgres.slow_query_count",
        status,
        slow.count_text(n, pg.options.dbname()),
    )
    .value(n, "statements")
    .above(limits.warning, limits.critical);
    if status != Status::Ok || n > 0 {
        f = f.hint("see them, slowest first: `opsbook diagnose queries`");
    }
    Ok(vec![f])
}

/// History key of the alerts and recoveries delivered so far in the UTC day (`opsbook
/// report`).
const NOTIFY_SENT_KEY: &str = "notify.sent";

/// What a snapshot records in the run history besides the CPU counters: the client
/// connection count (check afternoon's day peak) and the slow-statement count (`opsbook
/// report`), keyed by server.
fn history_values(
    server: Option<&crate::clients::pg::PgOptions>,
    conns: &[Finding],
    slow: &[Finding],
) -> std::collections::BTreeMap<String, f64> {
    let mut values = std::collections::BTreeMap::new();
    let Some(server) = server else {
        return values;
    };
    let value = |findings: &[Finding], id: &str| {
        findings
            .iter()
            .find(|f| f.id == id)
            .and_then(|f| f.value.as_f64())
    };
    if let Some(used) = value(conns, "postgres.connections") {
        values.insert(probes::postgres::connections_key(server), used);
    }
    if let Some(n) = value(slow, "postgres.slow_query_count") {
        let key = format!(
            "postgres.slow_query_count/{}:{}",
            server.host(),
            server.port()
        );
        values.insert(key, n);
    }
    values
}
