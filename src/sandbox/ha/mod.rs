//! `sandbox up --ha`: the HA engines the seeds run, beside the plain sandbox, under
//! `<dir>/ha/` on free loopback ports and without systemd: a single-node etcd, two
//! Patroni-managed PostgreSQL nodes (`pg-a` leader, `pg-b` streaming replica; Patroni runs as
//! the PostgreSQL account), a Redis replica of the sandbox's redis-server watched by three
//! Sentinels (quorum 2, master name `opsbook`), and HAProxy with a stats page and admin
//! socket, a `pg_write` backend (`option httpchk GET /primary` against the Patroni REST
//! ports) and a `redis_write` backend (tcp-check for `role:master`).
//!
//! The rooms: `etcd`, `patroni`, `sentinel` (the Redis replica and the Sentinels), `haproxy`,
//! `procs` (starting, recording and stopping the processes; the small readiness probes) and
//! `inventory` (the `targets:` section the sandbox's opsbook.yaml gains).

mod etcd;
mod haproxy;
mod inventory;
mod patroni;
mod procs;
mod sentinel;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::bins::{is_executable, which};
use super::exec::free_ports;
use super::files::write_file;
use super::Sandbox;
use crate::passwd::Account;
use crate::process::pid_runs;

pub(super) use inventory::targets_yaml;

/// The Sentinels' name for the Redis master, and Patroni's scope.
pub const HA_NAME: &str = "opsbook";
/// The Patroni REST API user (`restapi.authentication.username`).
pub const PATRONI_API_USER: &str = "opsbook";
const HINT_HA: &str = "hint: install the HA engines: apt-get install patroni etcd-server redis-sentinel haproxy (or start the sandbox without --ha)";

/// The engines' binaries.
pub(super) struct Engines {
    pub(super) etcd: PathBuf,
    pub(super) patroni: PathBuf,
    pub(super) redis_server: PathBuf,
    pub(super) haproxy: PathBuf,
}

/// Why `sandbox up --ha` cannot run here (an engine's binary is missing), or None.
pub fn engines_missing() -> Option<String> {
    find_engines().err().map(|e| format!("{e:#}"))
}

/// Found before anything starts, so a missing engine fails in milliseconds. Sentinel is
/// redis-server in sentinel mode (the redis-sentinel package holds its unit and config).
pub(super) fn find_engines() -> anyhow::Result<Engines> {
    let find = |name: &str, usual: &[&str]| -> anyhow::Result<PathBuf> {
        usual
            .iter()
            .map(PathBuf::from)
            .find(|p| is_executable(p))
            .or_else(|| which(name))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{name} not found (not in {} nor PATH)\n{HINT_HA}",
                    usual.join(", ")
                )
            })
    };
    Ok(Engines {
        etcd: find("etcd", &["/usr/bin/etcd"])?,
        patroni: find("patroni", &["/usr/bin/patroni"])?,
        redis_server: find("redis-server", &["/usr/bin/redis-server"])?,
        haproxy: find("haproxy", &["/usr/sbin/haproxy"])?,
    })
}

/// One process of the HA stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaProc {
    /// `pg-a`, `cache-b`, `sentinel-1`, `etcd`, `haproxy`
    pub name: String,
    /// its main port (PostgreSQL's for a Patroni node)
    pub port: u16,
    pub pid: Option<u32>,
}

/// A Patroni node: its PostgreSQL and its REST API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatroniNode {
    pub name: String,
    pub pg_port: u16,
    pub api_port: u16,
    /// Patroni's own pid (PostgreSQL is its child)
    pub pid: Option<u32>,
}

/// What `sandbox.json` records of the HA stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaState {
    pub etcd: HaProc,
    pub etcd_peer_port: u16,
    pub patroni: Vec<PatroniNode>,
    /// the replica of the sandbox's redis-server
    pub redis_replica: HaProc,
    pub sentinels: Vec<HaProc>,
    /// `port` is the stats page's
    pub haproxy: HaProc,
    pub pg_write_port: u16,
    pub redis_write_port: u16,
    /// seconds `sandbox up --ha` spent on the HA stack
    #[serde(default)]
    pub started_in_seconds: f64,
}

