//! PostgreSQL settings from the memory PostgreSQL may use, the CPUs and the disk type: pgtune's
//! formulas (le0pard/pgtune, `src/features/configuration/configurationSlice.js`), with one
//! change: the memory is not the host's RAM but what is left of it (or of the cgroup limit)
//! once Redis has its `maxmemory`, because pgtune assumes PostgreSQL has the host to itself.

use serde::Serialize;

const KB: u64 = 1024;
const MB: u64 = 1024 * KB;
const GB: u64 = 1024 * MB;

/// pgtune's "DB type".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Web,
    Oltp,
    Dw,
    Mixed,
    Desktop,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Web => "web",
            Profile::Oltp => "oltp",
            Profile::Dw => "dw",
            Profile::Mixed => "mixed",
            Profile::Desktop => "desktop",
        }
    }
}

/// The disk under the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disk {
    Ssd,
    Hdd,
}

/// What the formulas take.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    pub profile: Profile,
    /// bytes PostgreSQL may use: min(RAM, cgroup limit) minus Redis maxmemory
    pub memory: u64,
    pub cpus: u64,
    /// None: could not tell (no recommendation for the disk-dependent settings)
    pub disk: Option<Disk>,
    /// the server's max_connections (reported, never changed)
    pub max_connections: u64,
}

/// A recommended value: bytes for memory settings, a plain number otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Value {
    Bytes(u64),
    Number(f64),
}

impl Value {
    /// The text of `ALTER SYSTEM SET name = '<text>'` (pgtune writes memory in kB/MB/GB).
    pub fn setting_text(self) -> String {
        match self {
            Value::Bytes(b) => {
                let kb = (b / KB).max(1);
                if kb.is_multiple_of(1024 * 1024) {
                    format!("{}GB", kb / (1024 * 1024))
                } else if kb.is_multiple_of(1024) {
                    format!("{}MB", kb / 1024)
                } else {
                    format!("{kb}kB")
                }
            }
            Value::Number(n) if n.fract() == 0.0 => format!("{}", n as i64),
            Value::Number(n) => format!("{n}"),
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Value::Bytes(b) => b as f64,
            Value::Number(n) => n,
        }
    }
}

/// One setting's recommendation, with the formula that made it and why it matters.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub name: &'static str,
    pub value: Value,
    pub formula: String,
    pub why: &'static str,
}

/// Where the formulas come from, for every recommendation's summary.
pub const SOURCE: &str = "pgtune (github.com/le0pard/pgtune, configurationSlice.js)";

/// pgtune's defaults when it sets no parallel settings (fewer than 4 CPUs).
const DEFAULT_MAX_WORKER_PROCESSES: u64 = 8;

/// Memory values of 64MB and more, rounded down to whole MB (pgtune keeps kB: `6105380kB`
/// says nothing more than `5962MB` and is harder to read in a postgresql.auto.conf).
fn readable(v: Value) -> Value {
    match v {
        Value::Bytes(b) if b >= 64 * MB => Value::Bytes(b / MB * MB),
        v => v,
    }
}

pub fn recommend(i: &Inputs) -> Vec<Recommendation> {
    let mut out = recommend_exact(i);
    for r in &mut out {
        r.value = readable(r.value);
    }
    out
}

