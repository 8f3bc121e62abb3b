//! The sandbox's watchdog: a detached shell that stops the servers and removes the directory
//! once the owner process is gone, and the reaping of sandboxes whose owner died (run before
//! every `up`).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::files::{same_dir, write_file};
use super::{Sandbox, SANDBOX_PREFIX, TEST_PREFIX};
use crate::process::{pid_alive, pid_runs, read_pid_file, wait_gone};

const WATCHDOG_PID_FILE: &str = "watchdog.pid";
/// `$0` of the watchdog shell: how `down` recognises it in /proc before signalling a pid.
const WATCHDOG_TAG: &str = "opsbook-sandbox-watchdog";

impl Sandbox {
    /// Sandboxes under `parent` whose owner process has died: stop their servers and remove
    /// them. Best effort, never fails: it runs before `up`, which must not depend on it.
    pub fn reap_stale(parent: &Path) -> Vec<PathBuf> {
        let mut reaped = Vec::new();
        let Ok(entries) = std::fs::read_dir(parent) else {
            return reaped;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with(SANDBOX_PREFIX) || name.starts_with(TEST_PREFIX)) {
                continue;
            }
            // Never follow a symlink into someone else's tree.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = entry.path();
            match Sandbox::load(&path) {
                Ok(Some(sb)) => {
                    let Some(owner) = sb.state.owner_pid else {
                        continue;
                    };
                    if pid_alive(owner) || watchdog_alive(&path) || !same_dir(&sb.state.dir, &path)
                    {
                        continue;
                    }
                    if sb.down().is_ok() {
                        reaped.push(path);
                    }
                }
                // A test sandbox whose owner died before its record was written: no server
                // was started yet, so only files are left.
                Ok(None) => {
                    let owner = name
                        .strip_prefix(TEST_PREFIX)
                        .and_then(|rest| rest.split('-').next())
                        .and_then(|p| p.parse::<u32>().ok());
                    if owner.is_some_and(|p| !pid_alive(p))
                        && std::fs::remove_dir_all(&path).is_ok()
                    {
                        reaped.push(path);
                    }
                }
                Err(_) => {}
            }
        }
        reaped
    }

    /// A detached shell that stops the servers and removes the directory once the owner is
    /// gone, however it died: `atexit` does not run on SIGKILL or Ctrl-C.
    pub(super) fn spawn_watchdog(&self, owner: u32) -> anyhow::Result<()> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg(WATCHDOG_TAG)
            .arg(&self.state.dir)
            .arg(owner.to_string());
        if owner == std::process::id() {
            // EOF on a pipe whose only writer is this process: immediate, and immune to pid reuse.
            cmd.arg("pipe").stdin(owner_pipe_reader()?);
        } else {
            cmd.arg("poll").stdin(Stdio::null());
        }
        cmd.env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .current_dir("/")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: Ctrl-C on the owner's terminal must not reach it.
        .process_group(0);
        let mut child = cmd
            .spawn()
            .context("starting the sandbox watchdog (/bin/sh) that cleans up after its owner")?;
        let pid = child.id();
        if let Err(e) = write_file(
            &self.state.dir.join(WATCHDOG_PID_FILE),
            format!("{pid}\n").as_bytes(),
            0o644,
        ) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        // Reaped when it exits, so a watchdog stopped by down() never lingers as a zombie.
        let _ = std::thread::Builder::new()
            .name("opsbook-sandbox-watchdog".into())
            .spawn(move || child.wait());
        Ok(())
    }

    pub(super) fn stop_watchdog(&self) {
        let Some(pid) = watchdog_pid(&self.state.dir) else {
            return;
        };
        if pid > 1 && pid <= i32::MAX as u32 {
            // SAFETY: kill(2) has no memory effects; the pid was checked against /proc to be
            // this sandbox's watchdog, which leads its own process group (process_group(0)).
            unsafe {
                libc::kill(-(pid as i32), libc::SIGTERM);
            }
        }
        wait_gone(pid, Duration::from_secs(2));
    }
}

