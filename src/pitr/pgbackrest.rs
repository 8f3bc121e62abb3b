//! Running the `pgbackrest` binary as the account PostgreSQL runs as (its repository and the
//! data directory belong to that account; we may be root). Blocking std code.

use std::path::Path;

use anyhow::{bail, Context as _};

use super::Stanza;
use crate::replication::pg_ctl;

pub const HINT_INSTALL: &str =
    "hint: install pgBackRest (Debian: apt-get install pgbackrest), then run `opsbook pitr setup`";

/// Whether `pgbackrest` is on PATH.
pub fn installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("pgbackrest").is_file()))
}

/// `pgbackrest --config=C --stanza=S <args...> <command>` as the PostgreSQL account; stdout.
pub fn run(stanza: &Stanza, args: &[String], command: &str) -> anyhow::Result<String> {
    if !installed() {
        bail!("pgbackrest {command}: pgbackrest is not installed\n{HINT_INSTALL}");
    }
    if !stanza.conf.is_file() {
        bail!(
            "pgbackrest {command}: no pgBackRest config {} for stanza {}\nhint: set the stanza up with `opsbook pitr setup`, or name its file with --pgbackrest-config / the config's pitr.config",
            stanza.conf.display(),
            stanza.name
        );
    }
    let owner = pg_ctl::standby_owner()?;
    let mut cmd = pg_ctl::command_as(Path::new("pgbackrest"), owner.as_ref());
    cmd.arg(format!("--config={}", stanza.conf.display()))
        .arg(format!("--stanza={}", stanza.name))
        .args(args)
        .arg(command);
    pg_ctl::run(
        &mut cmd,
        &format!("pgbackrest {command} (stanza {})", stanza.name),
    )
    .with_context(|| format!("pgBackRest config {}", stanza.conf.display()))
}

/// `pgbackrest info --output=json` for the stanza, parsed.
pub fn info(stanza: &Stanza) -> anyhow::Result<serde_json::Value> {
    let out = run(stanza, &["--output=json".to_string()], "info")?;
    serde_json::from_str(&out).context("reading the JSON of `pgbackrest info --output=json`")
}
