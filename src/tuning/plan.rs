//! The plan: each recommendation against the server's current value (a finding per setting),
//! the ALTER SYSTEM statements for the ones that differ with their undo, and the host
//! settings Redis and PostgreSQL warn about.

use std::collections::BTreeMap;

use super::pgtune::{Recommendation, Value, SOURCE};
use super::rollback::{self, Statement};
use super::settings::Setting;
use crate::render::human_bytes;
use crate::report::{Finding, Status};

/// Within this fraction of the recommendation a value is left alone.
const CLOSE_ENOUGH: f64 = 0.05;

/// One setting to change: the statement and the one that undoes it.
#[derive(Debug, Clone)]
pub struct Change {
    pub apply: Statement,
    pub undo: Statement,
    pub needs_restart: bool,
    /// "work_mem 4MB → 5041kB (reload)"
    pub line: String,
}

fn show(v: Value) -> String {
    match v {
        Value::Bytes(b) => human_bytes(b as f64),
        Value::Number(_) => v.setting_text(),
    }
}

/// A finding per setting (`config.setting[<name>]`) and the changes for those that differ.
pub fn compare(
    recs: &[Recommendation],
    current: &BTreeMap<String, Setting>,
) -> (Vec<Finding>, Vec<Change>, Vec<Row>) {
    let mut rows = Vec::new();
    let mut findings = Vec::new();
    let mut changes = Vec::new();
    for r in recs {
        let Some(cur) = current.get(r.name) else {
            continue; // not on this server version (max_parallel_maintenance_workers < 11)
        };
        let Some(now) = cur.number() else { continue };
        // wal_buffers = -1 (the default) is sized by the server itself, 1/32 of shared_buffers
        // up to 16MB: pgtune's rule, and it follows a new shared_buffers at the restart. Setting
        // it would only pin it (and a RESET afterwards leaves pg_settings saying "pending
        // restart" until one, although nothing would change).
        if r.name == "wal_buffers" && matches!(cur.source.as_str(), "default" | "override") {
            findings.push(
                Finding::ok(
                    "config.setting",
                    format!(
                        "wal_buffers {} is sized by the server (-1: 1/32 of shared_buffers, at most 16MB, the rule pgtune follows: {}); kept",
                        cur.display(),
                        r.formula
                    ),
                )
                .subject(r.name)
                .value_f64(now, "bytes"),
            );
            continue;
        }
        let want = r.value.as_f64();
        let differs = (now - want).abs() > CLOSE_ENOUGH * now.abs().max(want.abs());
        let how = if cur.needs_restart() {
            "restart"
        } else {
            "reload"
        };
        let summary = if differs {
            // The setting's name is the finding's subject: the summary starts with what the
            // operator reads first at 80 columns, the change and when it applies.
            format!(
                "{} → {} on {how} ({})",
                cur.display(),
                show(r.value),
                r.formula
            )
        } else {
            format!(
                "{}: close to {} ({}); kept",
                cur.display(),
                show(r.value),
                r.formula
            )
        };
        let mut f = Finding::new(
            "config.setting",
            if differs { Status::Warning } else { Status::Ok },
            summary,
        )
        .subject(r.name)
        .value_f64(want, if cur.is_memory() { "bytes" } else { "" })
        .detail(vec![
            format!("why: {}", r.why),
            format!(
                "formula: {} = {} ({SOURCE})",
                r.formula,
                r.value.setting_text()
            ),
            format!(
                "current: {} (source: {}, context: {}: a {how} applies it)",
                cur.display(),
                cur.source,
                cur.context
            ),
        ]);
        rows.push(Row {
            name: r.name.to_string(),
            current: cur.display(),
            current_source: cur.source.clone(),
            recommended: r.value.setting_text(),
            formula: r.formula.clone(),
            source: SOURCE,
            why: r.why,
            applies_on: how,
            change: differs,
        });
        if differs {
            f = f.hint(format!(
                "opsbook diagnose config --apply (ALTER SYSTEM SET {} = '{}'; then a {how})",
                r.name,
                r.value.setting_text()
            ));
            changes.push(Change {
                apply: Statement::Set {
                    name: r.name.to_string(),
                    value: r.value.setting_text(),
                },
                undo: rollback::undo(cur),
                needs_restart: cur.needs_restart(),
                line: format!(
                    "{}: {} → {} ({})",
                    r.name,
                    cur.display(),
                    r.value.setting_text(),
                    how
                ),
            });
        }
        findings.push(f);
    }
    if let Some(mc) = current.get("max_connections") {
        findings.push(
            Finding::ok(
                "config.setting",
                format!(
                    "max_connections {} (reported, never changed here: it sizes work_mem's share; lower it with a pooler such as PgBouncer in front)",
                    mc.setting
                ),
            )
            .subject("max_connections")
            .value_f64(mc.number().unwrap_or(0.0), "connections"),
        );
    }
    (findings, changes, rows)
}

