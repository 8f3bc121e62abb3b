//! HAProxy's statistics: the CSV of the stats page (`<stats uri>;csv`, over the shared
//! reqwest client) or of `show stat` on the admin socket (`stats socket`), parsed into
//! backends and their servers with the state the health checks gave them (UP / DOWN / MAINT).
//! Both reads are bounded in time and size; errors name the endpoint, not a URL's secrets.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use serde::Serialize;

use crate::clients::web::Web;

/// The most stats text we read: one line per proxy and server.
pub const STATS_LIMIT: usize = 1024 * 1024;

/// One server of a backend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub name: String,
    /// `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (going up), `MAINT`, `no check`, ...
    pub status: String,
    /// `host:port` (HAProxy 1.7+)
    pub addr: Option<String>,
    /// the last check's result (`L7OK`, `L7STS`, `L4CON`, ...)
    pub check_status: Option<String>,
}

impl Server {
    /// Receiving traffic: UP (also while a failed check counts down), or unchecked.
    pub fn is_up(&self) -> bool {
        self.status.starts_with("UP") || self.status == "no check"
    }
}

/// One backend (or `listen` section) and its servers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backend {
    pub name: String,
    /// the backend's own line: `UP` while any server is
    pub status: String,
    pub servers: Vec<Server>,
}

impl Backend {
    pub fn up_servers(&self) -> Vec<&Server> {
        self.servers.iter().filter(|s| s.is_up()).collect()
    }
}

/// Parse the CSV (`# pxname,svname,...` header, one line per frontend / backend / server).
pub fn parse_stat_csv(text: &str) -> anyhow::Result<Vec<Backend>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .ok_or_else(|| anyhow!("not HAProxy's stats CSV (no `# pxname,svname,...` header)"))?;
    let cols: Vec<&str> = header.split(',').collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(px), Some(sv), Some(st)) = (col("pxname"), col("svname"), col("status")) else {
        bail!("HAProxy's stats CSV lacks pxname, svname or status");
    };
    let (addr, check) = (col("addr"), col("check_status"));
    let mut backends: Vec<Backend> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let get = |i: Option<usize>| {
            i.and_then(|i| f.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (Some(pxname), Some(svname)) = (get(Some(px)), get(Some(sv))) else {
            continue;
        };
        if svname == "FRONTEND" {
            continue;
        }
        let status = get(Some(st)).unwrap_or_default();
        let idx = match backends.iter().position(|b| b.name == pxname) {
            Some(i) => i,
            None => {
                backends.push(Backend {
                    name: pxname.clone(),
                    status: String::new(),
                    servers: Vec::new(),
                });
                backends.len() - 1
            }
        };
        if svname == "BACKEND" {
            backends[idx].status = status;
        } else {
            backends[idx].servers.push(Server {
                name: svname,
                status,
                addr: get(addr),
                check_status: get(check),
            });
        }
    }
    // `listen stats` and frontends-only sections have no servers and no BACKEND line.
    backends.retain(|b| !b.status.is_empty() || !b.servers.is_empty());
    Ok(backends)
}

/// Where the statistics are read from.
pub enum StatsSource<'a> {
    /// the stats page's URL (`stats uri`), read as `URL;csv`
    Url(&'a str),
    /// the admin socket (`stats socket`), read with `show stat`
    Socket(&'a Path),
}

/// Read and parse the statistics, bounded by `connect` / `total`.
pub async fn read_stats(
    source: &StatsSource<'_>,
    connect: Duration,
    total: Duration,
) -> anyhow::Result<Vec<Backend>> {
    let (text, from) = match source {
        StatsSource::Url(url) => {
            let csv_url = format!("{};csv", url.trim_end_matches(';'));
            let web = Web::new(connect, total)?;
            let a = web
                .get_text(&csv_url, STATS_LIMIT)
                .await
                .context("reading HAProxy's stats page")?;
            let masked = crate::redact::mask_url(url);
            if a.status != 200 {
                bail!("HAProxy's stats page {masked}: HTTP {}\nhint: the URL is `stats uri` of a `stats enable` section, e.g. http://10.0.0.5:8404/stats", a.status);
            }
            (a.body, masked)
        }
        StatsSource::Socket(path) => {
            let text = tokio::time::timeout(total, show_stat(path))
                .await
                .map_err(|_| {
                    anyhow!(
                        "HAProxy's admin socket {}: no answer within {:.1}s",
                        path.display(),
                        total.as_secs_f64()
                    )
                })??;
            (text, path.display().to_string())
        }
    };
    parse_stat_csv(&text).with_context(|| format!("reading HAProxy's statistics from {from}"))
}

async fn show_stat(path: &Path) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::UnixStream::connect(path).await.with_context(|| {
        format!(
            "connecting to HAProxy's admin socket {}\nhint: `stats socket {} mode 600 level admin` in haproxy.cfg's global section, readable by this user",
            path.display(),
            path.display()
        )
    })?;
    s.write_all(b"show stat\n")
        .await
        .with_context(|| format!("writing to HAProxy's admin socket {}", path.display()))?;
    let mut raw = Vec::new();
    (&mut s)
        .take(STATS_LIMIT as u64 + 1)
        .read_to_end(&mut raw)
        .await
        .with_context(|| format!("reading HAProxy's admin socket {}", path.display()))?;
    if raw.len() > STATS_LIMIT {
        bail!(
            "HAProxy's admin socket {}: `show stat` answered over {}",
            path.display(),
            crate::bounded_read::limit_text(STATS_LIMIT as u64)
        );
    }
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,addr\n\
stats,FRONTEND,,,1,1,256,1,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,1,0,1,,,,0,\n\
stats,BACKEND,0,0,0,0,26,0,0,0,0,0,,0,0,0,0,UP,0,0,0,,0,5,,,1,2,0,,0,,1,0,,0,,,,0,\n\
pg_write,FRONTEND,,,0,0,256,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,3,0,,,,0,0,0,0,,,,,\n\
pg_write,pg-a,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5,0,,1,3,1,,0,,2,0,,0,L7OK,200,2,,127.0.0.1:45432\n\
pg_write,pg-b,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,4,4,,1,3,2,,0,,2,0,,0,L7STS,503,1,,127.0.0.1:45433\n\
pg_write,BACKEND,0,0,0,0,26,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,5,0,,1,3,0,,0,,1,0,,0,,,,,\n\
redis_write,cache-a,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/2,1,1,0,0,0,5,0,,1,4,1,,0,,2,0,,0,L7OK,,1,,127.0.0.1:6380\n";

    #[test]
    fn parses_backends_and_server_states() {
        let b = parse_stat_csv(CSV).unwrap();
        let names: Vec<&str> = b.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["stats", "pg_write", "redis_write"]);
        let pg = &b[1];
        assert_eq!(pg.status, "UP");
        assert_eq!(pg.servers.len(), 2);
        assert_eq!(
            pg.up_servers()
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["pg-a"]
        );
        assert_eq!(pg.servers[1].check_status.as_deref(), Some("L7STS"));
        assert_eq!(pg.servers[0].addr.as_deref(), Some("127.0.0.1:45432"));
        assert!(b[2].servers[0].is_up(), "UP 1/2 still takes traffic");
        assert!(parse_stat_csv("<html>login</html>").is_err());
        assert!(parse_stat_csv("# a,b\n").is_err());
    }
}
