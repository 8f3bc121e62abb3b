//! What `pgbackrest info --output=json` says about one stanza: its backups and the archived
//! WAL range, as findings. The JSON is an array of stanzas, each with `status`, `backup`
//! (label, type, timestamp start/stop, info.size, info.repository.size, lsn start/stop) and
//! `archive` (min/max WAL segment per database id and repository) and `repo` (each
//! repository's key, cipher and status: one per `repoN-*` of the stanza config).

use serde_json::Value;

use crate::render::{human_bytes, human_duration};
use crate::report::{Finding, Status};

/// One backup of the stanza.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub label: String,
    pub kind: String,
    pub start: i64,
    pub stop: i64,
    pub size: u64,
    pub repo_size: u64,
    pub lsn_start: String,
    /// the repository it is in (`repoN`)
    pub repo: i64,
}

/// One repository of the stanza (repo1 local, repo2 the S3 one `pitr setup --remote` adds).
#[derive(Debug, Clone, PartialEq)]
pub struct Repo {
    pub key: i64,
    pub cipher: String,
    pub status_code: i64,
    pub status_message: String,
    pub archive_min: Option<String>,
    pub archive_max: Option<String>,
}

/// One stanza's backups (oldest first), archive range and status.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StanzaInfo {
    pub status_code: i64,
    pub status_message: String,
    pub backups: Vec<Backup>,
    pub archive_min: Option<String>,
    pub archive_max: Option<String>,
    pub repos: Vec<Repo>,
}

/// The archived range of the current database (the highest id) in `repo` (None: every repo).
fn archive_range(archive: &[Value], repo: Option<i64>) -> (Option<String>, Option<String>) {
    let db = |a: &Value| a["database"]["id"].as_i64().unwrap_or(0);
    let current = archive.iter().map(db).max();
    let of_it = || {
        archive.iter().filter(move |a| {
            Some(db(a)) == current
                && repo.is_none_or(|r| a["database"]["repo-key"].as_i64().unwrap_or(1) == r)
        })
    };
    let min = of_it().filter_map(|a| a["min"].as_str()).min();
    let max = of_it().filter_map(|a| a["max"].as_str()).max();
    (min.map(str::to_string), max.map(str::to_string))
}

