//! The local way to a Redis snapshot: when the server runs on this host and opsbook can read
//! its `dir`, ask it to `BGSAVE`, wait for `rdb_last_bgsave_status:ok` with a newer
//! `rdb_last_save_time`, and read `<dir>/<dbfilename>` from the disk. No second copy of the
//! data crosses a socket, and the server's own save is the one an operator knows. A save or an
//! AOF rewrite already running is waited for first (Redis runs one fork at a time), never
//! doubled. Elsewhere (a remote server, a container whose `dir` is not ours, no CONFIG) the
//! replica protocol ([`super::sync`]) is the way, and `Method::Auto` says why in the finding.

use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::place;
use crate::clients::redis::{RedisClient, RedisInfo};

/// `backup --rdb-method`: how the snapshot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// BGSAVE when the server's files are readable here, else the replica protocol.
    Auto,
    Bgsave,
    Sync,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Method, String> {
        match s {
            "auto" => Ok(Method::Auto),
            "bgsave" => Ok(Method::Bgsave),
            "sync" => Ok(Method::Sync),
            _ => Err(format!("{s:?} is not auto, bgsave or sync")),
        }
    }
}

/// The way chosen, and why (the finding's detail says it).
#[derive(Debug, Clone)]
pub enum Chosen {
    Sync {
        why: String,
    },
    /// `auto`: chosen on its own, so a file that turns out not to be the server's (a container
    /// whose `dir` happens to exist here too) falls back to `Sync`.
    Bgsave {
        path: PathBuf,
        why: String,
        auto: bool,
    },
}

impl Chosen {
    pub fn name(&self) -> &'static str {
        match self {
            Chosen::Sync { .. } => "sync",
            Chosen::Bgsave { .. } => "bgsave",
        }
    }
    pub fn why(&self) -> &str {
        match self {
            Chosen::Sync { why } | Chosen::Bgsave { why, .. } => why,
        }
    }
}

/// The longest a save (ours, or one already running) is waited for.
pub const SAVE_WAIT: Duration = Duration::from_secs(3600);
const POLL: Duration = Duration::from_millis(100);

/// Why BGSAVE cannot be used against `url` from here, or the file it writes.
async fn local_file(client: &RedisClient, url: &str) -> Result<PathBuf, String> {
    if !place::is_local(url) {
        return Err(
            "the server is not on this host (its URL is not loopback or a Unix socket)".into(),
        );
    }
    let get = |k: &'static str| async move {
        client
            .config_get(k)
            .await
            .map_err(|e| crate::report::one_line(&e))?
            .remove(k)
            .ok_or_else(|| format!("CONFIG GET {k} gave no answer"))
    };
    let dbfilename = get("dbfilename").await?;
    let dir = PathBuf::from(get("dir").await?);
    if let Some(why) = crate::backup::names::unplain_file_name(&dbfilename) {
        return Err(format!(
            "its dbfilename {dbfilename:?} is not a plain file name: {why}"
        ));
    }
    match std::fs::read_dir(&dir) {
        Ok(_) => Ok(dir.join(dbfilename)),
        Err(e) => Err(format!(
            "its dir {} is not readable here ({e}; a container's own filesystem?)",
            dir.display()
        )),
    }
}

/// The way `method` asks for, checked against what this host can do.
pub async fn choose(method: Method, client: &RedisClient, url: &str) -> anyhow::Result<Chosen> {
    match method {
        Method::Sync => Ok(Chosen::Sync {
            why: "--rdb-method sync".into(),
        }),
        Method::Bgsave => match local_file(client, url).await {
            Ok(path) => Ok(Chosen::Bgsave {
                why: "--rdb-method bgsave".into(),
                path,
                auto: false,
            }),
            Err(why) => bail!("backup --rdb-method bgsave: {why}; nothing was written\nhint: run opsbook on the Redis host as a user that can read its dir, or use --rdb-method sync (the replica protocol, as redis-cli --rdb)"),
        },
        Method::Auto => Ok(match local_file(client, url).await {
            Ok(path) => Chosen::Bgsave {
                why: format!("the server is on this host and its file {} is readable", path.display()),
                path,
                auto: true,
            },
            Err(why) => Chosen::Sync { why },
        }),
    }
}

