//! The PostgreSQL sessions this run of opsbook opened, by backend pid, so connection counts
//! leave them out: an operator asks how many clients the server has, not how many opsbook
//! added while counting (the custom-metric session made `peak_connections` read 5 for 4).
//!
//! Every session goes through `PgOptions::connect`, which registers its `pg_backend_pid()`
//! while holding [`opening`]. A count takes [`counting`], which waits for the connects in
//! flight: a backend that exists but whose pid is not known yet can then not be counted.

use std::sync::{Mutex, OnceLock};

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

fn gate() -> &'static RwLock<()> {
    static GATE: OnceLock<RwLock<()>> = OnceLock::new();
    GATE.get_or_init(|| RwLock::new(()))
}

fn pids() -> &'static Mutex<Vec<i32>> {
    static PIDS: OnceLock<Mutex<Vec<i32>>> = OnceLock::new();
    PIDS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Held by a connect until its pid is registered (many may connect at once).
pub async fn opening() -> RwLockReadGuard<'static, ()> {
    gate().read().await
}

pub fn register(pid: i32) {
    let mut p = pids().lock().unwrap_or_else(|e| e.into_inner());
    if !p.contains(&pid) {
        p.push(pid);
    }
}

/// Held while counting: no session of ours is half-open meanwhile. The pids are those of
/// every session this run opened (a closed one is simply not found by the count).
pub async fn counting() -> (RwLockWriteGuard<'static, ()>, Vec<i32>) {
    let guard = gate().write().await;
    let list = pids().lock().unwrap_or_else(|e| e.into_inner()).clone();
    (guard, list)
}

/// " (opsbook's own 2 sessions excluded)", or nothing when none was seen.
pub fn excluded_note(seen: i64) -> String {
    match seen {
        0 => String::new(),
        1 => " (opsbook's own session excluded)".to_string(),
        n => format!(" (opsbook's own {n} sessions excluded)"),
    }
}
