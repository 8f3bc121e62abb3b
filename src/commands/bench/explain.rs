//! `bench --explain`: EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) once, summarised into
//! what costs the time and advice that fits the plan.
//!
//! - the costliest nodes by exclusive time (a node's own time, children subtracted);
//! - sequential scans of large tables, with an index where a selective filter or join key
//!   would use one (or the note that the index exists and is rightly not used);
//! - row estimates off by more than 10×;
//! - rows aggregated per call: when every call counts a large share of a table, no index can
//!   reach the target, and a materialized view (or summary table) refreshed on a schedule
//!   will — with the DDL sketched.

use std::error::Error as StdError;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{json, Value};
use tokio_postgres::types::{FromSql, Type};

use super::runner::{self, Outcome};
use super::Query;
use crate::clients::postgres::PgClient;
use crate::probes::index_advisor;
use crate::report::{Finding, Report, Section, Status};

/// A table with at least this many rows is "large".
pub const LARGE_ROWS: f64 = 10_000.0;
/// A filter or join that keeps less than this share of the rows read is selective.
const SELECTIVE: f64 = 0.10;
/// Aggregating at least this share of the largest table per call calls for pre-aggregation.
const AGG_SHARE: f64 = 0.05;
const AGG_MIN_ROWS: f64 = 1000.0;

/// EXPLAIN's JSON column (type json) as text.
struct JsonText(String);

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(JsonText(std::str::from_utf8(raw)?.to_string()))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::TEXT
    }
}

/// One plan node, flattened.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub node_type: String,
    pub relation: Option<String>,
    pub alias: Option<String>,
    pub parent: Option<usize>,
    /// Inclusive time over all loops, ms.
    pub total_ms: f64,
    /// Own time over all loops, ms.
    pub exclusive_ms: f64,
    pub loops: f64,
    /// Actual rows per loop and the planner's estimate per loop.
    pub rows: f64,
    pub plan_rows: f64,
    pub removed_by_filter: f64,
    pub filter: Option<String>,
    pub join_cond: Option<String>,
    pub group_key: Vec<String>,
}

impl Node {
    fn label(&self) -> String {
        match (&self.relation, &self.alias) {
            (Some(r), Some(a)) if a != r && !r.ends_with(&format!(".{a}")) => {
                format!("{} on {r} {a}", self.node_type)
            }
            (Some(r), _) => format!("{} on {r}", self.node_type),
            _ => self.node_type.clone(),
        }
    }
}

