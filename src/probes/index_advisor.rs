//! The one index advisor: which columns of which relation a sequential scan filters or joins
//! on, read from the statement's plan, never from its text. `check afternoon`
//! (`postgres.seq_scan_heavy`), `diagnose queries` and `bench --explain` all ask it.
//!
//! Why the plan: the text of the seeds' ranking query filters on `u.created_at` (`u` =
//! users_global) and the invites table also has a `created_at`; matching column names in the
//! text advised an index on the invites table, which cannot help that query. The plan's
//! `Seq Scan` node names its relation and alias, and the columns in its `Filter` (and in the
//! condition of the join right above it) are qualified by that alias under VERBOSE, so each
//! column is resolved to the relation it belongs to. A plan that gives no column for a
//! relation gives no advice for it.

use anyhow::{bail, Context as _};
use serde_json::Value;

use crate::clients::postgres::{PgClient, SessionTimeouts};
use crate::probes::statements::Statement;

/// The text as one statement (a trailing `;` removed). A text with another `;` is refused:
/// it goes into PREPARE / EXPLAIN over the simple protocol, where a second statement would run.
pub fn single_statement(query: &str) -> anyhow::Result<&str> {
    let q = query.trim_end().trim_end_matches(';');
    if q.contains(';') {
        bail!("the statement text contains `;`: not planned, in case it holds a second statement");
    }
    Ok(q)
}

/// The generic plan of a normalized statement ($1, $2 ... for its constants) as EXPLAIN
/// (VERBOSE, FORMAT JSON). Nothing is executed. PostgreSQL 16+ has `EXPLAIN (GENERIC_PLAN)`;
/// older servers PREPARE it under `plan_cache_mode = force_generic_plan` (PG 12+) and EXPLAIN
/// EXECUTE it with NULL arguments, in a read-only transaction that is rolled back. That
/// transaction needs a session nobody else pipelines queries on: callers whose probes share
/// one session concurrently pass a session of the advisor's own.
pub async fn generic_plan(pg: &PgClient, query: &str) -> anyhow::Result<Value> {
    let query = typed_literal_params(single_statement(query)?);
    let c = &pg.client;
    if pg.version_num >= 160000 {
        let rows = c
            .simple_query(&format!(
                "EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON) {query}"
            ))
            .await
            .context("planning the statement")?;
        return plan_json(&rows);
    }
    c.batch_execute("BEGIN TRANSACTION READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan")
        .await
        .context("starting a read-only transaction")?;
    let result = async {
        c.batch_execute(&format!("PREPARE opsbook_advice AS {query}"))
            .await
            .context("preparing the statement")?;
        let n: i64 = c
            .query_one(
                "SELECT coalesce(cardinality(parameter_types), 0)::int8 FROM pg_prepared_statements WHERE name = 'opsbook_advice'",
                &[],
            )
            .await
            .context("reading its parameters")?
            .get(0);
        let exec = if n > 0 {
            let args = vec!["NULL"; n as usize].join(", ");
            format!("EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE opsbook_advice({args})")
        } else {
            "EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE opsbook_advice".to_string()
        };
        let rows = c.simple_query(&exec).await.context("planning the statement")?;
        plan_json(&rows)
    }
    .await;
    // DEALLOCATE is not transactional: always drop the statement, then end the transaction.
    let _ = c.batch_execute("ROLLBACK; DEALLOCATE opsbook_advice").await;
    result
}

/// Types whose literal syntax `type 'text'` pg_stat_statements normalizes to `type $n`,
/// which does not parse (the seeds' `NOW() - INTERVAL '7 days'` is kept as `INTERVAL $1`).
const TYPED_LITERALS: &[&str] = &[
    "interval",
    "date",
    "time",
    "timestamp",
    "timestamptz",
    "numeric",
    "uuid",
    "json",
    "jsonb",
    "inet",
    "boolean",
    "text",
];