fn field(info: &RedisInfo, k: &str) -> Option<i64> {
    info.raw.get(k).and_then(|v| v.trim().parse().ok())
}

fn busy(info: &RedisInfo) -> bool {
    field(info, "rdb_bgsave_in_progress") == Some(1)
        || field(info, "aof_rewrite_in_progress") == Some(1)
}

/// Wait until no save or AOF rewrite runs (saying so on the progress line once).
async fn wait_idle(
    client: &RedisClient,
    phase: &crate::progress::Phase,
    deadline: Instant,
) -> anyhow::Result<RedisInfo> {
    let mut said = false;
    loop {
        let info = client.info().await?;
        if !busy(&info) {
            return Ok(info);
        }
        if !said {
            phase.next("waiting for the save or AOF rewrite Redis is already running");
            said = true;
        }
        if Instant::now() > deadline {
            bail!(
                "Redis at {} is still saving or rewriting its AOF after {}s",
                client.url(),
                SAVE_WAIT.as_secs()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Seconds since the epoch, now.
fn now_unix() -> i64 {
    crate::state::now_secs()
}

/// BGSAVE and wait for it (bounded by [`SAVE_WAIT`]; progress on stderr); when it started
/// (seconds since the epoch), for [`open_saved`].
pub async fn save(client: &RedisClient, progress: bool) -> anyhow::Result<i64> {
    let at = client.url().to_string();
    let phase = crate::progress::Phase::start_if(progress, format!("BGSAVE on Redis at {at}"));
    let deadline = Instant::now() + SAVE_WAIT;
    let mut before = wait_idle(client, &phase, deadline).await?;
    // rdb_last_save_time counts seconds: start in a second after the last save, so "newer"
    // cannot be confused with it.
    while field(&before, "rdb_last_save_time").unwrap_or(0) >= now_unix() {
        tokio::time::sleep(POLL).await;
        before = client.info().await?;
    }
    let last = field(&before, "rdb_last_save_time").unwrap_or(0);
    let started = now_unix();
    phase.next(format!("BGSAVE on Redis at {at}"));
    let answer = client.bgsave().await;
    if let Err(e) = answer {
        // Another client started one between our INFO and our BGSAVE: wait for it, once.
        if format!("{e:#}").contains("in progress") {
            wait_idle(client, &phase, deadline).await?;
            client.bgsave().await?;
        } else {
            return Err(e);
        }
    }
    loop {
        let info = client.info().await?;
        let saved = field(&info, "rdb_last_save_time").unwrap_or(0);
        if field(&info, "rdb_bgsave_in_progress") != Some(1) && saved > last {
            if info.rdb_last_bgsave_status != "ok" {
                bail!("Redis at {at}: BGSAVE failed (rdb_last_bgsave_status:{}); its log says why (often a full disk or a dir it cannot write)", info.rdb_last_bgsave_status);
            }
            break;
        }
        if field(&info, "rdb_bgsave_in_progress") != Some(1)
            && info.rdb_last_bgsave_status == "err"
            && saved <= last
        {
            bail!("Redis at {at}: BGSAVE failed (rdb_last_bgsave_status:err); its log says why (often a full disk or a dir it cannot write)");
        }
        if Instant::now() > deadline {
            bail!(
                "Redis at {at}: BGSAVE did not finish within {}s",
                SAVE_WAIT.as_secs()
            );
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(started)
}

/// The file a BGSAVE that started at `started` wrote, opened (the handle keeps that very file
/// even if the server saves again); refused when it is older than the save (not the server's).
pub fn open_saved(path: &std::path::Path, started: i64) -> anyhow::Result<std::fs::File> {
    let file = std::fs::File::open(path).map_err(|e| {
        anyhow::anyhow!("reading the snapshot the server saved as {}: {e}: the server's dir is not this host's directory of that name (a container?)\nhint: use --rdb-method sync", path.display())
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.mtime() + 1 < started {
        bail!("{} was not written by this BGSAVE (modified before it started): the server's dir is not this host's directory of that name (a container?)\nhint: use --rdb-method sync", path.display());
    }
    Ok(file)
}
