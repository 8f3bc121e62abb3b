//! `opsbook targets discover`: from a Patroni REST API or a Sentinel, the members as a
//! `targets:` YAML section an operator pastes into the config. The work is `ha::discover`.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::config::targets::Target;
use crate::context::Ctx;
use crate::ha::discover::{from_patroni, from_sentinel, to_yaml, PgTemplate};
use crate::report::{Finding, Report};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "targets discover",
    page: "commands/targets.md",
    ids: &["targets.discover"],
};

pub fn after_help() -> String {
    format!(
        "Examples:\n  opsbook targets discover --from pg-a >> targets.yaml\n  opsbook targets discover --patroni http://10.0.0.11:8008\n  opsbook targets discover --sentinel redis://10.0.0.11:26379 --master mymaster\n\n\
The output is YAML for the config's top level; review it, then paste it (merge the\n\
`targets:` keys when the config already has some).\n\n{}\n\
Exit status: 0 OK, 3 UNKNOWN (the source could not be read). See commands/targets.md.",
        FINDING_IDS.help()
    )
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["from", "patroni", "sentinel"]))]
pub struct DiscoverArgs {
    /// A target of the config: a PostgreSQL target with `patroni:`, or a Sentinel
    #[arg(long, value_name = "NAME")]
    pub from: Option<String>,
    /// A Patroni REST API (http://host:8008), without a config
    #[arg(long, value_name = "URL")]
    pub patroni: Option<String>,
    /// A Sentinel (redis://host:26379), without a config; needs --master
    #[arg(long, value_name = "URL", requires = "master")]
    pub sentinel: Option<String>,
    /// The master name the Sentinel monitors
    #[arg(long, value_name = "NAME")]
    pub master: Option<String>,
    /// With --patroni: the user and database of the discovered nodes' URLs
    #[arg(long, value_name = "USER", default_value = "postgres")]
    pub pg_user: String,
    #[arg(long, value_name = "DB", default_value = "postgres")]
    pub pg_database: String,
}

pub async fn run(a: &DiscoverArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let t = ctx.timeouts();
    let (connect, total) = (t.connect, ctx.probe_timeout());
    let found = if let Some(name) = &a.from {
        match ctx.config.targets.get(name) {
            None => bail!(
                "targets discover --from {name}: no such target\nhint: the targets are {}",
                ctx.config.targets.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            Some(Target::Postgres(p)) => {
                let Some(api) = &p.patroni else {
                    bail!("targets discover --from {name}: the target has no `patroni:` (its REST API)\nhint: add `patroni: {{url: http://HOST:8008}}` to it, or pass --patroni URL");
                };
                let opts = crate::clients::pg::PgOptions::resolve(
                    Some(&p.url),
                    None,
                    None,
                    &|_| None,
                )?;
                let template = PgTemplate {
                    user: opts.user().to_string(),
                    database: opts.dbname().to_string(),
                    password_file: p.password_file.clone(),
                    api_username: api.username.clone(),
                    api_password_file: api.password_file.clone(),
                };
                from_patroni(&api.url, &template, connect, total).await?
            }
            Some(Target::Sentinel(s)) => {
                from_sentinel(&s.url, &s.master, s.password_file.clone(), connect).await?
            }
            Some(other) => bail!(
                "targets discover --from {name}: a {} target; discovery reads Patroni (a postgres target with `patroni:`) or a Sentinel",
                other.kind()
            ),
        }
    } else if let Some(url) = &a.patroni {
        let template = PgTemplate {
            user: a.pg_user.clone(),
            database: a.pg_database.clone(),
            ..PgTemplate::default()
        };
        from_patroni(url, &template, connect, total).await?
    } else if let (Some(url), Some(master)) = (&a.sentinel, &a.master) {
        from_sentinel(url, master, None::<PathBuf>, connect).await?
    } else {
        bail!("targets discover: pass --from NAME, --patroni URL or --sentinel URL --master NAME");
    };
    let yaml = to_yaml(&found.targets)?;
    let nodes = found
        .targets
        .values()
        .filter(|t| !matches!(t, Target::Group(_)))
        .count();
    let mut report = Report::new("targets discover");
    report.push(
        Finding::ok(
            "targets.discover",
            format!("{nodes} targets from {}", found.source),
        )
        .value(nodes, "targets"),
    );
    report.text = Some(format!(
        "# discovered by `opsbook targets discover` from {}\n{yaml}",
        found.source
    ));
    report.data = Some(serde_json::json!({ "source": found.source, "targets": found.targets }));
    Ok(report)
}