/// `INTERVAL $1` -> `$1::INTERVAL`: a normalized typed literal written so it parses again.
pub fn typed_literal_params(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 8);
    let mut at = 0;
    for (w, start, end) in spans(query) {
        if start < at || query[start..].starts_with('"') {
            continue;
        }
        if !TYPED_LITERALS.contains(&w.to_ascii_lowercase().as_str()) {
            continue;
        }
        let rest = &query[end..];
        let gap = rest.len() - rest.trim_start().len();
        let Some(digits) = rest.trim_start().strip_prefix('$') else {
            continue;
        };
        let n = digits.chars().take_while(char::is_ascii_digit).count();
        if n == 0 || gap == 0 {
            continue;
        }
        let param_end = end + gap + 1 + n;
        out.push_str(&query[at..start]);
        out.push_str(&query[end + gap..param_end]);
        out.push_str("::");
        out.push_str(&query[start..end]);
        at = param_end;
    }
    out.push_str(&query[at..]);
    out
}

/// A session to plan on for callers whose probes share one session concurrently: that one
/// on PostgreSQL 16+ (EXPLAIN (GENERIC_PLAN) is one statement), else a session of the
/// advisor's own, opened on first use (PREPARE needs a transaction of its own).
pub struct Planner<'a> {
    shared: &'a PgClient,
    /// `None`: the session is the caller's alone, plan on it whatever the version
    timeouts: Option<SessionTimeouts>,
    own: tokio::sync::OnceCell<PgClient>,
}

impl<'a> Planner<'a> {
    pub fn new(shared: &'a PgClient, timeouts: SessionTimeouts) -> Planner<'a> {
        Planner {
            shared,
            timeouts: Some(timeouts),
            own: tokio::sync::OnceCell::new(),
        }
    }

    /// A planner on a session nobody else uses at the same time: every plan is made on it.
    pub fn on(session: &'a PgClient) -> Planner<'a> {
        Planner {
            shared: session,
            timeouts: None,
            own: tokio::sync::OnceCell::new(),
        }
    }

    /// The generic plan of `query` (see [`generic_plan`]).
    pub async fn plan(&self, query: &str) -> anyhow::Result<Value> {
        let Some(timeouts) = self.timeouts else {
            return generic_plan(self.shared, query).await;
        };
        if self.shared.version_num >= 160000 {
            return generic_plan(self.shared, query).await;
        }
        let own = self
            .own
            .get_or_try_init(|| PgClient::connect(&self.shared.options, timeouts))
            .await
            .context("opening a session to plan statements on")?;
        generic_plan(own, query).await
    }
}

/// The most statements planned for advice per run (each plan is a round trip or two).
pub const MAX_PLANNED: usize = 20;

/// A table the advisor may suggest an index for: its name, its columns and the leading
/// column of each index it already has (borrowed from the caller's own table rows).
#[derive(Debug, Clone, Copy)]
pub struct AdvisedTable<'t> {
    pub schema: &'t str,
    pub name: &'t str,
    pub columns: &'t [String],
    /// the leading column of each existing index
    pub indexed_first: &'t [String],
}

impl<'t> AdvisedTable<'t> {
    pub fn new(
        schema: &'t str,
        name: &'t str,
        columns: &'t [String],
        indexed_first: &'t [String],
    ) -> AdvisedTable<'t> {
        AdvisedTable {
            schema,
            name,
            columns,
            indexed_first,
        }
    }
}

/// A sequential scan an index could spare: the table (its position in the caller's list),
/// the columns the index would lead with, and the statement whose plan has the scan.
#[derive(Debug, Clone)]
pub struct IndexHit<'s> {
    pub table: usize,
    pub columns: Vec<String>,
    pub statement: &'s Statement,
}

