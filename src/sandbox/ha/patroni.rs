//! Two Patroni-managed PostgreSQL nodes: `pg-a` bootstraps the cluster and takes the leader
//! key, then `pg-b` clones it (pg_basebackup) and streams from it over a replication slot.
//! Patroni runs as the PostgreSQL account; its YAML (which holds the superuser, replication
//! and REST API passwords) is 0600 and owned by that account.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use super::super::files::write_file;
use super::super::Sandbox;
use super::procs::{http_get, spawn_logged, wait_for};
use super::{HaState, PatroniNode, HA_NAME, PATRONI_API_USER};
use crate::clients::patroni::NodeStatus;
use crate::passwd::Account;
use crate::process::pid_runs;

impl Sandbox {
    pub(super) fn patroni_yml(&self, node: &str) -> PathBuf {
        self.ha_dir().join(node).join("patroni.yml")
    }

    pub(super) fn patroni_data(&self, node: &str) -> PathBuf {
        self.ha_dir().join(node).join("data")
    }

    pub(super) fn start_patroni(
        &mut self,
        bin: &Path,
        run_as: Option<&Account>,
        password: &str,
    ) -> anyhow::Result<()> {
        let Some(h) = self.state.ha.clone() else {
            return Ok(());
        };
        let api_password = crate::clients::read_secret_file(&self.patroni_password_file())?;
        let replication_password = super::super::pgpass::random_password()?;
        let Some(leader) = h.patroni.first() else {
            return Ok(());
        };
        for n in &h.patroni {
            let dir = self.ha_dir().join(&n.name);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("setting the mode of {}", dir.display()))?;
            let socket = socket_dir(self, &n.name);
            if let Some(sock) = &socket {
                std::fs::create_dir_all(sock)
                    .with_context(|| format!("creating {}", sock.display()))?;
            }
            let yml = self.patroni_yml(&n.name);
            let text = patroni_yaml(
                self,
                &h,
                n,
                &Secrets {
                    superuser: password,
                    replication: &replication_password,
                    api: &api_password,
                },
            );
            write_file(&yml, text.as_bytes(), 0o600)?;
            if let Some(a) = run_as {
                for p in [Some(&dir), Some(&yml), socket.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    std::os::unix::fs::chown(p, Some(a.uid), Some(a.gid)).with_context(|| {
                        format!("handing {} to the {} user", p.display(), a.name)
                    })?;
                }
            }
        }
        // The leader first, so the names are predictable: pg-a bootstraps, pg-b clones.
        self.spawn_patroni(bin, run_as, leader)
    }

    /// After [`Sandbox::start_patroni`] (the Redis side starts in between, while PostgreSQL
    /// bootstraps): wait for the leader, start the replica, wait until it streams.
    pub(super) fn finish_patroni(
        &mut self,
        bin: &Path,
        run_as: Option<&Account>,
    ) -> anyhow::Result<()> {
        let Some(h) = self.state.ha.clone() else {
            return Ok(());
        };
        let (Some(leader), Some(replica)) = (h.patroni.first(), h.patroni.get(1)) else {
            return Ok(());
        };
        let log = self.ha_dir().join(&leader.name).join("patroni.log");
        let needle = self
            .patroni_yml(&leader.name)
            .to_string_lossy()
            .into_owned();
        let pid = self.patroni_pid(&leader.name);
        wait_for(
            &format!(
                "Patroni {} bootstrapping PostgreSQL on 127.0.0.1:{} (REST API :{})",
                leader.name, leader.pg_port, leader.api_port
            ),
            Duration::from_secs(60),
            &log,
            &|| pid.is_some_and(|p| pid_runs(p, &needle)),
            &mut || http_get(leader.api_port, "/primary").filter(|(s, _)| *s == 200),
        )?;
        self.spawn_patroni(bin, run_as, replica)?;
        let log_b = self.ha_dir().join(&replica.name).join("patroni.log");
        let needle_b = self
            .patroni_yml(&replica.name)
            .to_string_lossy()
            .into_owned();
        let pid_b = self.patroni_pid(&replica.name);
        wait_for(
            &format!(
                "Patroni {} cloning {} and streaming from it",
                replica.name, leader.name
            ),
            Duration::from_secs(90),
            &log_b,
            &|| pid_b.is_some_and(|p| pid_runs(p, &needle_b)),
            &mut || {
                let (status, body) = http_get(leader.api_port, "/patroni")?;
                let node: NodeStatus = serde_json::from_str(&body).ok()?;
                (status == 200 && node.streaming(&replica.name)).then_some(())
            },
        )?;
        // What `check morning` reads on every node (pg_stat_statements is preloaded).
        let mut psql = self.client("psql");
        psql.env("PGPORT", leader.pg_port.to_string()).args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            "postgres",
            "-c",
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        ]);
        super::super::exec::run(
            &mut psql,
            &format!("creating pg_stat_statements on {}", leader.name),
            "",
        )?;
        Ok(())
    }

    fn patroni_pid(&self, node: &str) -> Option<u32> {
        self.ha()?
            .patroni
            .iter()
            .find(|n| n.name == node)
            .and_then(|n| n.pid)
    }

    fn spawn_patroni(
        &mut self,
        bin: &Path,
        run_as: Option<&Account>,
        node: &PatroniNode,
    ) -> anyhow::Result<()> {
        let dir = self.ha_dir().join(&node.name);
        let mut cmd = Command::new(bin);
        cmd.arg(self.patroni_yml(&node.name)).current_dir(&dir);
        let pid = spawn_logged(cmd, &dir.join("patroni.log"), run_as)?;
        if let Some(n) = self
            .state
            .ha
            .as_mut()
            .and_then(|h| h.patroni.iter_mut().find(|n| n.name == node.name))
        {
            n.pid = Some(pid);
        }
        self.record_ha()
    }
}

