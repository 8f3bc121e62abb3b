//! `targets:` the inventory of a stack: named PostgreSQL nodes, Redis nodes, Sentinels and
//! HAProxy stats endpoints, and groups of them, so that `--target NAME|GROUP` and `--all` can
//! run a command against each.
//!
//! ```yaml
//! targets:
//!   pg-a:
//!     kind: postgres
//!     url: postgres://opsbook@10.0.0.11:5432/app
//!     password_file: /etc/opsbook/pg.pass        # 0600, as postgres.password_file
//!     patroni:                                    # this node's Patroni REST API (optional)
//!       url: http://10.0.0.11:8008
//!   cache-a:  { kind: redis, url: "redis://10.0.0.11:6379" }
//!   sent-a:   { kind: sentinel, url: "redis://10.0.0.11:26379", master: mymaster }
//!   lb:       { kind: haproxy, url: "http://10.0.0.5:8404/stats", writer_backend: pg_write }
//!   db:       { kind: group, members: [pg-a, pg-b] }
//! ```
//!
//! A group shares the targets' namespace, so a name on the command line is one lookup. Its
//! members are nodes (a group of groups is refused: one level is what an operator reads).
//! Secrets follow the rules of `postgres:`/`redis:`: the environment or 0600 files, never inline.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The most targets one config may name (each becomes a concurrent connection).
pub const MAX_TARGETS: usize = 256;

/// One entry of `targets:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// a PostgreSQL node (primary or replica), optionally managed by Patroni
    Postgres(PgTarget),
    /// a Redis node (master or replica)
    Redis(RedisTarget),
    /// a Redis Sentinel watching one master name
    Sentinel(SentinelTarget),
    /// an HAProxy in front of the stack, read through its stats endpoint
    Haproxy(HaproxyTarget),
    /// a named set of the targets above
    Group(GroupTarget),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgTarget {
    /// libpq URL or `key=value` string, as `postgres.url` (no password in it)
    pub url: String,
    /// a file whose first line is the password (0600)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// the Patroni REST API of this node, when Patroni manages it
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patroni: Option<PatroniApi>,
}

/// A Patroni node's REST API (`restapi.listen` / `connect_address`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatroniApi {
    /// http(s)://host:port of the REST API (e.g. http://10.0.0.11:8008)
    pub url: String,
    /// `restapi.authentication.username`, for the calls that change state (switchover)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// a file whose first line is `restapi.authentication.password` (0600)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTarget {
    /// redis://host:port[/db] or rediss://, as `redis.url` (no password in it)
    pub url: String,
    /// a file whose first line is the password (0600)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelTarget {
    /// redis://host:port of the Sentinel (usually port 26379)
    pub url: String,
    /// the master name the Sentinel monitors (`sentinel monitor NAME ...`)
    pub master: String,
    /// a file whose first line is the Sentinel's own password (0600)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxyTarget {
    /// the stats page's URL (`stats uri`); opsbook reads its `;csv` form
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// or the admin socket (`stats socket`), read with `show stat`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
    /// the backend that routes writes to the PostgreSQL primary
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_backend: Option<String>,
    /// the backend that routes to the Redis master
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_backend: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupTarget {
    /// names of targets (not groups)
    pub members: Vec<String>,
}

/// The `targets:` section: NAME -> target.
pub type Targets = BTreeMap<String, Target>;

impl Target {
    /// The kind as written in the config (`postgres`, `redis`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Postgres(_) => "postgres",
            Target::Redis(_) => "redis",
            Target::Sentinel(_) => "sentinel",
            Target::Haproxy(_) => "haproxy",
            Target::Group(_) => "group",
        }
    }
}

/// A valid target or group name: what a finding's subject and a Prometheus label carry.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with(['-', '.'])
}

