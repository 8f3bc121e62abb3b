//! `replica-setup standby`: check the replication connection first (nothing is touched when it
//! fails), then pg_basebackup -X stream -R -S <slot> into an empty directory as its future
//! owner, optionally start the server and wait until it streams.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use clap::Args;

use crate::clients::postgres::PgClient;
use crate::clients::tools;
use crate::context::Ctx;
use crate::passwd::Account;
use crate::replication::{self, pg_ctl};
use crate::report::{Finding, Report, Status};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "replica-setup standby",
    page: "commands/replica-setup.md",
    ids: &[
        "replica_setup.connect",
        "replica_setup.data_dir",
        "replica_setup.basebackup",
        "replica_setup.config",
        "replica_setup.start",
        "replica_setup.streaming",
    ],
};

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!("{}{}{}", "Examples:\n  opsbook replica-setup standby --primary 10.0.1.5 --data-dir /var/lib/postgresql/15/main --password-file /root/replicator.pw\n  opsbook replica-setup standby --primary 10.0.1.5:5432 --data-dir /srv/pg/standby --port 5433 --password-file pw --start\n\n\
The replication connection is tried first (IDENTIFY_SYSTEM): a wrong address, password or pg_hba.conf \
line stops it before the data directory is touched. A non-empty directory is refused unless --force, \
which moves it aside to <PATH>.opsbook-moved-<time> (never deletes it). As root, pg_basebackup and \
pg_ctl run as the postgres user; the password reaches them through a 0600 PGPASSFILE.\n\n\
", FINDING_IDS.help(), "\n\
Exit status: 0 OK, 2 CRITICAL (the server did not start or stream), 3 UNKNOWN (usage, connection or \
pg_basebackup error; the data directory is left as it was). See commands/replica-setup.md.")
}

/// Clone a standby from the primary with pg_basebackup and start it streaming
#[derive(Debug, Args)]
pub struct StandbyArgs {
    /// The primary, as HOST or HOST:PORT ([v6]:PORT); port 5432 by default
    #[arg(long, value_name = "HOST[:PORT]")]
    pub primary: String,

    /// The standby's data directory (missing or empty; see --force)
    #[arg(long, value_name = "PATH")]
    pub data_dir: PathBuf,

    /// The port this standby listens on (written to its postgresql.auto.conf)
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// The primary's slot (default: standby_<the address this host reaches the primary from>)
    #[arg(long, value_name = "NAME", value_parser = replication::parse_slot)]
    pub slot: Option<String>,

    /// The replication role
    #[arg(long, value_name = "ROLE", default_value = replication::DEFAULT_USER, value_parser = replication::parse_role)]
    pub user: String,

    /// A file whose first line is the replication password (0600; `replica-setup primary` wrote it)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Start the standby (pg_ctl as the data directory's owner) and wait until it streams
    #[arg(long)]
    pub start: bool,

    /// Move a non-empty data directory aside (dated name) instead of refusing; nothing is deleted
    #[arg(long)]
    pub force: bool,

    /// Seconds to wait for streaming after --start
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub wait: u64,
}

/// HOST, HOST:PORT, [V6] or [V6]:PORT.
pub fn parse_primary(s: &str) -> anyhow::Result<(String, u16)> {
    let bad = || anyhow!("--primary {s}: expected HOST, HOST:PORT or [IPV6]:PORT");
    if let Some(rest) = s.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').ok_or_else(bad)?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if tail.is_empty() => 5432,
            None => return Err(bad()),
        };
        return Ok((host.to_string(), port));
    }
    if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok((s.to_string(), 5432));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => Ok((h.to_string(), p.parse().map_err(|_| bad())?)),
        Some(_) => Err(bad()),
        None if !s.is_empty() => Ok((s.to_string(), 5432)),
        None => Err(bad()),
    }
}

/// A 0700 directory with a 0600 pgpass in it, owned by the account that runs the tools;
/// removed on drop.
struct PassDir(PathBuf);

impl PassDir {
    fn new(
        host: &str,
        port: u16,
        user: &str,
        password: &str,
        owner: Option<&Account>,
    ) -> anyhow::Result<PassDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("opsbook-replica-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let guard = PassDir(dir);
        std::fs::set_permissions(&guard.0, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("setting the mode of {}", guard.0.display()))?;
        let file = guard.file();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .with_context(|| format!("creating {}", file.display()))?;
        use std::io::Write as _;
        let e = replication::pgpass_escape;
        f.write_all(format!("{}:{port}:*:{}:{}\n", e(host), e(user), e(password)).as_bytes())
            .with_context(|| format!("writing {}", file.display()))?;
        if let Some(a) = owner {
            for p in [&guard.0, &file] {
                std::os::unix::fs::chown(p, Some(a.uid), Some(a.gid))
                    .with_context(|| format!("handing {} to {}", p.display(), a.name))?;
            }
        }
        Ok(guard)
    }

