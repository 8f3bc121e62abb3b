//! Load and prove: pg_restore into the new database, then every table's row count compared
//! with the manifest. Errors carry the finding id of the step that failed.

use std::time::{Duration, Instant};

use super::steps::Steps;
use crate::backup::catalog::Entry;
use crate::backup::{counts, pgrestore};
use crate::clients::pg::PgOptions;
use crate::clients::postgres::PgClient;
use crate::context::Ctx;
use crate::interrupt::Interrupt;
use crate::report::{one_line, Status};

/// pg_restore into `restored` and compare the counts; errors carry the finding id.
pub(super) async fn load_and_prove(
    jobs: u32,
    entry: &Entry,
    options: &PgOptions,
    restored: &str,
    interrupt: &Interrupt,
    ctx: &Ctx,
    steps: &mut Steps,
) -> Result<Duration, (&'static str, anyhow::Error)> {
    let t = Instant::now();
    let opts = options.with_dbname(restored);
    let job = pgrestore::Job {
        entry,
        options: opts.clone(),
        jobs,
        no_owner: false,
        scratch_dir: pgrestore::scratch_dir_of(entry),
        progress: crate::render::show_progress(&ctx.output),
        pg_restore: None,
        pause_at: "restore.load",
    };
    if let Err(e) = pgrestore::run(job, interrupt).await {
        steps.add(
            "pg_restore",
            Status::Critical,
            Some(t.elapsed()),
            one_line(&e),
        );
        return Err(("restore.load", e));
    }
    let load_took = t.elapsed();
    steps.add(
        "pg_restore",
        Status::Ok,
        Some(load_took),
        format!("into {restored}"),
    );
    let t = Instant::now();
    let phase = crate::progress::Phase::start(
        &ctx.output,
        format!(
            "counting the rows of {} tables against the manifest",
            entry.manifest.tables.len()
        ),
    );
    let counted = interrupt
        .run(async {
            let c = PgClient::connect(&opts, ctx.timeouts()).await?;
            c.client.batch_execute("SET statement_timeout = 0").await?;
            crate::interrupt::test_pause("restore.compare").await;
            counts::count_tables(&c.client).await
        })
        .await;
    phase.finish();
    let actual = match counted {
        Ok(a) => a,
        Err(e) => {
            steps.add(
                "compare counts",
                Status::Critical,
                Some(t.elapsed()),
                one_line(&e),
            );
            return Err(("restore.counts", e.context("counting the restored rows")));
        }
    };
    let diffs = counts::compare(&entry.manifest.tables, &actual);
    if !diffs.is_empty() {
        let e = anyhow::anyhow!(
            "{} table(s) differ from the manifest: {}",
            diffs.len(),
            diffs.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        );
        steps.add(
            "compare counts",
            Status::Critical,
            Some(t.elapsed()),
            one_line(&e),
        );
        return Err(("restore.counts", e));
    }
    steps.add(
        "compare counts",
        Status::Ok,
        Some(t.elapsed()),
        format!("{} tables equal", actual.len()),
    );
    Ok(load_took)
}