fn num(v: &Value, k: &str) -> f64 {
    v.get(k).and_then(Value::as_f64).unwrap_or(0.0)
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Flatten the plan tree with exclusive times.
pub fn flatten(plan: &Value) -> Vec<Node> {
    fn walk(v: &Value, parent: Option<usize>, out: &mut Vec<Node>) {
        let loops = num(v, "Actual Loops");
        let total_ms = num(v, "Actual Total Time") * loops;
        let relation = v.get("Relation Name").and_then(Value::as_str).map(|r| {
            match v.get("Schema").and_then(Value::as_str) {
                Some(s) => format!("{s}.{r}"),
                None => r.to_string(),
            }
        });
        let join_cond = text(v, "Hash Cond")
            .or_else(|| text(v, "Merge Cond"))
            .or_else(|| text(v, "Join Filter"));
        let idx = out.len();
        out.push(Node {
            node_type: text(v, "Node Type").unwrap_or_else(|| "?".into()),
            relation,
            alias: text(v, "Alias"),
            parent,
            total_ms,
            exclusive_ms: total_ms,
            loops,
            rows: num(v, "Actual Rows"),
            plan_rows: num(v, "Plan Rows"),
            removed_by_filter: num(v, "Rows Removed by Filter") * loops,
            filter: text(v, "Filter"),
            join_cond,
            group_key: v
                .get("Group Key")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        });
        if let Some(children) = v.get("Plans").and_then(Value::as_array) {
            for c in children {
                let child_total = num(c, "Actual Total Time") * num(c, "Actual Loops");
                // InitPlans / SubPlans run inside their parent too.
                out[idx].exclusive_ms -= child_total;
                walk(c, Some(idx), out);
            }
        }
        if out[idx].exclusive_ms < 0.0 {
            out[idx].exclusive_ms = 0.0;
        }
    }
    let mut out = Vec::new();
    walk(plan, None, &mut out);
    out
}

/// A sequentially scanned large table and what would help.
#[derive(Debug, Clone, Serialize)]
pub struct SeqScan {
    pub table: String,
    pub table_rows: f64,
    pub rows_read: f64,
    pub rows_kept: f64,
    pub exclusive_ms: f64,
    pub advice: String,
    pub index_sql: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Misestimate {
    pub node: String,
    pub estimated: f64,
    pub actual: f64,
}

pub struct Explained {
    pub execution_ms: f64,
    /// JIT compilation inside the execution time (jit_above_cost reached), ms.
    pub jit_ms: f64,
    pub planning_ms: f64,
    pub nodes: Vec<Node>,
    pub seq_scans: Vec<SeqScan>,
    pub misestimates: Vec<Misestimate>,
    /// Rows fed into the biggest aggregate per call, the largest table and its rows.
    pub aggregated: Option<(f64, String, f64)>,
    pub pre_aggregate_sql: Option<String>,
    pub p95_ms: Option<f64>,
    pub target_ms: Option<f64>,
}

pub async fn explain(
    pg: &PgClient,
    q: &Query,
    outcome: &Outcome,
    target_ms: Option<f64>,
) -> anyhow::Result<Explained> {
    let sql = format!("EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) {}", q.sql);
    let stmt = pg.client.prepare(&sql).await?;
    let params = runner::bind_params(&stmt, &q.params)?;
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        params.iter().map(|p| p.as_ref() as _).collect();
    let row = pg.client.query_one(&stmt, &refs).await?;
    let JsonText(text) = row.try_get(0).context("reading EXPLAIN's output")?;
    let v: Value = serde_json::from_str(&text).context("reading EXPLAIN's JSON")?;
    let top = v.get(0).cloned().unwrap_or(Value::Null);
    let plan = top.get("Plan").cloned().unwrap_or(Value::Null);
    let nodes = flatten(&plan);
    let mut sizes: Vec<(String, f64)> = Vec::new();
    for n in &nodes {
        if let Some(r) = &n.relation {
            if !sizes.iter().any(|(t, _)| t == r) {
                sizes.push((r.clone(), table_rows(pg, r).await.unwrap_or(0.0)));
            }
        }
    }
    let size_of = |t: &str| {
        sizes
            .iter()
            .find(|(n, _)| n == t)
            .map(|(_, s)| *s)
            .unwrap_or(0.0)
    };
    // The one advisor resolves each scan's filter and join columns to its own relation (by
    // alias); it walks the same tree in the same order, so its k-th scan is our k-th.
    let mut scan_columns = index_advisor::seq_scans(&plan, &|_, _| Vec::new()).into_iter();
    let mut seq_scans = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let Some(table) = &n.relation else { continue };
        if !n.node_type.contains("Seq Scan") {
            continue;
        }
        let Some(resolved) = scan_columns.next() else {
            continue;
        };
        if size_of(table) < LARGE_ROWS {
            continue;
        }
        let kept = n.rows * n.loops;
        let read = kept + n.removed_by_filter;
        let mut s = SeqScan {
            table: table.clone(),
            table_rows: size_of(table),
            rows_read: read,
            rows_kept: kept,
            exclusive_ms: n.exclusive_ms,
            advice: String::new(),
            index_sql: None,
        };
        if let (Some(_), true) = (&n.filter, read > 0.0 && kept / read < SELECTIVE) {
            let cols = &resolved.filter;
            if !cols.is_empty() {
                advise_index(pg, &mut s, cols, "its filter").await;
                s.advice = format!(
                    "the filter keeps {:.1}% of the {} rows it reads: {}",
                    kept / read * 100.0,
                    fmt_rows(read),
                    s.advice
                );
            }
        }
        if s.advice.is_empty() {
            if let Some(join) = join_above(&nodes, i) {
                let out = nodes[join].rows * nodes[join].loops;
                let col = resolved.join.first().cloned();
                if let (Some(col), true) = (col, read > 0.0 && out < SELECTIVE * read) {
                    advise_index(pg, &mut s, &[col], "the join key").await;
                    s.advice = format!(
                        "the join keeps {} of the {} rows read: {}",
                        fmt_rows(out),
                        fmt_rows(read),
                        s.advice
                    );
                }
            }
        }
        if s.advice.is_empty() {
            s.advice = format!(
                "reads all {} rows and keeps {:.0}% of them: an index would not help",
                fmt_rows(read),
                if read > 0.0 { kept / read * 100.0 } else { 0.0 }
            );
        }
        seq_scans.push(s);
    }
    let mut misestimates = Vec::new();
    for n in &nodes {
        // A node under a Limit stops early (a top-N sort returns 100 of its rows): not a misestimate.
        let under_limit = n.parent.is_some_and(|p| nodes[p].node_type == "Limit");
        if n.loops == 0.0 || under_limit {
            continue;
        }
        let (e, a) = (n.plan_rows, n.rows);
        let ratio = e.max(a) / e.min(a).max(1.0);
        if ratio > 10.0 && e.max(a) >= 100.0 {
            misestimates.push(Misestimate {
                node: n.label(),
                estimated: e,
                actual: a,
            });
        }
    }
    let largest = sizes.iter().cloned().max_by(|a, b| a.1.total_cmp(&b.1));
    let mut aggregated = None;
    let mut group_key = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.node_type != "Aggregate" {
            continue;
        }
        let input: f64 = nodes
            .iter()
            .filter(|c| c.parent == Some(i))
            .map(|c| c.rows * c.loops)
            .sum();
        if aggregated.as_ref().is_none_or(|(r, _, _)| input > *r) {
            if let Some((t, rows)) = &largest {
                aggregated = Some((input, t.clone(), *rows));
                group_key = n.group_key.clone();
            }
        }
    }
    let pre_aggregate_sql = match &aggregated {
        Some((input, _, rows))
            if *input >= AGG_MIN_ROWS && *rows > 0.0 && input / rows >= AGG_SHARE =>
        {
            Some(materialized_view_sql(q, &group_key))
        }
        _ => None,
    };
    let h = &outcome.hist;
    let jit_ms = top
        .get("JIT")
        .and_then(|j| j.get("Timing"))
        .map(|t| num(t, "Total"))
        .unwrap_or(0.0);
    Ok(Explained {
        jit_ms,
        execution_ms: num(&top, "Execution Time"),
        planning_ms: num(&top, "Planning Time"),
        nodes,
        seq_scans,
        misestimates,
        aggregated,
        pre_aggregate_sql,
        p95_ms: (!h.is_empty()).then(|| h.value_at_quantile(0.95) as f64 / 1000.0),
        target_ms,
    })
}

