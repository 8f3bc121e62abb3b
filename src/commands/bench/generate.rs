//! `bench --generate USERS`: the seeds' schema with synthetic, skewed data (USERS users, about
//! 20 invitations each) in a scratch database, so capacity can be measured before the users
//! arrive.
//!
//! Everything it creates carries a COMMENT marker; it only ever drops what carries it. An
//! existing database is used only when `--into` names it, and existing tables of the same
//! names that are not marked make it stop.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::clients::pg::PgOptions;
use crate::clients::postgres::{PgClient, SessionTimeouts};
use crate::demo;
use crate::sql::{quote_ident, quote_literal};

/// The COMMENT on every object `--generate` creates.
pub const MARKER: &str = "created by opsbook bench --generate";

/// Invitations per user, as in the issue ("about 20 invites each").
pub const INVITES_PER_USER: u64 = 20;

pub struct Generated {
    pub users: u64,
    pub invites: u64,
    pub created_database: bool,
    pub elapsed: Duration,
}

pub async fn generate(
    base: &PgOptions,
    timeouts: SessionTimeouts,
    db: &str,
    users: u64,
    explicit: bool,
) -> anyhow::Result<Generated> {
    let started = Instant::now();
    if db.is_empty() {
        bail!("--into needs a database name");
    }
    // The target may not exist yet: create it from the maintenance database then.
    let admin_opts = if base.dbname() == db {
        base.with_dbname("postgres")
    } else {
        base.clone()
    };
    let admin = PgClient::connect(&admin_opts, timeouts)
        .await
        .context("connecting to PostgreSQL to create the benchmark database\nhint: check --pg / DATABASE_URL / the config's postgres.url")?;
    let row = admin
        .client
        .query_opt(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1",
            &[&db],
        )
        .await
        .context("looking for the benchmark database")?;
    let created_database = match row {
        None => {
            admin
                .client
                .batch_execute(&format!("CREATE DATABASE {}", quote_ident(db)))
                .await
                .with_context(|| format!("creating database {db}\nhint: the role needs CREATEDB, or name an existing scratch database with --into"))?;
            admin
                .client
                .batch_execute(&format!(
                    "COMMENT ON DATABASE {} IS {}",
                    quote_ident(db),
                    quote_literal(MARKER)
                ))
                .await
                .with_context(|| format!("marking database {db} as opsbook's"))?;
            true
        }
        Some(r) => {
            let comment: String = r.get(0);
            if comment != MARKER && !explicit {
                bail!(
                    "database {db} exists and was not created by opsbook bench --generate; refusing to write into it\nhint: name it with --into {db} if it really is a scratch database, or drop it yourself"
                );
            }
            false
        }
    };
    drop(admin);
    let pg = PgClient::connect(&base.with_dbname(db), timeouts)
        .await
        .with_context(|| format!("connecting to the benchmark database {db}"))?;
    // Tables of the same names: drop them only when they carry our marker.
    let existing = pg
        .client
        .query(
            "SELECT c.relname, coalesce(obj_description(c.oid, 'pg_class'), '') \
             FROM pg_class c WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm') \
             AND pg_table_is_visible(c.oid)",
            &[&demo::TABLES.to_vec()],
        )
        .await
        .context("looking for existing benchmark tables")?;
    for r in &existing {
        let (name, comment): (String, String) = (r.get(0), r.get(1));
        if comment != MARKER {
            bail!(
                "table {name} already exists in database {db} and was not created by opsbook bench --generate; refusing to replace it\nhint: benchmark that data without --generate, or pick another scratch database with --into"
            );
        }
    }
    let invites = users.saturating_mul(INVITES_PER_USER);
    let mut sql = String::from("BEGIN;\nSET LOCAL statement_timeout = 0;\n");
    for t in demo::TABLES {
        if existing.iter().any(|r| r.get::<_, String>(0) == t) {
            // No CASCADE: a view or materialized view the operator built on it stops us.
            sql.push_str(&format!("DROP TABLE {t};\n"));
        }
    }
    sql.push_str(&demo::schema_and_data_sql(users, invites));
    for t in demo::TABLES {
        sql.push_str(&format!(
            "COMMENT ON TABLE {t} IS {};\n",
            quote_literal(MARKER)
        ));
    }
    sql.push_str("COMMIT;\n");
    let res = pg.client.batch_execute(&sql).await;
    if let Err(e) = res {
        let _ = pg.client.batch_execute("ROLLBACK").await;
        let hint = if existing.is_empty() {
            ""
        } else {
            "\nhint: if a view of yours depends on the old tables, the DROP fails: drop it first, or use another --into"
        };
        return Err(anyhow::Error::from(e).context(format!(
            "generating {users} users and {invites} invitations in database {db}{hint}"
        )));
    }
    Ok(Generated {
        users,
        invites,
        created_database,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
