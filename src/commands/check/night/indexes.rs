//! Which indexes `--maintain` rebuilds: btree indexes whose bloat is over thresholds.bloat_pct
//! (warning) and that waste at least maintenance.reindex_min_wasted_bytes.

use anyhow::Context as _;

use super::maintain::BloatedIndex;
use crate::clients::postgres::{quote_ident, PgClient};

/// Where pgstattuple is installed in the connected database, if it is.
const PGSTATTUPLE_SQL: &str = "SELECT n.nspname::text FROM pg_extension e \
     JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple'";

/// Every valid, permanent btree index of the user's schemas of at least $1 bytes, with
/// pgstatindex's avg_leaf_density (it reads the whole index: exact, but a full scan).
/// pgstattuple 1.4+ (PG 9.6+): pgstatindex(regclass).
fn density_sql(schema: &str) -> String {
    format!(
        "SELECT n.nspname::text, c.relname::text, t.relname::text, pg_relation_size(c.oid), \
         s.avg_leaf_density \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_am am ON am.oid = c.relam \
         CROSS JOIN LATERAL {}.pgstatindex(c.oid::regclass) s \
         WHERE am.amname = 'btree' AND i.indisvalid AND c.relpersistence = 'p' \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_toast%' AND pg_relation_size(c.oid) >= $1 \
         ORDER BY 4 DESC",
        quote_ident(schema)
    )
}

/// A freshly built btree packs leaves to its fillfactor (90 by default); what is below that
/// is free space a REINDEX gives back. Returns (ratio percent, wasted bytes).
pub fn waste(bytes: i64, avg_leaf_density: f64) -> (f64, i64) {
    if !avg_leaf_density.is_finite() || bytes <= 0 {
        return (0.0, 0);
    }
    let ratio = (1.0 - avg_leaf_density / 90.0).clamp(0.0, 1.0);
    (ratio * 100.0, (bytes as f64 * ratio) as i64)
}

/// The indexes to rebuild, and a note on how they were chosen (or why none could be).
pub async fn candidates(
    pg: &PgClient,
    bloat_pct: f64,
    min_wasted: i64,
) -> anyhow::Result<(Vec<BloatedIndex>, String)> {
    let Some(row) = pg
        .client
        .query_opt(PGSTATTUPLE_SQL, &[])
        .await
        .context("looking for the pgstattuple extension")?
    else {
        return Ok((
            Vec::new(),
            "no index is rebuilt: measuring index bloat needs the pgstattuple extension (CREATE EXTENSION pgstattuple)".into(),
        ));
    };
    let schema: String = row.get(0);
    let rows = pg
        .client
        .query(&density_sql(&schema), &[&min_wasted])
        .await
        .context("measuring btree leaf density with pgstatindex")?;
    let mut out = Vec::new();
    for r in rows {
        let bytes: i64 = r.try_get(3)?;
        let (ratio, wasted) = waste(bytes, r.try_get(4)?);
        if ratio > bloat_pct && wasted >= min_wasted {
            out.push(BloatedIndex {
                schema: r.try_get(0)?,
                name: r.try_get(1)?,
                table: r.try_get(2)?,
                bytes,
                wasted_bytes: wasted,
                ratio_pct: ratio,
            });
        }
    }
    Ok((
        out,
        format!("index bloat from pgstatindex's avg_leaf_density (over {bloat_pct}% and {min_wasted} bytes wasted)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waste_is_measured_against_the_fillfactor() {
        assert_eq!(waste(1000, 90.0), (0.0, 0));
        let (r, w) = waste(1000, 45.0);
        assert!((r - 50.0).abs() < 1e-9);
        assert_eq!(w, 500);
        assert_eq!(waste(1000, f64::NAN), (0.0, 0));
        assert_eq!(waste(1000, 99.0).1, 0);
    }
}