/// The nearest join above node `i` (through Hash, Sort, Materialize...) with a condition.
fn join_above(nodes: &[Node], i: usize) -> Option<usize> {
    let mut at = nodes[i].parent;
    while let Some(p) = at {
        let n = &nodes[p];
        if n.node_type.contains("Join") || n.node_type == "Nested Loop" {
            return n.join_cond.is_some().then_some(p);
        }
        if !matches!(
            n.node_type.as_str(),
            "Hash" | "Sort" | "Materialize" | "Memoize"
        ) {
            return None;
        }
        at = n.parent;
    }
    None
}

async fn advise_index(pg: &PgClient, s: &mut SeqScan, cols: &[String], what: &str) {
    match existing_index(pg, &s.table, &cols[0]).await {
        Some(ix) => {
            s.advice = format!(
                "index {ix} on {} exists, but the planner reads the whole table: at this selectivity the index is not cheaper",
                cols[0]
            );
        }
        None => {
            let bare = s.table.rsplit('.').next().unwrap_or(&s.table);
            let sql = format!(
                "CREATE INDEX CONCURRENTLY {bare}_{}_idx ON {} ({});",
                cols.join("_"),
                s.table,
                cols.join(", ")
            );
            s.advice = format!("an index on {what} ({}) lets it skip them", cols.join(", "));
            s.index_sql = Some(sql);
        }
    }
}

