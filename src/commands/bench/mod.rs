//! `opsbook bench ranking | bench <name> | bench --sql '...'`: run one query from N clients on
//! the operator's own server, measure it like pgbench does, and say whether its p95 meets the
//! target; `--explain` says why not and what would fix it, `--generate USERS` builds the
//! seeds' schema with synthetic data in a scratch database first.

pub mod explain;
pub mod generate;
pub mod runner;

use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::clients::pg::PgOptions;
use crate::clients::postgres::PgClient;
use crate::config::Span;
use crate::context::Ctx;
use crate::report::{Finding, Fit, Report, Section, Status};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "bench",
    page: "commands/bench.md",
    ids: &[
        "bench.latency_p95",
        "bench.throughput",
        "bench.errors",
        "bench.generate",
        "bench.plan",
        "bench.seq_scan",
        "bench.row_estimates",
        "bench.aggregation",
    ],
};

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!("{}{}", FINDING_IDS.help(), "\n\n\
Examples:\n  opsbook bench ranking\n  opsbook bench ranking --clients 4 --duration 30s --warmup 5s\n  \
opsbook bench ranking --generate 50000 --explain\n  \
opsbook bench --sql 'SELECT * FROM users_global WHERE telegram_id = $1' --param 100000042 --target-ms 5\n  \
opsbook bench ranking --rate 20 --duration 1m --format json\n\n\
Exit status: 0 p95 within the target, 1 within twice the target (or errors, or advice), \
2 above twice the target, 3 the query could not run (syntax error, timeout, no server).\n\
See commands/bench.md.")
}

/// The seeds' ranking query (their "complete ranking in < 50 ms for 50k+ users").
pub const RANKING_SQL: &str = "SELECT u.telegram_id, u.username, COUNT(iu.id) AS invite_count
FROM users_global u
LEFT JOIN global_unique_invited_users iu ON u.telegram_id = iu.inviter_user_id
WHERE u.created_at >= NOW() - INTERVAL '7 days'
GROUP BY u.telegram_id, u.username
ORDER BY invite_count DESC
LIMIT 100";
pub const RANKING_TARGET_MS: f64 = 50.0;

/// The scratch database `--generate` fills unless `--into` names another.
pub const BENCH_DB: &str = "opsbook_bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// Prepare once per client, then Bind/Execute (pgbench -M prepared)
    Prepared,
    /// Send the SQL text each time (pgbench -M simple); no parameters
    Simple,
}

/// Measure a query's latency and throughput from N clients against a target
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The named query: `ranking` (built in) or a key of the config's bench.queries
    #[arg(
        value_name = "NAME",
        required_unless_present = "sql",
        conflicts_with = "sql"
    )]
    pub name: Option<String>,
    /// Benchmark this SQL statement instead of a named query
    #[arg(long, value_name = "SQL")]
    pub sql: Option<String>,
    /// A value for $1, $2 ... (repeat in order; replaces the named query's params)
    #[arg(long = "param", value_name = "VALUE")]
    pub params: Vec<String>,
    /// Concurrent clients, one connection each
    #[arg(long, short = 'c', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub clients: u32,
    /// How long to measure (after the warmup)
    #[arg(long, value_name = "DURATION", value_parser = Span::parse, conflicts_with = "transactions")]
    pub duration: Option<Span>,
    /// Transactions each client runs instead of a duration (like pgbench -t)
    #[arg(long, short = 't', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub transactions: Option<u64>,
    /// Run this long before measuring; nothing from the warmup is recorded
    #[arg(long, value_name = "DURATION", value_parser = Span::parse, default_value = "0s")]
    pub warmup: Span,
    /// How statements are sent
    #[arg(long, value_enum, default_value_t = Protocol::Prepared)]
    pub protocol: Protocol,
    /// Open loop: R transactions per second in all (Poisson arrivals); latency counts from the scheduled start, like pgbench -R
    #[arg(long, short = 'R', value_name = "TPS", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// The p95 latency target in milliseconds (default: the named query's, 50 for ranking)
    #[arg(long, value_name = "MS", value_parser = parse_target)]
    pub target_ms: Option<f64>,
    /// Also run EXPLAIN (ANALYZE, BUFFERS) once and say what costs the time and what would fix it
    #[arg(long)]
    pub explain: bool,
    /// First build the seeds' schema with USERS synthetic users (~20 invites each) in a scratch database
    #[arg(long, value_name = "USERS", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub generate: Option<u64>,
    /// The database --generate fills and the benchmark runs in (default opsbook_bench)
    #[arg(long, value_name = "DB", requires = "generate")]
    pub into: Option<String>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        // At least one transaction in 1000 s: a slower rate overflowed the schedule's clock.
        Ok(v) if v.is_finite() && (0.001..=1_000_000.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a rate between 0.001 and 1000000 transactions per second (e.g. 20 or 0.5)"
        )),
    }
}