/// The advisor's loop, for every caller: of the statements (in their order) the first
/// [`MAX_PLANNED`] that [`plannable`] keeps and that [`mentions`] one of the tables are
/// planned generically; each Seq Scan of one of the tables whose [`ScanColumns::index_columns`]
/// are not empty and whose first column leads no index of the table already is a hit, in plan
/// order. The text only preselects which statements to plan; the advice comes from the plan.
/// A statement the planner cannot take on its own (a type it cannot infer for $1, a temp table
/// of another session) gives no hit rather than an error.
pub async fn index_hits<'s>(
    planner: &Planner<'_>,
    tables: &[AdvisedTable<'_>],
    statements: &'s [Statement],
) -> Vec<IndexHit<'s>> {
    let mut hits = Vec::new();
    let candidates = statements
        .iter()
        .filter(|s| plannable(&s.query))
        .filter(|s| tables.iter().any(|t| mentions(&s.query, t.name)))
        .take(MAX_PLANNED);
    let find = |schema: Option<&str>, rel: &str| {
        tables
            .iter()
            .position(|t| t.name == rel && schema.is_none_or(|sc| sc == t.schema))
    };
    for s in candidates {
        let Ok(plan) = planner.plan(&s.query).await else {
            continue;
        };
        let columns_of = |schema: Option<&str>, rel: &str| {
            find(schema, rel)
                .map(|i| tables[i].columns.to_vec())
                .unwrap_or_default()
        };
        for scan in seq_scans(&plan, &columns_of) {
            let Some(i) = find(scan.schema.as_deref(), &scan.relation) else {
                continue;
            };
            let cols = scan.index_columns();
            if cols.is_empty() || tables[i].indexed_first.contains(&cols[0]) {
                continue;
            }
            hits.push(IndexHit {
                table: i,
                columns: cols.to_vec(),
                statement: s,
            });
        }
    }
    hits
}

fn plan_json(rows: &[tokio_postgres::SimpleQueryMessage]) -> anyhow::Result<Value> {
    let text: String = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    serde_json::from_str::<Value>(&text).context("reading EXPLAIN's JSON")
}

/// One sequential scan of a plan and the columns of its relation the plan names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanColumns {
    /// `Schema` (EXPLAIN VERBOSE gives it)
    pub schema: Option<String>,
    pub relation: String,
    /// the alias the plan's expressions qualify its columns with (the relation name if none)
    pub alias: String,
    /// columns of this relation in the scan's Filter, equality-compared first
    pub filter: Vec<String>,
    /// columns of this relation in the condition of the join right above the scan
    pub join: Vec<String>,
    /// that join's node type ("Nested Loop", "Hash Join", ...)
    pub join_node: Option<String>,
}

impl ScanColumns {
    /// The columns an index for this scan would lead with: the filter's; else the join's when
    /// the join is a Nested Loop (the inner side is read again for every outer row). A hash or
    /// merge join reads its input once, whole: an index on its key does not spare that read.
    pub fn index_columns(&self) -> &[String] {
        if !self.filter.is_empty() {
            &self.filter
        } else if self.join_node.as_deref() == Some("Nested Loop") {
            &self.join
        } else {
            &[]
        }
    }
}

/// Every Seq Scan of a plan (EXPLAIN's JSON: the array, its first object or a `Plan`) with
/// the columns of its own relation in its Filter and in the condition of the join above it.
/// `columns_of(schema, relation)` gives a relation's column names, for the unqualified
/// expressions of a plan without VERBOSE; qualified names need no catalog.
pub fn seq_scans(
    plan: &Value,
    columns_of: &dyn Fn(Option<&str>, &str) -> Vec<String>,
) -> Vec<ScanColumns> {
    let mut out = Vec::new();
    let root = match plan {
        Value::Array(a) => a.first().and_then(|t| t.get("Plan")),
        Value::Object(o) if o.contains_key("Plan") => o.get("Plan"),
        other => Some(other),
    };
    if let Some(root) = root {
        walk(root, &mut Vec::new(), columns_of, &mut out);
    }
    out
}

fn walk<'a>(
    node: &'a Value,
    ancestors: &mut Vec<&'a Value>,
    columns_of: &dyn Fn(Option<&str>, &str) -> Vec<String>,
    out: &mut Vec<ScanColumns>,
) {
    let Some(o) = node.as_object() else { return };
    let text = |k: &str| o.get(k).and_then(Value::as_str);
    if text("Node Type").is_some_and(|t| t.contains("Seq Scan")) {
        if let Some(relation) = text("Relation Name") {
            let schema = text("Schema").map(str::to_string);
            let alias = text("Alias").unwrap_or(relation).to_string();
            let columns = columns_of(schema.as_deref(), relation);
            let filter = text("Filter")
                .map(|f| relation_columns(f, &alias, &columns))
                .unwrap_or_default();
            let (join_node, join) = match join_above(ancestors) {
                Some((kind, cond)) => (Some(kind), relation_columns(&cond, &alias, &[])),
                None => (None, Vec::new()),
            };
            out.push(ScanColumns {
                schema,
                relation: relation.to_string(),
                alias,
                filter,
                join,
                join_node,
            });
        }
    }
    if let Some(Value::Array(children)) = o.get("Plans") {
        ancestors.push(node);
        for c in children {
            walk(c, ancestors, columns_of, out);
        }
        ancestors.pop();
    }
}

