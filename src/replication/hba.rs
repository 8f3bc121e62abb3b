//! pg_hba.conf for replication: which rule the server would pick for the standby's
//! connection (read from `pg_hba_file_rules`, the server's own parse), where our one line
//! goes, and a rewrite that keeps the file's owner and mode, a dated copy and a way back.

use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::clients::postgres::PgClient;

/// One parsed rule, as `pg_hba_file_rules` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub line: i32,
    pub kind: String,
    pub databases: Vec<String>,
    pub users: Vec<String>,
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub method: Option<String>,
    pub error: Option<String>,
}

/// PG 10+. From 16 on, rules can come from included files: we only edit the main file, so
/// only its rules count (rule_number orders them across files).
const RULES_SQL_10: &str = "SELECT line_number, coalesce(type, ''), coalesce(database, '{}'), \
     coalesce(user_name, '{}'), address, netmask, auth_method, error \
     FROM pg_hba_file_rules ORDER BY line_number";
const RULES_SQL_16: &str = "SELECT line_number, coalesce(type, ''), coalesce(database, '{}'), \
     coalesce(user_name, '{}'), address, netmask, auth_method, error \
     FROM pg_hba_file_rules WHERE file_name = current_setting('hba_file') ORDER BY rule_number";

/// The rules of the file as it is on disk now (the view re-reads it on every query).
pub async fn rules(pg: &PgClient) -> anyhow::Result<Vec<Rule>> {
    let sql = if pg.major() >= 16 {
        RULES_SQL_16
    } else {
        RULES_SQL_10
    };
    let rows = pg
        .client
        .query(sql, &[])
        .await
        .context("reading pg_hba_file_rules")?;
    rows.iter()
        .map(|r| {
            Ok(Rule {
                line: r.try_get(0)?,
                kind: r.try_get(1)?,
                databases: r.try_get(2)?,
                users: r.try_get(3)?,
                address: r.try_get(4)?,
                netmask: r.try_get(5)?,
                method: r.try_get(6)?,
                error: r.try_get(7)?,
            })
        })
        .collect()
}

/// Our line: `host replication <user> <addr>/32 scram-sha-256` (/128 for IPv6).
pub fn line_for(user: &str, addr: IpAddr) -> String {
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    format!("host    replication     {user}    {addr}/{bits}    scram-sha-256")
}

fn full_mask(addr: IpAddr) -> String {
    if addr.is_ipv4() {
        "255.255.255.255".to_string()
    } else {
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".to_string()
    }
}

/// Could this rule decide a physical replication connection of `user` from `addr`? Forms we
/// cannot evaluate here (groups, regexes, host names, samenet, SSL-only lines) count as "may":
/// our line then goes before them, which is the safe side.
pub fn may_match(rule: &Rule, user: &str, addr: IpAddr) -> bool {
    if rule.error.is_some() || rule.kind == "local" || rule.kind.is_empty() {
        return false;
    }
    // `all` does not cover replication connections; only the `replication` keyword does.
    if !rule.databases.iter().any(|d| d == "replication") {
        return false;
    }
    if !rule
        .users
        .iter()
        .any(|u| u == "all" || u == user || u.starts_with('+') || u.starts_with('/'))
    {
        return false;
    }
    match rule.address.as_deref() {
        None | Some("all") | Some("samehost") | Some("samenet") => true,
        Some(a) => match a.parse::<IpAddr>() {
            Ok(net) => {
                let mask = rule
                    .netmask
                    .as_deref()
                    .and_then(|m| m.parse::<IpAddr>().ok());
                contains(net, mask, addr)
            }
            Err(_) => true,
        },
    }
}

fn contains(net: IpAddr, mask: Option<IpAddr>, addr: IpAddr) -> bool {
    match (net, mask, addr) {
        (IpAddr::V4(n), Some(IpAddr::V4(m)), IpAddr::V4(a)) => {
            let m = u32::from(m);
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), Some(IpAddr::V6(m)), IpAddr::V6(a)) => {
            let m = u128::from(m);
            u128::from(n) & m == u128::from(a) & m
        }
        (n, None, a) => n == a,
        _ => false,
    }
}

/// Exactly the line we would write.
pub fn is_ours(rule: &Rule, user: &str, addr: IpAddr) -> bool {
    rule.kind == "host"
        && rule.databases == ["replication"]
        && rule.users == [user]
        && rule.address.as_deref() == Some(addr.to_string().as_str())
        && rule.netmask.as_deref() == Some(full_mask(addr).as_str())
        && rule.method.as_deref() == Some("scram-sha-256")
}

/// What the file needs for `user` from `addr`.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    /// Our line already decides that connection.
    Present { line: i32 },
    /// Insert our line before this rule (which would decide otherwise), or at the end.
    Insert { before: Option<Rule> },
    /// An earlier rule rejects it on purpose: not ours to override.
    Rejected { rule: Rule },
}

pub fn need(rules: &[Rule], user: &str, addr: IpAddr) -> Need {
    match rules.iter().find(|r| may_match(r, user, addr)) {
        Some(r) if is_ours(r, user, addr) => Need::Present { line: r.line },
        Some(r) if r.method.as_deref() == Some("reject") => Need::Rejected { rule: r.clone() },
        Some(r) => Need::Insert {
            before: Some(r.clone()),
        },
        None => Need::Insert { before: None },
    }
}

