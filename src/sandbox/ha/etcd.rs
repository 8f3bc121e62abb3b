//! The HA stack's DCS: a single-node etcd on two loopback ports (client, peer), its data
//! under `<dir>/ha/etcd`, ready when `GET /health` says so (about half a second).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::super::Sandbox;
use super::procs::{http_get, spawn_logged, wait_for};
use crate::process::pid_runs;

impl Sandbox {
    pub(super) fn etcd_data(&self) -> PathBuf {
        self.ha_dir().join("etcd/data")
    }

    pub(super) fn start_etcd(&mut self, bin: &Path) -> anyhow::Result<()> {
        let Some(h) = self.state.ha.clone() else {
            return Ok(());
        };
        let dir = self.ha_dir().join("etcd");
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        let log = dir.join("etcd.log");
        let client = format!("http://127.0.0.1:{}", h.etcd.port);
        let peer = format!("http://127.0.0.1:{}", h.etcd_peer_port);
        let mut cmd = Command::new(bin);
        cmd.arg("--name")
            .arg("etcd")
            .arg("--data-dir")
            .arg(self.etcd_data())
            .arg("--listen-client-urls")
            .arg(&client)
            .arg("--advertise-client-urls")
            .arg(&client)
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(format!("etcd={peer}"))
            .current_dir(&dir);
        let pid = spawn_logged(cmd, &log, None)?;
        if let Some(h) = self.state.ha.as_mut() {
            h.etcd.pid = Some(pid);
        }
        self.record_ha()?;
        let needle = self.etcd_data().to_string_lossy().into_owned();
        wait_for(
            &format!("etcd on 127.0.0.1:{}", h.etcd.port),
            Duration::from_secs(20),
            &log,
            &|| pid_runs(pid, &needle),
            &mut || {
                http_get(h.etcd.port, "/health")
                    .filter(|(status, body)| *status == 200 && body.contains("true"))
            },
        )?;
        Ok(())
    }
}
