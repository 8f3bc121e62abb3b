//! The host: memory and filesystems (sysinfo, statvfs), systemd units (`systemctl`) and the
//! journal (`journalctl`). Where systemd is not PID 1 the unit and journal answers are
//! UNKNOWN with the reason, never a guess.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use tokio::process::Command;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memory {
    pub total: u64,
    /// total - available: what the kernel cannot hand out without reclaiming (free(1)'s "used")
    pub used: u64,
    pub swap_total: u64,
    pub swap_used: u64,
}

impl Memory {
    pub fn used_pct(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / self.total as f64
        }
    }
}

pub fn memory() -> anyhow::Result<Memory> {
    let mut sys = sysinfo::System::new().map_err(|e| anyhow!("reading host memory: {e:?}"))?;
    sys.refresh_memory();
    let total = sys.total_memory();
    if total == 0 {
        bail!("reading host memory: the kernel reported 0 bytes of RAM (is /proc mounted?)");
    }
    Ok(Memory {
        total,
        used: total.saturating_sub(sys.available_memory()),
        swap_total: sys.total_swap(),
        swap_used: sys.used_swap(),
    })
}

/// The CPU time counters of /proc/stat's `cpu` line (all CPUs), in clock ticks since boot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuTimes {
    /// user + nice + system + irq + softirq + steal
    pub busy: f64,
    /// busy + idle + iowait
    pub total: f64,
    /// how many `cpuN` lines: the CPUs the counters add up
    pub cpus: usize,
}

impl CpuTimes {
    /// Share of CPU time busy from `earlier` to `self`, and the wall time that covers (the
    /// ticks of all CPUs over their number and USER_HZ); None when no tick passed or the
    /// counters went back (a reboot in between).
    pub fn busy_since(&self, earlier: &CpuTimes) -> Option<(f64, f64)> {
        let dt = self.total - earlier.total;
        let db = self.busy - earlier.busy;
        if dt <= 0.0 || db < 0.0 {
            return None;
        }
        let secs = dt / (self.cpus.max(1) as f64 * ticks_per_sec());
        Some(((db / dt * 100.0).clamp(0.0, 100.0), secs))
    }
}

/// USER_HZ, the unit of /proc/stat (100 on Linux).
fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// The `cpu` line of /proc/stat's text.
pub fn parse_cpu_times(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse::<f64>().ok())
        .collect::<Option<Vec<_>>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice: inside user and nice]
    if f.len() < 4 {
        return None;
    }
    let at = |i: usize| f.get(i).copied().unwrap_or(0.0);
    let idle = at(3) + at(4);
    let total: f64 = (0..8).map(at).sum();
    let cpus = text
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    Some(CpuTimes {
        busy: total - idle,
        total,
        cpus: cpus.max(1),
    })
}

/// The CPU time counters now (one read of /proc/stat).
pub fn cpu_times() -> anyhow::Result<CpuTimes> {
    let text = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    parse_cpu_times(&text).ok_or_else(|| {
        anyhow!("reading CPU usage: /proc/stat has no `cpu` line (is /proc mounted?)")
    })
}

/// Share of CPU time busy across all cores over `interval`: /proc/stat read twice. Returns
/// the share and the counters at the end.
pub async fn cpu_usage(interval: Duration) -> anyhow::Result<(f64, CpuTimes)> {
    let start = cpu_times()?;
    tokio::time::sleep(interval).await;
    let end = cpu_times()?;
    let (pct, _) = end.busy_since(&start).ok_or_else(|| {
        anyhow!("reading CPU usage: no clock tick passed in {interval:?} (sample longer: monitor.cpu_sample)")
    })?;
    Ok((pct, end))
}

/// Load averages (1, 5, 15 minutes) and the number of logical CPUs they compare with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
    pub cpus: usize,
}

pub fn load() -> anyhow::Result<Load> {
    let l =
        sysinfo::System::load_average().map_err(|e| anyhow!("reading the load average: {e:?}"))?;
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    Ok(Load {
        one: l.one,
        five: l.five,
        fifteen: l.fifteen,
        cpus,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiskUsage {
    /// the path that was asked about
    pub path: PathBuf,
    /// the mount point holding it
    pub mount: PathBuf,
    pub total: u64,
    pub used: u64,
    /// bytes an unprivileged user can still write (df's "Avail")
    pub available: u64,
}

impl DiskUsage {
    /// df's Use%: used / (used + available), which counts root's reserved blocks as unusable.
    pub fn used_pct(&self) -> f64 {
        let denom = self.used + self.available;
        if denom == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / denom as f64
        }
    }
}

/// Usage of the filesystem that holds `path` (statvfs, like df).
pub fn disk_usage(path: &Path) -> anyhow::Result<DiskUsage> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| anyhow!("path {} contains a NUL byte", path.display()))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated string and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("reading filesystem usage of {}", path.display()));
    }
    let frsize = st.f_frsize as u64;
    let total = st.f_blocks as u64 * frsize;
    let free = st.f_bfree as u64 * frsize;
    let available = st.f_bavail as u64 * frsize;
    Ok(DiskUsage {
        path: path.to_path_buf(),
        mount: mount_point(path),
        total,
        used: total.saturating_sub(free),
        available,
    })
}