fn parse_target(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a positive number of milliseconds (e.g. 50 or 2.5)"
        )),
    }
}

impl BenchArgs {
    /// "ranking", "<name>" or "sql" for --sql.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("sql")
    }
}

/// The query to run, resolved from the name, the config and the flags.
#[derive(Debug, Clone)]
pub struct Query {
    pub name: String,
    pub sql: String,
    pub params: Vec<String>,
    pub target_ms: Option<f64>,
}

pub fn resolve_query(args: &BenchArgs, ctx: &Ctx) -> anyhow::Result<Query> {
    let mut q = if let Some(sql) = &args.sql {
        Query {
            name: "sql".into(),
            sql: sql.clone(),
            params: Vec::new(),
            target_ms: None,
        }
    } else {
        let name = args.name();
        if let Some(c) = ctx.config.bench.queries.get(name) {
            Query {
                name: name.to_string(),
                sql: c.sql.clone(),
                params: c.params.iter().map(|p| p.to_string()).collect(),
                target_ms: c.target_ms,
            }
        } else if name == "ranking" {
            Query {
                name: name.to_string(),
                sql: RANKING_SQL.to_string(),
                params: Vec::new(),
                target_ms: Some(RANKING_TARGET_MS),
            }
        } else {
            let mut known: Vec<&str> = vec!["ranking"];
            known.extend(
                ctx.config
                    .bench
                    .queries
                    .keys()
                    .map(String::as_str)
                    .filter(|k| *k != "ranking"),
            );
            bail!(
                "no benchmark query named `{name}` (known: {})\nhint: add it under bench.queries in the config ({}), or pass --sql '...'",
                known.join(", "),
                ctx.source
            );
        }
    };
    if !args.params.is_empty() {
        q.params = args.params.clone();
    }
    if args.target_ms.is_some() {
        q.target_ms = args.target_ms;
    }
    let trimmed = q.sql.trim().trim_end_matches(';').trim();
    if trimmed.is_empty() {
        bail!("the query to benchmark is empty");
    }
    q.sql = trimmed.to_string();
    Ok(q)
}

