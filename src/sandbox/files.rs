//! The sandbox's directories and files: creating the tree the postgres account can walk,
//! writing files with their mode, and the `opsbook.yaml` that points opsbook at the sandbox.

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};

use super::Sandbox;
use crate::passwd::Account;

pub(super) fn has_entries(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => {
            Err(anyhow!(e).context(format!("reading the sandbox directory {}", dir.display())))
        }
    }
}

/// create_dir_all, with the directories we create (not pre-existing ones) made 0755: the
/// postgres user has to walk through them, whatever our umask.
pub(super) fn create_dir_reachable(dir: &Path) -> anyhow::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the sandbox directory {}", dir.display()))?;
    for p in missing.iter().chain(std::iter::once(&dir)) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("setting the mode of {}", p.display()))?;
    }
    Ok(())
}

/// Every ancestor must be searchable by the postgres user. Only its primary group counts:
/// std drops supplementary groups when it switches uid.
pub(super) fn check_reachable(dir: &Path, from: &Path, a: &Account) -> anyhow::Result<()> {
    for p in from.ancestors() {
        let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        let mode = meta.mode();
        let bit = if meta.uid() == a.uid {
            0o100
        } else if meta.gid() == a.gid {
            0o010
        } else {
            0o001
        };
        if mode & bit == 0 {
            bail!(
                "the {} user cannot reach {}: {} is mode {:o}\nhint: put the sandbox under /tmp (--dir /tmp/opsbook-sandbox), or `chmod o+x {}`",
                a.name,
                dir.display(),
                p.display(),
                mode & 0o7777,
                p.display()
            );
        }
    }
    Ok(())
}

pub(super) fn clear_dir(dir: &Path) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let p = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        removed.with_context(|| format!("removing {}", p.display()))?;
    }
    Ok(())
}

pub(super) fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Create or truncate with `mode` (set again in case the file already existed).
pub(super) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

pub(super) struct RemoveOnDrop(pub(super) PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Plain when safe, else a double-quoted scalar (JSON strings are valid YAML).
pub(super) fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._:@-+".contains(c))
        && !s.starts_with(['@', ':', '-'])
        && !s.contains(": ");
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

pub(super) fn opsbook_yaml(sb: &Sandbox) -> String {
    let d = &sb.state.dir;
    format!(
        "# written by `opsbook sandbox up`; the sandbox's servers are not systemd units\n\
         postgres:\n  url: {}\n\
         redis:\n  url: {}\n\
         backup:\n  dir: {}\n\
         services: []\n\
         host:\n  data_dir: {}\n{}",
        yaml_scalar(&sb.pg_url(sb.database())),
        yaml_scalar(&sb.redis_url()),
        yaml_scalar(&d.join("backups").to_string_lossy()),
        yaml_scalar(&d.join("pg/data").to_string_lossy()),
        super::ha::targets_yaml(sb),
    )
}

pub(super) fn url_path_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
