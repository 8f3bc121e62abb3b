//! A connected PostgreSQL session of ours: application_name `opsbook`, statement_timeout and
//! lock_timeout set, the server version known.

use std::time::Duration;

use anyhow::Context as _;
use tokio_postgres::Client;

use super::pg::PgOptions;

/// Timeouts every session of ours carries.
#[derive(Debug, Clone, Copy)]
pub struct SessionTimeouts {
    pub connect: Duration,
    pub statement: Duration,
    pub lock: Duration,
}

pub struct PgClient {
    pub client: Client,
    pub options: PgOptions,
    /// server_version_num, e.g. 150019
    pub version_num: i32,
    /// server_version, e.g. "15.19 (Debian 15.19-0+deb12u1)"
    pub version: String,
}

impl PgClient {
    pub async fn connect(options: &PgOptions, t: SessionTimeouts) -> anyhow::Result<PgClient> {
        let client = options.connect(t.connect, t.statement, t.lock).await?;
        let row = client
            .query_one(
                "SELECT current_setting('server_version_num')::int, current_setting('server_version')",
                &[],
            )
            .await
            .with_context(|| format!("reading the server version of {options}"))?;
        Ok(PgClient {
            client,
            options: options.clone(),
            version_num: row.get(0),
            version: row.get(1),
        })
    }

    /// The major version (15 for 150019, 9 for 90624 is not supported anyway).
    pub fn major(&self) -> u32 {
        (self.version_num / 10000) as u32
    }
}
