//! The sandbox as the throwaway cluster of `backup verify --restore-test`: PostgreSQL only,
//! owned by this process (its watchdog removes it if we die).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Sandbox, UpOptions};
use crate::backup::restore_test::ScratchCluster;

/// A sandbox without Redis or demo data in `dir`, dying with this process.
pub fn scratch_cluster(dir: PathBuf) -> anyhow::Result<Sandbox> {
    let opts = UpOptions {
        dir,
        demo_data: false,
        demo_scale: 1,
        owner_pid: Some(std::process::id()),
        redis: false,
        ha: false,
    };
    Sandbox::up(&opts)
}

impl ScratchCluster for Sandbox {
    fn create_database(&self, name: &str) -> anyhow::Result<()> {
        let hint = format!(
            "hint: this is opsbook's own throwaway cluster for the restore test (in {}, log pg/log/postgresql.log), not a sandbox of yours",
            self.state.dir.display()
        );
        self.psql_hinted(
            "postgres",
            &format!("CREATE DATABASE {}", crate::sql::quote_ident(name)),
            "the throwaway cluster",
            &hint,
        )
        .map(drop)
        .with_context(|| format!("creating database {name} in the throwaway cluster"))
    }

    fn pg_url(&self, db: &str) -> String {
        Sandbox::pg_url(self, db)
    }

    fn pgpass_path(&self) -> PathBuf {
        Sandbox::pgpass_path(self)
    }

    fn dir(&self) -> &Path {
        &self.state.dir
    }

    fn bindir(&self) -> &Path {
        &self.state.pg_bindir
    }

    fn down(&self) -> anyhow::Result<()> {
        Sandbox::down(self)
    }
}
