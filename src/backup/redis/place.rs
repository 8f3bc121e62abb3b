//! Putting a Redis snapshot back. Redis loads an RDB only at start-up, from `<dir>/<dbfilename>`
//! (and not at all with `appendonly yes`, where the AOF wins), so the restore is: turn the
//! running server's save points off (`CONFIG SET save ""`, so the shutdown for the restart does
//! not overwrite the file with the current data), write the decompressed RDB next to
//! `dbfilename`, fsync, keep the old file as `<dbfilename>.pre-restore`, rename the new one in,
//! and let the operator restart the server; `restore --rdb --check` then compares the keys.

use std::io::BufWriter;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::PathBuf;

use anyhow::{bail, Context as _};

use crate::backup::catalog::Entry;
use crate::backup::stream;

/// Where the running server loads its RDB from, and what stands in the way.
#[derive(Debug, Clone)]
pub struct Target {
    pub dir: PathBuf,
    pub dbfilename: String,
    pub appendonly: bool,
}

impl Target {
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.dbfilename)
    }

    /// Why opsbook cannot place the file itself from here, or None.
    pub fn refusal(&self, local: bool) -> Option<String> {
        if self.appendonly {
            return Some("the server runs with appendonly yes: at start it loads the AOF, not the RDB; turn appendonly off in its config, restart, place the RDB, restart, then `CONFIG SET appendonly yes` (it rewrites the AOF from the restored data)".into());
        }
        if !local {
            return Some("the server is not on this host (its URL is not loopback or a Unix socket): run the restore on the Redis host".into());
        }
        if crate::backup::names::unplain_file_name(&self.dbfilename).is_some() {
            return Some(format!(
                "its dbfilename {:?} is not a plain file name",
                self.dbfilename
            ));
        }
        match std::fs::metadata(&self.dir) {
            Ok(m) if m.is_dir() => None,
            _ => Some(format!(
                "its dir {} is not a directory on this host",
                self.dir.display()
            )),
        }
    }
}

/// The steps, in the words the plan prints.
pub fn plan(id: &str, t: &Target, port_hint: &str) -> Vec<String> {
    let path = t.path();
    vec![
        format!("verify {id}: sha256, RDB header, EOF opcode and CRC64"),
        "CONFIG SET save \"\" on the running server, so stopping it does not overwrite the file".into(),
        format!(
            "write the RDB to {}.opsbook-restore, fsync, keep {} as {}.pre-restore, rename the new file in",
            path.display(),
            path.display(),
            path.display()
        ),
        format!("you restart redis-server (e.g. `systemctl restart redis-server`, or `redis-cli {port_hint}shutdown nosave` and start it)"),
        format!("you run `opsbook restore --rdb --check {id}`: keys per database against the manifest"),
    ]
}

/// What was placed.
pub struct Placed {
    pub path: PathBuf,
    pub kept: Option<PathBuf>,
    pub bytes: u64,
}

/// Write the archive's RDB as `t.path()`, keeping the old file. Blocking.
pub fn place(entry: &Entry, t: &Target) -> anyhow::Result<Placed> {
    let path = t.path();
    let tmp = t.dir.join(format!("{}.opsbook-restore", t.dbfilename));
    let old = std::fs::symlink_metadata(&path).ok();
    if old.as_ref().is_some_and(|m| !m.is_file()) {
        bail!(
            "{} is not a regular file: refusing to replace it",
            path.display()
        );
    }
    let _ = std::fs::remove_file(&tmp);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let written = (|| -> anyhow::Result<u64> {
        let mut plain = stream::open_plain(&entry.archive_path, &entry.manifest.compression)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let n = std::io::copy(&mut plain, &mut out)
            .with_context(|| format!("writing {}", tmp.display()))?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        // redis-server must read it: the old file's owner and mode, else the directory's owner.
        let owner = old.clone().or_else(|| std::fs::metadata(&t.dir).ok());
        if let Some(m) = &owner {
            if let Err(e) = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid())) {
                if m.uid() != crate::passwd::euid() {
                    return Err(anyhow::Error::from(e).context(format!(
                        "giving {} to uid {}",
                        tmp.display(),
                        m.uid()
                    )));
                }
            }
        }
        if let Some(m) = &old {
            file.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o777))?;
        }
        file.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        Ok(n)
    })();
    let bytes = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let kept = if old.is_some() {
        let mut kept = t.dir.join(format!("{}.pre-restore", t.dbfilename));
        if kept.exists() {
            let stamp = crate::timefmt::backup_stamp(std::time::SystemTime::now());
            kept = t.dir.join(format!("{}.pre-restore-{stamp}", t.dbfilename));
        }
        std::fs::hard_link(&path, &kept)
            .with_context(|| format!("keeping {} as {}", path.display(), kept.display()))?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    std::fs::File::open(&t.dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", t.dir.display()))?;
    Ok(Placed { path, kept, bytes })
}

/// Is the URL's server on this host (loopback or a Unix socket)?
pub fn is_local(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    match client.get_connection_info().addr() {
        redis::ConnectionAddr::Unix(_) => true,
        redis::ConnectionAddr::Tcp(host, _) | redis::ConnectionAddr::TcpTls { host, .. } => {
            host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

/// `-p PORT ` for the plan's redis-cli line.
pub fn port_hint(url: &str) -> String {
    redis::Client::open(url)
        .ok()
        .and_then(|c| match c.get_connection_info().addr() {
            redis::ConnectionAddr::Tcp(_, port) => Some(format!("-p {port} ")),
            redis::ConnectionAddr::Unix(p) => Some(format!("-s {} ", p.display())),
            _ => None,
        })
        .unwrap_or_default()
}