async fn table_rows(pg: &PgClient, table: &str) -> anyhow::Result<f64> {
    let row = pg
        .client
        .query_opt(
            "SELECT greatest(c.reltuples, 0)::float8 FROM pg_class c WHERE c.oid = to_regclass($1)",
            &[&table],
        )
        .await?;
    Ok(row.map(|r| r.get::<_, f64>(0)).unwrap_or(0.0))
}

/// An index of `table` whose first column is `col`.
async fn existing_index(pg: &PgClient, table: &str, col: &str) -> Option<String> {
    pg.client
        .query_opt(
            "SELECT i.indexrelid::regclass::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE i.indrelid = to_regclass($1) AND a.attname = $2 LIMIT 1",
            &[&table, &col],
        )
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0))
}

fn materialized_view_sql(q: &Query, group_key: &[String]) -> String {
    let name = format!(
        "{}_mv",
        q.name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            })
            .collect::<String>()
    );
    let key = group_key
        .first()
        .map(|k| {
            k.rsplit('.')
                .next()
                .unwrap_or(k)
                .trim_matches(|c| c == '(' || c == ')')
                .to_string()
        })
        .unwrap_or_else(|| "<a unique column of the result>".into());
    let params = if q.params.is_empty() {
        String::new()
    } else {
        "\n-- a materialized view takes no parameters: write the values of $1... into it, one view per value set".to_string()
    };
    format!(
        "CREATE MATERIALIZED VIEW {name} AS\n{};{params}\n\
         CREATE UNIQUE INDEX ON {name} ({key});  -- CONCURRENTLY needs a unique index\n\
         -- from a timer (systemd timer, cron or pg_cron), e.g. every minute:\n\
         REFRESH MATERIALIZED VIEW CONCURRENTLY {name};\n\
         -- the application reads the precomputed rows: SELECT * FROM {name};",
        q.sql
    )
}

