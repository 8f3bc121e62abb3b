//! `replica.*` in `check morning`: nothing at all on a server without replication.

use crate::config::Thresholds;
use crate::context::Ctx;
use crate::replication::status;
use crate::report::Finding;

pub async fn replication(ctx: &Ctx, th: &Thresholds) -> anyhow::Result<Vec<Finding>> {
    let pg = ctx.pg().await?;
    let observed = status::observe(pg).await?;
    Ok(status::findings(&observed, th, true))
}
