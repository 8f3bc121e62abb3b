//! The sandbox's redis-server: started daemonised on a free loopback port (no persistence,
//! 256 MB), checked with PING, stopped with SIGTERM then SIGKILL.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};

use super::bins::{is_executable, which};
use super::exec::{free_ports, log_tail};
use super::{Sandbox, HINT_REDIS};
use crate::process::{pid_runs, read_pid_file, signal, wait_gone};

impl Sandbox {
    /// SIGTERM, then SIGKILL after 5 s. A no-op when Redis is not running.
    pub fn stop_redis(&self) -> anyhow::Result<()> {
        let pid = self
            .state
            .redis_pid
            .or_else(|| read_pid_file(&self.redis_dir().join("redis.pid")));
        let Some(pid) = pid.filter(|&p| pid_runs(p, "redis")) else {
            return Ok(());
        };
        signal(pid, libc::SIGTERM);
        if wait_gone(pid, Duration::from_secs(5)) {
            return Ok(());
        }
        signal(pid, libc::SIGKILL);
        if wait_gone(pid, Duration::from_secs(2)) {
            return Ok(());
        }
        bail!(
            "redis-server (pid {pid}, port {}) of the sandbox did not stop after SIGTERM and SIGKILL\nhint: check `ps -p {pid}`",
            self.state.redis_port
        )
    }

    pub(super) fn start_redis(&mut self, bin: &Path) -> anyhow::Result<()> {
        let rdir = self.redis_dir();
        let log = rdir.join("redis.log");
        let pidfile = rdir.join("redis.pid");
        let console = rdir.join("redis-server.out");
        for attempt in 1..=3 {
            let port = self.state.redis_port;
            let log_start = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            // Files, not pipes, for its stdio: the daemonised child must not hold a pipe we wait on.
            let out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .open(&console)
                .with_context(|| format!("opening {}", console.display()))?;
            let err = out
                .try_clone()
                .with_context(|| format!("opening {}", console.display()))?;
            let mut cmd = Command::new(bin);
            cmd.arg("--port")
                .arg(port.to_string())
                .args([
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "yes",
                ])
                .arg("--dir")
                .arg(&rdir)
                .arg("--pidfile")
                .arg(&pidfile)
                .arg("--logfile")
                .arg(&log)
                .args(["--maxmemory", "256mb"])
                .current_dir(&rdir)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            let status = cmd.status().with_context(|| {
                format!("running {} for the sandbox\n{HINT_REDIS}", bin.display())
            })?;
            if !status.success() {
                bail!(
                    "redis-server for the sandbox exited with {status}:\n{}\n{HINT_REDIS}",
                    log_tail(&console, 0, 20)
                );
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(pid) = read_pid_file(&pidfile) {
                    if redis_ping(port) {
                        self.state.redis_pid = Some(pid);
                        return Ok(());
                    }
                }
                let tail = log_tail(&log, log_start, 20);
                if tail.contains("Address already in use") && attempt < 3 {
                    self.state.redis_port = free_ports(1)?[0];
                    break;
                }
                if tail.contains("Could not create server TCP listening socket")
                    || Instant::now() > deadline
                {
                    bail!(
                        "redis-server for the sandbox did not answer PING on 127.0.0.1:{port} within 10 s\nlast lines of {}:\n{tail}\n{HINT_REDIS}",
                        log.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        bail!("starting redis-server for the sandbox: no free port after 3 attempts")
    }
}

fn redis_ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

pub(super) fn find_redis_server() -> anyhow::Result<PathBuf> {
    let usual = Path::new("/usr/bin/redis-server");
    if is_executable(usual) {
        return Ok(usual.to_path_buf());
    }
    which("redis-server")
        .ok_or_else(|| anyhow!("redis-server not found (not in /usr/bin nor PATH)\n{HINT_REDIS}"))
}
