//! HAProxy in front of the HA stack, the classic Patroni + HAProxy configuration: `pg_write`
//! routes to the node whose Patroni answers `GET /primary` with 200 (`option httpchk`
//! against the REST port), `redis_write` to the Redis node whose `INFO replication` says
//! `role:master` (tcp-check); a stats page (`/stats`) and an admin socket. Ready when both
//! backends route to the leader and the master only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use super::super::files::write_file;
use super::super::Sandbox;
use super::procs::{haproxy_show_stat, spawn_logged, wait_for};
use crate::clients::haproxy::parse_stat_csv;
use crate::process::pid_runs;

/// The backend names the sandbox's HAProxy (and its `targets:` entry) use.
pub const PG_WRITE: &str = "pg_write";
pub const REDIS_WRITE: &str = "redis_write";

impl Sandbox {
    pub(super) fn haproxy_cfg(&self) -> PathBuf {
        self.ha_dir().join("haproxy/haproxy.cfg")
    }

    pub(super) fn start_haproxy(&mut self, bin: &Path) -> anyhow::Result<()> {
        let Some(h) = self.state.ha.clone() else {
            return Ok(());
        };
        let dir = self.ha_dir().join("haproxy");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let socket = self.haproxy_socket();
        let mut pg = String::new();
        for n in &h.patroni {
            pg.push_str(&format!(
                "    server {} 127.0.0.1:{} check port {}\n",
                n.name, n.pg_port, n.api_port
            ));
        }
        let redis_master = ("cache-a", self.state.redis_port);
        let mut redis = String::new();
        for (name, port) in [
            redis_master,
            (h.redis_replica.name.as_str(), h.redis_replica.port),
        ] {
            redis.push_str(&format!("    server {name} 127.0.0.1:{port} check\n"));
        }
        let cfg = format!(
            "# written by `opsbook sandbox up --ha`\n\
global\n\
    maxconn 256\n\
    stats socket {socket} mode 600 level admin\n\
    pidfile {pidfile}\n\
\n\
defaults\n\
    mode tcp\n\
    timeout connect 2s\n\
    timeout client 30m\n\
    timeout server 30m\n\
    timeout check 1s\n\
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions\n\
\n\
listen stats\n\
    mode http\n\
    bind 127.0.0.1:{stats}\n\
    stats enable\n\
    stats uri /stats\n\
    stats refresh 10s\n\
\n\
listen {PG_WRITE}\n\
    bind 127.0.0.1:{pgw}\n\
    option httpchk GET /primary\n\
    http-check expect status 200\n\
{pg}\n\
listen {REDIS_WRITE}\n\
    bind 127.0.0.1:{rw}\n\
    option tcp-check\n\
    tcp-check connect\n\
    tcp-check send PING\\r\\n\n\
    tcp-check expect string +PONG\n\
    tcp-check send info\\ replication\\r\\n\n\
    tcp-check expect string role:master\n\
    tcp-check send QUIT\\r\\n\n\
    tcp-check expect string +OK\n\
{redis}",
            socket = socket.display(),
            pidfile = dir.join("haproxy.pid").display(),
            stats = h.haproxy.port,
            pgw = h.pg_write_port,
            rw = h.redis_write_port,
        );
        let cfg_path = self.haproxy_cfg();
        write_file(&cfg_path, cfg.as_bytes(), 0o600)?;
        let log = dir.join("haproxy.log");
        // Master-worker in the foreground: the pid we record is the master's, which stops
        // its workers on SIGTERM.
        let mut cmd = Command::new(bin);
        cmd.arg("-W").arg("-f").arg(&cfg_path).current_dir(&dir);
        let pid = spawn_logged(cmd, &log, None)?;
        if let Some(h) = self.state.ha.as_mut() {
            h.haproxy.pid = Some(pid);
        }
        self.record_ha()?;
        let needle = cfg_path.to_string_lossy().into_owned();
        let leader = h
            .patroni
            .first()
            .map(|n| n.name.clone())
            .unwrap_or_default();
        wait_for(
            &format!(
                "HAProxy (stats on 127.0.0.1:{}) routing {PG_WRITE} to {leader} and {REDIS_WRITE} to cache-a",
                h.haproxy.port
            ),
            Duration::from_secs(20),
            &log,
            &|| pid_runs(pid, &needle),
            &mut || {
                let backends = parse_stat_csv(&haproxy_show_stat(&socket)?).ok()?;
                let up = |b: &str| -> Option<Vec<String>> {
                    let be = backends.iter().find(|x| x.name == b)?;
                    Some(be.up_servers().iter().map(|s| s.name.clone()).collect())
                };
                (up(PG_WRITE)? == [leader.clone()] && up(REDIS_WRITE)? == ["cache-a"])
                    .then_some(())
            },
        )?;
        Ok(())
    }
}
