//! Ctrl-C (SIGINT) and SIGTERM as a value long-running work can check and wait on, instead of
//! the default of dying mid-way. Installed by the commands that must clean up after themselves
//! (restore, the restore test); everything else keeps the default behaviour.

use anyhow::Context as _;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Interrupt {
    rx: watch::Receiver<bool>,
}

impl Interrupt {
    /// Take over SIGINT and SIGTERM from now on (registered before this returns).
    pub fn install() -> anyhow::Result<Interrupt> {
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let _ = tx.send(true);
            // Keep the handlers installed (a second Ctrl-C must not kill us mid-cleanup).
            std::future::pending::<()>().await;
        });
        Ok(Interrupt { rx })
    }

    pub fn is_set(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once a signal has arrived.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|v| *v).await;
    }
}
