//! `opsbook cluster status`: who is primary, by every source of the inventory at once (the
//! PostgreSQL and Redis nodes themselves, Patroni, the Sentinels, HAProxy), and one verdict.
//! The work is `crate::ha`; this is the operator's side.

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::ha::{findings, observe, probe, verdict, Budget};
use crate::report::Report;

/// `cluster status`'s ids: the sources and the verdict, then the write probe's.
const STATUS_IDS: &[&str] = &[
    findings::PRIMARY,
    findings::POSTGRES,
    findings::REDIS,
    findings::PATRONI,
    findings::SENTINEL,
    findings::HAPROXY,
    "cluster.write_probe (with --probe-writes: the heartbeat written on the primary / master)",
    "cluster.replica_delay (with --probe-writes: when each replica showed it)",
];

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const STATUS_FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "cluster status",
    page: "commands/cluster.md",
    ids: STATUS_IDS,
};

/// Who is primary across a whole HA stack
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub which: ClusterCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Every node's role, timeline, position and lag, what Patroni, the Sentinels and HAProxy
    /// say, and one verdict: do they all name the same primary?
    #[command(after_help = format!("{}{}{}", "Examples:\n  opsbook cluster status\n  opsbook cluster status --only postgres --format json\n  opsbook cluster status --probe-writes --heartbeat-schema ops\n\n\
Reads the config's `targets:` (see commands/targets.md); `opsbook sandbox up --ha` writes one.\n\n", STATUS_FINDING_IDS.help(), "\n\
Exit status: 0 OK (every source agrees), 1 WARNING (lag, Patroni paused or pending restart),\n\
2 CRITICAL (the sources disagree, one is unreachable, or a --probe-writes heartbeat\nfailed or did not show in time), 3 UNKNOWN (no targets). See commands/cluster.md."))]
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only these targets: a name or group of the config's `targets:` (default: all)
    #[arg(long = "only", value_name = "NAME|GROUP")]
    pub only: Option<String>,

    /// Write a heartbeat on the primary (a row in SCHEMA.opsbook_heartbeat, the table created if missing) and on the Redis master (key opsbook:heartbeat:HOST), and time when each replica shows it
    #[arg(long)]
    pub probe_writes: bool,

    /// The schema of the heartbeat table (it must exist)
    #[arg(
        long,
        value_name = "SCHEMA",
        default_value = "public",
        requires = "probe_writes"
    )]
    pub heartbeat_schema: String,
}

impl ClusterArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            ClusterCommand::Status(_) => "status",
        }
    }
}

pub async fn run(args: &ClusterArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let ClusterCommand::Status(a) = &args.which;
    let all = &ctx.config.targets;
    if all.is_empty() {
        anyhow::bail!(
            "cluster status: the config has no `targets:` section\nhint: list the nodes and engines (see commands/targets.md), discover them with `opsbook targets discover`, or try it on `opsbook sandbox up --ha`"
        );
    }
    let selected: crate::config::targets::Targets = match &a.only {
        None => all.clone(),
        Some(name) => crate::config::targets::select(all, Some(name), false)?
            .into_iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect(),
    };
    let budget = Budget {
        timeouts: ctx.timeouts(),
        per_node: ctx.probe_timeout(),
    };
    let o = observe(&selected, budget).await;
    let v = verdict(&o);
    let mut report = Report::new("cluster status");
    report.extend(findings::findings(&o, &v, &ctx.config.thresholds));
    report.sections.push(findings::node_table(&o, &v));
    let mut data = serde_json::json!({ "verdict": v, "observation": o });
    if a.probe_writes {
        let opts = probe::ProbeOptions {
            schema: a.heartbeat_schema.clone(),
            wait: ctx.probe_timeout(),
            writer: crate::notify::hostname(),
        };
        // The plan first: the probe writes (and may create a table) on production servers.
        for step in probe::plan(&o, &v, &opts) {
            if !ctx.output.quiet {
                eprintln!("cluster status --probe-writes: {step}");
            }
        }
        let phase = crate::progress::Phase::start(
            &ctx.output,
            "waiting for every replica to show the heartbeat",
        );
        let (found, probed) =
            probe::run(&selected, &o, &v, budget, &opts, &ctx.config.thresholds).await;
        phase.finish();
        report.extend(found);
        data["probe"] = serde_json::to_value(&probed)?;
    }
    report.data = Some(data);
    Ok(report)
}
