//! The HA engines' processes: started detached (their own process group, output to a log
//! file, reaped by a thread of ours while we live), recorded in `<dir>/ha/pids` for the
//! watchdog (one `pid needle` line each: the needle is what /proc/PID/cmdline must contain
//! before a signal is sent), stopped with SIGTERM then SIGKILL. Plus the small synchronous
//! probes the start-up waits on: an HTTP GET and a Redis command over a plain socket, and
//! HAProxy's `show stat` over its admin socket, each bounded in time and size.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::super::exec::log_tail;
use crate::passwd::Account;
use crate::process::{pid_runs, signal, wait_gone};

/// The most a probe reads from a socket: a stats CSV of a few backends, a /patroni document.
const PROBE_LIMIT: u64 = 256 * 1024;

/// Start `cmd` detached with stdout and stderr appended to `log`, as `run_as` when given.
/// Returns its pid; a thread waits for it so it never lingers as our zombie.
pub(super) fn spawn_logged(
    mut cmd: Command,
    log: &Path,
    run_as: Option<&Account>,
) -> anyhow::Result<u32> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    if let Some(a) = run_as {
        std::os::unix::fs::chown(log, Some(a.uid), Some(a.gid))
            .with_context(|| format!("handing {} to the {} user", log.display(), a.name))?;
        cmd.uid(a.uid)
            .gid(a.gid)
            .env("HOME", &a.home)
            .env("USER", &a.name)
            .env("LOGNAME", &a.name);
    }
    let err = out
        .try_clone()
        .with_context(|| format!("opening {}", log.display()))?;
    crate::process::scrub_pg_env(&mut cmd);
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Ctrl-C on the terminal of `sandbox up` must not reach the servers it leaves running.
        .process_group(0);
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {program} (log {})", log.display()))?;
    let pid = child.id();
    // The parent resumes as soon as the child's exec has replaced its memory, a moment before
    // the kernel records the new argv: until then /proc/PID/cmdline is empty, and a check of
    // what the pid runs (`pid_runs`) would call the new process gone.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline
        && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.is_empty())
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = std::thread::Builder::new()
        .name("opsbook-sandbox-ha".into())
        .spawn(move || child.wait());
    Ok(pid)
}

/// SIGTERM, wait `grace`, then SIGKILL; a no-op when `pid` no longer runs `needle`.
pub(super) fn stop_pid(
    pid: Option<u32>,
    needle: &str,
    what: &str,
    grace: Duration,
) -> anyhow::Result<()> {
    let Some(pid) = pid.filter(|&p| pid_runs(p, needle)) else {
        return Ok(());
    };
    signal(pid, libc::SIGTERM);
    if wait_gone(pid, grace) {
        return Ok(());
    }
    signal(pid, libc::SIGKILL);
    if wait_gone(pid, Duration::from_secs(2)) {
        return Ok(());
    }
    bail!("{what} (pid {pid}) did not stop after SIGTERM and SIGKILL\nhint: check `ps -p {pid}`")
}

/// Poll `ready` every 100 ms until it returns Some or `limit` passes; the error names what
/// was awaited and the tail of its log.
pub(super) fn wait_for<T>(
    what: &str,
    limit: Duration,
    log: &Path,
    alive: &dyn Fn() -> bool,
    ready: &mut dyn FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = ready() {
            return Ok(v);
        }
        if !alive() {
            bail!(
                "{what}: the process exited\nlast lines of {}:\n{}",
                log.display(),
                log_tail(log, 0, 20)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{what}: not ready within {} s\nlast lines of {}:\n{}",
                limit.as_secs(),
                log.display(),
                log_tail(log, 0, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn connect(port: u16) -> Option<TcpStream> {
    let s = TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(500),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    Some(s)
}

/// `GET path` on 127.0.0.1:port (HTTP/1.0, no keep-alive): the status and the body.
pub(super) fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = connect(port)?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut raw = Vec::new();
    s.take(PROBE_LIMIT).read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// One Redis command (inline protocol) on 127.0.0.1:port; the reply as text: a status line
/// without its `+`, a bulk string's payload, an array's elements one per line.
pub(super) fn redis_command(port: u16, command: &str) -> Option<String> {
    let mut s = connect(port)?;
    s.write_all(format!("{command}\r\n").as_bytes()).ok()?;
    let mut r = std::io::BufReader::new(s.take(PROBE_LIMIT));
    let mut out = String::new();
    read_reply(&mut r, &mut out, 0)?;
    Some(out)
}

/// One RESP reply (status, error, integer, bulk string, array; nested up to 4 deep).
fn read_reply(r: &mut impl std::io::BufRead, out: &mut String, depth: u8) -> Option<()> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let line = line.trim_end();
    let (kind, rest) = line.split_at_checked(1)?;
    match kind {
        "+" | "-" | ":" => {
            out.push_str(if kind == "+" { rest } else { line });
            out.push('\n');
        }
        "$" => {
            let n: i64 = rest.parse().ok()?;
            if n >= 0 {
                let mut buf = vec![0u8; usize::try_from(n).ok()? + 2];
                r.read_exact(&mut buf).ok()?;
                out.push_str(&String::from_utf8_lossy(&buf[..buf.len() - 2]));
                out.push('\n');
            }
        }
        "*" if depth < 4 => {
            let n: i64 = rest.parse().ok()?;
            for _ in 0..n.max(0) {
                read_reply(r, out, depth + 1)?;
            }
        }
        _ => return None,
    }
    Some(())
}

/// HAProxy's `show stat` over its admin socket: the CSV text.
pub(super) fn haproxy_show_stat(socket: &Path) -> Option<String> {
    let mut s = std::os::unix::net::UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"show stat\n").ok()?;
    let mut raw = Vec::new();
    s.take(PROBE_LIMIT).read_to_end(&mut raw).ok()?;
    Some(String::from_utf8_lossy(&raw).into_owned())
}