/// $1 = sandbox dir, $2 = owner pid, $3 = pipe|poll. Identifies each server by its pid file
/// AND its /proc cmdline before signalling, so a recycled pid is never hit.
const WATCHDOG_SCRIPT: &str = r#"
trap '' HUP INT
dir=$1
owner=$2
if [ "$3" = pipe ]; then
    while read -r _; do :; done
else
    while [ -d "/proc/$owner" ]; do sleep 1; done
fi
[ -f "$dir/sandbox.json" ] || exit 0
runs() { [ -n "$1" ] && tr '\000' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }
# The HA stack (sandbox up --ha): `pid needle` lines; Patroni stops its PostgreSQL, and a
# postmaster a killed Patroni left behind is stopped after it.
ha=
if [ -f "$dir/ha/pids" ]; then
    while read -r p needle; do
        runs "$p" "$needle" && kill -TERM "$p" 2>/dev/null && ha="$ha $p"
    done < "$dir/ha/pids"
fi
for p in $ha; do
    i=0
    while [ "$i" -lt 100 ] && [ -d "/proc/$p" ]; do sleep 0.2; i=$((i + 1)); done
    kill -KILL "$p" 2>/dev/null
done
for f in "$dir"/ha/*/data/postmaster.pid; do
    p=$(head -n 1 "$f" 2>/dev/null)
    runs "$p" "${f%/postmaster.pid}" && kill -QUIT "$p" 2>/dev/null
done
pg=$(head -n 1 "$dir/pg/data/postmaster.pid" 2>/dev/null)
rd=$(head -n 1 "$dir/redis/redis.pid" 2>/dev/null)
runs "$pg" "$dir/pg/data" || pg=
runs "$rd" redis || rd=
spares=
for f in "$dir"/spare/*/postmaster.pid; do
    p=$(head -n 1 "$f" 2>/dev/null)
    runs "$p" "${f%/postmaster.pid}" && kill -INT "$p" 2>/dev/null && spares="$spares $p"
done
[ -n "$pg" ] && kill -INT "$pg" 2>/dev/null
[ -n "$rd" ] && kill -TERM "$rd" 2>/dev/null
for p in $spares; do
    i=0
    while [ "$i" -lt 50 ] && [ -d "/proc/$p" ]; do sleep 0.2; i=$((i + 1)); done
    kill -KILL "$p" 2>/dev/null
done
i=0
while [ "$i" -lt 50 ]; do
    runs "$pg" "$dir/pg/data" || runs "$rd" redis || break
    sleep 0.2
    i=$((i + 1))
done
runs "$pg" "$dir/pg/data" && kill -KILL "$pg" 2>/dev/null
runs "$rd" redis && kill -KILL "$rd" 2>/dev/null
rm -rf -- "$dir"
"#;

/// The read end of a pipe whose write end this process holds until it dies. Both ends are
/// close-on-exec, so no server we start keeps the owner "alive".
fn owner_pipe_reader() -> anyhow::Result<std::io::PipeReader> {
    static PIPE: OnceLock<Result<(std::io::PipeReader, std::io::PipeWriter), String>> =
        OnceLock::new();
    let pipe = PIPE.get_or_init(|| std::io::pipe().map_err(|e| e.to_string()));
    match pipe {
        Ok((reader, _writer)) => reader.try_clone().context("duplicating the watchdog pipe"),
        Err(e) => bail!("creating the watchdog pipe: {e}"),
    }
}

fn watchdog_pid(dir: &Path) -> Option<u32> {
    let pid = read_pid_file(&dir.join(WATCHDOG_PID_FILE))?;
    let marker = format!("{WATCHDOG_TAG} {}", dir.display());
    pid_runs(pid, &marker).then_some(pid)
}

fn watchdog_alive(dir: &Path) -> bool {
    watchdog_pid(dir).is_some()
}