/// One line of the plan, for the JSON `data.plan` and the table section.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub name: String,
    pub current: String,
    pub current_source: String,
    pub recommended: String,
    pub formula: String,
    pub source: &'static str,
    pub why: &'static str,
    /// "reload" or "restart"
    pub applies_on: &'static str,
    pub change: bool,
}

/// The plan as a table section.
pub fn section(rows: &[Row]) -> crate::report::Section {
    crate::report::Section {
        title: "Plan".to_string(),
        columns: ["SETTING", "CURRENT", "RECOMMENDED", "APPLIES ON", "FORMULA"]
            .map(String::from)
            .to_vec(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.current.clone(),
                    if r.change {
                        r.recommended.clone()
                    } else {
                        format!("{} (kept)", r.recommended)
                    },
                    r.applies_on.to_string(),
                    r.formula.clone(),
                ]
            })
            .collect(),
        fit: Vec::new(),
    }
}

/// What the host settings are, as read (None: could not read).
#[derive(Debug, Clone, Default)]
pub struct HostSettings {
    pub overcommit_memory: Option<i64>,
    pub transparent_hugepage: Option<String>,
    pub swappiness: Option<i64>,
    pub nr_hugepages: Option<i64>,
    pub huge_page_size: Option<u64>,
}

/// Above this shared_buffers, huge pages save the page tables of every backend.
pub const HUGE_PAGES_FROM: u64 = 8 << 30;

