//! `targets discover`: the members an HA engine knows, as a `targets:` section an operator
//! pastes into the config. From Patroni's `GET /cluster`: every member as a `postgres`
//! target named as Patroni names it, with its REST API; from a Sentinel: the master, its
//! replicas and the other Sentinels, named by kind and `host-port`. Credentials are carried
//! over as file names (the source target's `password_file`), never as secrets.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context as _};

use crate::clients::patroni::{ClusterView, Patroni};
use crate::clients::sentinel::{flags_down, Fields, Sentinel};
use crate::config::targets::{
    valid_name, GroupTarget, PatroniApi, PgTarget, RedisTarget, SentinelTarget, Target, Targets,
};

/// How to reach the discovered PostgreSQL nodes: the user and database of the source
/// target's URL, and the files its secrets are in.
#[derive(Debug, Clone, Default)]
pub struct PgTemplate {
    pub user: String,
    pub database: String,
    pub password_file: Option<PathBuf>,
    pub api_username: Option<String>,
    pub api_password_file: Option<PathBuf>,
}

/// What a discovery found: the section, and one line on where it came from.
pub struct Discovered {
    pub targets: Targets,
    pub source: String,
}

/// A name made of text an engine sent: kept when it is a valid target name, else made one.
fn safe_name(raw: &str) -> String {
    if valid_name(raw) {
        return raw.to_string();
    }
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    let cleaned = cleaned.trim_start_matches(['-', '.']).to_string();
    if cleaned.is_empty() {
        "node".into()
    } else {
        cleaned
    }
}