pub fn parse(json: &Value, stanza: &str) -> anyhow::Result<StanzaInfo> {
    let Some(entry) = json
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"].as_str() == Some(stanza)))
    else {
        anyhow::bail!("pgbackrest info shows no stanza {stanza}\nhint: run `opsbook pitr setup --stanza {stanza}`");
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let backups = entry["backup"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| Backup {
                    label: text(&b["label"]).unwrap_or_default(),
                    kind: text(&b["type"]).unwrap_or_default(),
                    start: b["timestamp"]["start"].as_i64().unwrap_or(0),
                    stop: b["timestamp"]["stop"].as_i64().unwrap_or(0),
                    size: b["info"]["size"].as_u64().unwrap_or(0),
                    repo_size: b["info"]["repository"]["size"].as_u64().unwrap_or(0),
                    lsn_start: text(&b["lsn"]["start"]).unwrap_or_default(),
                    repo: b["database"]["repo-key"].as_i64().unwrap_or(1),
                })
                .collect()
        })
        .unwrap_or_default();
    let archive = entry["archive"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let (archive_min, archive_max) = archive_range(archive, None);
    let repos = entry["repo"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    let key = r["key"].as_i64().unwrap_or(0);
                    let (archive_min, archive_max) = archive_range(archive, Some(key));
                    Repo {
                        key,
                        cipher: text(&r["cipher"]).unwrap_or_default(),
                        status_code: r["status"]["code"].as_i64().unwrap_or(-1),
                        status_message: text(&r["status"]["message"]).unwrap_or_default(),
                        archive_min,
                        archive_max,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(StanzaInfo {
        status_code: entry["status"]["code"].as_i64().unwrap_or(-1),
        status_message: text(&entry["status"]["message"]).unwrap_or_default(),
        backups,
        archive_min,
        archive_max,
        repos,
    })
}

/// pgBackRest's status codes: "no valid backups" (a repository not backed up yet) and
/// "different across repos" (the stanza's, when the repositories' differ).
const NO_BACKUP: i64 = 2;
const MIXED: i64 = 4;

/// `pitr.backups` (the newest backup's age against `max_age` seconds) and `pitr.archive`.
pub fn findings(info: &StanzaInfo, stanza: &str, now: i64, max_age: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    match info.backups.last() {
        None => out.push(
            Finding::new(
                "pitr.backups",
                Status::Critical,
                format!("stanza {stanza} has no backup: nothing to recover from"),
            )
            .subject(stanza)
            .hint("take one: `opsbook pitr backup --type full`"),
        ),
        Some(b) => {
            let age = (now - b.stop).max(0) as f64;
            let fulls = info.backups.iter().filter(|b| b.kind == "full").count();
            let status = Status::above(age, None, Some(max_age));
            out.push(
                Finding::new(
                    "pitr.backups",
                    status,
                    format!(
                        "{} backups ({fulls} full); newest {} ({}) {} ago, {} in the repository",
                        info.backups.len(),
                        b.label,
                        b.kind,
                        human_duration(age),
                        human_bytes(b.repo_size as f64)
                    ),
                )
                .subject(stanza)
                .value_f64(age, "seconds")
                .above(None, Some(max_age))
                .hint_unless_ok("take a backup: `opsbook pitr backup` (schedule it daily)")
                .detail(
                    info.backups
                        .iter()
                        .map(|b| {
                            format!(
                                "{}  {}  repo{}  {}  {}",
                                b.label,
                                b.kind,
                                b.repo,
                                human_bytes(b.size as f64),
                                b.lsn_start
                            )
                        })
                        .collect(),
                ),
            )
        }
    }
    let archive = match (&info.archive_min, &info.archive_max) {
        (Some(min), Some(max)) => Finding::ok(
            "pitr.archive",
            format!("WAL archived from {min} to {max}"),
        ),
        _ => Finding::new(
            "pitr.archive",
            Status::Warning,
            "no WAL archived yet in the repository",
        )
        .hint("check archive_mode/archive_command: `opsbook pitr status`; pg_switch_wal() forces a segment out"),
    };
    // 4: "different across repos": each repository's own status is in pitr.repo.
    let archive = if info.status_code != 0 && info.status_code != MIXED {
        Finding::new(
            "pitr.archive",
            Status::Critical,
            format!("pgBackRest says stanza {stanza}: {}", info.status_message),
        )
        .hint("run `pgbackrest --stanza=NAME check` for the cause")
    } else {
        archive
    };
    out.push(archive.subject(stanza));
    out.extend(repo_findings(info, stanza, now));
    out
}

/// `pitr.repo`, one per repository: its status, backups and archived range.
fn repo_findings(info: &StanzaInfo, stanza: &str, now: i64) -> Vec<Finding> {
    info.repos
        .iter()
        .map(|r| {
            let subject = format!("{stanza}/repo{}", r.key);
            if r.status_code != 0 && r.status_code != NO_BACKUP {
                return Finding::new(
                    "pitr.repo",
                    Status::Critical,
                    format!("repo{}: {}", r.key, r.status_message),
                )
                .subject(subject)
                .hint("`pgbackrest --stanza=NAME --repo=N info` shows the cause (an S3 repository: endpoint, keys, CA)");
            }
            let mine: Vec<&Backup> = info.backups.iter().filter(|b| b.repo == r.key).collect();
            let cipher = if r.cipher.is_empty() || r.cipher == "none" {
                String::new()
            } else {
                format!(", encrypted ({})", r.cipher)
            };
            let wal = match (&r.archive_min, &r.archive_max) {
                (Some(min), Some(max)) => format!("WAL {min} to {max}"),
                _ => "no WAL".to_string(),
            };
            match mine.last() {
                None => Finding::new(
                    "pitr.repo",
                    Status::Warning,
                    format!("repo{}: no backup{cipher}; {wal}", r.key),
                )
                .hint(format!(
                    "take one there: `opsbook pitr backup --type full`{}",
                    if r.key > 1 { " --remote NAME" } else { "" }
                )),
                Some(b) => {
                    let age = (now - b.stop).max(0) as f64;
                    Finding::ok(
                        "pitr.repo",
                        format!(
                            "repo{}: {} backups, newest {} {} ago{cipher}; {wal}",
                            r.key,
                            mine.len(),
                            b.label,
                            human_duration(age)
                        ),
                    )
                    .value_f64(age, "seconds")
                }
            }
            .subject(subject)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = r#"[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000005","min":"000000010000000000000001"}],
      "backup":[{"archive":{"start":"000000010000000000000003","stop":"000000010000000000000003"},
        "database":{"id":1,"repo-key":1},"error":false,
        "info":{"delta":23000000,"repository":{"delta":3000000,"size":3000000},"size":23000000},
        "label":"20261205-001500F","lsn":{"start":"0/3000028","stop":"0/3000100"},
        "prior":null,"reference":null,"timestamp":{"start":1764893700,"stop":1764893710},"type":"full"}],
      "cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7,"version":"15"}],"name":"main",
      "repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]"#;

    #[test]
    fn reads_backups_and_archive_range() {
        let v: Value = serde_json::from_str(INFO).unwrap();
        let i = parse(&v, "main").unwrap();
        assert_eq!(i.backups.len(), 1);
        assert_eq!(i.backups[0].kind, "full");
        assert_eq!(i.backups[0].lsn_start, "0/3000028");
        assert_eq!(i.archive_max.as_deref(), Some("000000010000000000000005"));
        let f = findings(&i, "main", 1764893710 + 60, 86400.0);
        assert_eq!(f[0].status, Status::Ok);
        let f = findings(&i, "main", 1764893710 + 90000, 86400.0);
        assert_eq!(f[0].status, Status::Critical);
        assert!(parse(&v, "other").is_err());
        let repos = repos(&f);
        assert_eq!(repos, vec![("main/repo1".to_string(), Status::Ok)]);
    }

    /// What pgBackRest says with a local repo1 never backed up and an encrypted S3 repo2.
    const TWO: &str = r#"[{"archive":[
        {"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000004","min":"000000010000000000000001"},
        {"database":{"id":1,"repo-key":2},"id":"15-1","max":"000000010000000000000005","min":"000000010000000000000002"}],
      "backup":[{"database":{"id":1,"repo-key":2},"info":{"repository":{"size":10},"size":20},
        "label":"20261205-001500F","lsn":{"start":"0/3000028"},"timestamp":{"start":100,"stop":110},"type":"full"}],
      "name":"main",
      "repo":[{"cipher":"none","key":1,"status":{"code":2,"message":"no valid backups"}},
              {"cipher":"aes-256-cbc","key":2,"status":{"code":0,"message":"ok"}}],
      "status":{"code":4,"message":"different across repos"}}]"#;

    #[test]
    fn each_repository_has_its_own_finding() {
        let v: Value = serde_json::from_str(TWO).unwrap();
        let i = parse(&v, "main").unwrap();
        assert_eq!(i.backups[0].repo, 2);
        assert_eq!(i.archive_min.as_deref(), Some("000000010000000000000001"));
        assert_eq!(i.archive_max.as_deref(), Some("000000010000000000000005"));
        assert_eq!(
            i.repos[1].archive_min.as_deref(),
            Some("000000010000000000000002")
        );
        let f = findings(&i, "main", 170, 86400.0);
        let archive = f.iter().find(|f| f.id == "pitr.archive").unwrap();
        assert_eq!(
            archive.status,
            Status::Ok,
            "mixed repositories are not a broken stanza"
        );
        assert_eq!(
            repos(&f),
            vec![
                ("main/repo1".to_string(), Status::Warning),
                ("main/repo2".to_string(), Status::Ok)
            ]
        );
        let r2 = f
            .iter()
            .find(|f| f.subject.as_deref() == Some("main/repo2"))
            .unwrap();
        assert!(
            r2.summary.contains("encrypted (aes-256-cbc)"),
            "{}",
            r2.summary
        );
        assert!(f[0].detail[0].contains("repo2"), "{:?}", f[0].detail);
    }

    fn repos(f: &[Finding]) -> Vec<(String, Status)> {
        f.iter()
            .filter(|f| f.id == "pitr.repo")
            .map(|f| (f.subject.clone().unwrap_or_default(), f.status))
            .collect()
    }
}
