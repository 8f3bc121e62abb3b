//! The Redis side of the HA stack: a replica of the sandbox's redis-server (`cache-b`) and
//! three Sentinels monitoring the master as `opsbook` with quorum 2. Ready when the replica's
//! link is up and every Sentinel sees the other two and the replica (about two seconds).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::super::exec::log_tail;
use super::super::files::write_file;
use super::super::Sandbox;
use super::procs::{redis_command, wait_for};
use super::HA_NAME;
use crate::process::{pid_runs, read_pid_file};

impl Sandbox {
    pub(super) fn start_redis_replica_and_sentinels(&mut self, bin: &Path) -> anyhow::Result<()> {
        let Some(h) = self.state.ha.clone() else {
            return Ok(());
        };
        let master = self.state.redis_port;
        if master == 0 {
            bail!("sandbox up --ha needs the sandbox's redis-server as the master\nhint: drop --no-redis");
        }
        let r = &h.redis_replica;
        let rdir = self.ha_dir().join(&r.name);
        let conf = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize yes\nsave \"\"\nappendonly no\nmaxmemory 256mb\n\
             dir {dir}\npidfile {pid}\nlogfile {log}\nreplicaof 127.0.0.1 {master}\n",
            port = r.port,
            dir = q(&rdir.to_string_lossy()),
            pid = q(&rdir.join("redis.pid").to_string_lossy()),
            log = q(&rdir.join("redis.log").to_string_lossy()),
        );
        let pid = self.start_redis_conf(bin, &rdir, &conf, false)?;
        if let Some(h) = self.state.ha.as_mut() {
            h.redis_replica.pid = Some(pid);
        }
        self.record_ha()?;
        for (i, s) in h.sentinels.iter().enumerate() {
            let sdir = self.ha_dir().join(&s.name);
            let conf = format!(
                "port {port}\nbind 127.0.0.1\ndaemonize yes\ndir {dir}\npidfile {pid}\n\
                 logfile {log}\n\
                 sentinel monitor {HA_NAME} 127.0.0.1 {master} 2\n\
                 sentinel down-after-milliseconds {HA_NAME} 3000\n\
                 sentinel failover-timeout {HA_NAME} 10000\n\
                 sentinel parallel-syncs {HA_NAME} 1\n",
                port = s.port,
                dir = q(&sdir.to_string_lossy()),
                pid = q(&sdir.join("sentinel.pid").to_string_lossy()),
                log = q(&sdir.join("sentinel.log").to_string_lossy()),
            );
            let pid = self.start_redis_conf(bin, &sdir, &conf, true)?;
            if let Some(st) = self.state.ha.as_mut().and_then(|h| h.sentinels.get_mut(i)) {
                st.pid = Some(pid);
            }
            self.record_ha()?;
        }
        let log = rdir.join("redis.log");
        let needle = format!("127.0.0.1:{}", r.port);
        wait_for(
            &format!(
                "the Redis replica on 127.0.0.1:{} linking to its master",
                r.port
            ),
            Duration::from_secs(20),
            &log,
            &|| pid_runs(pid, &needle),
            &mut || {
                redis_command(r.port, "INFO replication")
                    .filter(|t| t.contains("master_link_status:up"))
            },
        )?;
        for s in &h.sentinels {
            let log = self.ha_dir().join(&s.name).join("sentinel.log");
            let pid = self
                .ha()
                .and_then(|h| h.sentinels.iter().find(|x| x.name == s.name))
                .and_then(|x| x.pid);
            let needle = format!("127.0.0.1:{}", s.port);
            let replica = format!("{}", r.port);
            wait_for(
                &format!(
                    "Sentinel {} on 127.0.0.1:{} meeting the others",
                    s.name, s.port
                ),
                Duration::from_secs(30),
                &log,
                &|| pid.is_some_and(|p| pid_runs(p, &needle)),
                &mut || {
                    let q = redis_command(s.port, &format!("SENTINEL CKQUORUM {HA_NAME}"))?;
                    let reps = redis_command(s.port, &format!("SENTINEL REPLICAS {HA_NAME}"))?;
                    (q.contains("OK 3 usable") && reps.contains(&replica)).then_some(())
                },
            )?;
        }
        Ok(())
    }

    /// redis-server with a config file (Sentinel rewrites its own, so it must be a file),
    /// daemonised; its pid from the pid file once it answers PING.
    fn start_redis_conf(
        &self,
        bin: &Path,
        dir: &Path,
        conf: &str,
        sentinel: bool,
    ) -> anyhow::Result<u32> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let conf_path = dir.join(if sentinel {
            "sentinel.conf"
        } else {
            "redis.conf"
        });
        write_file(&conf_path, conf.as_bytes(), 0o600)?;
        let console = dir.join("console.out");
        let out = std::fs::File::create(&console)
            .with_context(|| format!("creating {}", console.display()))?;
        let err = out.try_clone().context("duplicating a file handle")?;
        let mut cmd = Command::new(bin);
        cmd.arg(&conf_path);
        if sentinel {
            cmd.arg("--sentinel");
        }
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let status = cmd
            .status()
            .with_context(|| format!("running {}", bin.display()))?;
        let what = if sentinel {
            "redis-sentinel"
        } else {
            "the Redis replica"
        };
        if !status.success() {
            bail!(
                "{what} in {} exited with {status}:\n{}",
                dir.display(),
                log_tail(&console, 0, 20)
            );
        }
        let pidfile = dir.join(if sentinel {
            "sentinel.pid"
        } else {
            "redis.pid"
        });
        let log = dir.join(if sentinel {
            "sentinel.log"
        } else {
            "redis.log"
        });
        wait_for(
            &format!("{what} in {}", dir.display()),
            Duration::from_secs(10),
            &log,
            &|| true,
            &mut || read_pid_file(&pidfile),
        )
    }
}

fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}
