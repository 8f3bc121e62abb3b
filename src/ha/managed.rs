//! Whether Patroni manages a PostgreSQL server, before opsbook acts on it by hand: a server
//! Patroni manages must be promoted, demoted or cloned through Patroni (`pg_promote()` behind
//! its back makes a second primary: a split brain). Two signs, either is enough:
//! - the inventory: a `postgres` target at the server's `host:port` has `patroni:`;
//! - the server itself: Patroni keeps a session open to the PostgreSQL it runs, named
//!   `Patroni` (3.x: `Patroni`, `Patroni heartbeat`, `Patroni restapi`) in
//!   `pg_stat_activity.application_name`, which every role may read. Its scope is the
//!   server's `cluster_name`, which Patroni sets to it.

use anyhow::Context as _;

use super::addr;
use crate::clients::postgres::PgClient;
use crate::config::targets::{PatroniApi, Target, Targets};

/// How we know Patroni manages the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    /// the inventory target at that address, when there is one
    pub target: Option<String>,
    /// its Patroni REST API, when the inventory names it
    pub api: Option<PatroniApi>,
    /// the evidence, one phrase ("target pg-b has patroni:", "a session named `Patroni`")
    pub evidence: String,
    /// the Patroni scope (`cluster_name`), when the server told it
    pub scope: Option<String>,
}

/// The `postgres` target of the inventory at `address` (`host:port`, any loopback spelling).
pub fn target_at<'a>(targets: &'a Targets, address: &str) -> Option<(&'a str, &'a Target)> {
    let want = addr::parse(address)?;
    targets.iter().find_map(|(name, t)| match t {
        Target::Postgres(p) if addr::of_url(&p.url, 5432).as_deref() == Some(want.as_str()) => {
            Some((name.as_str(), t))
        }
        // key=value conninfo: host=... port=...
        Target::Postgres(p) if p.url.contains('=') => {
            let kv = |k: &str| {
                p.url
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
            };
            let a = addr::normal(
                kv("host").unwrap_or("localhost"),
                kv("port").and_then(|p| p.parse().ok()).unwrap_or(5432),
            );
            (a == want).then_some((name.as_str(), t))
        }
        _ => None,
    })
}

/// What the inventory says about the server at `address`.
pub fn by_inventory(targets: &Targets, address: &str) -> Option<Managed> {
    match target_at(targets, address)? {
        (name, Target::Postgres(p)) if p.patroni.is_some() => Some(Managed {
            target: Some(name.to_string()),
            api: p.patroni.clone(),
            evidence: format!("the inventory's target {name} has patroni:"),
            scope: None,
        }),
        _ => None,
    }
}

const PATRONI_SESSION_SQL: &str = "SELECT (SELECT application_name FROM pg_stat_activity \
     WHERE application_name LIKE 'Patroni%' AND pid <> pg_backend_pid() LIMIT 1), \
     current_setting('cluster_name', true)";

/// What the server says: Patroni's own session on it.
pub async fn by_server(pg: &PgClient) -> anyhow::Result<Option<Managed>> {
    let row = pg
        .client
        .query_one(PATRONI_SESSION_SQL, &[])
        .await
        .context("looking for Patroni's session in pg_stat_activity")?;
    let app: Option<String> = row.try_get(0)?;
    let scope: Option<String> = row
        .try_get::<_, Option<String>>(1)?
        .filter(|s| !s.is_empty());
    Ok(app.map(|a| Managed {
        target: None,
        api: None,
        evidence: format!("a session named `{a}` is connected to it (Patroni's own)"),
        scope,
    }))
}

/// Patroni's REST API on its default port (8008) of `host`, asked once briefly: a node
/// whose `GET /patroni` answers with Patroni's document (for a server the inventory does not
/// list, before opsbook clones from it).
pub async fn by_default_api(host: &str) -> Option<Managed> {
    const DEFAULT_PORT: u16 = 8008;
    let h = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let url = format!("http://{h}:{DEFAULT_PORT}");
    let short = std::time::Duration::from_secs(1);
    let api = crate::clients::patroni::Patroni::new(&url, None, None, short, short * 2).ok()?;
    let node = tokio::time::timeout(short * 2, api.node())
        .await
        .ok()?
        .ok()?;
    let p = node.patroni?;
    Some(Managed {
        target: None,
        api: Some(PatroniApi {
            url,
            username: None,
            password_file: None,
        }),
        evidence: format!(
            "Patroni {} answers on {h}:{DEFAULT_PORT}",
            if p.version.is_empty() { "" } else { &p.version }
        )
        .replace("Patroni  answers", "Patroni answers"),
        scope: Some(p.scope).filter(|s| !s.is_empty()),
    })
}

/// The scope, when not known yet, from the node's REST API (`GET /patroni`), asked briefly;
/// unchanged when it does not answer.
pub async fn with_scope(mut m: Managed) -> Managed {
    if m.scope.is_some() {
        return m;
    }
    let Some(api) = &m.api else { return m };
    let short = std::time::Duration::from_secs(1);
    let Ok(client) = crate::clients::patroni::Patroni::new(&api.url, None, None, short, short * 2)
    else {
        return m;
    };
    if let Ok(Ok(node)) = tokio::time::timeout(short * 2, client.node()).await {
        m.scope = node.patroni.map(|p| p.scope).filter(|s| !s.is_empty());
    }
    m
}

/// Both signs: the inventory first (it also names the REST API), then the server.
pub async fn detect(
    targets: &Targets,
    address: &str,
    pg: Option<&PgClient>,
) -> anyhow::Result<Option<Managed>> {
    let listed = by_inventory(targets, address);
    let seen = match pg {
        Some(pg) => by_server(pg).await?,
        None => None,
    };
    Ok(match (listed, seen) {
        (Some(mut l), Some(s)) => {
            l.scope = s.scope;
            Some(l)
        }
        (l, s) => l.or(s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_patroni_target_at_an_address() {
        let t: Targets = serde_saphyr::from_str(
            "pg-a: {kind: postgres, url: 'postgres://u@localhost:5433/app', patroni: {url: 'http://127.0.0.1:8008'}}\n\
             pg-b: {kind: postgres, url: 'host=127.0.0.1 port=5434 user=u'}\n\
             pg-c: {kind: postgres, url: 'host=10.0.0.9 port=5435', patroni: {url: 'http://10.0.0.9:8008'}}\n",
        )
        .unwrap();
        let m = by_inventory(&t, "127.0.0.1:5433").expect("pg-a is managed");
        assert_eq!(m.target.as_deref(), Some("pg-a"));
        assert!(m.evidence.contains("pg-a has patroni:"), "{m:?}");
        assert!(by_inventory(&t, "127.0.0.1:5434").is_none());
        assert_eq!(
            target_at(&t, "localhost:5434").map(|(n, _)| n),
            Some("pg-b")
        );
        assert_eq!(
            by_inventory(&t, "10.0.0.9:5435").and_then(|m| m.target),
            Some("pg-c".into())
        );
        assert!(by_inventory(&t, "10.0.0.9:5432").is_none());
        assert!(by_inventory(&t, "nonsense").is_none());
    }
}