pub async fn run(args: &BenchArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let query = resolve_query(args, ctx)?;
    if args.protocol == Protocol::Simple && !query.params.is_empty() {
        bail!(
            "--protocol simple sends the SQL text as it is and cannot bind {} parameter(s)\nhint: write the values into the SQL, or use --protocol prepared",
            query.params.len()
        );
    }
    let mut options = ctx.pg_options()?;
    let mut report = Report::new(format!("bench {}", args.name()));
    let mut data = serde_json::Map::new();
    if let Some(users) = args.generate {
        let db = args.into.as_deref().unwrap_or(BENCH_DB);
        let phase = crate::progress::Phase::start(
            &ctx.output,
            format!(
                "generating {users} users and {} invitations in database {db}",
                users.saturating_mul(generate::INVITES_PER_USER)
            ),
        );
        let g =
            generate::generate(&options, ctx.timeouts(), db, users, args.into.is_some()).await?;
        phase.finish();
        options = options.with_dbname(db);
        report.push(
            Finding::ok(
                "bench.generate",
                format!(
                    "generated {} users and {} invitations in database {db} in {:.1} s",
                    g.users,
                    g.invites,
                    g.elapsed.as_secs_f64()
                ),
            )
            .subject(db)
            .value(g.invites, "rows"),
        );
        data.insert(
            "generated".into(),
            json!({"database": db, "users": g.users, "invites": g.invites, "created_database": g.created_database}),
        );
    }
    // Before measuring: the query must run at all; the server's own message otherwise.
    let phase = crate::progress::Phase::start(
        &ctx.output,
        format!("running {} once before measuring", query.name),
    );
    let probe = connect(&options, ctx).await?;
    let probe_time = runner::run_once(&probe, &query, args.protocol)
        .await
        .map_err(|e| query_error(e, &query, ctx))?;
    phase.finish();
    let plan = runner::Plan {
        clients: args.clients,
        duration: match (args.duration, args.transactions) {
            (_, Some(_)) => None,
            (Some(d), None) => Some(d.0),
            (None, None) => Some(Duration::from_secs(10)),
        },
        transactions: args.transactions,
        warmup: args.warmup.0,
        rate: args.rate,
        protocol: args.protocol,
        live: crate::render::show_progress(&ctx.output),
    };
    let result = runner::measure_threaded(&options, ctx.timeouts(), &query, &plan).await?;
    verdict(
        &mut report,
        &query,
        &plan,
        &result,
        probe_time,
        args.explain,
    );
    data.insert("query".into(), json!(query.name));
    data.insert("sql".into(), json!(query.sql));
    data.insert("params".into(), json!(query.params));
    data.insert(
        "protocol".into(),
        json!(match args.protocol {
            Protocol::Prepared => "prepared",
            Protocol::Simple => "simple",
        }),
    );
    data.insert("clients".into(), json!(args.clients));
    data.insert("rate".into(), json!(args.rate));
    data.insert("target_ms".into(), json!(query.target_ms));
    data.insert("database".into(), json!(options.dbname()));
    result.to_json(&mut data);
    if args.explain {
        let phase = crate::progress::Phase::start(
            &ctx.output,
            format!("EXPLAIN (ANALYZE, BUFFERS) of {}", query.name),
        );
        let ex = explain::explain(&probe, &query, &result, query.target_ms)
            .await
            .map_err(|e| query_error(e, &query, ctx))?;
        phase.finish();
        let missed = report
            .find("bench.latency_p95")
            .any(|f| f.status != Status::Ok);
        ex.add_to(&mut report, &mut data, missed);
    }
    report.data = Some(serde_json::Value::Object(data));
    Ok(report)
}

async fn connect(options: &PgOptions, ctx: &Ctx) -> anyhow::Result<PgClient> {
    PgClient::connect(options, ctx.timeouts()).await.with_context(|| {
        "connecting to PostgreSQL to run the benchmark\nhint: check --pg / DATABASE_URL / the config's postgres.url"
            .to_string()
    })
}

/// A failed first run: the server's message, what the query was and a hint that fits.
fn query_error(e: anyhow::Error, query: &Query, ctx: &Ctx) -> anyhow::Error {
    let pg_err = e
        .chain()
        .find_map(|c| c.downcast_ref::<tokio_postgres::Error>());
    let code = pg_err.and_then(|pe| pe.code().cloned());
    let hint = match &code {
        Some(c) if *c == tokio_postgres::error::SqlState::QUERY_CANCELED => format!(
            "hint: statement_timeout ({:.1} s) stopped it; raise it with --timeout SECS if the query is meant to run that long",
            ctx.timeouts().statement.as_secs_f64()
        ),
        Some(c) if *c == tokio_postgres::error::SqlState::SYNTAX_ERROR => {
            "hint: fix the SQL (try it in psql first)".to_string()
        }
        Some(c) if *c == tokio_postgres::error::SqlState::UNDEFINED_TABLE => {
            "hint: is this the right database? `--generate USERS` builds the seeds' tables in a scratch database".to_string()
        }
        Some(_) => "hint: run the query in psql to see it fail the same way".to_string(),
        None => String::new(),
    };
    let sql = crate::sql::one_line_text(&query.sql, 160);
    match (pg_err.and_then(|pe| pe.as_db_error()), code) {
        (Some(db), Some(code)) => anyhow::anyhow!(
            "the {} query failed before the benchmark started: ERROR: {} (SQLSTATE {})\n{sql}\n{hint}",
            query.name,
            db.message(),
            code.code()
        ),
        _ => e.context(format!(
            "the {} query failed before the benchmark started\n{sql}\n{hint}",
            query.name
        )),
    }
}