/// The nearest join above a node (through Hash, Sort, Materialize, Memoize) and its
/// condition(s).
fn join_above(ancestors: &[&Value]) -> Option<(String, String)> {
    for n in ancestors.iter().rev() {
        let kind = n.get("Node Type").and_then(Value::as_str).unwrap_or("");
        if kind.contains("Join") || kind == "Nested Loop" {
            let cond: Vec<&str> = ["Hash Cond", "Merge Cond", "Join Filter"]
                .iter()
                .filter_map(|k| n.get(*k).and_then(Value::as_str))
                .collect();
            return (!cond.is_empty()).then(|| (kind.to_string(), cond.join(" AND ")));
        }
        if !matches!(kind, "Hash" | "Sort" | "Materialize" | "Memoize") {
            return None;
        }
    }
    None
}

/// Columns of the relation known as `alias` in a plan expression, equality-compared ones
/// first, each once, at most three (a wider index rarely pays for its writes). A qualified
/// name counts only with this alias; an unqualified one only when it is one of `columns`
/// (a plan without VERBOSE leaves a single relation's names unqualified).
pub fn relation_columns(expr: &str, alias: &str, columns: &[String]) -> Vec<String> {
    let mut eq: Vec<String> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    let sp = spans(expr);
    let mut i = 0;
    while i < sp.len() {
        let (w, start, end) = &sp[i];
        i += 1;
        // A type name after `::` is no column.
        if expr[..*start].trim_end().ends_with("::") {
            continue;
        }
        let (col, end) = if expr[*end..].starts_with('.') {
            // qualifier.column: the next word is the column, of this relation or another.
            let Some((c, _, cend)) = sp.get(i) else { break };
            i += 1;
            if w != alias {
                continue;
            }
            (c.clone(), *cend)
        } else {
            if !columns.contains(w) {
                continue;
            }
            (w.clone(), *end)
        };
        if eq.contains(&col) || other.contains(&col) {
            continue;
        }
        // "(col = $1)" or "((col)::text = $1)": skip closing parens and casts after the column.
        let mut after = &expr[end..];
        loop {
            after = after.trim_start();
            if let Some(rest) = after.strip_prefix(')') {
                after = rest;
            } else if let Some(rest) = after.strip_prefix("::") {
                after = rest.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
            } else {
                break;
            }
        }
        if after.starts_with('=') && !after.starts_with("=>") {
            eq.push(col);
        } else {
            other.push(col);
        }
    }
    eq.extend(other);
    eq.truncate(3);
    eq
}

/// Statements that EXPLAIN can plan and that can scan a table.
pub fn plannable(query: &str) -> bool {
    let first = first_keyword(query);
    matches!(first.as_str(), "select" | "with" | "update" | "delete")
}

