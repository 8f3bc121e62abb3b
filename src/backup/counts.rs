//! Exact row counts of every user table, in whatever snapshot the session is in: at backup time
//! inside the exported snapshot pg_dump reads, at restore time in the restored database.

use anyhow::Context as _;
use tokio_postgres::Client;

use super::manifest::TableCount;
use crate::sql::quote_ident;

/// Ordinary tables outside the system schemas, not owned by an extension (pg_dump skips
/// those), in a stable order.
const TABLES_SQL: &str = "SELECT n.nspname::text, c.relname::text FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind = 'r' \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                       AND d.objid = c.oid AND d.deptype = 'e') \
     ORDER BY 1, 2";

/// Tables per counting statement: one round trip for a typical schema.
const CHUNK: usize = 200;

pub async fn count_tables(client: &Client) -> anyhow::Result<Vec<TableCount>> {
    let tables = client
        .query(TABLES_SQL, &[])
        .await
        .context("listing the tables to count")?;
    let names: Vec<(String, String)> = tables
        .iter()
        .map(|r| -> anyhow::Result<_> { Ok((r.try_get(0)?, r.try_get(1)?)) })
        .collect::<anyhow::Result<_>>()?;
    let mut out = Vec::with_capacity(names.len());
    for chunk in names.chunks(CHUNK) {
        let sql = chunk
            .iter()
            .enumerate()
            .map(|(i, (s, t))| {
                format!(
                    "SELECT {i} AS i, count(*)::bigint AS n FROM {}.{}",
                    quote_ident(s),
                    quote_ident(t)
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows = client
            .query(&sql, &[])
            .await
            .context("counting the rows of every table")?;
        let mut counts = vec![0i64; chunk.len()];
        for r in rows {
            let i: i32 = r.try_get(0)?;
            let n: i64 = r.try_get(1)?;
            if let Some(slot) = counts.get_mut(i as usize) {
                *slot = n;
            }
        }
        for ((schema, table), rows) in chunk.iter().zip(counts) {
            out.push(TableCount {
                schema: schema.clone(),
                table: table.clone(),
                rows,
            });
        }
    }
    Ok(out)
}

/// Differences between the manifest's counts and the restored database's, one line each.
pub fn compare(expected: &[TableCount], actual: &[TableCount]) -> Vec<String> {
    let mut diffs = Vec::new();
    for e in expected {
        match actual
            .iter()
            .find(|a| a.schema == e.schema && a.table == e.table)
        {
            None => diffs.push(format!(
                "{}: missing (expected {} rows)",
                e.qualified(),
                e.rows
            )),
            Some(a) if a.rows != e.rows => diffs.push(format!(
                "{}: {} rows, the backup had {}",
                e.qualified(),
                a.rows,
                e.rows
            )),
            Some(_) => {}
        }
    }
    for a in actual {
        if !expected
            .iter()
            .any(|e| e.schema == a.schema && e.table == a.table)
        {
            diffs.push(format!("{}: not in the backup", a.qualified()));
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str, n: i64) -> TableCount {
        TableCount {
            schema: "public".into(),
            table: s.into(),
            rows: n,
        }
    }

    #[test]
    fn compare_names_every_difference() {
        assert!(compare(&[t("a", 1)], &[t("a", 1)]).is_empty());
        let d = compare(&[t("a", 1), t("b", 2)], &[t("a", 3), t("c", 0)]);
        assert_eq!(
            d,
            vec![
                "public.a: 3 rows, the backup had 1",
                "public.b: missing (expected 2 rows)",
                "public.c: not in the backup"
            ]
        );
    }
}
