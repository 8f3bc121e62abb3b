//! The database operations of a restore, on a maintenance session: look up, create options
//! copied from the old database, drop our own half-restored copy, end sessions, rename.

use std::time::Duration;

use anyhow::Context as _;

use crate::clients::pg::PgOptions;
use crate::clients::postgres::PgClient;
use crate::context::Ctx;
use crate::sql::{quote_ident, quote_literal};

/// A maintenance session on the cluster (never on the target itself, which must be renamed).
pub(super) async fn maintenance(options: &PgOptions, ctx: &Ctx) -> anyhow::Result<PgClient> {
    let mut last = None;
    for db in ["postgres", "template1"] {
        match PgClient::connect(&options.with_dbname(db), ctx.timeouts()).await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| anyhow::anyhow!("no maintenance database"))
        .context("restore: connecting to the postgres (or template1) database to create and rename databases"))
}

pub(super) async fn exists(pg: &PgClient, db: &str) -> anyhow::Result<bool> {
    Ok(pg
        .client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db])
        .await
        .with_context(|| format!("restore: looking up database {db}"))?
        .is_some())
}

/// `CREATE DATABASE` options that copy the old database's owner, encoding and locale.
pub(super) async fn create_options(pg: &PgClient, like: &str) -> anyhow::Result<String> {
    let row = pg
        .client
        .query_opt(
            "SELECT pg_get_userbyid(datdba)::text, pg_encoding_to_char(encoding)::text, \
             datcollate::text, datctype::text FROM pg_database WHERE datname = $1",
            &[&like],
        )
        .await
        .with_context(|| format!("restore: reading the properties of {like}"))?;
    Ok(match row {
        None => String::new(),
        Some(r) => {
            let (owner, enc, collate, ctype): (String, String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            format!(
                " OWNER {} ENCODING {} LC_COLLATE {} LC_CTYPE {}",
                quote_ident(&owner),
                quote_literal(&enc),
                quote_literal(&collate),
                quote_literal(&ctype)
            )
        }
    })
}

pub(super) async fn drop_database(pg: &PgClient, db: &str) -> anyhow::Result<()> {
    let force = if pg.major() >= 13 {
        " WITH (FORCE)"
    } else {
        ""
    };
    if force.is_empty() {
        let _ = terminate(pg, db).await;
    }
    pg.client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {}{force}",
            quote_ident(db)
        ))
        .await
        .with_context(|| format!("dropping the half-restored database {db}"))
}

pub(super) async fn terminate(pg: &PgClient, db: &str) -> anyhow::Result<i64> {
    let row = pg
        .client
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db],
        )
        .await
        .with_context(|| format!("ending the sessions on {db}"))?;
    Ok(row.try_get(0)?)
}

/// Where a rename runs: on its own, or inside the caller's open transaction (the swap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RenameIn {
    Autocommit,
    /// A savepoint per try: a failed rename must not abort the caller's transaction.
    Transaction,
}

/// Rename `from` to `to`, ending sessions that still hold `from` (they cannot come back:
/// connections are disallowed) and trying again, up to 50 times.
pub(super) async fn rename(
    pg: &PgClient,
    from: &str,
    to: &str,
    within: RenameIn,
) -> anyhow::Result<()> {
    let alter = format!(
        "ALTER DATABASE {} RENAME TO {}",
        quote_ident(from),
        quote_ident(to)
    );
    let sql = match within {
        RenameIn::Autocommit => alter,
        RenameIn::Transaction => {
            format!("SAVEPOINT rename; {alter}; RELEASE SAVEPOINT rename")
        }
    };
    let mut tries = 0;
    loop {
        match pg.client.batch_execute(&sql).await {
            Ok(()) => return Ok(()),
            Err(e)
                if tries < 50
                    && e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE) =>
            {
                tries += 1;
                if within == RenameIn::Transaction {
                    pg.client
                        .batch_execute("ROLLBACK TO SAVEPOINT rename")
                        .await
                        .context("rolling back to the savepoint of the rename")?;
                }
                terminate(pg, from).await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!("renaming {from} to {to}")))
            }
        }
    }
}