    fn file(&self) -> PathBuf {
        self.0.join("pgpass")
    }
}

impl Drop for PassDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Who the tools connect to and as whom; they run as `owner` (None: as ourselves).
#[derive(Clone)]
struct Upstream {
    host: String,
    port: u16,
    user: String,
    pass: Option<PathBuf>,
    owner: Option<Account>,
}

/// Connection settings for the tools, by environment only.
fn conn_env(
    cmd: &mut std::process::Command,
    host: &str,
    port: u16,
    user: &str,
    app: &str,
    pass: Option<&Path>,
) {
    cmd.env("PGHOST", host)
        .env("PGPORT", port.to_string())
        .env("PGUSER", user)
        .env("PGAPPNAME", app)
        .env("PGCONNECT_TIMEOUT", "10");
    if let Some(p) = pass {
        cmd.env("PGPASSFILE", p);
    }
}

fn connect_hint(stderr: &str, addr: &str) -> String {
    if stderr.contains("password authentication failed") {
        "hint: wrong password: --password-file must hold the password `replica-setup primary` wrote (or rotate it there with --rotate-password)".into()
    } else if stderr.contains("no pg_hba.conf entry") {
        format!("hint: the primary does not let this host in: run `opsbook replica-setup primary --standby-addr <this host's address>` on it (it saw {addr})")
    } else if stderr.contains("does not exist") && stderr.contains("slot") {
        "hint: create the slot on the primary: run `opsbook replica-setup primary` there (or pass the --slot it printed)".into()
    } else {
        "hint: check the address and port, that the primary runs and listens there (listen_addresses), and the firewall".into()
    }
}

/// The replication connection before anything is touched: IDENTIFY_SYSTEM proves address,
/// pg_hba.conf and password; returns (system id, server_version_num).
/// psql on a replication connection to the primary (as the data directory's owner, the
/// password by environment), running each of `commands`.
fn replication_psql(psql: &Path, up: &Upstream, commands: &[&str]) -> std::process::Command {
    let mut cmd = pg_ctl::command_as(psql, up.owner.as_ref());
    conn_env(
        &mut cmd,
        &up.host,
        up.port,
        &up.user,
        "opsbook-replica-setup",
        up.pass.as_deref(),
    );
    cmd.args([
        "-X",
        "-A",
        "-t",
        "-w",
        "-d",
        "dbname=replication replication=true",
    ]);
    for c in commands {
        cmd.args(["-c", c]);
    }
    cmd
}