/// The longest mount point that is a prefix of `path` (from /proc/self/mounts via sysinfo).
fn mount_point(path: &Path) -> PathBuf {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let disks = sysinfo::Disks::new_with_refreshed_list();
    disks
        .ok()
        .and_then(|d| {
            d.iter()
                .map(|disk| disk.mount_point().to_path_buf())
                .filter(|m| canonical.starts_with(m))
                .max_by_key(|m| m.as_os_str().len())
        })
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Why systemd cannot be asked on this host, or None when it can.
pub fn systemd_unavailable() -> Option<String> {
    match std::fs::read_to_string("/proc/1/comm") {
        Ok(comm) if comm.trim() == "systemd" => None,
        Ok(comm) => Some(format!(
            "systemd is not PID 1 on this host (PID 1 is `{}`), so units and the journal cannot be queried",
            comm.trim()
        )),
        Err(e) => Some(format!("cannot read /proc/1/comm to find the init system: {e}")),
    }
}

async fn run(
    cmd: &mut Command,
    what: &str,
    timeout: Duration,
) -> anyhow::Result<std::process::Output> {
    cmd.kill_on_drop(true);
    tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| anyhow!("{what} did not answer within {:.0}s", timeout.as_secs_f64()))?
        .with_context(|| format!("running {what}"))
}

/// `systemctl is-active UNIT`: the state word (active, inactive, failed, activating, ...).
pub async fn unit_state(unit: &str, timeout: Duration) -> anyhow::Result<String> {
    if let Some(why) = systemd_unavailable() {
        bail!(why);
    }
    let out = run(
        Command::new("systemctl").args(["is-active", "--", unit]),
        "systemctl is-active",
        timeout,
    )
    .await?;
    let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if state.is_empty() {
        bail!(
            "systemctl is-active {unit} printed nothing: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(state)
}

/// Journal lines of UNIT in the last `since` that mention "error" (case-insensitive, like the
/// seed's `grep -i error`): the count and the last five lines.
pub async fn journal_errors(
    unit: &str,
    since: Duration,
    timeout: Duration,
) -> anyhow::Result<(u64, Vec<String>)> {
    if let Some(why) = systemd_unavailable() {
        bail!(why);
    }
    let since_arg = format!("-{}s", since.as_secs());
    let out = run(
        Command::new("journalctl").args([
            "--no-pager",
            "--quiet",
            "--output=short-iso",
            "--unit",
            unit,
            "--since",
            &since_arg,
        ]),
        "journalctl",
        timeout,
    )
    .await?;
    if !out.status.success() {
        bail!(
            "journalctl -u {unit} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(count_error_lines(&String::from_utf8_lossy(&out.stdout)))
}

fn count_error_lines(text: &str) -> (u64, Vec<String>) {
    let mut count = 0;
    let mut last: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for line in text.lines() {
        if line.to_ascii_lowercase().contains("error") {
            count += 1;
            if last.len() == 5 {
                last.pop_front();
            }
            last.push_back(line.to_string());
        }
    }
    (count, last.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_and_keeps_the_last_five() {
        let text: String = (0..8)
            .map(|i| format!("2026-11-22T08:00:0{i} host bot[1]: ERROR thing {i}\n"))
            .chain(["ok line\n".to_string(), "an Error here\n".to_string()])
            .collect();
        let (n, last) = count_error_lines(&text);
        assert_eq!(n, 9);
        assert_eq!(last.len(), 5);
        assert_eq!(last[4], "an Error here");
        assert!(last[0].contains("thing 4"));
    }

    #[test]
    fn disk_usage_of_root() {
        let d = disk_usage(Path::new("/")).unwrap();
        assert!(d.total > 0);
        assert!(d.used_pct() >= 0.0 && d.used_pct() <= 100.0);
        assert_eq!(d.mount, PathBuf::from("/"));
    }

    #[test]
    fn proc_stat_counters() {
        let text = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n";
        let a = parse_cpu_times(text).unwrap();
        assert_eq!((a.busy, a.total, a.cpus), (150.0, 1000.0, 2));
        let b = CpuTimes {
            busy: 250.0,
            total: 1200.0,
            cpus: 2,
        };
        let (pct, secs) = b.busy_since(&a).unwrap();
        assert_eq!(pct, 50.0);
        assert!((secs - 200.0 / (2.0 * ticks_per_sec())).abs() < 1e-9);
        // A reboot in between: no figure.
        assert!(a.busy_since(&b).is_none());
    }

    #[tokio::test]
    async fn cpu_and_load_are_read() {
        let (p, _) = cpu_usage(Duration::from_millis(200)).await.unwrap();
        assert!((0.0..=100.0).contains(&p), "{p}");
        let l = load().unwrap();
        assert!(l.cpus >= 1 && l.one >= 0.0);
    }

    #[test]
    fn memory_is_read() {
        let m = memory().unwrap();
        assert!(m.total > 0 && m.used <= m.total);
    }
}