/// The hint of a missed target. It never suggests what was asked already: with `--explain` the
/// plan findings of this very report say where the time goes.
fn slow_hint(clients: u32, explained: bool) -> &'static str {
    match (clients > 1, explained) {
        (true, false) => "run with --clients 1 to tell a slow query from contention, and --explain to see where the time goes",
        (true, true) => "run with --clients 1 to tell a slow query from contention; the plan findings below (bench.plan, bench.seq_scan, ...) say where the time goes",
        (false, false) => "run with --explain to see where the time goes and what would fix it",
        (false, true) => "the plan findings below (bench.plan, bench.seq_scan, ...) say where the time goes and what would fix it",
    }
}

/// Whether an open-loop run (`--rate`) fell behind its schedule. Arrivals are a Poisson
/// process, so the number due in the measured time varies by about sqrt(expected) by chance
/// alone: falling short is a finding only beyond three standard deviations, plus one
/// transaction per client that may still be in flight when the time is up.
fn cannot_keep_up(expected: f64, done: u64, clients: u32) -> bool {
    let margin = 3.0 * expected.max(0.0).sqrt() + f64::from(clients);
    (done as f64) < expected - margin
}

/// Milliseconds from the histogram's microseconds.
fn ms(us: f64) -> f64 {
    us / 1000.0
}

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