/// `text` with `lines` inserted before 1-based line `before` (or appended).
pub fn insert(text: &str, before: Option<usize>, lines: &[String]) -> String {
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    let at = before
        .map(|b| b.saturating_sub(1).min(out.len()))
        .unwrap_or(out.len());
    for (i, l) in lines.iter().enumerate() {
        out.insert(at + i, l.clone());
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// Replace `path` by `text` atomically, keeping its owner and mode: a temp file beside it,
/// fsync, rename. Returns the dated copy of the old content (same owner and mode).
pub fn rewrite(path: &Path, text: &str, stamp: &str) -> anyhow::Result<PathBuf> {
    let path = path
        .canonicalize()
        .with_context(|| format!("resolving {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pg_hba.conf".to_string());
    let copy = path.with_file_name(format!("{name}.opsbook-{stamp}"));
    let old = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    write_like(&path, &copy, &old)?;
    write_like(&path, &path, text.as_bytes())?;
    Ok(copy)
}

/// Put the dated copy's content back (same procedure, so owner and mode stay).
pub fn restore(path: &Path, copy: &Path) -> anyhow::Result<()> {
    let old = std::fs::read(copy).with_context(|| format!("reading {}", copy.display()))?;
    let path = path
        .canonicalize()
        .with_context(|| format!("resolving {}", path.display()))?;
    write_like(&path, &path, &old)
}

/// Write `bytes` to `dest` through a temp file with the owner and mode of `like`.
fn write_like(like: &Path, dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let meta = std::fs::metadata(like).with_context(|| format!("reading {}", like.display()))?;
    let mode = meta.mode() & 0o7777;
    let dir = dest.parent().unwrap_or(Path::new("/"));
    let tmp = dir.join(format!(
        ".{}.opsbook-tmp-{}",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let written = (|| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        // Owner first: chown clears nothing we need, and the mode is set after it.
        if crate::passwd::euid() == 0 {
            std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid())).with_context(
                || format!("giving {} the owner of {}", tmp.display(), like.display()),
            )?;
        }
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", tmp.display()))?;
        std::fs::rename(&tmp, dest)
            .with_context(|| format!("renaming {} to {}", tmp.display(), dest.display()))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        line: i32,
        db: &str,
        user: &str,
        addr: Option<&str>,
        mask: Option<&str>,
        m: &str,
    ) -> Rule {
        Rule {
            line,
            kind: "host".into(),
            databases: vec![db.into()],
            users: vec![user.into()],
            address: addr.map(Into::into),
            netmask: mask.map(Into::into),
            method: Some(m.into()),
            error: None,
        }
    }

    #[test]
    fn finds_the_rule_that_decides() {
        let a: IpAddr = "10.0.1.7".parse().unwrap();
        let rules = vec![
            rule(
                80,
                "all",
                "all",
                Some("0.0.0.0"),
                Some("0.0.0.0"),
                "scram-sha-256",
            ),
            rule(
                90,
                "replication",
                "replicator",
                Some("10.0.1.0"),
                Some("255.255.255.0"),
                "md5",
            ),
            rule(
                91,
                "replication",
                "all",
                Some("10.0.2.0"),
                Some("255.255.255.0"),
                "trust",
            ),
        ];
        // `all` databases never cover replication; the seed's md5 /24 line does.
        assert_eq!(
            need(&rules, "replicator", a),
            Need::Insert {
                before: Some(rules[1].clone())
            }
        );
        assert_eq!(need(&rules, "other", a), Need::Insert { before: None });
        let ours = rule(
            85,
            "replication",
            "replicator",
            Some("10.0.1.7"),
            Some("255.255.255.255"),
            "scram-sha-256",
        );
        let mut with = rules.clone();
        with.insert(1, ours);
        assert_eq!(need(&with, "replicator", a), Need::Present { line: 85 });
        let reject = rule(10, "replication", "all", Some("all"), None, "reject");
        assert!(matches!(
            need(&[reject], "replicator", a),
            Need::Rejected { .. }
        ));
        let v6: IpAddr = "fd00::7".parse().unwrap();
        let r6 = rule(
            5,
            "replication",
            "replicator",
            Some("fd00::"),
            Some("ffff:ffff:ffff:ffff::"),
            "md5",
        );
        assert!(may_match(&r6, "replicator", v6));
        assert!(!may_match(&r6, "replicator", a));
    }

    #[test]
    fn inserts_before_a_line_or_appends() {
        let t = "# c\nhost a\nhost b\n";
        assert_eq!(
            insert(t, Some(3), &["x".into()]),
            "# c\nhost a\nx\nhost b\n"
        );
        assert_eq!(
            insert(t, None, &["x".into(), "y".into()]),
            "# c\nhost a\nhost b\nx\ny\n"
        );
        assert_eq!(
            line_for("replicator", "10.0.1.7".parse().unwrap()),
            "host    replication     replicator    10.0.1.7/32    scram-sha-256"
        );
    }

    #[test]
    fn rewrite_keeps_mode_and_a_copy() {
        let dir = std::env::temp_dir().join(format!("opsbook-hba-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pg_hba.conf");
        std::fs::write(&p, "old\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let copy = rewrite(&p, "new\n", "20260101T000000Z").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), "old\n");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
        restore(&p, &copy).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
