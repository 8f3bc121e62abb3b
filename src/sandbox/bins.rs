//! Finding the PostgreSQL server binaries (the newest major installed) and their version.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context as _};

use super::HINT_PG;

pub(super) fn find_pg_bindir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = newest_versioned_bindir(Path::new("/usr/lib/postgresql")) {
        return Ok(dir);
    }
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && is_executable(&dir.join("initdb")) {
            return Ok(dir);
        }
    }
    if let Some(initdb) = which("initdb") {
        if let Some(dir) = initdb.parent() {
            return Ok(dir.to_path_buf());
        }
    }
    bail!("PostgreSQL server binaries not found (no initdb in /usr/lib/postgresql/*/bin, `pg_config --bindir` or PATH)\n{HINT_PG}")
}

/// Highest `<root>/<major>/bin` holding initdb: several majors side by side is normal on Debian.
fn newest_versioned_bindir(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .flatten()
        .filter_map(|e| {
            let version = parse_version(&e.file_name().to_string_lossy())?;
            let bin = e.path().join("bin");
            is_executable(&bin.join("initdb")).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// "15" -> [15], "9.6" -> [9, 6]; anything else is not a version directory.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|p| p.parse().ok()).collect()
}

pub(super) fn pg_server_version(bindir: &Path) -> anyhow::Result<String> {
    let postgres = bindir.join("postgres");
    let out = Command::new(&postgres)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} --version\n{HINT_PG}", postgres.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_pg_version(&text).ok_or_else(|| {
        anyhow!(
            "unexpected output of {} --version: {}\n{HINT_PG}",
            postgres.display(),
            text.trim()
        )
    })
}

/// "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)" -> "15.14"
fn parse_pg_version(out: &str) -> Option<String> {
    let rest = out.split_once("(PostgreSQL)")?.1;
    let v = rest.split_whitespace().next()?;
    v.starts_with(|c: char| c.is_ascii_digit())
        .then(|| v.to_string())
}

pub(super) fn pg_major(version: &str) -> u32 {
    version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

pub(super) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

pub(super) fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("15"), Some(vec![15]));
        assert_eq!(parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(parse_version("common"), None);
        assert!(parse_version("17") > parse_version("9.6"));
        assert_eq!(
            parse_pg_version("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n").as_deref(),
            Some("15.14")
        );
        assert_eq!(
            parse_pg_version("postgres (PostgreSQL) 17beta1").as_deref(),
            Some("17beta1")
        );
        assert_eq!(parse_pg_version("garbage"), None);
        assert_eq!(pg_major("15.14"), 15);
        assert_eq!(pg_major("17beta1"), 17);
    }

    #[test]
    fn newest_bindir_wins() {
        let root = std::env::temp_dir().join(format!("opsbook-sbx-unit-{}", std::process::id()));
        for v in ["9.6", "15", "16", "common"] {
            let bin = root.join(v).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            if v != "16" {
                let f = bin.join("initdb");
                std::fs::write(&f, "").unwrap();
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        assert_eq!(newest_versioned_bindir(&root), Some(root.join("15/bin")));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