/// `config.host[...]`: vm.overcommit_memory (Redis BGSAVE's fork), transparent huge pages
/// (latency spikes in Redis and PostgreSQL), vm.swappiness, huge pages for a large
/// shared_buffers (`huge_pages` as PostgreSQL has it, `shared_buffers` the planned size).
pub fn host_findings(
    h: &HostSettings,
    redis: bool,
    shared_buffers: u64,
    huge_pages: Option<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let unread = |name: &str| {
        Finding::ok(
            "config.host",
            format!("{name}: could not be read here (another host, or no /proc//sys)"),
        )
        .subject(name)
    };
    out.push(match h.overcommit_memory {
        None => unread("vm.overcommit_memory"),
        Some(v) => {
            let bad = redis && v != 1;
            Finding::new(
                "config.host",
                if bad { Status::Warning } else { Status::Ok },
                format!(
                    "vm.overcommit_memory = {v}{}",
                    if bad {
                        ": Redis's BGSAVE and AOF rewrite fork may fail under memory pressure; Redis asks for 1"
                    } else if redis {
                        ": what Redis asks for"
                    } else {
                        ""
                    }
                ),
            )
            .subject("vm.overcommit_memory")
            .value(v, "")
            .hint_unless_ok("sysctl -w vm.overcommit_memory=1 and the same line in /etc/sysctl.d/")
        }
    });
    out.push(match h.transparent_hugepage.as_deref() {
        None => unread("transparent_hugepage"),
        Some(v) => {
            let bad = v == "always";
            Finding::new(
                "config.host",
                if bad { Status::Warning } else { Status::Ok },
                format!(
                    "transparent huge pages: {v}{}",
                    if bad {
                        ": latency spikes and memory bloat in Redis (it warns at start) and PostgreSQL"
                    } else {
                        ""
                    }
                ),
            )
            .subject("transparent_hugepage")
            .hint_unless_ok("echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (never, for Redis), and on the kernel command line transparent_hugepage=madvise")
        }
    });
    out.push(match h.swappiness {
        None => unread("vm.swappiness"),
        Some(v) => {
            let bad = v > 10;
            Finding::new(
                "config.host",
                if bad { Status::Warning } else { Status::Ok },
                format!(
                    "vm.swappiness = {v}{}",
                    if bad {
                        ": the kernel swaps out database memory early (the manual sets 1)"
                    } else {
                        ""
                    }
                ),
            )
            .subject("vm.swappiness")
            .value(v, "")
            .hint_unless_ok("sysctl -w vm.swappiness=1 and the same line in /etc/sysctl.d/")
        }
    });
    if shared_buffers <= HUGE_PAGES_FROM {
        out.push(
            Finding::ok(
                "config.host",
                format!(
                    "huge pages: not needed for shared_buffers {} (from {} on)",
                    human_bytes(shared_buffers as f64),
                    human_bytes(HUGE_PAGES_FROM as f64)
                ),
            )
            .subject("vm.nr_hugepages"),
        );
    } else {
        let page = h.huge_page_size.unwrap_or(2 << 20).max(1);
        // PostgreSQL's shared memory is a little more than shared_buffers; 3 % covers it.
        let need = (shared_buffers + shared_buffers * 3 / 100).div_ceil(page);
        let have = h.nr_hugepages.unwrap_or(0).max(0) as u64;
        let on = matches!(huge_pages, Some("on") | Some("try"));
        let ok = on && have >= need;
        out.push(
            Finding::new(
                "config.host",
                if ok { Status::Ok } else { Status::Warning },
                format!(
                    "huge pages for shared_buffers {}: huge_pages = {}, vm.nr_hugepages = {have} of the {need} needed",
                    human_bytes(shared_buffers as f64),
                    huge_pages.unwrap_or("?")
                ),
            )
            .subject("vm.nr_hugepages")
            .value(have, "pages")
            .hint_unless_ok(format!(
                "sysctl -w vm.nr_hugepages={need} (and in /etc/sysctl.d/), huge_pages = try, then restart PostgreSQL"
            )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::pgtune::{recommend, Disk, Inputs, Profile};

    fn setting(name: &str, v: &str, unit: &str, source: &str, file: &str, ctx: &str) -> Setting {
        Setting {
            name: name.into(),
            setting: v.into(),
            unit: unit.into(),
            source: source.into(),
            context: ctx.into(),
            pending_restart: false,
            sourcefile: file.into(),
        }
    }

    #[test]
    fn a_change_undoes_to_set_for_auto_conf_and_reset_otherwise() {
        let recs = recommend(&Inputs {
            profile: Profile::Web,
            memory: 4 << 30,
            cpus: 2,
            disk: Some(Disk::Ssd),
            max_connections: 200,
        });
        let current: BTreeMap<String, Setting> = [
            setting(
                "work_mem",
                "1024",
                "kB",
                "configuration file",
                "/d/postgresql.auto.conf",
                "user",
            ),
            setting(
                "shared_buffers",
                "16384",
                "8kB",
                "configuration file",
                "/d/postgresql.conf",
                "postmaster",
            ),
            setting(
                "random_page_cost",
                "1.1",
                "",
                "configuration file",
                "/d/postgresql.auto.conf",
                "user",
            ),
            setting(
                "max_connections",
                "200",
                "",
                "configuration file",
                "/d/postgresql.conf",
                "postmaster",
            ),
        ]
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
        let (findings, changes, rows) = compare(&recs, &current);
        let undo = |n: &str| {
            changes
                .iter()
                .find(|c| c.apply.name() == n)
                .map(|c| c.undo.clone())
        };
        assert_eq!(
            undo("work_mem"),
            Some(Statement::Set {
                name: "work_mem".into(),
                value: "1024".into()
            })
        );
        assert_eq!(
            undo("shared_buffers"),
            Some(Statement::Reset {
                name: "shared_buffers".into()
            })
        );
        // 1.1 is what pgtune asks for an SSD: kept, not in the plan.
        assert_eq!(undo("random_page_cost"), None);
        assert!(
            changes
                .iter()
                .find(|c| c.apply.name() == "shared_buffers")
                .unwrap()
                .needs_restart
        );
        let rpc = findings
            .iter()
            .find(|f| f.subject.as_deref() == Some("random_page_cost"))
            .unwrap();
        assert_eq!(rpc.status, Status::Ok);
        assert!(findings
            .iter()
            .any(|f| f.subject.as_deref() == Some("max_connections")));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn host_settings_redis_and_huge_pages() {
        let h = HostSettings {
            overcommit_memory: Some(0),
            transparent_hugepage: Some("always".into()),
            swappiness: Some(1),
            nr_hugepages: Some(0),
            huge_page_size: Some(2 << 20),
        };
        let by = |v: &[Finding], s: &str| {
            v.iter()
                .find(|f| f.subject.as_deref() == Some(s))
                .unwrap()
                .status
        };
        let with_redis = host_findings(&h, true, 16 << 30, Some("try"));
        assert_eq!(by(&with_redis, "vm.overcommit_memory"), Status::Warning);
        assert_eq!(by(&with_redis, "transparent_hugepage"), Status::Warning);
        assert_eq!(by(&with_redis, "vm.swappiness"), Status::Ok);
        assert_eq!(by(&with_redis, "vm.nr_hugepages"), Status::Warning);
        let no_redis = host_findings(&h, false, 1 << 30, None);
        assert_eq!(by(&no_redis, "vm.overcommit_memory"), Status::Ok);
        assert_eq!(by(&no_redis, "vm.nr_hugepages"), Status::Ok);
        let enough = HostSettings {
            nr_hugepages: Some(9000),
            ..h
        };
        assert_eq!(
            by(
                &host_findings(&enough, false, 16 << 30, Some("try")),
                "vm.nr_hugepages"
            ),
            Status::Ok
        );
    }
}