/// One line of `sandbox status` about an HA process.
pub struct HaHealth {
    pub name: String,
    pub port: u16,
    pub running: bool,
}

impl Sandbox {
    pub(super) fn ha_dir(&self) -> PathBuf {
        self.state.dir.join("ha")
    }

    /// The file holding the Patroni REST API password (0600, the invoking user's).
    pub fn patroni_password_file(&self) -> PathBuf {
        self.ha_dir().join("patroni-api.pass")
    }

    /// The file holding the PostgreSQL superuser password for the HA nodes' targets (0600).
    pub fn ha_pg_password_file(&self) -> PathBuf {
        self.ha_dir().join("postgres.pass")
    }

    /// HAProxy's admin socket.
    pub fn haproxy_socket(&self) -> PathBuf {
        self.ha_dir().join("haproxy/admin.sock")
    }

    /// Start the HA stack; `password` is the sandbox's superuser password (the HA nodes get
    /// the same, so the sandbox's pgpass serves them too).
    pub(super) fn start_ha(
        &mut self,
        run_as: Option<&Account>,
        password: &str,
    ) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let bins = find_engines()?;
        let p = free_ports(12)?;
        let proc_ = |name: &str, port: u16| HaProc {
            name: name.to_string(),
            port,
            pid: None,
        };
        self.state.ha = Some(HaState {
            etcd: proc_("etcd", p[0]),
            etcd_peer_port: p[1],
            patroni: vec![
                PatroniNode {
                    name: "pg-a".into(),
                    pg_port: p[2],
                    api_port: p[3],
                    pid: None,
                },
                PatroniNode {
                    name: "pg-b".into(),
                    pg_port: p[4],
                    api_port: p[5],
                    pid: None,
                },
            ],
            redis_replica: proc_("cache-b", p[6]),
            sentinels: (1..=3)
                .map(|i| proc_(&format!("sentinel-{i}"), p[6 + i]))
                .collect(),
            haproxy: proc_("haproxy", p[10]),
            pg_write_port: p[11],
            redis_write_port: free_ports(1)?[0],
            started_in_seconds: 0.0,
        });
        std::fs::create_dir_all(self.ha_dir())
            .with_context(|| format!("creating {}", self.ha_dir().display()))?;
        write_file(
            &self.ha_pg_password_file(),
            format!("{password}\n").as_bytes(),
            0o600,
        )?;
        write_file(
            &self.patroni_password_file(),
            format!("{}\n", super::pgpass::random_password()?).as_bytes(),
            0o600,
        )?;
        let mut pgpass = std::fs::read_to_string(self.pgpass_path()).unwrap_or_default();
        for n in self.ha().map(|h| h.patroni.clone()).unwrap_or_default() {
            pgpass.push_str(&super::pgpass::pgpass_lines(n.pg_port, password));
        }
        write_file(&self.pgpass_path(), pgpass.as_bytes(), 0o600)?;

