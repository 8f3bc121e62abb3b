//! Which indexes `--maintain` rebuilds: btree indexes whose bloat (probes::bloat) is over
//! thresholds.bloat_pct (warning) and that waste at least maintenance.reindex_min_wasted_bytes.

use crate::clients::postgres::PgClient;
use crate::probes::bloat::{self, Kind, RelationBloat};

/// Leftovers of an interrupted REINDEX CONCURRENTLY (`<name>_ccnew`, `<name>_ccold`, with an
/// optional number): never rebuilt, they are dropped instead (maintain::drop_leftovers).
fn is_reindex_leftover(name: &str) -> bool {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    base.ends_with("_ccnew") || base.ends_with("_ccold")
}

/// The indexes over both thresholds, largest waste first.
pub fn select(all: Vec<RelationBloat>, bloat_pct: f64, min_wasted: i64) -> Vec<RelationBloat> {
    all.into_iter()
        .filter(|b| {
            b.kind == Kind::Index && b.ratio_pct > bloat_pct && b.wasted_bytes >= min_wasted
        })
        .filter(|b| !is_reindex_leftover(&b.name))
        .collect()
}

/// The indexes to rebuild, and a note on how they were measured. The catalog estimate by
/// default (reads no index); pgstattuple's page-by-page measurement with
/// maintenance.exact_bloat (reads every index of the minimum size, every night).
pub async fn candidates(
    pg: &PgClient,
    bloat_pct: f64,
    min_wasted: i64,
    exact: bool,
) -> anyhow::Result<(Vec<RelationBloat>, String)> {
    if pg.major() < 12 {
        return Ok((
            Vec::new(),
            format!(
                "no index is rebuilt: REINDEX INDEX CONCURRENTLY needs PostgreSQL 12+ (this is {}), and a plain REINDEX blocks writes",
                pg.major()
            ),
        ));
    }
    let (all, how) = if exact {
        (
            bloat::exact(pg, Kind::Index, min_wasted).await?,
            "measured with pgstattuple's pgstatindex",
        )
    } else {
        (
            bloat::estimate(pg, Kind::Index, min_wasted).await?,
            "estimated from the catalog (as of the last ANALYZE)",
        )
    };
    Ok((
        select(all, bloat_pct, min_wasted),
        format!(
            "index bloat {how}: rebuilt when over {bloat_pct}% and {} wasted",
            crate::render::human_bytes(min_wasted as f64)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(name: &str, ratio: f64, wasted: i64) -> RelationBloat {
        RelationBloat {
            kind: Kind::Index,
            schema: "public".into(),
            name: name.into(),
            table: "t".into(),
            bytes: wasted * 2,
            wasted_bytes: wasted,
            ratio_pct: ratio,
            exact: false,
            no_statistics: false,
        }
    }

    #[test]
    fn both_thresholds_must_be_passed_and_leftovers_are_never_rebuilt() {
        let picked = select(
            vec![
                b("big_and_bloated", 60.0, 50 << 20),
                b("bloated_but_small", 90.0, 1 << 20),
                b("big_but_tight", 10.0, 50 << 20),
                b("users_pkey_ccnew", 60.0, 50 << 20),
                b("users_pkey_ccold1", 60.0, 50 << 20),
            ],
            20.0,
            10 << 20,
        );
        let names: Vec<&str> = picked.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["big_and_bloated"]);
        assert!(is_reindex_leftover("x_ccnew12"));
        assert!(!is_reindex_leftover("ccnew_is_a_fine_name"));
    }
}
