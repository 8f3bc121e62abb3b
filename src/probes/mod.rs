//! The individual checks that `check` (and later `monitor`) compose: one small fn each,
//! returning findings. A probe that fails or times out becomes one UNKNOWN finding; it never
//! aborts the run.

pub mod backup;
pub mod bloat;
pub mod host;
pub mod indexes;
pub mod performance;
pub mod postgres;
pub mod redis;
pub mod replication;
pub mod sessions;
pub mod statements;

use std::future::Future;
use std::time::Duration;

use crate::report::Finding;

/// Run `probe` with a deadline; its error or timeout becomes one UNKNOWN finding `id`.
pub async fn guarded<F>(id: &str, timeout: Duration, probe: F) -> Vec<Finding>
where
    F: Future<Output = anyhow::Result<Vec<Finding>>>,
{
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(findings)) => findings,
        Ok(Err(e)) => vec![Finding::unknown(id, &e)],
        Err(_) => vec![Finding::new(
            id,
            crate::report::Status::Unknown,
            format!("no answer within {:.1}s", timeout.as_secs_f64()),
        )
        .hint("raise --timeout or look at what the server is busy with")],
    }
}

/// Percent with one decimal, safe for an empty denominator.
pub fn pct(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        0.0
    } else {
        (part * 1000.0 / whole).round() / 10.0
    }
}
