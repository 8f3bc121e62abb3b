//! The swap: both renames in one transaction, so the target is unavailable only for it and a
//! failure or a signal before the COMMIT leaves the target as it was.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::db::{rename, terminate, RenameIn};
use crate::clients::postgres::PgClient;
use crate::interrupt::Interrupt;
use crate::sql::quote_ident;

pub(super) async fn allow_connections(pg: &PgClient, db: &str, allow: bool) -> anyhow::Result<()> {
    pg.client
        .batch_execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {allow}",
            quote_ident(db)
        ))
        .await
        .with_context(|| format!("setting ALLOW_CONNECTIONS {allow} on {db}"))
}

/// How the swap ended when it did not complete.
pub(super) struct SwapFailed {
    pub(super) error: anyhow::Error,
}

/// The swap: the only time the target is unavailable. Both renames are one transaction, so it
/// either commits whole or is rolled back whole: a failure or a signal before the COMMIT leaves
/// the target under its name with its data. A signal after the COMMIT was sent lets it finish
/// (the caller reports that). Returns how long the target was unavailable.
pub(super) async fn swap(
    pg: &PgClient,
    target: &str,
    restored: &str,
    pre: &str,
    interrupt: &Interrupt,
) -> Result<Duration, SwapFailed> {
    let t0 = Instant::now();
    let renamed = interrupt
        .run(async {
            allow_connections(pg, target, false).await?;
            terminate(pg, target).await?;
            pg.client
                .batch_execute("BEGIN")
                .await
                .context("starting the swap's transaction")?;
            rename(pg, target, pre, RenameIn::Transaction).await?;
            crate::interrupt::test_pause("restore.swap").await;
            rename(pg, restored, target, RenameIn::Transaction).await
        })
        .await;
    let committed = match renamed {
        Ok(()) => pg
            .client
            .batch_execute("COMMIT")
            .await
            .context("committing the swap"),
        Err(e) => Err(e),
    };
    if let Err(e) = committed {
        // Queued behind whatever was in flight, so it undoes all of it; a COMMIT that failed
        // has rolled back already and this is a no-op.
        let _ = pg.client.batch_execute("ROLLBACK").await;
        let _ = allow_connections(pg, target, true).await;
        return Err(SwapFailed {
            error: e.context(format!(
                "the swap was rolled back: {target} keeps its name and data"
            )),
        });
    }
    let took = t0.elapsed();
    // The kept copy may be read by an operator comparing old and new.
    let _ = allow_connections(pg, pre, true).await;
    Ok(took)
}
