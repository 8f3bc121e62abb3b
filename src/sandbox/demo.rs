//! The seeds' schema (users_global, global_unique_invited_users, competitions_global) with
//! synthetic, skewed referral data: loaded by `sandbox up --demo-data` (with a first `opsbook
//! backup` of it) and by `bench --generate`.

use anyhow::Context as _;

use super::{Sandbox, DEMO_DB};
use crate::backup::dump::{self, Written};
use crate::backup::names;
use crate::backup::stream::Compression;
use crate::clients::pg::PgOptions;
use crate::clients::postgres::SessionTimeouts;
use crate::interrupt::Interrupt;

/// pg_stat_statements for `diagnose queries` (the sandbox preloads it; a real server may not
/// have contrib installed, so `bench --generate` does not ask for it).
pub const EXTENSION_SQL: &str = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;\n";

/// The tables, `users` users spread over the last 30 days and `invites` invitations skewed
/// like a real referral programme, then ANALYZE.
pub fn schema_and_data_sql(users: u64, invites: u64) -> String {
    DEMO_SQL
        .replace("@USERS@", &users.max(1).to_string())
        .replace("@INVITES@", &invites.to_string())
}

/// The tables the demo SQL creates, in an order they can be dropped in.
pub const TABLES: [&str; 3] = [
    "global_unique_invited_users",
    "competitions_global",
    "users_global",
];

const DEMO_SQL: &str = r#"
CREATE TABLE users_global (
    telegram_id bigint PRIMARY KEY,
    username text,
    first_name text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE global_unique_invited_users (
    id bigserial PRIMARY KEY,
    inviter_user_id bigint NOT NULL REFERENCES users_global (telegram_id),
    invited_user_id bigint NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX global_unique_invited_users_inviter_user_id_idx
    ON global_unique_invited_users (inviter_user_id);
CREATE TABLE competitions_global (
    id serial PRIMARY KEY,
    name text NOT NULL,
    status text NOT NULL,
    starts_at timestamptz,
    ends_at timestamptz
);
INSERT INTO users_global (telegram_id, username, first_name, created_at)
SELECT 100000000 + g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'user_' || g END,
       (ARRAY['Anna','Boris','Chen','Dilnoza','Emil','Fatima','Goran','Hana','Ivan','Jamila'])[1 + g % 10],
       now() - interval '30 days' + (g - 1) * (interval '30 days' / @USERS@)
FROM generate_series(1, @USERS@) AS g;
-- Deterministic but skewed like a real referral programme: a few inviters bring most users,
-- and nobody is invited before their inviter joined.
INSERT INTO global_unique_invited_users (inviter_user_id, invited_user_id, created_at)
SELECT i.inviter,
       500000000 + i.g,
       u.created_at + (now() - u.created_at) * (((i.g::bigint * 104729) % 1000) / 1000.0)::float8
FROM (SELECT g, 100000001 + floor((@USERS@ - 1) * power(((g::bigint * 7919) % 10007) / 10007.0, 3))::bigint AS inviter
      FROM generate_series(1, @INVITES@) AS g) AS i
JOIN users_global AS u ON u.telegram_id = i.inviter;
INSERT INTO competitions_global (name, status, starts_at, ends_at) VALUES
    ('Invite race #1', 'finished', now() - interval '30 days', now() - interval '16 days'),
    ('Invite race #2', 'active',   now() - interval '15 days', now() + interval '1 day'),
    ('Invite race #3', 'planned',  now() + interval '2 days',  now() + interval '16 days');
ANALYZE;
"#;

impl Sandbox {
    pub(super) fn load_demo(&self, scale: u32) -> anyhow::Result<()> {
        self.create_database(DEMO_DB)?;
        let scale = u64::from(scale.max(1));
        let sql = format!(
            "{}{}",
            EXTENSION_SQL,
            schema_and_data_sql(5000 * scale, 20000 * scale)
        );
        self.psql(DEMO_DB, &sql)
            .context("loading the demo data into opsbook_demo")?;
        Ok(())
    }

    /// The first backup of the demo database, taken the way `opsbook backup` takes one
    /// (snapshot, pg_dump, manifest with row counts, verified) into the sandbox's backup
    /// directory: `backup list`, `check morning` and `check night` then all agree that a fresh
    /// sandbox has one.
    pub async fn backup_demo(&self, timeouts: SessionTimeouts) -> anyhow::Result<Written> {
        let pgpass = self.pgpass_path().to_string_lossy().into_owned();
        let env = move |k: &str| match k {
            "PGPASSFILE" => Some(pgpass.clone()),
            "PGSSLMODE" => Some("disable".to_string()),
            _ => None,
        };
        let options = PgOptions::resolve(Some(&self.pg_url(DEMO_DB)), None, None, &env)?;
        let dir = self.backup_dir();
        let _lock = dump::lock_db_dir(
            &names::db_dir(&dir, DEMO_DB),
            &format!("the first backup of {DEMO_DB}"),
        )?;
        let req = dump::Request {
            options,
            dir,
            compression: Compression::Zstd(1),
            threads: 1,
            timeouts,
            progress: false,
            interrupt: Interrupt::install()?,
        };
        dump::database(&req)
            .await
            .with_context(|| format!("taking the first backup of {DEMO_DB}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_all_filled() {
        let sql = schema_and_data_sql(50, 1000);
        assert!(!sql.contains('@'));
        assert!(sql.contains("generate_series(1, 50)"));
        assert!(sql.contains("generate_series(1, 1000)"));
        for t in TABLES {
            assert!(sql.contains(&format!("CREATE TABLE {t} (")), "{t}");
        }
    }
}