/// The rules serde cannot state, one message with a hint (the first problem is reported).
pub fn validate(targets: &Targets) -> Result<(), String> {
    let nodes = targets
        .values()
        .filter(|t| !matches!(t, Target::Group(_)))
        .count();
    if nodes > MAX_TARGETS {
        return Err(format!(
            "targets: {nodes} targets, at most {MAX_TARGETS}\nhint: split the inventory into several config files"
        ));
    }
    for (name, t) in targets {
        let key = format!("targets.{name}");
        if !valid_name(name) {
            return Err(format!(
                "{key}: a target's name is 1-64 letters, digits, `-`, `_` and `.`, not starting with `-` or `.`\nhint: it is what `--target NAME` takes and the subject findings carry"
            ));
        }
        let url_ok = |u: &str, schemes: &[&str]| schemes.iter().any(|s| u.starts_with(s));
        match t {
            Target::Postgres(p) => {
                if !(url_ok(&p.url, &["postgres://", "postgresql://"]) || p.url.contains('=')) {
                    return Err(format!(
                        "{key}.url: not a PostgreSQL URL or key=value string\nhint: e.g. postgres://opsbook@10.0.0.11:5432/app"
                    ));
                }
                if let Some(api) = &p.patroni {
                    if !(api.url.starts_with("http://") || api.url.starts_with("https://"))
                        || crate::redact::inline_secret(&api.url).is_some()
                    {
                        return Err(format!(
                            "{key}.patroni.url: `{}` is not an http(s) URL without credentials\nhint: e.g. http://10.0.0.11:8008; the password goes in {key}.patroni.password_file",
                            crate::redact::mask_url(&api.url)
                        ));
                    }
                    if api.password_file.is_some() && api.username.is_none() {
                        return Err(format!(
                            "{key}.patroni.password_file is set without username\nhint: add {key}.patroni.username (restapi.authentication.username)"
                        ));
                    }
                }
            }
            Target::Redis(r) => {
                if !url_ok(&r.url, &["redis://", "rediss://"]) {
                    return Err(format!(
                        "{key}.url: not a redis:// or rediss:// URL\nhint: e.g. redis://10.0.0.11:6379"
                    ));
                }
            }
            Target::Sentinel(s) => {
                if !url_ok(&s.url, &["redis://", "rediss://"]) {
                    return Err(format!(
                        "{key}.url: not a redis:// URL of a Sentinel\nhint: e.g. redis://10.0.0.11:26379"
                    ));
                }
                if s.master.is_empty()
                    || !s
                        .master
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    return Err(format!(
                        "{key}.master: `{}` is not a master name\nhint: the NAME of `sentinel monitor NAME host port quorum`",
                        s.master
                    ));
                }
            }
            Target::Haproxy(h) => match (&h.url, &h.socket) {
                (None, None) | (Some(_), Some(_)) => {
                    return Err(format!(
                        "{key}: an haproxy target names exactly one of url and socket\nhint: url: http://HOST:PORT/stats (stats uri) or socket: /run/haproxy/admin.sock (stats socket)"
                    ));
                }
                (Some(u), None) => {
                    if !(u.starts_with("http://") || u.starts_with("https://")) {
                        return Err(format!(
                            "{key}.url: not an http(s) URL of HAProxy's stats page\nhint: e.g. http://10.0.0.5:8404/stats"
                        ));
                    }
                }
                (None, Some(_)) => {}
            },
            Target::Group(g) => {
                if g.members.is_empty() {
                    return Err(format!(
                        "{key}: a group with no members\nhint: list target names under {key}.members"
                    ));
                }
                for m in &g.members {
                    match targets.get(m) {
                        None => {
                            return Err(format!(
                                "{key}.members: `{m}` is not a target\nhint: the targets are {}",
                                node_names(targets).join(", ")
                            ))
                        }
                        Some(Target::Group(_)) => {
                            return Err(format!(
                                "{key}.members: `{m}` is a group; a group's members are targets\nhint: list {m}'s members in {key} instead"
                            ))
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    Ok(())
}

/// The secret files the targets name: `(key, path, what)`, held to the 0600 rule with the
/// config's other secret files (`secrets::breaches`).
pub fn secret_files(targets: &Targets) -> Vec<(String, PathBuf, &'static str)> {
    let mut out = Vec::new();
    for (name, t) in targets {
        let (file, patroni) = match t {
            Target::Postgres(p) => (
                p.password_file.as_ref(),
                p.patroni.as_ref().and_then(|a| a.password_file.as_ref()),
            ),
            Target::Redis(r) => (r.password_file.as_ref(), None),
            Target::Sentinel(s) => (s.password_file.as_ref(), None),
            Target::Haproxy(_) | Target::Group(_) => (None, None),
        };
        if let Some(p) = file {
            out.push((
                format!("targets.{name}.password_file"),
                p.clone(),
                "password file",
            ));
        }
        if let Some(p) = patroni {
            out.push((
                format!("targets.{name}.patroni.password_file"),
                p.clone(),
                "Patroni password file",
            ));
        }
    }
    out
}

fn node_names(targets: &Targets) -> Vec<&str> {
    targets
        .iter()
        .filter(|(_, t)| !matches!(t, Target::Group(_)))
        .map(|(n, _)| n.as_str())
        .collect()
}

/// The targets `--target NAME|GROUP` or `--all` selects, in name order, each once.
/// `name` and `all` are exclusive (clap enforces it); neither selects nothing (the run's own
/// `postgres:`/`redis:` settings apply).
pub fn select<'a>(
    targets: &'a Targets,
    name: Option<&str>,
    all: bool,
) -> anyhow::Result<Vec<(&'a str, &'a Target)>> {
    if all {
        if targets.is_empty() {
            anyhow::bail!(
                "--all: the config has no targets\nhint: add a `targets:` section (see commands/targets.md), or drop --all"
            );
        }
        return Ok(targets
            .iter()
            .filter(|(_, t)| !matches!(t, Target::Group(_)))
            .map(|(n, t)| (n.as_str(), t))
            .collect());
    }
    let Some(name) = name else {
        return Ok(Vec::new());
    };
    match targets.get_key_value(name) {
        None => {
            let known: Vec<&str> = targets.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                "the config has no `targets:` section (see commands/targets.md)".to_string()
            } else {
                format!("the targets and groups are {}", known.join(", "))
            };
            anyhow::bail!("--target {name}: no such target or group\nhint: {hint}")
        }
        Some((_, Target::Group(g))) => {
            let mut members: Vec<&str> = g.members.iter().map(String::as_str).collect();
            members.sort_unstable();
            members.dedup();
            members
                .into_iter()
                .map(|m| match targets.get_key_value(m) {
                    Some((n, t)) => Ok((n.as_str(), t)),
                    None => anyhow::bail!("--target {name}: member `{m}` is not a target"),
                })
                .collect()
        }
        Some((n, t)) => Ok(vec![(n.as_str(), t)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Targets {
        serde_saphyr::from_str(yaml).expect("parses")
    }

    const STACK: &str = "\
pg-a: {kind: postgres, url: 'postgres://opsbook@127.0.0.1:5433/app', patroni: {url: 'http://127.0.0.1:8008'}}
pg-b: {kind: postgres, url: 'host=127.0.0.1 port=5434'}
cache-a: {kind: redis, url: 'redis://127.0.0.1:6380'}
sent-a: {kind: sentinel, url: 'redis://127.0.0.1:26379', master: mymaster}
lb: {kind: haproxy, socket: /run/haproxy/admin.sock, writer_backend: pg_write}
db: {kind: group, members: [pg-b, pg-a, pg-a]}
";

    #[test]
    fn a_whole_stack_parses_and_validates() {
        let t = parse(STACK);
        validate(&t).expect("valid");
        assert_eq!(t["pg-a"].kind(), "postgres");
        let Target::Postgres(p) = &t["pg-a"] else {
            panic!("postgres")
        };
        assert_eq!(
            p.patroni.as_ref().map(|a| a.url.as_str()),
            Some("http://127.0.0.1:8008")
        );
        assert_eq!(t["lb"].kind(), "haproxy");
    }

    #[test]
    fn select_resolves_groups_all_and_names() {
        let t = parse(STACK);
        fn names<'a>(v: Vec<(&'a str, &Target)>) -> Vec<&'a str> {
            v.into_iter().map(|(n, _)| n).collect()
        }
        assert_eq!(
            names(select(&t, Some("db"), false).unwrap()),
            ["pg-a", "pg-b"]
        );
        assert_eq!(
            names(select(&t, Some("cache-a"), false).unwrap()),
            ["cache-a"]
        );
        assert_eq!(
            names(select(&t, None, true).unwrap()),
            ["cache-a", "lb", "pg-a", "pg-b", "sent-a"]
        );
        assert!(select(&t, None, false).unwrap().is_empty());
        let e = select(&t, Some("nope"), false).unwrap_err().to_string();
        assert!(
            e.contains("--target nope: no such target") && e.contains("cache-a"),
            "{e}"
        );
        let e = select(&Targets::new(), None, true).unwrap_err().to_string();
        assert!(e.contains("no targets"), "{e}");
    }

    #[test]
    fn unknown_keys_and_kinds_are_refused() {
        assert!(serde_saphyr::from_str::<Targets>(
            "a: {kind: postgres, url: 'postgres://x', port: 1}"
        )
        .is_err());
        assert!(serde_saphyr::from_str::<Targets>("a: {kind: mysql, url: 'x'}").is_err());
        assert!(serde_saphyr::from_str::<Targets>("a: {url: 'postgres://x'}").is_err());
    }

    #[test]
    fn validation_names_the_key_and_what_to_do() {
        let bad = [
            ("'-x': {kind: redis, url: 'redis://h'}", "name"),
            ("a: {kind: redis, url: 'http://h'}", "targets.a.url"),
            ("a: {kind: sentinel, url: 'redis://h:26379', master: 'a b'}", "targets.a.master"),
            ("a: {kind: haproxy}", "exactly one of url and socket"),
            ("a: {kind: group, members: []}", "no members"),
            ("a: {kind: group, members: [b]}", "`b` is not a target"),
            (
                "a: {kind: group, members: [b]}\nb: {kind: group, members: [c]}\nc: {kind: redis, url: 'redis://h'}",
                "`b` is a group",
            ),
            (
                "a: {kind: postgres, url: 'postgres://h', patroni: {url: 'http://u:pw@h:8008'}}",
                "without credentials",
            ),
        ];
        for (yaml, want) in bad {
            let e = validate(&parse(yaml)).unwrap_err();
            assert!(e.contains(want) && e.contains("hint:"), "{yaml}: {e}");
        }
    }
}
