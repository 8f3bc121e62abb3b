//! Ctrl-C (SIGINT) and SIGTERM as a value long-running work can check and wait on, instead of
//! the default of dying mid-way. Installed by the commands that must clean up after themselves
//! (restore, the restore test, runbooks, `check night` actions); everything else keeps the
//! default behaviour.
//!
//! One mechanism: every await of such a command goes through [`Interrupt::guard`], which races
//! it with the signal and turns the signal into an [`Interrupted`] error the command's cleanup
//! path recognises ([`is_interrupted`]). A window nobody guarded is a window where a signal is
//! swallowed, so no await is left bare.

use std::future::Future;

use anyhow::Context as _;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Interrupt {
    rx: watch::Receiver<Option<&'static str>>,
}

/// The error of an await cut short by SIGINT or SIGTERM.
#[derive(Debug, Clone, Copy)]
pub struct Interrupted(pub &'static str);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", self.0)
    }
}

impl std::error::Error for Interrupted {}

/// Whether `e` (or anything in its chain) is an [`Interrupted`].
pub fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Interrupted>())
}

impl Interrupt {
    /// Take over SIGINT and SIGTERM from now on (registered before this returns). One state per
    /// process: a second call (a restore run as a runbook step) shares the first one's, so a
    /// signal that reached the runbook is seen by the step too.
    pub fn install() -> anyhow::Result<Interrupt> {
        static SHARED: std::sync::Mutex<Option<Interrupt>> = std::sync::Mutex::new(None);
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = shared.as_ref() {
            return Ok(i.clone());
        }
        let i = Self::install_handlers()?;
        *shared = Some(i.clone());
        Ok(i)
    }

    fn install_handlers() -> anyhow::Result<Interrupt> {
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            let _ = tx.send(Some(name));
            // Keep the handlers installed (a second Ctrl-C must not kill us mid-cleanup).
            std::future::pending::<()>().await;
        });
        Ok(Interrupt { rx })
    }

    pub fn is_set(&self) -> bool {
        self.rx.borrow().is_some()
    }

    /// The signal that arrived, if one did ("SIGINT", "SIGTERM").
    pub fn signal(&self) -> Option<&'static str> {
        *self.rx.borrow()
    }

    /// `Err(Interrupted)` once a signal has arrived.
    pub fn check(&self) -> Result<(), Interrupted> {
        match self.signal() {
            Some(s) => Err(Interrupted(s)),
            None => Ok(()),
        }
    }

    /// Resolves once a signal has arrived.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|v| v.is_some()).await;
    }

    /// Run `fut` unless a signal arrives first (or has already arrived): then `fut` is dropped
    /// and the result is `Err(Interrupted)`. Dropping a server call does not undo what the
    /// server already did, so the caller's cleanup must be idempotent (`DROP ... IF EXISTS`).
    pub async fn guard<F: Future>(&self, fut: F) -> Result<F::Output, Interrupted> {
        self.check()?;
        tokio::select! {
            biased;
            _ = self.wait() => Err(Interrupted(self.signal().unwrap_or("a signal"))),
            v = fut => Ok(v),
        }
    }

    /// [`guard`](Self::guard) for a fallible future: one `?` for both kinds of failure.
    pub async fn run<T, F>(&self, fut: F) -> anyhow::Result<T>
    where
        F: Future<Output = anyhow::Result<T>>,
    {
        self.guard(fut).await?
    }
}

/// Test-only hook, compiled in always and harmless: when `OPSBOOK_TEST_PAUSE_AT` names `phase`
/// (a comma-separated list may name several), write the phase's name into the file named by
/// `OPSBOOK_TEST_PAUSE_MARKER` and never resolve. Called inside a guarded await, so the signal
/// suite can deliver SIGINT/SIGTERM (or SIGKILL) at an exact phase instead of relying on
/// sleeps. Without the variable (any real run) it returns at once.
pub async fn test_pause(phase: &str) {
    let Some(wanted) = std::env::var_os("OPSBOOK_TEST_PAUSE_AT") else {
        return;
    };
    if !wanted
        .to_string_lossy()
        .split(',')
        .any(|p| p.trim() == phase)
    {
        return;
    }
    if let Some(marker) = std::env::var_os("OPSBOOK_TEST_PAUSE_MARKER") {
        let _ = std::fs::write(marker, phase);
    }
    std::future::pending::<()>().await
}

/// Test-only hook like [`test_pause`], but it lets go: when `OPSBOOK_TEST_HOLD_AT` names
/// `phase`, write the phase's name into the file `OPSBOOK_TEST_PAUSE_MARKER` names and wait
/// until a test removes that file (so a test can change the world, e.g. make the remote refuse,
/// at an exact point and let the run go on). Without the variable it returns at once.
pub async fn test_hold(phase: &str) {
    let Some(wanted) = std::env::var_os("OPSBOOK_TEST_HOLD_AT") else {
        return;
    };
    if !wanted
        .to_string_lossy()
        .split(',')
        .any(|p| p.trim() == phase)
    {
        return;
    }
    let Some(marker) = std::env::var_os("OPSBOOK_TEST_PAUSE_MARKER") else {
        return;
    };
    if std::fs::write(&marker, phase).is_err() {
        return;
    }
    while std::path::Path::new(&marker).exists() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