fn fmt_rows(n: f64) -> String {
    let n = n.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Explained {
    /// Findings, a section and `data.explain`; advice is WARNING when the target was missed.
    pub fn add_to(
        &self,
        report: &mut Report,
        data: &mut serde_json::Map<String, Value>,
        missed: bool,
    ) {
        let advice = if missed { Status::Warning } else { Status::Ok };
        let mut by_time: Vec<&Node> = self.nodes.iter().collect();
        by_time.sort_by(|a, b| b.exclusive_ms.total_cmp(&a.exclusive_ms));
        by_time.truncate(5);
        let total = self.execution_ms.max(0.001);
        let detail: Vec<String> = by_time
            .iter()
            .map(|n| {
                format!(
                    "{}: {:.1} ms ({:.0}%), {} rows × {} loops",
                    n.label(),
                    n.exclusive_ms,
                    n.exclusive_ms / total * 100.0,
                    fmt_rows(n.rows),
                    n.loops
                )
            })
            .collect();
        let top = by_time
            .first()
            .map(|n| format!("; costliest: {} ({:.1} ms)", n.label(), n.exclusive_ms))
            .unwrap_or_default();
        report.push(
            Finding::ok(
                "bench.plan",
                format!(
                    "EXPLAIN ANALYZE: execution {:.1} ms{}, planning {:.1} ms{top}",
                    self.execution_ms,
                    if self.jit_ms > 0.0 {
                        format!(" (of which JIT {:.1} ms)", self.jit_ms)
                    } else {
                        String::new()
                    },
                    self.planning_ms
                ),
            )
            .value_f64(self.execution_ms / 1000.0, "seconds")
            .detail(detail),
        );
        report.sections.push(Section {
            title: "Plan nodes by exclusive time (EXPLAIN ANALYZE)".into(),
            columns: ["NODE", "EXCLUSIVE", "SHARE", "ROWS", "ESTIMATED", "LOOPS"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            rows: by_time
                .iter()
                .map(|n| {
                    vec![
                        n.label(),
                        format!("{:.1} ms", n.exclusive_ms),
                        format!("{:.0}%", n.exclusive_ms / total * 100.0),
                        fmt_rows(n.rows),
                        fmt_rows(n.plan_rows),
                        n.loops.to_string(),
                    ]
                })
                .collect(),
            fit: Vec::new(),
        });
        for s in &self.seq_scans {
            let mut f = Finding::new(
                "bench.seq_scan",
                if s.index_sql.is_some() {
                    advice
                } else {
                    Status::Ok
                },
                format!(
                    "Seq Scan on {} ({} rows, {:.1} ms): {}",
                    s.table,
                    fmt_rows(s.table_rows),
                    s.exclusive_ms,
                    s.advice
                ),
            )
            .subject(s.table.clone())
            .value(s.rows_read.round() as u64, "rows");
            if let Some(sql) = &s.index_sql {
                f = f.hint(sql.clone());
            }
            report.push(f);
        }
        if !self.misestimates.is_empty() {
            report.push(
                Finding::new(
                    "bench.row_estimates",
                    advice,
                    format!(
                        "{} plan node(s) with row estimates off by more than 10×",
                        self.misestimates.len()
                    ),
                )
                .value(self.misestimates.len(), "nodes")
                .hint("ANALYZE the tables; for correlated columns CREATE STATISTICS; a bad estimate picks a bad join")
                .detail(
                    self.misestimates
                        .iter()
                        .map(|m| {
                            format!(
                                "{}: estimated {} rows, actual {}",
                                m.node,
                                fmt_rows(m.estimated),
                                fmt_rows(m.actual)
                            )
                        })
                        .collect(),
                ),
            );
        }
        if let Some((input, table, rows)) = &self.aggregated {
            let share = if *rows > 0.0 {
                input / rows * 100.0
            } else {
                0.0
            };
            let f = match &self.pre_aggregate_sql {
                Some(sql) if missed => {
                    let target = match (self.target_ms, self.p95_ms) {
                        (Some(t), Some(p)) => format!(" (p95 {p:.1} ms vs target {t} ms)"),
                        _ => String::new(),
                    };
                    Finding::new(
                        "bench.aggregation",
                        advice,
                        format!(
                            "every call aggregates {} rows ({share:.1}% of {table}, {} rows): no index will reach the target{target}; a pre-aggregated table or a materialized view refreshed on a schedule will",
                            fmt_rows(*input),
                            fmt_rows(*rows)
                        ),
                    )
                    .hint("pre-aggregate: CREATE MATERIALIZED VIEW ... with a unique index, REFRESH MATERIALIZED VIEW CONCURRENTLY from a timer (see detail), or a summary table kept by a trigger")
                    .detail(sql.lines().map(str::to_string).collect())
                }
                Some(sql) => Finding::ok(
                    "bench.aggregation",
                    format!(
                        "every call aggregates {} rows ({share:.1}% of {table}); within the target today, but the cost grows with the table: when it misses, pre-aggregate (see detail)",
                        fmt_rows(*input)
                    ),
                )
                .detail(sql.lines().map(str::to_string).collect()),
                None => Finding::ok(
                    "bench.aggregation",
                    format!(
                        "each call aggregates {} rows ({share:.1}% of {table})",
                        fmt_rows(*input)
                    ),
                ),
            };
            report.push(f.value(input.round() as u64, "rows"));
        }
        data.insert(
            "explain".into(),
            json!({
                "execution_ms": self.execution_ms,
                "planning_ms": self.planning_ms,
                "jit_ms": self.jit_ms,
                "nodes": by_time.iter().map(|n| json!({
                    "node": n.label(), "exclusive_ms": n.exclusive_ms, "rows": n.rows,
                    "plan_rows": n.plan_rows, "loops": n.loops,
                })).collect::<Vec<_>>(),
                "seq_scans": self.seq_scans,
                "misestimates": self.misestimates,
                "aggregated_rows": self.aggregated.as_ref().map(|a| a.0),
                "pre_aggregate_sql": self.pre_aggregate_sql,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Value {
        serde_json::from_str(
            r#"{
            "Node Type": "Limit", "Actual Total Time": 260.0, "Actual Loops": 1.0,
            "Actual Rows": 100.0, "Plan Rows": 100.0,
            "Plans": [{
                "Node Type": "Aggregate", "Actual Total Time": 255.0, "Actual Loops": 1.0,
                "Actual Rows": 11000.0, "Plan Rows": 500.0, "Group Key": ["u.telegram_id"],
                "Plans": [{
                    "Node Type": "Hash Join", "Actual Total Time": 200.0, "Actual Loops": 1.0,
                    "Actual Rows": 90000.0, "Plan Rows": 80000.0,
                    "Hash Cond": "(iu.inviter_user_id = u.telegram_id)",
                    "Plans": [
                        {"Node Type": "Seq Scan", "Relation Name": "global_unique_invited_users",
                         "Schema": "public", "Alias": "iu", "Actual Total Time": 90.0,
                         "Actual Loops": 1.0, "Actual Rows": 1000000.0, "Plan Rows": 1000000.0},
                        {"Node Type": "Hash", "Actual Total Time": 10.0, "Actual Loops": 1.0,
                         "Actual Rows": 11000.0, "Plan Rows": 11000.0,
                         "Plans": [{"Node Type": "Seq Scan", "Relation Name": "users_global",
                          "Schema": "public", "Alias": "u", "Actual Total Time": 9.0,
                          "Actual Loops": 1.0, "Actual Rows": 11000.0, "Plan Rows": 11000.0,
                          "Rows Removed by Filter": 39000.0,
                          "Filter": "(u.created_at >= (now() - '7 days'::interval))"}]}
                    ]
                }]
            }]
        }"#,
        )
        .unwrap()
    }

    #[test]
    fn exclusive_times_subtract_children() {
        let nodes = flatten(&plan());
        assert_eq!(nodes.len(), 6);
        assert_eq!(nodes[0].exclusive_ms, 5.0);
        assert_eq!(nodes[1].exclusive_ms, 55.0);
        assert_eq!(nodes[2].exclusive_ms, 100.0);
        assert_eq!(
            nodes[3].relation.as_deref(),
            Some("public.global_unique_invited_users")
        );
        assert_eq!(
            nodes[3].label(),
            "Seq Scan on public.global_unique_invited_users iu"
        );
        assert_eq!(nodes[1].group_key, vec!["u.telegram_id".to_string()]);
        assert_eq!(nodes[5].removed_by_filter, 39000.0);
    }

    #[test]
    fn join_above_and_the_advisor_agree() {
        let nodes = flatten(&plan());
        assert_eq!(join_above(&nodes, 3), Some(2));
        let scans = index_advisor::seq_scans(&plan(), &|_, _| Vec::new());
        let iu = scans.iter().find(|s| s.alias == "iu").unwrap();
        assert_eq!(iu.join, vec!["inviter_user_id".to_string()]);
    }

    #[test]
    fn materialized_view_sketch() {
        let q = Query {
            name: "ranking".into(),
            sql: "SELECT 1".into(),
            params: vec![],
            target_ms: Some(50.0),
        };
        let sql = materialized_view_sql(&q, &["u.telegram_id".to_string()]);
        assert!(sql.starts_with("CREATE MATERIALIZED VIEW ranking_mv AS\nSELECT 1;"));
        assert!(sql.contains("CREATE UNIQUE INDEX ON ranking_mv (telegram_id);"));
        assert!(sql.contains("REFRESH MATERIALIZED VIEW CONCURRENTLY ranking_mv;"));
        assert_eq!(fmt_rows(1234567.0), "1,234,567");
    }
}
