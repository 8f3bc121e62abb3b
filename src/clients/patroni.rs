//! Patroni's REST API (docs/rest_api.rst of Patroni 3.x): `GET /cluster` (the DCS's view of
//! every member), `GET /patroni` (this node: role, timeline, and on the leader the
//! `replication` list from pg_stat_replication), `GET /history` (the timeline switches),
//! `GET /health`, and the two calls that move the leader: `POST /switchover {leader,
//! candidate}` (planned) and `POST /failover {candidate}` (leader down), authenticated with
//! `restapi.authentication` as HTTP basic auth.
//!
//! Over the shared reqwest client (`web.rs`): a connect and a total timeout, answers read up
//! to [`ANSWER_LIMIT`], errors naming the endpoint's `host:port`, the password never shown.
//! Patroni 3.0 calls a streaming replica `running` in `/cluster`; whether it streams is the
//! leader's `replication` list (see [`NodeStatus::streaming`]).

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde::{Deserialize, Serialize};

use crate::clients::web::{TextAnswer, Web};

/// The most of one answer we read: a /cluster of dozens of members is a few KiB.
pub const ANSWER_LIMIT: usize = 256 * 1024;

/// `GET /cluster`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    #[serde(default)]
    pub members: Vec<Member>,
    /// maintenance mode (`patronictl pause`): Patroni does not fail over
    #[serde(default)]
    pub pause: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_switchover: Option<serde_json::Value>,
}

/// One member of `GET /cluster`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    /// `leader`, `standby_leader`, `replica`, `sync_standby`
    pub role: String,
    /// `running`, `streaming` (3.0.3+), `stopped`, `starting`, `crashed`, ...
    #[serde(default)]
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<u64>,
    /// bytes behind the leader, or `"unknown"`; absent on the leader
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<serde_json::Value>,
    #[serde(default)]
    pub pending_restart: bool,
}

impl Member {
    pub fn is_leader(&self) -> bool {
        matches!(self.role.as_str(), "leader" | "standby_leader" | "master")
    }

    /// The lag in bytes when Patroni knows it.
    pub fn lag_bytes(&self) -> Option<u64> {
        self.lag.as_ref().and_then(serde_json::Value::as_u64)
    }

    /// `host:port` of its PostgreSQL.
    pub fn address(&self) -> Option<String> {
        Some(format!("{}:{}", self.host.as_deref()?, self.port?))
    }
}

impl ClusterView {
    pub fn leader(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.is_leader())
    }
}

/// `GET /patroni` (and `GET /`): this node as Patroni sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    #[serde(default)]
    pub state: String,
    /// `master` / `primary` on the leader, `replica` on the others
    #[serde(default)]
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<u64>,
    /// on the leader: pg_stat_replication's rows
    #[serde(default)]
    pub replication: Vec<Replication>,
    #[serde(default)]
    pub pause: bool,
    #[serde(default)]
    pub pending_restart: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_system_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patroni: Option<PatroniVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatroniVersion {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub scope: String,
}

/// One row of the leader's `replication` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    #[serde(default)]
    pub usename: String,
    /// the member's name (Patroni sets `application_name` to it)
    #[serde(default)]
    pub application_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub sync_state: String,
}

impl NodeStatus {
    pub fn is_primary(&self) -> bool {
        matches!(self.role.as_str(), "master" | "primary")
    }

    /// Whether member `name` streams from this (leader) node.
    pub fn streaming(&self, name: &str) -> bool {
        self.replication
            .iter()
            .any(|r| r.application_name == name && r.state == "streaming")
    }
}

/// One line of `GET /history`: `[timeline, lsn, reason, timestamp, new_leader]` (the last two
/// are absent in old histories).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub timeline: u64,
    pub lsn: u64,
    pub reason: String,
    pub timestamp: Option<String>,
    pub new_leader: Option<String>,
}

