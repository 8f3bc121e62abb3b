//! `diagnose config`: one memory budget for PostgreSQL and Redis on this host, pgtune's
//! settings sized for what Redis leaves, the host settings both warn about; `--apply` as
//! ALTER SYSTEM after a rollback file is written, `--rollback FILE` to undo it.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::context::Ctx;
use crate::report::{Finding, Report, Status};
use crate::tuning::budget::Budget;
use crate::tuning::pgtune::{self, Profile};
use crate::tuning::plan::{self, HostSettings};
use crate::tuning::{effect, host_facts, rollback, settings};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "diagnose config",
    page: "commands/diagnose.md",
    ids: &[
        "config.memory_budget",
        "config.setting",
        "config.host",
        "config.redis",
        "config.apply",
        "config.pending_restart",
        "config.rollback",
    ],
};

pub fn after_help() -> String {
    format!(
        "{}{}",
        FINDING_IDS.help(),
        "\n\n\
Examples:\n  opsbook diagnose config\n  opsbook diagnose config --profile oltp --apply\n  \
opsbook diagnose config --rollback /var/lib/opsbook/tuning/rollback-127.0.0.1-5432-20261205T001500Z.sql --yes\n\n\
Exit status: 0 nothing to change, 1 a setting or host setting to change, 2 the worst case \
exceeds the RAM or cgroup limit or an ALTER SYSTEM failed, 3 unknown (no server, a refused \
rollback file, no --yes without a terminal).\n\
See commands/diagnose.md."
    )
}

/// pgtune's "DB type"
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// web application (the default)
    Web,
    /// online transaction processing
    Oltp,
    /// data warehouse
    Dw,
    /// web and reporting together
    Mixed,
    /// a developer's machine
    Desktop,
}

/// Size PostgreSQL and Redis memory together; plan, apply and roll back the settings
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The workload pgtune's formulas are chosen for
    #[arg(long, value_enum, default_value = "web")]
    pub profile: ProfileArg,
    /// Apply the plan with ALTER SYSTEM and reload (a rollback file is written first)
    #[arg(long, conflicts_with = "rollback")]
    pub apply: bool,
    /// Undo an --apply: run the rollback file it wrote, then reload
    #[arg(long, value_name = "FILE")]
    pub rollback: Option<PathBuf>,
    /// Do not ask (required with --apply or --rollback when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
}

impl ProfileArg {
    fn profile(self) -> Profile {
        match self {
            ProfileArg::Web => Profile::Web,
            ProfileArg::Oltp => Profile::Oltp,
            ProfileArg::Dw => Profile::Dw,
            ProfileArg::Mixed => Profile::Mixed,
            ProfileArg::Desktop => Profile::Desktop,
        }
    }
}

