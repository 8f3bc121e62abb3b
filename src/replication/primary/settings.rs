//! The settings `replica-setup primary` checks: what each is now (pg_settings) and what the
//! configuration files say it will be after a restart (pg_file_settings).

use std::collections::HashMap;

use anyhow::Context as _;

use crate::clients::postgres::PgClient;

/// Settings read; `configured` is what postgresql.auto.conf / postgresql.conf say now, which
/// differs from `setting` while a restart is pending.
pub(super) struct Setting {
    setting: String,
    configured: String,
}

const SETTINGS: &[&str] = &[
    "wal_level",
    "max_wal_senders",
    "max_replication_slots",
    "hot_standby",
    "listen_addresses",
    "archive_mode",
    "archive_command",
    "archive_library",
    "data_checksums",
    "wal_log_hints",
    "hba_file",
    "data_directory",
    "port",
];

pub(super) async fn settings(pg: &PgClient) -> anyhow::Result<HashMap<String, Setting>> {
    let names: Vec<&str> = SETTINGS.to_vec();
    let mut out = HashMap::new();
    for r in pg
        .client
        .query(
            "SELECT name, setting FROM pg_settings WHERE name = ANY($1)",
            &[&names],
        )
        .await
        .context("replica-setup primary: reading pg_settings")?
    {
        let (n, s): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        out.insert(
            n,
            Setting {
                configured: s.clone(),
                setting: s,
            },
        );
    }
    // The last valid line for each name wins, as at the next restart. A line that only waits
    // for a restart carries an error too ("setting could not be applied", the same text as an
    // invalid value, and translated), so it is told apart by pg_settings.pending_restart:
    // without that, a second run planned the same ALTER SYSTEM again. (PostgreSQL 9.5+.)
    for r in pg
        .client
        .query(
            "SELECT DISTINCT ON (f.name) f.name, f.setting \
             FROM pg_file_settings f JOIN pg_settings s ON s.name = f.name \
             WHERE (f.error IS NULL OR s.pending_restart) AND f.name = ANY($1) \
             ORDER BY f.name, f.seqno DESC",
            &[&names],
        )
        .await
        .context("replica-setup primary: reading pg_file_settings")?
    {
        let (n, s): (String, Option<String>) = (r.try_get(0)?, r.try_get(1)?);
        if let (Some(st), Some(s)) = (out.get_mut(&n), s) {
            st.configured = s;
        }
    }
    Ok(out)
}

pub(super) fn get<'a>(s: &'a HashMap<String, Setting>, name: &str) -> (&'a str, &'a str) {
    s.get(name)
        .map(|v| (v.setting.as_str(), v.configured.as_str()))
        .unwrap_or(("", ""))
}

pub(super) fn num(v: &str) -> i64 {
    v.trim().parse().unwrap_or(0)
}

pub(super) fn on(v: &str) -> bool {
    matches!(v.trim(), "on" | "true" | "1" | "yes")
}