fn parse_history(body: &str) -> anyhow::Result<Vec<HistoryEntry>> {
    let lines: Vec<Vec<serde_json::Value>> = serde_json::from_str(body)?;
    lines
        .into_iter()
        .map(|l| {
            let text = |i: usize| l.get(i).and_then(|v| v.as_str()).map(str::to_string);
            Ok(HistoryEntry {
                timeline: l
                    .first()
                    .and_then(serde_json::Value::as_u64)
                    .ok_or_else(|| anyhow!("a history line without a timeline"))?,
                lsn: l.get(1).and_then(serde_json::Value::as_u64).unwrap_or(0),
                reason: text(2).unwrap_or_default(),
                timestamp: text(3),
                new_leader: text(4),
            })
        })
        .collect()
}

/// What Patroni answered to a switchover or failover.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionAnswer {
    pub status: u16,
    /// Patroni's sentence ("Successfully switched over to \"pg-b\"", or why not)
    pub message: String,
}

impl ActionAnswer {
    /// 200: done; 202: scheduled.
    pub fn accepted(&self) -> bool {
        matches!(self.status, 200 | 202)
    }
}

/// The body of `POST /switchover`: from `leader` to `candidate` (None: Patroni picks one).
pub fn switchover_body(leader: &str, candidate: Option<&str>) -> String {
    let mut doc = serde_json::json!({ "leader": leader });
    if let Some(c) = candidate {
        doc["candidate"] = c.into();
    }
    doc.to_string()
}

/// The body of `POST /failover`: Patroni requires the candidate.
pub fn failover_body(candidate: &str) -> String {
    serde_json::json!({ "candidate": candidate }).to_string()
}

/// One node's REST API.
pub struct Patroni {
    web: Web,
    base: String,
    /// host:port, what errors name
    endpoint: String,
    auth: Option<(String, String)>,
}

