//! The individual checks that `check` (and later `monitor`) compose: one small fn each,
//! returning findings. A probe that fails or times out becomes one UNKNOWN finding; it never
//! aborts the run.

pub mod backup;
pub mod bloat;
pub mod docker;
pub mod growth;
pub mod host;
pub mod index_advisor;
pub mod indexes;
pub mod performance;
pub mod postgres;
pub mod redis;
pub mod remote_backup;
pub mod replication;
pub mod sessions;
pub mod stale_stats;
pub mod statements;
pub mod swarm;

use std::future::Future;
use std::time::Duration;

use crate::context::Ctx;
use crate::report::Finding;

/// A PostgreSQL probe that only runs when the server is reachable: otherwise one UNKNOWN
/// finding pointing at `postgres.up` instead of the same connect error N times.
pub async fn pg_probe<F>(ctx: &Ctx, id: &str, probe: F) -> Vec<Finding>
where
    F: std::future::Future<Output = anyhow::Result<Vec<Finding>>>,
{
    if ctx.pg().await.is_err() {
        return vec![not_reachable(id)];
    }
    guarded(id, ctx.probe_timeout(), probe).await
}

/// What a PostgreSQL probe says when the server is down: one pointer to `postgres.up`
/// instead of the same connect error once per probe.
pub fn not_reachable(id: &str) -> Finding {
    Finding::new(
        id,
        crate::report::Status::Unknown,
        "not checked: PostgreSQL is not reachable (see postgres.up)",
    )
}

/// Run `probe` with a deadline; its error or timeout becomes one UNKNOWN finding `id`.
pub async fn guarded<F>(id: &str, timeout: Duration, probe: F) -> Vec<Finding>
where
    F: Future<Output = anyhow::Result<Vec<Finding>>>,
{
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(findings)) => findings,
        Ok(Err(e)) => vec![Finding::unknown(id, &e)],
        Err(_) => vec![timed_out(id, timeout)],
    }
}

/// The UNKNOWN finding of a probe that did not answer within `timeout`.
pub fn timed_out(id: &str, timeout: Duration) -> Finding {
    Finding::new(
        id,
        crate::report::Status::Unknown,
        format!("no answer within {:.1}s", timeout.as_secs_f64()),
    )
    .hint("raise --timeout or look at what the server is busy with")
}

/// Run `probe` with a deadline; a timeout becomes an error saying so. For probes whose
/// result feeds more than findings (`check health`'s JSON); `guarded` is the findings form.
pub async fn bounded<T, F>(timeout: Duration, probe: F) -> anyhow::Result<T>
where
    F: Future<Output = anyhow::Result<T>>,
{
    tokio::time::timeout(timeout, probe)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {:.1}s", timeout.as_secs_f64()))?
}

/// Percent with one decimal, safe for an empty denominator.
pub fn pct(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        0.0
    } else {
        (part * 1000.0 / whole).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_turns_a_hang_into_an_error() {
        let hung = bounded(Duration::from_millis(20), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(1)
        })
        .await;
        assert_eq!(hung.unwrap_err().to_string(), "no answer within 0.0s");
        let quick = bounded(Duration::from_secs(1), async { Ok(7) }).await;
        assert_eq!(quick.unwrap(), 7);
    }
}