/// The node's socket directory, unless its path is too long for sun_path (108 bytes): then
/// none, TCP only (Patroni connects to `listen`).
fn socket_dir(sb: &Sandbox, node: &str) -> Option<PathBuf> {
    let socket = sb.ha_dir().join(node).join("s");
    (socket.to_string_lossy().len() + "/.s.PGSQL.65535".len() < 108).then_some(socket)
}

struct Secrets<'a> {
    superuser: &'a str,
    replication: &'a str,
    api: &'a str,
}

/// A YAML double-quoted string (JSON's escaping is valid YAML).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn patroni_yaml(sb: &Sandbox, h: &HaState, n: &PatroniNode, s: &Secrets) -> String {
    let dir = sb.ha_dir().join(&n.name);
    let socket_dir = socket_dir(sb, &n.name)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "# written by `opsbook sandbox up --ha`\n\
scope: {HA_NAME}\n\
name: {name}\n\
restapi:\n\
\x20 listen: 127.0.0.1:{api}\n\
\x20 connect_address: 127.0.0.1:{api}\n\
\x20 authentication:\n\
\x20   username: {api_user}\n\
\x20   password: {api_pw}\n\
etcd3:\n\
\x20 hosts: 127.0.0.1:{etcd}\n\
bootstrap:\n\
\x20 dcs:\n\
\x20   ttl: 10\n\
\x20   loop_wait: 1\n\
\x20   retry_timeout: 4\n\
\x20   maximum_lag_on_failover: 1048576\n\
\x20   postgresql:\n\
\x20     use_pg_rewind: true\n\
\x20     use_slots: true\n\
\x20     parameters:\n\
\x20       wal_level: replica\n\
\x20       hot_standby: \"on\"\n\
\x20       wal_log_hints: \"on\"\n\
\x20       max_wal_senders: 10\n\
\x20       max_replication_slots: 10\n\
\x20 initdb:\n\
\x20 - encoding: UTF8\n\
\x20 - locale: C.UTF-8\n\
\x20 - auth-local: trust\n\
\x20 - auth-host: scram-sha-256\n\
\x20 pg_hba:\n\
\x20 - local all all trust\n\
\x20 - host replication replicator 127.0.0.1/32 scram-sha-256\n\
\x20 - host all all 127.0.0.1/32 scram-sha-256\n\
postgresql:\n\
\x20 listen: 127.0.0.1:{pg}\n\
\x20 connect_address: 127.0.0.1:{pg}\n\
\x20 data_dir: {data}\n\
\x20 bin_dir: {bin}\n\
\x20 pgpass: {pgpass}\n\
\x20 authentication:\n\
\x20   superuser:\n\
\x20     username: postgres\n\
\x20     password: {su_pw}\n\
\x20   replication:\n\
\x20     username: replicator\n\
\x20     password: {repl_pw}\n\
\x20 parameters:\n\
\x20   unix_socket_directories: {socket}\n\
\x20   shared_preload_libraries: pg_stat_statements\n\
\x20   fsync: \"off\"\n\
\x20   synchronous_commit: \"off\"\n\
\x20   max_connections: 100\n\
tags: {{}}\n",
        name = n.name,
        api = n.api_port,
        api_user = PATRONI_API_USER,
        api_pw = q(s.api),
        etcd = h.etcd.port,
        pg = n.pg_port,
        data = q(&sb.patroni_data(&n.name).to_string_lossy()),
        bin = q(&sb.state.pg_bindir.to_string_lossy()),
        pgpass = q(&dir.join("pgpass.patroni").to_string_lossy()),
        su_pw = q(s.superuser),
        repl_pw = q(s.replication),
        socket = q(&socket_dir),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn yaml_strings_are_quoted() {
        assert_eq!(super::q("a\"b"), "\"a\\\"b\"");
    }
}