pub fn first_keyword(query: &str) -> String {
    let mut q = query.trim_start();
    loop {
        if let Some(rest) = q.strip_prefix("--") {
            q = rest
                .split_once('\n')
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(rest) = q.strip_prefix("/*") {
            q = rest
                .split_once("*/")
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(rest) = q.strip_prefix('(') {
            q = rest.trim_start();
        } else {
            break;
        }
    }
    q.chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Whether `name` appears in `query` as a whole word (case-insensitive, or quoted exactly).
pub fn mentions(query: &str, name: &str) -> bool {
    words(query).any(|w| w.eq_ignore_ascii_case(name) || w == name)
}

/// Identifier-like words of a SQL text or plan expression, quotes removed.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    spans(text).into_iter().map(|(w, _, _)| w)
}

/// Each identifier-like word of a SQL text or plan expression with its start and the byte
/// offset just after it; quotes removed, string literals skipped.
pub fn spans(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c == '"' {
            let mut w = String::new();
            let mut end = text.len();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if chars.peek().is_some_and(|(_, n)| *n == '"') {
                        chars.next();
                        w.push('"');
                    } else {
                        end = i + 1;
                        break;
                    }
                } else {
                    w.push(c);
                }
            }
            out.push((w, start, end));
        } else if c == '\'' {
            while let Some((_, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let mut w = String::from(c);
            let mut end = text.len();
            while let Some(&(i, n)) = chars.peek() {
                if n.is_alphanumeric() || n == '_' || n == '$' {
                    w.push(n);
                    chars.next();
                } else {
                    end = i;
                    break;
                }
            }
            out.push((w, start, end));
        } else if c.is_ascii_digit() || c == '$' {
            // A number or a parameter ($1): not a word, and no word starts inside it.
            while chars
                .peek()
                .is_some_and(|(_, n)| n.is_ascii_alphanumeric() || *n == '_' || *n == '.')
            {
                chars.next();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_resolve_to_the_alias_of_the_scan() {
        let f = "(u.created_at >= (now() - '7 days'::interval))";
        assert_eq!(relation_columns(f, "u", &[]), cols(&["created_at"]));
        assert!(relation_columns(f, "iu", &[]).is_empty());
        let all = cols(&["id", "customer_id", "status", "note", "created_at"]);
        assert_eq!(
            relation_columns("(customer_id = $1)", "orders", &all),
            cols(&["customer_id"])
        );
        assert_eq!(
            relation_columns("((created_at > $2) AND ((status)::text = $1))", "o", &all),
            cols(&["status", "created_at"])
        );
        assert_eq!(
            relation_columns("(upper(o.note) ~~ 'x'::text)", "o", &all),
            cols(&["note"])
        );
        assert!(relation_columns("($1 IS NULL)", "o", &all).is_empty());
        // A type named like a column is no column.
        assert!(relation_columns("(x.a = ($1)::status)", "o", &all).is_empty());
        assert_eq!(
            relation_columns("(iu.inviter_user_id = u.telegram_id)", "iu", &[]),
            cols(&["inviter_user_id"])
        );
    }

    #[test]
    fn seq_scans_of_the_ranking_plan() {
        // The shape of the ranking query's generic plan (VERBOSE).
        let plan: Value = serde_json::from_str(
            r#"[{"Plan": {"Node Type": "Limit", "Plans": [{"Node Type": "Sort", "Plans": [
            {"Node Type": "Aggregate", "Plans": [{"Node Type": "Hash Join",
             "Hash Cond": "(iu.inviter_user_id = u.telegram_id)", "Plans": [
              {"Node Type": "Seq Scan", "Relation Name": "global_unique_invited_users", "Schema": "public", "Alias": "iu"},
              {"Node Type": "Hash", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "users_global",
                "Schema": "public", "Alias": "u", "Filter": "(u.created_at >= (now() - '7 days'::interval))"}]}]}]}]}]}}]"#,
        )
        .unwrap();
        let scans = seq_scans(&plan, &|_, _| Vec::new());
        assert_eq!(scans.len(), 2);
        assert_eq!(scans[0].relation, "global_unique_invited_users");
        assert!(scans[0].filter.is_empty());
        assert_eq!(scans[0].join, cols(&["inviter_user_id"]));
        // A hash join reads the invites whole: nothing to index for that scan.
        assert!(scans[0].index_columns().is_empty());
        assert_eq!(scans[1].relation, "users_global");
        assert_eq!(scans[1].schema.as_deref(), Some("public"));
        assert_eq!(scans[1].index_columns(), cols(&["created_at"]));
    }

    #[test]
    fn normalized_typed_literals_parse_again() {
        assert_eq!(
            typed_literal_params("WHERE u.created_at >= NOW() - INTERVAL $1 GROUP BY 1 LIMIT $2"),
            "WHERE u.created_at >= NOW() - $1::INTERVAL GROUP BY 1 LIMIT $2"
        );
        assert_eq!(
            typed_literal_params("SELECT date $1, 'interval $2', \"date\" FROM t"),
            "SELECT $1::date, 'interval $2', \"date\" FROM t"
        );
        assert_eq!(
            typed_literal_params("SELECT text FROM t"),
            "SELECT text FROM t"
        );
    }

    #[test]
    fn one_statement_only() {
        assert_eq!(single_statement("SELECT 1;").unwrap(), "SELECT 1");
        assert!(single_statement("SELECT 1; DROP TABLE t").is_err());
    }
}