        // Recorded after each start, so a failure in the middle leaves what `down` (and the
        // watchdog) needs to stop what did start.
        self.start_etcd(&bins.etcd)?;
        self.record_ha()?;
        self.start_patroni(&bins.patroni, run_as, password)?;
        // While pg-a bootstraps (initdb, about two seconds): the Redis side.
        self.start_redis_replica_and_sentinels(&bins.redis_server)?;
        self.finish_patroni(&bins.patroni, run_as)?;
        self.start_haproxy(&bins.haproxy)?;
        if let Some(h) = self.state.ha.as_mut() {
            h.started_in_seconds = started.elapsed().as_secs_f64();
        }
        self.record_ha()
    }

    fn record_ha(&self) -> anyhow::Result<()> {
        self.save()?;
        self.write_ha_pids()
    }

    /// The HA stack's record, when the sandbox has one.
    pub fn ha(&self) -> Option<&HaState> {
        self.state.ha.as_ref()
    }

    /// Every HA process and whether it runs (pid alive and running what we started).
    pub fn ha_health(&self) -> Vec<HaHealth> {
        let Some(h) = self.ha() else {
            return Vec::new();
        };
        self.ha_processes(h)
            .into_iter()
            .map(|(name, port, pid, needle)| HaHealth {
                running: pid.is_some_and(|p| pid_runs(p, &needle))
                    && super::exec::port_accepts(port),
                name,
                port,
            })
            .collect()
    }

    /// (name, port, pid, the text its /proc cmdline contains), in stopping order.
    fn ha_processes(&self, h: &HaState) -> Vec<(String, u16, Option<u32>, String)> {
        let mut out = vec![(
            h.haproxy.name.clone(),
            h.haproxy.port,
            h.haproxy.pid,
            self.haproxy_cfg().to_string_lossy().into_owned(),
        )];
        for s in &h.sentinels {
            out.push((
                s.name.clone(),
                s.port,
                s.pid,
                format!("127.0.0.1:{}", s.port),
            ));
        }
        let r = &h.redis_replica;
        out.push((
            r.name.clone(),
            r.port,
            r.pid,
            format!("127.0.0.1:{}", r.port),
        ));
        for n in &h.patroni {
            out.push((
                n.name.clone(),
                n.api_port,
                n.pid,
                self.patroni_yml(&n.name).to_string_lossy().into_owned(),
            ));
        }
        out.push((
            h.etcd.name.clone(),
            h.etcd.port,
            h.etcd.pid,
            self.etcd_data().to_string_lossy().into_owned(),
        ));
        out
    }

    /// `<dir>/ha/pids`: `pid needle` per process, what the watchdog stops when the owner dies.
    fn write_ha_pids(&self) -> anyhow::Result<()> {
        let Some(h) = self.ha() else {
            return Ok(());
        };
        let lines: String = self
            .ha_processes(h)
            .into_iter()
            .filter_map(|(_, _, pid, needle)| Some(format!("{} {needle}\n", pid?)))
            .collect();
        write_file(&self.ha_dir().join("pids"), lines.as_bytes(), 0o644)
    }

    /// Stop the HA stack: HAProxy, the Sentinels and the replica, then each Patroni (which
    /// stops its PostgreSQL; a postmaster left behind is stopped by pg_ctl), then etcd.
    pub(super) fn stop_ha(&self) -> anyhow::Result<()> {
        let Some(h) = self.ha() else {
            return Ok(());
        };
        let mut first_err: Option<anyhow::Error> = None;
        let procs = self.ha_processes(h);
        // Patroni nodes stop concurrently: each waits for its PostgreSQL's shutdown checkpoint.
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for (name, _, pid, needle) in &procs {
                let is_patroni = h.patroni.iter().any(|n| &n.name == name);
                if is_patroni {
                    handles.push(scope.spawn(move || {
                        procs::stop_pid(
                            *pid,
                            needle,
                            &format!("Patroni {name}"),
                            Duration::from_secs(20),
                        )
                    }));
                } else if name == "etcd" {
                    // after every Patroni has stopped (below)
                } else if let Err(e) = procs::stop_pid(*pid, needle, name, Duration::from_secs(5)) {
                    first_err.get_or_insert(e);
                }
            }
            for handle in handles {
                match handle.join() {
                    Ok(Err(e)) => {
                        first_err.get_or_insert(e);
                    }
                    Ok(Ok(())) => {}
                    Err(_) => {
                        first_err.get_or_insert(anyhow::anyhow!("stopping Patroni panicked"));
                    }
                }
            }
        });
        for n in &h.patroni {
            if let Err(e) = self.stop_cluster(&self.patroni_data(&n.name)) {
                first_err.get_or_insert(e);
            }
        }
        if let Err(e) = procs::stop_pid(
            h.etcd.pid,
            &self.etcd_data().to_string_lossy(),
            "etcd",
            Duration::from_secs(5),
        ) {
            first_err.get_or_insert(e);
        }
        first_err.map_or(Ok(()), Err)
    }
}
