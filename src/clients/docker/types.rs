//! The parts of the Engine API's answers the checks read (API 1.41 and later: Docker 20.10+).
//! Every field defaults, so an older or newer daemon that leaves one out still parses.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `GET /containers/json?all=1`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerSummary {
    pub id: String,
    /// `/name` (with the slash)
    pub names: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// `GET /containers/{id}/json`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspect {
    pub id: String,
    /// `/name`
    pub name: String,
    pub restart_count: u64,
    pub state: ContainerState,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerState {
    /// created, running, paused, restarting, removing, exited, dead
    pub status: String,
    pub running: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    pub health: Option<Health>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Health {
    /// starting, healthy, unhealthy
    pub status: String,
    pub failing_streak: u64,
    pub log: Vec<HealthProbe>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthProbe {
    pub exit_code: i64,
    pub output: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    /// with a TTY the log stream is raw, without one it is multiplexed
    pub tty: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    /// the memory limit in bytes, 0 for none
    pub memory: u64,
}

/// `GET /containers/{id}/stats?stream=false` (the memory part)
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Stats {
    pub memory_stats: MemoryStats,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    pub usage: Option<u64>,
    pub limit: Option<u64>,
    pub stats: BTreeMap<String, u64>,
}

impl MemoryStats {
    /// What `docker stats` shows as used: the usage less the page cache the kernel can drop
    /// (`inactive_file` on cgroup v2, `total_inactive_file` on v1).
    pub fn used(&self) -> Option<u64> {
        let usage = self.usage?;
        let cache = self
            .stats
            .get("inactive_file")
            .or_else(|| self.stats.get("total_inactive_file"))
            .copied()
            .unwrap_or(0);
        Some(usage.saturating_sub(cache))
    }
}

/// `GET /services`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SwarmService {
    #[serde(rename = "ID")]
    pub id: String,
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceSpec {
    pub name: String,
    pub mode: ServiceMode,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceMode {
    pub replicated: Option<Replicated>,
    pub global: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Replicated {
    pub replicas: u64,
}

/// `GET /tasks?filters={"service":[...]}`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Task {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub slot: Option<u64>,
    pub desired_state: String,
    pub status: TaskStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskStatus {
    /// new ... running, complete, shutdown, failed, rejected, orphaned
    pub state: String,
    pub timestamp: String,
    pub err: String,
    pub message: String,
}

/// `GET /nodes`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Node {
    #[serde(rename = "ID")]
    pub id: String,
    pub description: NodeDescription,
    pub status: NodeStatus,
    pub spec: NodeSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeDescription {
    pub hostname: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeStatus {
    /// unknown, down, ready, disconnected
    pub state: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeSpec {
    /// active, pause, drain
    pub availability: String,
}

/// Seconds since the epoch of an RFC 3339 time as Docker writes it
/// (`2026-12-04T23:43:49.02404672Z`, or with an offset); None for Go's zero time or junk.
pub fn unix_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if y < 1971 {
        return None;
    }
    // skip the fraction, then Z or ±hh:mm
    let rest = s[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match rest.as_bytes().first()? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let oh = rest.get(1..3)?.parse::<i64>().ok()?;
            let om = rest.get(4..6)?.parse::<i64>().ok()?;
            let o = oh * 3600 + om * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    // days from the civil date (Howard Hinnant's algorithm)
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_times_parse() {
        assert_eq!(unix_time("1970-01-02T00:00:00Z"), None);
        assert_eq!(unix_time("2026-12-04T23:43:49.02404672Z"), Some(1796427829));
        assert_eq!(unix_time("2026-12-05T00:43:49+01:00"), Some(1796427829));
        assert_eq!(unix_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(unix_time(""), None);
    }

    #[test]
    fn memory_used_leaves_out_the_page_cache() {
        let m: MemoryStats = serde_json::from_str(
            r#"{"usage": 1000, "limit": 4000, "stats": {"inactive_file": 300, "anon": 700}}"#,
        )
        .unwrap();
        assert_eq!(m.used(), Some(700));
    }
}