pub async fn run(args: &ConfigArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    if let Some(file) = &args.rollback {
        return roll_back(file, args.yes, ctx).await;
    }
    let pg = ctx.pg().await?;
    let server = format!("{}:{}", pg.options.host(), pg.options.port());
    let current = settings::read(pg).await?;
    let mut report = Report::new("diagnose config");

    // The host: RAM, or the cgroup limit when lower; CPUs; the data directory's disk.
    let ram = crate::clients::host::memory()?.total;
    let cgroup = host_facts::cgroup_memory_limit().filter(|&c| c < ram);
    let (limit, limit_name) = match cgroup {
        Some(c) => (c, "cgroup memory limit"),
        None => (ram, "RAM"),
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let data_dir = current.get("data_directory").map(|s| s.setting.clone());
    let disk = data_dir
        .as_deref()
        .filter(|d| !d.is_empty())
        .and_then(|d| host_facts::disk_of(std::path::Path::new(d)));

    // Redis beside it: maxmemory (or what it uses when unbounded).
    let (redis_bytes, redis_unbounded, redis_finding) = redis_part(ctx).await;
    report.extend(redis_finding);

    let num = |n: &str| {
        current
            .get(n)
            .and_then(|s| s.number())
            .unwrap_or(0.0)
            .max(0.0) as u64
    };
    let max_connections = num("max_connections");
    let av_mem = match current.get("autovacuum_work_mem").and_then(|s| s.number()) {
        Some(v) if v > 0.0 => v as u64,
        _ => num("maintenance_work_mem"),
    };
    let budget = Budget {
        limit,
        shared_buffers: num("shared_buffers"),
        max_connections,
        work_mem: num("work_mem"),
        autovacuum_max_workers: num("autovacuum_max_workers"),
        autovacuum_mem: av_mem,
        redis: redis_bytes,
        redis_unbounded,
        effective_cache_size: num("effective_cache_size"),
    };
    let mut bf = budget.finding(limit_name);
    bf.detail.push(format!(
        "pgtune's memory: {} {limit_name} - {} Redis = {} for PostgreSQL",
        crate::render::human_bytes(limit as f64),
        crate::render::human_bytes(redis_bytes as f64),
        crate::render::human_bytes(limit.saturating_sub(redis_bytes) as f64)
    ));
    bf.summary.push_str(&format!(
        "; {cpus} CPU(s), data directory on {}",
        match disk {
            Some(pgtune::Disk::Ssd) => "an SSD",
            Some(pgtune::Disk::Hdd) => "a rotational disk",
            None => "a disk this host cannot tell (random_page_cost and effective_io_concurrency are left alone)",
        }
    ));
    report.push(bf);

    let inputs = pgtune::Inputs {
        profile: args.profile.profile(),
        memory: limit.saturating_sub(redis_bytes),
        cpus,
        disk,
        max_connections,
    };
    let recs = pgtune::recommend(&inputs);
    let (setting_findings, changes, rows) = plan::compare(&recs, &current);
    report.extend(setting_findings);
    report.sections.push(plan::section(&rows));
    report.data = Some(serde_json::json!({
        "profile": inputs.profile,
        "ram_bytes": ram,
        "cgroup_limit_bytes": cgroup,
        "cpus": cpus,
        "disk": disk,
        "memory_for_postgres_bytes": inputs.memory,
        "budget": budget,
        "plan": rows,
    }));

    let planned_sb = recs
        .iter()
        .find(|r| r.name == "shared_buffers")
        .map_or(budget.shared_buffers, |r| r.value.as_f64() as u64);
    let host = HostSettings {
        overcommit_memory: host_facts::sysctl("vm.overcommit_memory"),
        transparent_hugepage: host_facts::transparent_hugepages(),
        swappiness: host_facts::sysctl("vm.swappiness"),
        nr_hugepages: host_facts::sysctl("vm.nr_hugepages"),
        huge_page_size: host_facts::huge_page_size(),
    };
    report.extend(plan::host_findings(
        &host,
        redis_bytes > 0 || redis_unbounded,
        planned_sb.max(budget.shared_buffers),
        current.get("huge_pages").map(|s| s.setting.as_str()),
    ));

    if args.apply {
        report.extend(apply(ctx, &server, &current, &changes, args.yes).await?);
    }
    report.refresh_status();
    Ok(report)
}

/// Redis's part of the budget and its finding; nothing when no Redis is configured.
async fn redis_part(ctx: &Ctx) -> (u64, bool, Vec<Finding>) {
    let configured = ctx.overrides.redis.is_some()
        || ctx.config.redis.url.is_some()
        || crate::context::process_env("REDIS_URL").is_some();
    if !configured {
        return (
            0,
            false,
            vec![Finding::ok(
                "config.redis",
                "no Redis configured: the budget is PostgreSQL's alone",
            )],
        );
    }
    let r = match ctx.redis().await {
        Ok(r) => r,
        Err(e) => return (0, false, vec![Finding::unknown("config.redis", &e)]),
    };
    let info = match r.info().await {
        Ok(i) => i,
        Err(e) => return (0, false, vec![Finding::unknown("config.redis", &e)]),
    };
    // CONFIG GET is the source of truth; INFO's copy serves where CONFIG is renamed away.
    let (maxmemory, policy) = match r.config_get("maxmemory*").await {
        Ok(m) => (
            m.get("maxmemory")
                .and_then(|v| v.parse().ok())
                .unwrap_or(info.maxmemory),
            m.get("maxmemory-policy")
                .cloned()
                .unwrap_or(info.maxmemory_policy.clone()),
        ),
        Err(_) => (info.maxmemory, info.maxmemory_policy.clone()),
    };
    let b = |v: u64| crate::render::human_bytes(v as f64);
    if maxmemory == 0 {
        let f = Finding::new(
            "config.redis",
            Status::Warning,
            format!(
                "Redis at {} has no maxmemory: it uses {} now and may grow into PostgreSQL's memory",
                r.url(),
                b(info.used_memory)
            ),
        )
        .value(info.used_memory, "bytes")
        .hint("size it with the budget: CONFIG SET maxmemory <bytes> and maxmemory-policy allkeys-lru (cache) or noeviction (queues), and the same in redis.conf");
        return (info.used_memory, true, vec![f]);
    }
    let f = Finding::ok(
        "config.redis",
        format!(
            "Redis at {} maxmemory {} ({policy}), {} used",
            r.url(),
            b(maxmemory),
            b(info.used_memory)
        ),
    )
    .value(maxmemory, "bytes");
    (maxmemory, false, vec![f])
}

/// Where --apply writes its rollback file.
fn rollback_path(ctx: &Ctx, server: &str) -> PathBuf {
    let stamp = crate::timefmt::backup_stamp(std::time::SystemTime::now());
    ctx.state_dir().join("tuning").join(format!(
        "rollback-{}-{stamp}.sql",
        server.replace([':', '/'], "-")
    ))
}

async fn apply(
    ctx: &Ctx,
    server: &str,
    current: &std::collections::BTreeMap<String, settings::Setting>,
    changes: &[plan::Change],
    yes: bool,
) -> anyhow::Result<Vec<Finding>> {
    if changes.is_empty() {
        return Ok(vec![Finding::ok(
            "config.apply",
            "nothing to apply: every setting is within 5 % of the plan",
        )]);
    }
    // Without the file each setting came from, a rollback could not tell SET from RESET.
    if let Some(s) = changes
        .iter()
        .filter_map(|c| current.get(c.apply.name()))
        .find(|s| s.source == "configuration file" && s.sourcefile.is_empty())
    {
        anyhow::bail!(
            "applying the plan to {server}: cannot tell which file sets {} (pg_settings.sourcefile is hidden from this role), so no rollback file could restore it; nothing was changed\nhint: run it as a superuser or a role granted pg_read_all_settings",
            s.name
        );
    }
    let path = rollback_path(ctx, server);
    let mut steps: Vec<String> = changes.iter().map(|c| c.apply.sql()).collect();
    steps.insert(0, format!("write the rollback file {}", path.display()));
    steps.push("SELECT pg_reload_conf();".to_string());
    crate::confirm::typed(
        &format!("apply {} setting(s) to {server}", changes.len()),
        &steps,
        "apply",
        yes,
    )?;

    // Confirmed: from here Ctrl-C stops between two statements instead of killing us.
    let interrupt = crate::interrupt::Interrupt::install()?;
    let pg = ctx.pg().await?;
    let before = effect::counters(pg).await.ok();
    let undo: Vec<rollback::Statement> = changes.iter().map(|c| c.undo.clone()).collect();
    let when = crate::timefmt::rfc3339(std::time::SystemTime::now());
    crate::atomic_file::write_atomic(&path, rollback::render(server, &when, &undo).as_bytes())
        .context("writing the rollback file before changing anything")?;
    let statements: Vec<String> = changes.iter().map(|c| c.apply.sql()).collect();
    let mut out = Vec::new();
    let hint = format!(
        "undo with: opsbook diagnose config --rollback {}",
        path.display()
    );
    if let Err(e) = settings::apply(pg, &statements, &interrupt).await {
        out.push(
            Finding::new(
                "config.apply",
                Status::Critical,
                crate::report::one_line(&e),
            )
            .hint(hint),
        );
        return Ok(out);
    }
    out.push(
        Finding::ok(
            "config.apply",
            format!(
                "applied {} setting(s) with ALTER SYSTEM and reloaded; rollback file {}",
                changes.len(),
                path.display()
            ),
        )
        .value(changes.len() as u64, "settings")
        .detail(changes.iter().map(|c| c.line.clone()).collect())
        .hint(hint),
    );
    out.push(pending_finding(pg).await);
    if let Some(c) = before {
        let now = crate::state::now_secs();
        let dir = ctx.state_dir();
        let mut history = crate::state::History::load_or_warn(
            &dir,
            "check afternoon cannot compare before and after",
        );
        history.record_or_warn(
            &dir,
            "diagnose config",
            effect::applied_values(server, now, c),
            now,
        );
    }
    Ok(out)
}

/// `config.pending_restart`: what still waits for a restart after the reload.
async fn pending_finding(pg: &crate::clients::postgres::PgClient) -> Finding {
    match settings::pending_restart(pg).await {
        Err(e) => Finding::unknown("config.pending_restart", &e),
        Ok(names) if names.is_empty() => Finding::ok(
            "config.pending_restart",
            "nothing waits for a restart: every change is in effect",
        )
        .value(0_u64, "settings"),
        Ok(names) => Finding::new(
            "config.pending_restart",
            Status::Warning,
            format!(
                "{} setting(s) take effect only at the next restart: {}",
                names.len(),
                names.join(", ")
            ),
        )
        .value(names.len() as u64, "settings")
        .detail(names)
        .hint("restart PostgreSQL in a quiet moment (systemctl restart postgresql, or pg_ctl restart -m fast)"),
    }
}

async fn roll_back(file: &std::path::Path, yes: bool, ctx: &Ctx) -> anyhow::Result<Report> {
    // The file is checked whole before anything connects or changes.
    let statements = rollback::read(file)?;
    let pg = ctx.pg().await?;
    let server = format!("{}:{}", pg.options.host(), pg.options.port());
    let sql: Vec<String> = statements.iter().map(|s| s.sql()).collect();
    let mut steps = sql.clone();
    steps.push("SELECT pg_reload_conf();".to_string());
    crate::confirm::typed(
        &format!(
            "roll back {} setting(s) on {server} from {}",
            statements.len(),
            file.display()
        ),
        &steps,
        "rollback",
        yes,
    )?;
    let interrupt = crate::interrupt::Interrupt::install()?;
    let mut report = Report::new("diagnose config");
    match settings::apply(pg, &sql, &interrupt).await {
        Err(e) => report.push(Finding::new(
            "config.rollback",
            Status::Critical,
            crate::report::one_line(&e),
        )),
        Ok(()) => {
            report.push(
                Finding::ok(
                    "config.rollback",
                    format!(
                        "rolled back {} setting(s) from {} and reloaded",
                        statements.len(),
                        file.display()
                    ),
                )
                .value(statements.len() as u64, "settings")
                .detail(sql),
            );
            report.push(pending_finding(pg).await);
        }
    }
    report.refresh_status();
    Ok(report)
}