fn probe_primary(psql: &Path, up: &Upstream, slot: &str) -> anyhow::Result<(String, u32)> {
    let (host, port, user) = (up.host.as_str(), up.port, up.user.as_str());
    let mut cmd = replication_psql(psql, up, &["IDENTIFY_SYSTEM", "SHOW server_version_num"]);
    let out = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .with_context(|| format!("running {}", psql.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() {
        bail!(
            "replica-setup standby: connecting to the primary {host}:{port} as {user} for replication failed; the data directory was not touched:\n  {}\n{}",
            stderr.lines().collect::<Vec<_>>().join("\n  "),
            connect_hint(&stderr, host)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let sysid = lines
        .first()
        .and_then(|l| l.split('|').next())
        .unwrap_or("")
        .to_string();
    let version: u32 = lines
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| {
            anyhow!("replica-setup standby: unexpected answer from the primary: {text}")
        })?;
    // READ_REPLICATION_SLOT (PG 15+) tells a missing slot now rather than after the copy starts.
    if version >= 150000 {
        let mut cmd = replication_psql(psql, up, &[&format!("READ_REPLICATION_SLOT {slot}")]);
        let out = cmd
            .output()
            .with_context(|| format!("running {}", psql.display()))?;
        let row = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && row.trim().starts_with('|') {
            bail!("replica-setup standby: the primary {host}:{port} has no replication slot {slot}; the data directory was not touched\nhint: run `opsbook replica-setup primary --standby-addr <this host>` on the primary (it creates the slot), or pass the --slot it printed");
        }
    }
    Ok((sysid, version))
}

fn is_empty_dir(p: &Path) -> anyhow::Result<Option<bool>> {
    match std::fs::read_dir(p) {
        Ok(mut it) => Ok(Some(it.next().is_none())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!(e).context(format!("reading {}", p.display()))),
    }
}

/// pg_basebackup with its progress (`-P`: "12345/67890 kB (18%)") on a bar when on a terminal.
fn basebackup(
    bin: &Path,
    up: &Upstream,
    slot: &str,
    data: &Path,
    progress: bool,
) -> anyhow::Result<u64> {
    let (owner, host, port, user, pass) = (
        up.owner.as_ref(),
        up.host.as_str(),
        up.port,
        up.user.as_str(),
        up.pass.as_deref(),
    );
    let mut cmd = pg_ctl::command_as(bin, owner);
    conn_env(&mut cmd, host, port, user, slot, pass);
    cmd.arg("-D")
        .arg(data)
        .args(["-X", "stream", "-R", "-S", slot, "-c", "fast", "-P", "-w"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", bin.display()))?;
    let bar = progress.then(|| {
        let pb = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::stderr_with_hz(4),
        );
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "pg_basebackup [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb
    });
    let mut messages = Vec::new();
    let mut total_kb = 0u64;
    if let Some(stderr) = child.stderr.take() {
        let mut r = BufReader::new(stderr);
        let mut buf = Vec::new();
        // Progress lines end in '\r', messages in '\n'.
        loop {
            buf.clear();
            let mut byte = [0u8; 1];
            let mut got = false;
            while r.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
                got = true;
                if byte[0] == b'\r' || byte[0] == b'\n' {
                    break;
                }
                buf.push(byte[0]);
            }
            if !got {
                break;
            }
            let line = String::from_utf8_lossy(&buf).trim().to_string();
            if let Some((done, total)) = parse_progress(&line) {
                total_kb = total;
                if let Some(pb) = &bar {
                    pb.set_length(total * 1024);
                    pb.set_position(done * 1024);
                }
            } else if !line.is_empty() {
                messages.push(line);
            }
        }
        let _ = r.fill_buf();
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    let status = child.wait().context("waiting for pg_basebackup")?;
    if !status.success() {
        let tail = messages[messages.len().saturating_sub(8)..].join("\n  ");
        let hint = connect_hint(&tail, host);
        bail!(
            "pg_basebackup from {host}:{port} into {} failed ({status}):\n  {tail}\n{hint}",
            data.display()
        );
    }
    Ok(total_kb * 1024)
}

/// "  23456/23456 kB (100%), 1/1 tablespace" -> (23456, 23456)
fn parse_progress(line: &str) -> Option<(u64, u64)> {
    let (nums, _) = line.trim().split_once(" kB")?;
    let (done, total) = nums.trim().split_once('/')?;
    Some((done.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// pg_basebackup -R writes the pgpass path it was given into primary_conninfo, not the
/// password: ours is temporary. Drop `passfile=...` and put the password in the conninfo, as
/// `-R` does for a password given any other way: postgresql.auto.conf is 0600 and the
/// server's own, the place PostgreSQL keeps it.
fn fix_conninfo(conf: &str, password: Option<&str>) -> String {
    let mut out = String::new();
    for line in conf.lines() {
        if line.trim_start().starts_with("primary_conninfo") {
            let mut l = strip_passfile_line(line);
            if let (Some(pw), Some(open)) = (password, l.find('\'')) {
                if !l.contains("password=") {
                    // conninfo quoting (\ and \'), then the config file's ('').
                    let value = format!("'{}'", pw.replace('\\', "\\\\").replace('\'', "\\'"));
                    l.insert_str(
                        open + 1,
                        &format!("password={} ", value.replace('\'', "''")),
                    );
                }
            }
            out.push_str(&l);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn strip_passfile_line(line: &str) -> String {
    let Some(start) = line.find("passfile=") else {
        return line.to_string();
    };
    let rest = &line[start + "passfile=".len()..];
    // In postgresql.auto.conf the conninfo is single-quoted, so its own quotes are doubled.
    let end = if let Some(q) = rest.strip_prefix("''") {
        match q.find("''") {
            Some(i) => 2 + i + 2,
            None => return line.to_string(),
        }
    } else {
        rest.find(' ').unwrap_or(rest.len())
    };
    let mut s = format!("{}{}", &line[..start], rest[end..].trim_start());
    if s.contains("  ") {
        s = s.replace("  ", " ");
    }
    s
}

pub async fn run(args: &StandbyArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let mut report = Report::new("replica-setup standby");
    let (host, port) = parse_primary(&args.primary)?;
    let data = std::path::absolute(&args.data_dir)
        .with_context(|| format!("resolving {}", args.data_dir.display()))?;
    let slot = match &args.slot {
        Some(s) => s.clone(),
        None => {
            let peer: Option<IpAddr> =
                std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                    .ok()
                    .and_then(|mut it| it.next())
                    .map(|a| a.ip());
            match peer.and_then(replication::route_source) {
                Some(me) => replication::default_slot(&me),
                None => bail!("replica-setup standby: cannot tell which address this host reaches {host} from, to name the slot\nhint: pass --slot (replica-setup primary printed it)"),
            }
        }
    };
    // 0. A primary Patroni manages: its members join through Patroni.
    let address = crate::ha::addr::normal(&host, port);
    let managed = match crate::ha::managed::by_inventory(&ctx.config.targets, &address) {
        Some(m) => Some(crate::ha::managed::with_scope(m).await),
        None => crate::ha::managed::by_default_api(&host).await,
    };
    if let Some(m) = managed {
        bail!(
            "{}",
            super::patroni_refusal("replica-setup standby", &address, &m)
        );
    }
    // 1. Refusals that need no server.
    let existing = is_empty_dir(&data)?;
    if existing.is_some() && pg_ctl::running_pid(&data).is_some() {
        bail!("replica-setup standby: a PostgreSQL server is running in {}; nothing was changed\nhint: stop it first, or choose another --data-dir", data.display());
    }
    if existing == Some(false) && !args.force {
        bail!("replica-setup standby: {} is not empty; nothing was changed\nhint: pass --force to move it aside under a dated name (nothing is deleted), or choose an empty --data-dir", data.display());
    }
    if existing.is_none() {
        let parent = data.parent().unwrap_or(Path::new("/"));
        if !parent.is_dir() {
            bail!("replica-setup standby: {} does not exist, so {} cannot be created there\nhint: create the parent directory first", parent.display(), data.display());
        }
    }
    let password = match &args.password_file {
        Some(f) => Some(replication::read_password_file(f)?),
        None if crate::confirm::interactive() => Some(
            dialoguer::Password::new()
                .with_prompt(format!("Password of {} on {host}:{port}", args.user))
                .interact()
                .map_err(|e| anyhow!("reading the password on the terminal: {e}"))?,
        ),
        // libpq's own lookup (PGPASSFILE, ~/.pgpass of the data directory's owner).
        None => None,
    };
    let owner = pg_ctl::standby_owner()?;
    let pass = match &password {
        Some(pw) => Some(PassDir::new(&host, port, &args.user, pw, owner.as_ref())?),
        None => None,
    };
    let upstream = Upstream {
        host: host.clone(),
        port,
        user: args.user.clone(),
        pass: pass.as_ref().map(|p| p.file()),
        owner: owner.clone(),
    };

    // 2. The connection, before anything is touched.
    let psql = tools::resolve("psql", 10)?;
    let (sysid, version) = {
        let (psql, up, slot) = (psql.clone(), upstream.clone(), slot.clone());
        tokio::task::spawn_blocking(move || probe_primary(&psql, &up, &slot))
            .await
            .context("the connection thread failed")??
    };
    let major = version / 10000;
    report.push(Finding::ok("replica_setup.connect", format!("replication connection to {host}:{port} as {} works (PostgreSQL {major}, system {sysid})", args.user)));
    let basebackup_bin = tools::resolve("pg_basebackup", major)?;
    let pg_ctl_bin = if args.start {
        let b = tools::resolve("pg_ctl", major)?;
        if tools::tool_major(&b) != Some(major) {
            bail!("replica-setup standby: --start needs the PostgreSQL {major} server (pg_ctl found: {}); nothing was changed\nhint: apt-get install postgresql-{major}", b.display());
        }
        Some(b)
    } else {
        None
    };

    // 3. The directory: moved aside (never deleted) or created, owned by the server's account.
    let mut moved: Option<PathBuf> = None;
    if existing == Some(false) {
        let aside = PathBuf::from(format!(
            "{}.opsbook-moved-{}",
            data.display(),
            replication::stamp()
        ));
        std::fs::rename(&data, &aside)
            .with_context(|| format!("moving {} aside to {}", data.display(), aside.display()))?;
        moved = Some(aside);
    }
    let created = existing.is_none() || moved.is_some();
    if created {
        std::fs::create_dir(&data).with_context(|| format!("creating {}", data.display()))?;
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("setting the mode of {}", data.display()))?;
    if let Some(a) = &owner {
        std::os::unix::fs::chown(&data, Some(a.uid), Some(a.gid))
            .with_context(|| format!("handing {} to {}", data.display(), a.name))?;
    }
    report.push(Finding::ok(
        "replica_setup.data_dir",
        match &moved {
            Some(a) => format!(
                "{} was not empty: moved aside to {} (kept)",
                data.display(),
                a.display()
            ),
            None => format!("{} is empty", data.display()),
        },
    ));

    // 4. The copy.
    let t = Instant::now();
    let copied = {
        let (bin, up, slot, d) = (
            basebackup_bin.clone(),
            upstream.clone(),
            slot.clone(),
            data.clone(),
        );
        let progress = crate::render::show_progress(&ctx.output);
        tokio::task::spawn_blocking(move || basebackup(&bin, &up, &slot, &d, progress))
            .await
            .context("the pg_basebackup thread failed")?
    };
    let bytes = match copied {
        Ok(b) => b,
        Err(e) => {
            // Put everything back as it was: pg_basebackup empties what it wrote.
            let _ = clear(&data);
            if created {
                let _ = std::fs::remove_dir(&data);
            }
            if let Some(a) = &moved {
                let _ = std::fs::rename(a, &data);
            }
            return Err(e.context("the data directory was left as it was"));
        }
    };
    drop(pass);
    report.push(
        Finding::ok(
            "replica_setup.basebackup",
            format!(
                "pg_basebackup -X stream -R -S {slot}: {} copied in {:.1} s",
                crate::render::human_bytes(bytes as f64),
                t.elapsed().as_secs_f64()
            ),
        )
        .value(bytes, "bytes"),
    );

    // 5. This server's own settings.
    let auto = data.join("postgresql.auto.conf");
    let text =
        std::fs::read_to_string(&auto).with_context(|| format!("reading {}", auto.display()))?;
    let mut text = fix_conninfo(&text, password.as_deref());
    if let Some(p) = args.port {
        text.push_str(&format!(
            "# added by opsbook replica-setup standby\nport = {p}\n"
        ));
    }
    // Rewritten in place: the file keeps its owner and 0600 mode.
    std::fs::write(&auto, text).with_context(|| format!("writing {}", auto.display()))?;
    report.push(Finding::ok(
        "replica_setup.config",
        format!(
            "{}: primary_conninfo and primary_slot_name = '{slot}' (pg_basebackup -R), standby.signal{}",
            auto.display(),
            args.port.map(|p| format!(", port = {p}")).unwrap_or_default()
        ),
    ));

    // 6. Start and wait for streaming.
    let Some(pg_ctl_bin) = pg_ctl_bin else {
        report.push(Finding::ok("replica_setup.start", "not started (no --start)").hint(format!(
            "start it as its owner (pg_ctl -D {} start, or your service manager), then `opsbook replica status` against it",
            data.display()
        )));
        return Ok(report);
    };
    if !data.join("postgresql.conf").is_file() {
        report.push(Finding::new("replica_setup.start", Status::Critical, format!("{} has no postgresql.conf (the primary keeps its configuration elsewhere), so pg_ctl cannot start it", data.display()))
            .hint("copy the configuration into place (Debian: pg_createcluster layout under /etc/postgresql) and start it with your service manager"));
        return Ok(report);
    }
    let t = Instant::now();
    let phase = crate::progress::Phase::start(&ctx.output, "starting the standby (pg_ctl start)");
    {
        let (bin, d) = (pg_ctl_bin.clone(), data.clone());
        let wait = args.wait;
        tokio::task::spawn_blocking(move || pg_ctl::start(&bin, &d, wait))
            .await
            .context("the pg_ctl thread failed")??;
    }
    report.push(Finding::ok(
        "replica_setup.start",
        format!(
            "started in {} (pg_ctl start, log {})",
            data.display(),
            pg_ctl::log_file(&data).display()
        ),
    ));
    phase.next(format!(
        "waiting for the standby to stream (up to {} s)",
        args.wait
    ));
    report.push(wait_streaming(ctx, args, t).await);
    phase.finish();
    Ok(report)
}

/// A socket directory or a loopback address: where a server started on this machine is
/// reached (a remote --pg host is the primary's, never the new standby's).
fn is_this_host(host: &str) -> bool {
    host.starts_with('/')
        || host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn clear(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = entry?.path();
        if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// Connect to the new standby with the credentials opsbook has for the primary (--pg, PG*,
/// config: the standby is a copy, with the same roles and passwords), on this host (pg_ctl
/// started it here) and --port, and wait until pg_stat_wal_receiver says streaming.
async fn wait_streaming(ctx: &Ctx, args: &StandbyArgs, started: Instant) -> Finding {
    let deadline = started + Duration::from_secs(args.wait);
    let opts = match ctx.pg_options() {
        Ok(o) => {
            let host = (!is_this_host(o.host())).then_some("127.0.0.1");
            let port = args.port.unwrap_or(o.port());
            o.for_clone_at(host, port)
        }
        Err(e) => return Finding::unknown("replica_setup.streaming", &e),
    };
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match PgClient::connect(&opts, ctx.timeouts()).await {
            Ok(c) => match c
                .client
                .query_opt(
                    "SELECT status, sender_host || ':' || sender_port FROM pg_stat_wal_receiver",
                    &[],
                )
                .await
            {
                Ok(Some(r)) => {
                    let status: Option<String> = r.try_get(0).ok().flatten();
                    if status.as_deref() == Some("streaming") {
                        let from: Option<String> = r.try_get(1).ok().flatten();
                        return Finding::ok(
                            "replica_setup.streaming",
                            format!(
                                "streaming from {} {:.1} s after the start",
                                from.unwrap_or_default(),
                                started.elapsed().as_secs_f64()
                            ),
                        )
                        .value_f64(
                            (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
                            "seconds",
                        )
                        .hint("watch it with `opsbook replica status` (here and on the primary)");
                    }
                    last = format!("WAL receiver {}", status.unwrap_or_else(|| "?".into()));
                }
                Ok(None) => last = "no WAL receiver yet".into(),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = crate::report::one_line(&e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = pg_ctl::log_file(&std::path::absolute(&args.data_dir).unwrap_or_default());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    Finding::new(
        "replica_setup.streaming",
        Status::Critical,
        format!("not streaming after {} s: {last}", args.wait),
    )
    .hint(format!(
        "read {} (its last lines are below) and the primary's log",
        log.display()
    ))
    .detail(lines[lines.len().saturating_sub(10)..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standby_is_reached_on_this_host() {
        assert!(is_this_host("/var/run/postgresql"));
        assert!(is_this_host("127.0.0.1"));
        assert!(is_this_host("::1"));
        assert!(is_this_host("localhost"));
        assert!(!is_this_host("10.0.1.5"));
        assert!(!is_this_host("db1.example"));
    }

    #[test]
    fn primary_addresses() {
        assert_eq!(
            parse_primary("10.0.1.5").unwrap(),
            ("10.0.1.5".into(), 5432)
        );
        assert_eq!(parse_primary("db1:5433").unwrap(), ("db1".into(), 5433));
        assert_eq!(
            parse_primary("[fd00::1]:5433").unwrap(),
            ("fd00::1".into(), 5433)
        );
        assert_eq!(parse_primary("fd00::1").unwrap(), ("fd00::1".into(), 5432));
        assert!(parse_primary("db1:x").is_err());
        assert!(parse_primary(":5432").is_err());
    }

    #[test]
    fn progress_and_passfile() {
        assert_eq!(
            parse_progress("  23456/67890 kB (34%), 0/1 tablespace"),
            Some((23456, 67890))
        );
        assert_eq!(parse_progress("pg_basebackup: error: x"), None);
        let line = "primary_conninfo = 'user=replicator passfile=''/tmp/opsbook-replica-1/pgpass'' channel_binding=prefer host=127.0.0.1'";
        assert_eq!(
            strip_passfile_line(line),
            "primary_conninfo = 'user=replicator channel_binding=prefer host=127.0.0.1'"
        );
        assert_eq!(
            fix_conninfo(&format!("# x\n{line}\n"), Some("ab'c")),
            "# x\nprimary_conninfo = 'password=''ab\\''c'' user=replicator channel_binding=prefer host=127.0.0.1'\n"
        );
        let plain = "primary_conninfo = 'user=r passfile=/tmp/p host=h'";
        assert_eq!(
            strip_passfile_line(plain),
            "primary_conninfo = 'user=r host=h'"
        );
    }
}
