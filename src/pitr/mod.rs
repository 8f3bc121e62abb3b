//! Point-in-time recovery through pgBackRest: opsbook writes the stanza's config, sets the
//! server's archiving up, reads `pgbackrest info --output=json` and `pg_stat_archiver`, and
//! drives `pgbackrest restore` into a new data directory. pgBackRest is the engine; nothing
//! here archives WAL itself.

pub mod archiver;
pub mod info;
pub mod pgbackrest;
pub mod recover;
pub mod rehearsal;
pub mod s3repo;
pub mod setup;

use std::path::PathBuf;

/// The stanza opsbook drives and the pgBackRest config file that describes it.
#[derive(Debug, Clone)]
pub struct Stanza {
    pub name: String,
    pub conf: PathBuf,
}

/// The default config file `pitr setup` writes for a stanza.
pub fn default_conf(stanza: &str) -> PathBuf {
    PathBuf::from(format!("/etc/pgbackrest/opsbook-{stanza}.conf"))
}

/// Stanza names and paths go into archive_command (a shell line) and pgBackRest's INI file:
/// only characters that need no quoting in either.
pub fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
}
