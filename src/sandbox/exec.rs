//! Running the sandbox's tools: server binaries as the data directory's owner, clients as us
//! over TCP with the pgpass credentials, each to completion (stderr's tail in the error); the
//! tail of a server log, and the loopback ports the servers get.

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::Sandbox;
use crate::passwd::{by_uid as account_by_uid, euid};
use crate::process::scrub_pg_env;

impl Sandbox {
    /// A server binary run as the owner of the data directory: PostgreSQL refuses root, and a
    /// sandbox made by another user must be stopped as that user.
    pub(super) fn pg_tool(&self, name: &str) -> Command {
        self.pg_tool_for(name, &self.data_dir())
    }

    /// As [`Sandbox::pg_tool`], run as the owner of `data`.
    pub(super) fn pg_tool_for(&self, name: &str, data: &Path) -> Command {
        let mut cmd = Command::new(self.state.pg_bindir.join(name));
        scrub_pg_env(&mut cmd);
        cmd.stdin(Stdio::null());
        // The invoking user's cwd (/root) is not readable by postgres and initdb warns about it.
        cmd.current_dir(&self.state.dir);
        if euid() == 0 {
            if let Ok(meta) = std::fs::metadata(data) {
                if meta.uid() != 0 {
                    cmd.gid(meta.gid()).uid(meta.uid());
                    if let Some(a) = account_by_uid(meta.uid()) {
                        cmd.env("HOME", &a.home)
                            .env("USER", &a.name)
                            .env("LOGNAME", &a.name);
                    }
                }
            }
        }
        cmd
    }

    /// A client binary (psql, pg_dump) as the invoking user, over TCP, password from pgpass.
    pub(super) fn client(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.state.pg_bindir.join(name));
        scrub_pg_env(&mut cmd);
        cmd.stdin(Stdio::null())
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.state.pg_port.to_string())
            .env("PGUSER", "postgres")
            .env("PGPASSFILE", self.pgpass_path())
            .env("PGSSLMODE", "disable")
            .env("PGCONNECT_TIMEOUT", "10");
        cmd
    }
}

/// Run to completion; stdout on success, else an error naming `what` with stderr's tail.
pub(super) fn run(cmd: &mut Command, what: &str, hint: &str) -> anyhow::Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .output()
        .with_context(|| format!("{what}: could not run {program}\n{hint}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail = last_lines(stderr.trim(), 15);
    let tail = if tail.is_empty() {
        String::from("(no output)")
    } else {
        tail
    };
    let hint = if hint.is_empty() {
        String::new()
    } else {
        format!("\n{hint}")
    };
    bail!("{what} failed ({}):\n{tail}{hint}", out.status)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines written to a log since byte `from`.
pub(super) fn log_tail(path: &Path, from: u64, n: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        use std::io::Seek as _;
        if f.seek(std::io::SeekFrom::Start(from)).is_ok() {
            let _ = f.read_to_string(&mut text);
        }
    }
    let tail = last_lines(text.trim_end(), n);
    if tail.is_empty() {
        String::from("  (empty)")
    } else {
        tail.lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Kernel-chosen loopback ports, all held at once so they differ, then released for the
/// servers to bind.
pub(super) fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .context("finding a free port on 127.0.0.1")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr().context("reading a free port")?.port()))
        .collect()
}

pub(super) fn port_accepts(port: u16) -> bool {
    port != 0
        && TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_millis(500),
        )
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable() {
        let ports = free_ports(3).unwrap();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|&p| p != 0));
        assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
        for p in ports {
            TcpListener::bind((Ipv4Addr::LOCALHOST, p)).unwrap();
        }
    }
}