fn host_for_url(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The targets of a Patroni `/cluster` view.
pub fn from_cluster(view: &ClusterView, t: &PgTemplate) -> anyhow::Result<Targets> {
    let mut targets = Targets::new();
    let mut members = Vec::new();
    for m in &view.members {
        let (Some(host), Some(port)) = (m.host.as_deref(), m.port) else {
            continue;
        };
        let name = safe_name(&m.name);
        let api = m.api_url.as_deref().map(|u| PatroniApi {
            url: u
                .trim_end_matches("/patroni")
                .trim_end_matches('/')
                .to_string(),
            username: t.api_username.clone(),
            password_file: t.api_password_file.clone(),
        });
        targets.insert(
            name.clone(),
            Target::Postgres(PgTarget {
                url: format!(
                    "postgres://{}@{}:{port}/{}",
                    crate::clients::url_component(&t.user),
                    host_for_url(host),
                    crate::clients::url_component(&t.database)
                ),
                password_file: t.password_file.clone(),
                patroni: api,
            }),
        );
        members.push(name);
    }
    if members.is_empty() {
        anyhow::bail!("Patroni's /cluster lists no member with a host and port");
    }
    if !targets.contains_key("postgres") {
        targets.insert("postgres".into(), Target::Group(GroupTarget { members }));
    }
    Ok(targets)
}

pub async fn from_patroni(
    url: &str,
    t: &PgTemplate,
    connect: Duration,
    total: Duration,
) -> anyhow::Result<Discovered> {
    let api = Patroni::new(url, None, None, connect, total)?;
    let view = api.cluster().await?;
    let scope = api
        .node()
        .await
        .ok()
        .and_then(|n| n.patroni)
        .map(|p| p.scope);
    let leader = view
        .leader()
        .map_or("none", |m| m.name.as_str())
        .to_string();
    Ok(Discovered {
        targets: from_cluster(&view, t)?,
        source: format!(
            "Patroni at {}{}, leader {leader}",
            api.endpoint(),
            scope.map(|s| format!(" (scope {s})")).unwrap_or_default()
        ),
    })
}

fn addr_of(f: &Fields) -> Option<(String, u16)> {
    Some((f.get("ip")?.clone(), f.get("port")?.parse().ok()?))
}

/// The targets a Sentinel knows: its master, the master's replicas, the Sentinels.
pub fn from_sentinel_view(
    master_name: &str,
    master: (String, u16),
    replicas: &[Fields],
    sentinels: &[Fields],
    queried: (String, u16),
    password_file: Option<PathBuf>,
) -> Targets {
    let mut targets = Targets::new();
    let redis_name = |h: &str, p: u16| safe_name(&format!("redis-{h}-{p}"));
    let mut redis = vec![redis_name(&master.0, master.1)];
    targets.insert(
        redis[0].clone(),
        Target::Redis(RedisTarget {
            url: format!("redis://{}:{}", host_for_url(&master.0), master.1),
            password_file: None,
        }),
    );
    for r in replicas.iter().filter(|r| !flags_down(r)) {
        let Some((h, p)) = addr_of(r) else { continue };
        let name = redis_name(&h, p);
        targets.insert(
            name.clone(),
            Target::Redis(RedisTarget {
                url: format!("redis://{}:{p}", host_for_url(&h)),
                password_file: None,
            }),
        );
        redis.push(name);
    }
    let mut all_sentinels: Vec<(String, u16)> = vec![queried];
    all_sentinels.extend(sentinels.iter().filter_map(addr_of));
    let mut names = Vec::new();
    for (h, p) in all_sentinels {
        let name = safe_name(&format!("sentinel-{h}-{p}"));
        if targets.contains_key(&name) {
            continue;
        }
        targets.insert(
            name.clone(),
            Target::Sentinel(SentinelTarget {
                url: format!("redis://{}:{p}", host_for_url(&h)),
                master: master_name.to_string(),
                password_file: password_file.clone(),
            }),
        );
        names.push(name);
    }
    targets.insert(
        "redis".into(),
        Target::Group(GroupTarget { members: redis }),
    );
    targets.insert(
        "sentinels".into(),
        Target::Group(GroupTarget { members: names }),
    );
    targets
}

pub async fn from_sentinel(
    url: &str,
    master: &str,
    password_file: Option<PathBuf>,
    timeout: Duration,
) -> anyhow::Result<Discovered> {
    let resolved =
        crate::clients::redis::resolve_url(Some(url), None, password_file.as_deref(), &|_| None)?;
    let s = Sentinel::connect(&resolved, master, timeout).await?;
    let addr = s.master_addr().await?.ok_or_else(|| {
        anyhow!(
            "the Sentinel at {} does not monitor a master named `{master}`\nhint: the NAME of its `sentinel monitor NAME host port quorum` line",
            s.url()
        )
    })?;
    let (replicas, sentinels) = tokio::join!(s.replicas(), s.sentinels());
    let queried = super::addr::of_url(url, 26379)
        .and_then(|a| super::addr::parse(&a))
        .and_then(|a| {
            let (h, p) = a.rsplit_once(':')?;
            Some((h.to_string(), p.parse().ok()?))
        })
        .context("the Sentinel URL has no host:port")?;
    Ok(Discovered {
        targets: from_sentinel_view(
            master,
            addr.clone(),
            &replicas?,
            &sentinels?,
            queried,
            password_file,
        ),
        source: format!(
            "Sentinel at {} (master {master} at {}:{})",
            s.url(),
            addr.0,
            addr.1
        ),
    })
}

/// The section as YAML to paste under the config's top level.
pub fn to_yaml(targets: &Targets) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct Section<'a> {
        targets: &'a Targets,
    }
    serde_saphyr::to_string(&Section { targets }).context("rendering the targets as YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patroni_members_become_postgres_targets_and_a_group() {
        let view: ClusterView = serde_json::from_str(
            r#"{"members": [{"name": "pg-a", "role": "leader", "state": "running", "api_url": "http://10.0.0.1:8008/patroni", "host": "10.0.0.1", "port": 5432},
                {"name": "pg b!", "role": "replica", "state": "running", "api_url": "http://10.0.0.2:8008/patroni", "host": "10.0.0.2", "port": 5432}]}"#,
        )
        .unwrap();
        let t = from_cluster(
            &view,
            &PgTemplate {
                user: "opsbook".into(),
                database: "app".into(),
                password_file: Some("/etc/opsbook/pg.pass".into()),
                api_username: Some("admin".into()),
                api_password_file: Some("/etc/opsbook/api.pass".into()),
            },
        )
        .unwrap();
        crate::config::targets::validate(&t).unwrap();
        let Target::Postgres(a) = &t["pg-a"] else {
            panic!()
        };
        assert_eq!(a.url, "postgres://opsbook@10.0.0.1:5432/app");
        assert_eq!(a.patroni.as_ref().unwrap().url, "http://10.0.0.1:8008");
        assert!(
            t.contains_key("pg-b-"),
            "{:?}",
            t.keys().collect::<Vec<_>>()
        );
        let yaml = to_yaml(&t).unwrap();
        #[derive(serde::Deserialize)]
        struct Back {
            targets: Targets,
        }
        let back: Back = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back.targets, t, "{yaml}");
        assert!(!yaml.contains("password:"), "{yaml}");
    }

    #[test]
    fn a_sentinel_view_names_master_replicas_and_sentinels() {
        let f = |pairs: &[(&str, &str)]| -> Fields {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let t = from_sentinel_view(
            "opsbook",
            ("127.0.0.1".into(), 6379),
            &[
                f(&[("ip", "127.0.0.1"), ("port", "6380"), ("flags", "slave")]),
                f(&[
                    ("ip", "127.0.0.1"),
                    ("port", "6381"),
                    ("flags", "slave,s_down"),
                ]),
            ],
            &[f(&[
                ("ip", "127.0.0.1"),
                ("port", "26380"),
                ("flags", "sentinel"),
            ])],
            ("127.0.0.1".into(), 26379),
            None,
        );
        crate::config::targets::validate(&t).unwrap();
        let names: Vec<&str> = t.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "redis",
                "redis-127.0.0.1-6379",
                "redis-127.0.0.1-6380",
                "sentinel-127.0.0.1-26379",
                "sentinel-127.0.0.1-26380",
                "sentinels"
            ]
        );
    }
}