impl Patroni {
    /// `url` is the API's root (http://host:8008); the password, when the calls that change
    /// state need one, is the first line of `password_file` (0600).
    pub fn new(
        url: &str,
        username: Option<&str>,
        password_file: Option<&Path>,
        connect: Duration,
        total: Duration,
    ) -> anyhow::Result<Patroni> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                anyhow!(
                    "the Patroni URL `{}` is not http(s)://host:port\nhint: the REST API's address, e.g. http://10.0.0.11:8008",
                    crate::redact::mask_url(url)
                )
            })?;
        let endpoint = format!(
            "{}:{}",
            parsed.host_str().unwrap_or("?"),
            parsed.port_or_known_default().unwrap_or(0)
        );
        let auth = match (username, password_file) {
            (Some(user), Some(file)) => {
                let password = crate::clients::read_secret_file(file)
                    .with_context(|| format!("the Patroni API password of {endpoint}"))?;
                Some((user.to_string(), password))
            }
            (Some(user), None) => Some((user.to_string(), String::new())),
            _ => None,
        };
        Ok(Patroni {
            web: Web::new(connect, total)?,
            base: url.trim_end_matches('/').to_string(),
            endpoint,
            auth,
        })
    }

    /// `host:port` of the API.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn get(&self, path: &str) -> anyhow::Result<TextAnswer> {
        self.web
            .get_text(&format!("{}{path}", self.base), ANSWER_LIMIT)
            .await
            .with_context(|| format!("Patroni API GET {path} at {}", self.endpoint))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let a = self.get(path).await?;
        // /patroni answers 503 with the same document when PostgreSQL is not running.
        if !matches!(a.status, 200 | 503) {
            anyhow::bail!(
                "Patroni API GET {path} at {}: HTTP {}",
                self.endpoint,
                a.status
            );
        }
        serde_json::from_str(&a.body).with_context(|| {
            format!(
                "Patroni API GET {path} at {}: not the JSON Patroni sends",
                self.endpoint
            )
        })
    }

    pub async fn cluster(&self) -> anyhow::Result<ClusterView> {
        self.get_json("/cluster").await
    }

    pub async fn node(&self) -> anyhow::Result<NodeStatus> {
        self.get_json("/patroni").await
    }

    pub async fn history(&self) -> anyhow::Result<Vec<HistoryEntry>> {
        let a = self.get("/history").await?;
        parse_history(&a.body).with_context(|| {
            format!(
                "Patroni API GET /history at {}: not the list Patroni sends",
                self.endpoint
            )
        })
    }

    /// `GET /health`: true when PostgreSQL runs (200), false on 503.
    pub async fn health(&self) -> anyhow::Result<bool> {
        Ok(self.get("/health").await?.status == 200)
    }

    async fn post(&self, path: &str, body: &str) -> anyhow::Result<ActionAnswer> {
        let auth = self.auth.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        let a = self
            .web
            .post_json_text(&format!("{}{path}", self.base), body, auth, ANSWER_LIMIT)
            .await
            .with_context(|| format!("Patroni API POST {path} at {}", self.endpoint))?;
        if a.status == 401 {
            anyhow::bail!(
                "Patroni API POST {path} at {}: 401 unauthorized\nhint: set the target's patroni.username and patroni.password_file to restapi.authentication",
                self.endpoint
            );
        }
        Ok(ActionAnswer {
            status: a.status,
            message: a
                .body
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(300)
                .collect(),
        })
    }

    /// Planned: the leader hands over to `candidate` (or to the best replica).
    pub async fn switchover(
        &self,
        leader: &str,
        candidate: Option<&str>,
    ) -> anyhow::Result<ActionAnswer> {
        self.post("/switchover", &switchover_body(leader, candidate))
            .await
    }

    /// Unplanned: `candidate` takes over (also when the leader is down).
    pub async fn failover(&self, candidate: &str) -> anyhow::Result<ActionAnswer> {
        self.post("/failover", &failover_body(candidate)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_patroni_3_sends() {
        let cluster: ClusterView = serde_json::from_str(
            r#"{"members": [{"name": "pg-a", "role": "leader", "state": "running", "api_url": "http://127.0.0.1:48008/patroni", "host": "127.0.0.1", "port": 45432, "timeline": 1},
                {"name": "pg-b", "role": "replica", "state": "running", "api_url": "http://127.0.0.1:48009/patroni", "host": "127.0.0.1", "port": 45433, "timeline": 1, "lag": 0, "pending_restart": true},
                {"name": "pg-c", "role": "replica", "state": "stopped", "lag": "unknown"}], "pause": true}"#,
        )
        .unwrap();
        assert_eq!(cluster.leader().map(|m| m.name.as_str()), Some("pg-a"));
        assert!(cluster.pause);
        assert_eq!(cluster.members[1].lag_bytes(), Some(0));
        assert!(cluster.members[1].pending_restart);
        assert_eq!(cluster.members[2].lag_bytes(), None);
        assert_eq!(
            cluster.members[0].address().as_deref(),
            Some("127.0.0.1:45432")
        );

        let node: NodeStatus = serde_json::from_str(
            r#"{"state": "running", "role": "master", "server_version": 150020, "xlog": {"location": 50331648}, "timeline": 1, "replication": [{"usename": "replicator", "application_name": "pg-b", "client_addr": "127.0.0.1", "state": "streaming", "sync_state": "async", "sync_priority": 0}], "dcs_last_seen": 1796506282, "database_system_identifier": "7715935689776709206", "patroni": {"version": "3.0.2", "scope": "sbx"}}"#,
        )
        .unwrap();
        assert!(node.is_primary() && node.streaming("pg-b") && !node.streaming("pg-c"));
        assert_eq!(node.patroni.unwrap().scope, "sbx");

        let h = parse_history(
            r#"[[1, 25623960, "no recovery target specified", "2019-09-23T16:57:57+02:00", "pg-b"], [2, 25624344, "no recovery target specified"]]"#,
        )
        .unwrap();
        assert_eq!(h[0].new_leader.as_deref(), Some("pg-b"));
        assert_eq!(h[1].timeline, 2);
        assert_eq!(h[1].timestamp, None);
        assert!(parse_history("[[\"x\"]]").is_err());
    }

    #[test]
    fn builds_the_request_bodies() {
        let v: serde_json::Value =
            serde_json::from_str(&switchover_body("pg-a", Some("pg-b"))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"leader": "pg-a", "candidate": "pg-b"})
        );
        let v: serde_json::Value = serde_json::from_str(&switchover_body("pg-a", None)).unwrap();
        assert_eq!(v, serde_json::json!({"leader": "pg-a"}));
        let v: serde_json::Value = serde_json::from_str(&failover_body("pg\"b")).unwrap();
        assert_eq!(v, serde_json::json!({"candidate": "pg\"b"}));
    }

    /// A one-shot HTTP server: answers `reply` and hands back the request it read.
    fn one_shot(reply: &'static str) -> (u16, std::thread::JoinHandle<String>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut c, _) = l.accept().unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            loop {
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
                let n = c.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            c.write_all(reply.as_bytes()).unwrap();
            String::from_utf8_lossy(&buf).into_owned()
        });
        (port, h)
    }

    #[tokio::test]
    async fn a_switchover_posts_json_with_basic_auth_and_keeps_the_password_out() {
        let dir = std::env::temp_dir().join(format!("opsbook-patroni-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join("api.pass");
        std::fs::write(&pw, "s3cret\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();

        let (port, got) = one_shot(
            "HTTP/1.0 200 OK\r\nContent-Length: 35\r\n\r\nSuccessfully switched over to \"pg-b\"",
        );
        let api = Patroni::new(
            &format!("http://127.0.0.1:{port}/"),
            Some("opsbook"),
            Some(&pw),
            Duration::from_secs(2),
            Duration::from_secs(5),
        )
        .unwrap();
        let a = api.switchover("pg-a", Some("pg-b")).await.unwrap();
        assert!(a.accepted(), "{a:?}");
        assert!(a.message.starts_with("Successfully switched over"), "{a:?}");
        let req = got.join().unwrap();
        assert!(req.starts_with("POST /switchover HTTP/1.1\r\n"), "{req}");
        let lower = req.to_ascii_lowercase();
        // base64("opsbook:s3cret")
        assert!(req.contains("Basic b3BzYm9vazpzM2NyZXQ="), "{req}");
        assert!(lower.contains("content-type: application/json"), "{req}");
        assert!(
            req.ends_with(r#"{"candidate":"pg-b","leader":"pg-a"}"#)
                || req.ends_with(r#"{"leader":"pg-a","candidate":"pg-b"}"#),
            "{req}"
        );

        let (port, got) = one_shot("HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        let api = Patroni::new(
            &format!("http://127.0.0.1:{port}"),
            Some("opsbook"),
            Some(&pw),
            Duration::from_secs(2),
            Duration::from_secs(5),
        )
        .unwrap();
        let e = format!("{:#}", api.failover("pg-b").await.unwrap_err());
        assert!(
            e.contains("401") && e.contains(&format!("127.0.0.1:{port}")),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "{e}");
        assert!(got.join().unwrap().starts_with("POST /failover "));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_down_api_is_named_by_its_endpoint() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = Patroni::new(
            &format!("http://127.0.0.1:{port}"),
            None,
            None,
            Duration::from_secs(1),
            Duration::from_secs(2),
        )
        .unwrap();
        let e = format!("{:#}", api.cluster().await.unwrap_err());
        assert!(
            e.contains(&format!("GET /cluster at 127.0.0.1:{port}")),
            "{e}"
        );
        assert!(Patroni::new(
            "ftp://x",
            None,
            None,
            Duration::from_secs(1),
            Duration::from_secs(1)
        )
        .is_err());
    }
}
