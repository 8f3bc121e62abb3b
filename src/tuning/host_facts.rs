//! What the host says about memory and disks: the cgroup memory limit (v2 and v1), whether the
//! data directory's disk is rotational, and the kernel settings Redis and PostgreSQL warn
//! about. Each reader returns None when it cannot tell (another host, a container without
//! /sys), never an error: the plan then says what it assumed.

use std::path::Path;

use super::pgtune::Disk;

/// Above this a cgroup "limit" is the kernel's way of saying none (v1 writes 2^63 rounded down
/// to the page size).
const NO_LIMIT: u64 = 1 << 62;

/// The lowest memory limit of this process's cgroup and its ancestors (v2 `memory.max`, or v1
/// `memory.limit_in_bytes`), in bytes; None without one.
pub fn cgroup_memory_limit() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup_limit_from(&own, &|p| std::fs::read_to_string(p).ok())
}

/// [`cgroup_memory_limit`] over a `/proc/self/cgroup` text and a file reader (tests).
pub fn cgroup_limit_from(proc_cgroup: &str, read: &dyn Fn(&str) -> Option<String>) -> Option<u64> {
    let parse = |t: Option<String>| -> Option<u64> {
        let v = t?.trim().parse::<u64>().ok()?;
        (v < NO_LIMIT).then_some(v)
    };
    let mut best: Option<u64> = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let files: Vec<String> = if controllers.is_empty() {
            // v2: the limit of every level from ours up to the root applies.
            let mut dirs = Vec::new();
            let mut p = path.trim_end_matches('/').to_string();
            loop {
                dirs.push(format!("/sys/fs/cgroup{p}/memory.max"));
                match p.rfind('/') {
                    Some(i) => p.truncate(i),
                    None => break,
                }
            }
            dirs
        } else if controllers.split(',').any(|c| c == "memory") {
            vec![
                format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"),
                "/sys/fs/cgroup/memory/memory.limit_in_bytes".to_string(),
            ]
        } else {
            continue;
        };
        for f in files {
            if let Some(v) = parse(read(&f)) {
                best = Some(best.map_or(v, |b| b.min(v)));
            }
        }
    }
    best
}

/// The disk under `path` (the data directory): /sys/dev/block/MAJ:MIN/queue/rotational, or its
/// parent's for a partition. None for a path not on this host, a virtual device, no /sys.
pub fn disk_of(path: &Path) -> Option<Disk> {
    use std::os::unix::fs::MetadataExt as _;
    let dev = std::fs::metadata(path).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    if major == 0 {
        return None; // overlayfs, tmpfs, btrfs subvolumes: no block device to ask
    }
    let base = format!("/sys/dev/block/{major}:{minor}");
    let text = std::fs::read_to_string(format!("{base}/queue/rotational"))
        .or_else(|_| std::fs::read_to_string(format!("{base}/../queue/rotational")))
        .ok()?;
    match text.trim() {
        "0" => Some(Disk::Ssd),
        "1" => Some(Disk::Hdd),
        _ => None,
    }
}

/// A number from /proc/sys (vm.overcommit_memory → /proc/sys/vm/overcommit_memory).
pub fn sysctl(name: &str) -> Option<i64> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The bracketed choice of /sys/kernel/mm/transparent_hugepage/enabled (`always`, `madvise`,
/// `never`).
pub fn transparent_hugepages() -> Option<String> {
    let t = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    bracketed(&t)
}

pub fn bracketed(text: &str) -> Option<String> {
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_string())
}

/// The huge page size (/proc/meminfo Hugepagesize), bytes.
pub fn huge_page_size() -> Option<u64> {
    let t = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = t.lines().find(|l| l.starts_with("Hugepagesize:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_takes_the_lowest_limit_up_the_tree_and_max_is_none() {
        let files = |p: &str| -> Option<String> {
            match p {
                "/sys/fs/cgroup/a/b/memory.max" => Some("max\n".into()),
                "/sys/fs/cgroup/a/memory.max" => Some("2147483648\n".into()),
                _ => None,
            }
        };
        assert_eq!(cgroup_limit_from("0::/a/b\n", &files), Some(2 << 30));
        assert_eq!(cgroup_limit_from("0::/\n", &|_| Some("max".into())), None);
    }

    #[test]
    fn v1_reads_the_memory_controller_and_ignores_the_no_limit_value() {
        let files = |p: &str| -> Option<String> {
            (p == "/sys/fs/cgroup/memory/docker/x/memory.limit_in_bytes")
                .then(|| "536870912".into())
        };
        let text = "4:cpu,cpuacct:/docker/x\n3:memory:/docker/x\n";
        assert_eq!(cgroup_limit_from(text, &files), Some(512 << 20));
        let none = |_: &str| Some("9223372036854771712".to_string());
        assert_eq!(cgroup_limit_from("3:memory:/\n", &none), None);
    }

    #[test]
    fn thp_choice() {
        assert_eq!(
            bracketed("always [madvise] never\n").as_deref(),
            Some("madvise")
        );
        assert_eq!(bracketed("garbage"), None);
    }
}