fn verdict(
    report: &mut Report,
    query: &Query,
    plan: &runner::Plan,
    r: &runner::Outcome,
    probe_time: Duration,
    explained: bool,
) {
    let h = &r.hist;
    let n = h.len();
    let p95 = ms(h.value_at_quantile(0.95) as f64);
    if n == 0 {
        report.push(
            Finding::new(
                "bench.latency_p95",
                Status::Unknown,
                format!(
                    "no transaction completed in the measured time (the first run took {})",
                    fmt_ms(probe_time.as_secs_f64() * 1000.0)
                ),
            )
            .hint("measure longer (--duration) or look at the errors"),
        );
    } else {
        let f = match query.target_ms {
            Some(t) => {
                let status = if p95 <= t {
                    Status::Ok
                } else if p95 <= 2.0 * t {
                    Status::Warning
                } else {
                    Status::Critical
                };
                let mut f = Finding::new(
                    "bench.latency_p95",
                    status,
                    format!(
                        "p95 {} vs target {} ({} client{}, {} transactions)",
                        fmt_ms(p95),
                        fmt_ms(t),
                        plan.clients,
                        if plan.clients == 1 { "" } else { "s" },
                        n
                    ),
                );
                if status != Status::Ok {
                    f = f.hint(slow_hint(plan.clients, explained));
                }
                f
            }
            None => Finding::ok(
                "bench.latency_p95",
                format!(
                    "p95 {} ({} transactions; no target: pass --target-ms)",
                    fmt_ms(p95),
                    n
                ),
            ),
        };
        report.push(
            f.subject(query.name.clone())
                .value((p95 / 1000.0 * 1e6).round() / 1e6, "seconds"),
        );
    }
    let mut tp = Finding::ok(
        "bench.throughput",
        format!(
            "{:.1} transactions/s over {:.1} s from {} client{}",
            r.tps(),
            r.elapsed.as_secs_f64(),
            plan.clients,
            if plan.clients == 1 { "" } else { "s" }
        ),
    )
    .value_f64(r.tps(), "tps");
    if let Some(rate) = plan.rate {
        let expected = rate * r.elapsed.as_secs_f64();
        if cannot_keep_up(expected, n, plan.clients) {
            tp.status = Status::Warning;
            tp.summary = format!(
                "{:.1} transactions/s, below the requested rate of {rate}: {n} done where {expected:.0} were due (more short than chance explains): the server cannot keep up (latency includes the queueing)",
                r.tps()
            );
        }
    }
    report.push(tp);
    let errors: u64 = r.errors.iter().map(|(_, c)| *c).sum();
    let total = errors + n;
    let ef = if errors == 0 {
        Finding::ok("bench.errors", "no errors")
    } else {
        let share = errors as f64 / total.max(1) as f64;
        let status = if share > 0.01 {
            Status::Critical
        } else {
            Status::Warning
        };
        let list: Vec<String> = r
            .errors
            .iter()
            .map(|(code, c)| format!("{code} ×{c}"))
            .collect();
        Finding::new(
            "bench.errors",
            status,
            format!(
                "{errors} of {total} transactions failed ({:.1}%): {}",
                share * 100.0,
                list.join(", ")
            ),
        )
        .hint("57014 is statement_timeout (raise --timeout); see data.errors and the server log")
        .detail(r.error_examples.clone())
    };
    report.push(ef.value(errors, "transactions"));
    let mean = ms(h.mean());
    report.sections.push(Section {
        title: format!(
            "Latency of {} ({} client{}, {})",
            query.name,
            plan.clients,
            if plan.clients == 1 { "" } else { "s" },
            match plan.protocol {
                Protocol::Prepared => "prepared",
                Protocol::Simple => "simple",
            }
        ),
        columns: [
            "TPS",
            "TRANSACTIONS",
            "ERRORS",
            "AVG",
            "STDDEV",
            "P50",
            "P90",
            "P95",
            "P99",
            "MAX",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: vec![vec![
            format!("{:.1}", r.tps()),
            n.to_string(),
            errors.to_string(),
            fmt_ms(mean),
            fmt_ms(ms(h.stdev())),
            fmt_ms(ms(h.value_at_quantile(0.50) as f64)),
            fmt_ms(ms(h.value_at_quantile(0.90) as f64)),
            fmt_ms(p95),
            fmt_ms(ms(h.value_at_quantile(0.99) as f64)),
            fmt_ms(ms(h.max() as f64)),
        ]],
        // At 80 columns the percentiles stay; the count and the spread go first.
        fit: [0, 8, 5, 4, 9, 1, 6, 7, 2, 3].map(Fit::Optional).to_vec(),
    });
    if !r.errors.is_empty() {
        report.sections.push(Section {
            title: "Errors by SQLSTATE".into(),
            columns: vec!["SQLSTATE".into(), "COUNT".into()],
            rows: r
                .errors
                .iter()
                .map(|(c, n)| vec![c.clone(), n.to_string()])
                .collect(),
            fit: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falling_behind_the_rate_is_judged_against_poisson_chance() {
        // 20/s for 10 s: 200 due, sd ~14; 170 done is chance (2 sd), 150 is not.
        assert!(!cannot_keep_up(200.0, 200, 1));
        assert!(!cannot_keep_up(200.0, 170, 1));
        assert!(cannot_keep_up(200.0, 150, 1));
        // A short run: 2/s for 5 s, 4 done of 10 due is within chance (the old 90 % rule
        // called this "cannot keep up").
        assert!(!cannot_keep_up(10.0, 4, 1));
        assert!(cannot_keep_up(30.0, 0, 1));
        // Many transactions: the margin shrinks relative to the rate.
        assert!(cannot_keep_up(100_000.0, 98_000, 4));
        assert!(!cannot_keep_up(100_000.0, 99_500, 4));
        // Doing more than due is never behind.
        assert!(!cannot_keep_up(50.0, 80, 1));
    }

    #[test]
    fn the_hint_of_a_missed_target_never_suggests_what_was_asked() {
        for clients in [1, 4] {
            assert!(slow_hint(clients, false).contains("--explain"));
            assert!(!slow_hint(clients, true).contains("--explain"));
            assert!(slow_hint(clients, true).contains("plan findings"));
        }
        assert!(slow_hint(4, true).contains("--clients 1"));
    }
}