fn recommend_exact(i: &Inputs) -> Vec<Recommendation> {
    use Profile::*;
    let p = i.profile;
    let mem_kb = i.memory / KB;
    let mut out = Vec::new();
    let mut push = |name, value, formula: String, why| {
        out.push(Recommendation {
            name,
            value,
            formula,
            why,
        })
    };

    let sb_div = if p == Desktop { 16 } else { 4 };
    let sb_kb = mem_kb / sb_div;
    push(
        "shared_buffers",
        Value::Bytes(sb_kb * KB),
        format!("memory / {sb_div}"),
        "PostgreSQL's own page cache; more than ~40 % of RAM starves the OS cache it reads through",
    );
    let (ecs_num, ecs_den) = if p == Desktop { (1, 4) } else { (3, 4) };
    push(
        "effective_cache_size",
        Value::Bytes(mem_kb * ecs_num / ecs_den * KB),
        format!("memory x {ecs_num}/{ecs_den}"),
        "what the planner assumes shared_buffers plus the OS cache hold; it allocates nothing",
    );
    let mwm_div = if p == Dw { 8 } else { 16 };
    let mwm_kb = (mem_kb / mwm_div).min(2 * GB / KB);
    push(
        "maintenance_work_mem",
        Value::Bytes(mwm_kb * KB),
        format!("memory / {mwm_div}, at most 2GB"),
        "VACUUM, CREATE INDEX and each autovacuum worker may use this much",
    );
    let (min_wal, max_wal) = match p {
        Web | Mixed => (GB, 4 * GB),
        Oltp => (2 * GB, 8 * GB),
        Dw => (4 * GB, 16 * GB),
        Desktop => (100 * MB, 2 * GB),
    };
    push(
        "min_wal_size",
        Value::Bytes(min_wal),
        format!(
            "{} for {}",
            Value::Bytes(min_wal).setting_text(),
            p.as_str()
        ),
        "WAL kept for reuse instead of recycled; fewer new segment files under load",
    );
    push(
        "max_wal_size",
        Value::Bytes(max_wal),
        format!(
            "{} for {}",
            Value::Bytes(max_wal).setting_text(),
            p.as_str()
        ),
        "checkpoints forced by WAL volume come less often (each one a burst of writes)",
    );
    push(
        "checkpoint_completion_target",
        Value::Number(0.9),
        "0.9 (the default since PostgreSQL 14, commit bbcc4eb2)".to_string(),
        "spreads a checkpoint's writes over 90 % of the interval",
    );
    let mut wal_kb = 3 * sb_kb / 100;
    if wal_kb > 16 * 1024 {
        wal_kb = 16 * 1024;
    }
    if wal_kb > 14 * 1024 && wal_kb < 16 * 1024 {
        wal_kb = 16 * 1024;
    }
    wal_kb = wal_kb.max(32);
    push(
        "wal_buffers",
        Value::Bytes(wal_kb * KB),
        "3 % of shared_buffers, 32kB to 16MB (16MB when above 14MB)".to_string(),
        "WAL not yet written to disk; more than 16MB rarely helps",
    );
    let dst = if p == Dw { 500.0 } else { 100.0 };
    push(
        "default_statistics_target",
        Value::Number(dst),
        format!("{dst} for {}", p.as_str()),
        "how detailed ANALYZE's statistics are (better plans, slower ANALYZE)",
    );
    if let Some(disk) = i.disk {
        let (rpc, eio, label) = match disk {
            Disk::Ssd => (1.1, 200.0, "SSD"),
            Disk::Hdd => (4.0, 2.0, "rotational disk"),
        };
        push(
            "random_page_cost",
            Value::Number(rpc),
            format!("{rpc} for a {label}"),
            "how much a random read costs the planner against a sequential one",
        );
        push(
            "effective_io_concurrency",
            Value::Number(eio),
            format!("{eio} for a {label}"),
            "how many reads a bitmap heap scan issues ahead",
        );
    }
    let workers = if i.cpus >= 4 {
        let per_gather = i.cpus.div_ceil(2);
        let per_gather = if p == Dw {
            per_gather
        } else {
            per_gather.min(4)
        };
        push(
            "max_worker_processes",
            Value::Number(i.cpus as f64),
            "CPUs".to_string(),
            "background workers of every kind, parallel ones included",
        );
        push(
            "max_parallel_workers_per_gather",
            Value::Number(per_gather as f64),
            if p == Dw {
                "CPUs / 2, rounded up".to_string()
            } else {
                "CPUs / 2, rounded up, at most 4".to_string()
            },
            "workers one query node may start",
        );
        push(
            "max_parallel_workers",
            Value::Number(i.cpus as f64),
            "CPUs".to_string(),
            "parallel workers at once, all queries together",
        );
        push(
            "max_parallel_maintenance_workers",
            Value::Number(i.cpus.div_ceil(2).min(4) as f64),
            "CPUs / 2, rounded up, at most 4".to_string(),
            "workers one CREATE INDEX or VACUUM may start",
        );
        i.cpus
    } else {
        DEFAULT_MAX_WORKER_PROCESSES
    };
    let wm_div = match p {
        Web | Oltp => 1,
        Dw | Mixed => 2,
        Desktop => 6,
    };
    let base = mem_kb.saturating_sub(sb_kb) / ((i.max_connections + workers) * 3);
    let wm_kb = (base / wm_div).max(64);
    push(
        "work_mem",
        Value::Bytes(wm_kb * KB),
        format!(
            "(memory - shared_buffers) / ((max_connections {} + worker processes {workers}) x 3){}, at least 64kB",
            i.max_connections,
            if wm_div > 1 { format!(" / {wm_div}") } else { String::new() }
        ),
        "each sort or hash of each query may use this much before spilling to temp files",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(r: &[Recommendation], name: &str) -> Value {
        r.iter().find(|x| x.name == name).unwrap().value
    }

    /// pgtune's own output for web, 4 GB, 2 CPUs, 200 connections, SSD (its test fixture
    /// numbers): shared_buffers 1GB, effective_cache_size 3GB, maintenance_work_mem 256MB,
    /// wal_buffers 16MB (30 MB clipped), work_mem (4GB-1GB)/((200+8)*3) = 5041kB.
    #[test]
    fn web_4gb_matches_pgtune() {
        let r = recommend(&Inputs {
            profile: Profile::Web,
            memory: 4 * GB,
            cpus: 2,
            disk: Some(Disk::Ssd),
            max_connections: 200,
        });
        assert_eq!(get(&r, "shared_buffers").setting_text(), "1GB");
        assert_eq!(get(&r, "effective_cache_size").setting_text(), "3GB");
        assert_eq!(get(&r, "maintenance_work_mem").setting_text(), "256MB");
        assert_eq!(get(&r, "wal_buffers").setting_text(), "16MB");
        assert_eq!(get(&r, "work_mem").setting_text(), "5041kB");
        assert_eq!(get(&r, "random_page_cost"), Value::Number(1.1));
        assert_eq!(get(&r, "min_wal_size").setting_text(), "1GB");
        assert!(r.iter().all(|x| x.name != "max_worker_processes"));
    }

    #[test]
    fn dw_on_8_cpus_and_an_unknown_disk() {
        let r = recommend(&Inputs {
            profile: Profile::Dw,
            memory: 64 * GB,
            cpus: 8,
            disk: None,
            max_connections: 40,
        });
        assert_eq!(get(&r, "maintenance_work_mem").setting_text(), "2GB");
        assert_eq!(
            get(&r, "max_parallel_workers_per_gather"),
            Value::Number(4.0)
        );
        assert_eq!(get(&r, "default_statistics_target"), Value::Number(500.0));
        assert!(r.iter().all(|x| x.name != "random_page_cost"));
        // (64GB - 16GB) / ((40 + 8) * 3) / 2 = 174762kB, rounded down to whole MB
        assert_eq!(get(&r, "work_mem").setting_text(), "170MB");
        assert_eq!(
            recommend_exact(&Inputs {
                profile: Profile::Dw,
                memory: 64 * GB,
                cpus: 8,
                disk: None,
                max_connections: 40,
            })
            .iter()
            .find(|x| x.name == "work_mem")
            .map(|x| x.value.setting_text())
            .as_deref(),
            Some("174762kB")
        );
    }
}
