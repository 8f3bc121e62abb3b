//! The measuring loop: one connection and one HDR histogram (microseconds) per client, merged
//! at the end. Nothing on the per-transaction path allocates or takes a lock of ours: the
//! statement is prepared and the parameters bound once per client, rows are drained from the
//! stream without being collected, and latencies go into the client's own histogram.
//!
//! Closed loop by default (each client starts its next transaction when the last one ends);
//! `--rate` schedules transactions as a Poisson process and measures latency from the
//! scheduled start, so a server that falls behind shows the queueing (pgbench -R).

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use futures_util::StreamExt as _;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Statement;

use super::{Protocol, Query};
use crate::clients::pg::PgOptions;
use crate::clients::postgres::{PgClient, SessionTimeouts};

/// Up to one hour in microseconds, 3 significant digits (0.1 %).
const HIST_MAX_US: u64 = 3_600_000_000;

pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::<u64>::new_with_bounds(1, HIST_MAX_US, 3).context("creating a latency histogram")
}

/// What to run and for how long.
#[derive(Debug, Clone)]
pub struct Plan {
    pub clients: u32,
    /// Measured time after the warmup; None when `transactions` bounds the run.
    pub duration: Option<Duration>,
    /// Transactions each client runs after the warmup.
    pub transactions: Option<u64>,
    pub warmup: Duration,
    /// Transactions per second in all (open loop), split evenly over the clients.
    pub rate: Option<f64>,
    pub protocol: Protocol,
    /// A progress line per second on stderr.
    pub live: bool,
}

/// The merged measurement.
pub struct Outcome {
    pub hist: Histogram<u64>,
    /// (SQLSTATE or "connection", count), most frequent first.
    pub errors: Vec<(String, u64)>,
    /// The first message of each distinct error, for the report's detail.
    pub error_examples: Vec<String>,
    /// From the end of the warmup to the last client's last transaction.
    pub elapsed: Duration,
    pub warmup: Duration,
}

impl Outcome {
    pub fn tps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.hist.len() as f64 / secs
        } else {
            0.0
        }
    }

    /// The numbers for `--format json` (latencies in milliseconds, 3 decimals).
    pub fn to_json(&self, data: &mut serde_json::Map<String, serde_json::Value>) {
        let h = &self.hist;
        let r = |us: f64| (us / 1000.0 * 1000.0).round() / 1000.0;
        let q = |p: f64| r(h.value_at_quantile(p) as f64);
        let empty = h.is_empty();
        let v = |x: f64| if empty { json!(null) } else { json!(x) };
        data.insert("transactions".into(), json!(h.len()));
        data.insert("tps".into(), json!((self.tps() * 1000.0).round() / 1000.0));
        data.insert(
            "elapsed_s".into(),
            json!((self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0),
        );
        data.insert("warmup_s".into(), json!(self.warmup.as_secs_f64()));
        let errors: serde_json::Map<String, serde_json::Value> = self
            .errors
            .iter()
            .map(|(c, n)| (c.clone(), json!(n)))
            .collect();
        data.insert("errors".into(), serde_json::Value::Object(errors));
        data.insert(
            "latency_ms".into(),
            json!({
                "min": v(r(h.min() as f64)),
                "avg": v(r(h.mean())),
                "stddev": v(r(h.stdev())),
                "p50": v(q(0.50)),
                "p90": v(q(0.90)),
                "p95": v(q(0.95)),
                "p99": v(q(0.99)),
                "p999": v(q(0.999)),
                "max": v(r(h.max() as f64)),
            }),
        );
    }
}

/// Parameters bound once to the prepared statement's types.
type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// Convert the text values to the types the server inferred for $1, $2 ...
pub fn bind_params(stmt: &Statement, values: &[String]) -> anyhow::Result<Params> {
    let types = stmt.params();
    if types.len() != values.len() {
        bail!(
            "the query has {} parameter(s) ($1 ... ${}) but {} value(s) were given\nhint: pass one --param VALUE per parameter, in order (or params: [...] in the config)",
            types.len(),
            types.len(),
            values.len()
        );
    }
    types
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (ty, v))| bind_one(i + 1, ty, v))
        .collect()
}

fn bind_one(n: usize, ty: &Type, v: &str) -> anyhow::Result<Box<dyn ToSql + Sync + Send>> {
    let bad = |what: &str| {
        anyhow::anyhow!("parameter ${n} is {ty} but `{v}` is not {what}\nhint: check the order of --param values")
    };
    Ok(match *ty {
        Type::INT2 => Box::new(v.trim().parse::<i16>().map_err(|_| bad("a smallint"))?),
        Type::INT4 => Box::new(v.trim().parse::<i32>().map_err(|_| bad("an integer"))?),
        Type::INT8 => Box::new(v.trim().parse::<i64>().map_err(|_| bad("a bigint"))?),
        Type::FLOAT4 => Box::new(v.trim().parse::<f32>().map_err(|_| bad("a real"))?),
        Type::FLOAT8 => Box::new(v.trim().parse::<f64>().map_err(|_| bad("a number"))?),
        Type::OID => Box::new(v.trim().parse::<u32>().map_err(|_| bad("an oid"))?),
        Type::BOOL => Box::new(match v.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "yes" | "on" | "1" => true,
            "f" | "false" | "no" | "off" | "0" => false,
            _ => return Err(bad("a boolean")),
        }),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            Box::new(v.to_string())
        }
        _ => bail!(
            "parameter ${n} is {ty}, which opsbook cannot bind from text\nhint: write ${n}::text::{ty} in the query so the server converts the text itself"
        ),
    })
}

fn as_refs(params: &Params) -> impl ExactSizeIterator<Item = &(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync))
}

/// One client's way of running the query.
enum Exec {
    Prepared(Statement, Params),
    Simple(Arc<str>),
}

impl Exec {
    async fn new(pg: &PgClient, q: &Query, protocol: Protocol) -> anyhow::Result<Exec> {
        Ok(match protocol {
            Protocol::Prepared => {
                let stmt = pg.client.prepare(&q.sql).await?;
                let params = bind_params(&stmt, &q.params)?;
                Exec::Prepared(stmt, params)
            }
            Protocol::Simple => Exec::Simple(Arc::from(q.sql.as_str())),
        })
    }

    /// Run once and drain every row without keeping any.
    async fn run(&self, pg: &PgClient) -> Result<(), tokio_postgres::Error> {
        match self {
            Exec::Prepared(stmt, params) => {
                let mut rows = pin!(pg.client.query_raw(stmt, as_refs(params)).await?);
                while let Some(row) = rows.next().await {
                    row?;
                }
            }
            Exec::Simple(sql) => {
                let mut msgs = pin!(pg.client.simple_query_raw(sql).await?);
                while let Some(m) = msgs.next().await {
                    m?;
                }
            }
        }
        Ok(())
    }
}

/// The check before measuring: prepare, bind and run the query once on `pg`.
pub async fn run_once(pg: &PgClient, q: &Query, protocol: Protocol) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let exec = Exec::new(pg, q, protocol).await?;
    exec.run(pg).await?;
    Ok(started.elapsed())
}

/// What a client reports each second when the live line is on.
struct Tick {
    hist: Histogram<u64>,
    errors: u64,
}

struct ClientResult {
    hist: Histogram<u64>,
    errors: Vec<(String, u64)>,
    examples: Vec<String>,
    finished: Instant,
}

struct Shared {
    start: Instant,
    measure_from: Instant,
    end: Option<Instant>,
    transactions: Option<u64>,
    /// Mean seconds between one client's scheduled starts (open loop).
    interval: Option<f64>,
}

/// xorshift64*: a dependency-free generator for Poisson arrival times.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        // 53 random bits in (0, 1]
        ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

async fn client_loop(
    index: u32,
    pg: PgClient,
    exec: Exec,
    s: Arc<Shared>,
    live: Option<mpsc::UnboundedSender<Tick>>,
) -> anyhow::Result<ClientResult> {
    let mut hist = new_histogram()?;
    let mut interval = new_histogram()?;
    let mut interval_errors = 0u64;
    let mut next_tick = s.start + Duration::from_secs(1);
    let mut errors: Vec<(String, u64)> = Vec::new();
    let mut examples: Vec<String> = Vec::new();
    let mut measured = 0u64;
    let mut rng =
        Rng(0x9E37_79B9_7F4A_7C15 ^ (u64::from(index) + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    // Clients start spread over one mean interval so an open loop does not begin with a burst.
    let mut next_start = match s.interval {
        Some(mean) => s.start + Duration::from_secs_f64(mean * rng.uniform()),
        None => s.start,
    };
    loop {
        let scheduled = match s.interval {
            Some(mean) => {
                let at = next_start;
                next_start += Duration::from_secs_f64(-rng.uniform().ln() * mean);
                if s.end.is_some_and(|e| at >= e) {
                    break;
                }
                if at > Instant::now() {
                    tokio::time::sleep_until(at).await;
                }
                at
            }
            None => {
                let now = Instant::now();
                if s.end.is_some_and(|e| now >= e) {
                    break;
                }
                now
            }
        };
        if s.transactions.is_some_and(|n| measured >= n) {
            break;
        }
        let res = exec.run(&pg).await;
        let done = Instant::now();
        let us = done.saturating_duration_since(scheduled).as_micros() as u64;
        let recorded = scheduled >= s.measure_from;
        if recorded {
            measured += 1;
        }
        match res {
            Ok(()) => {
                if recorded {
                    hist.saturating_record(us.max(1));
                }
                if live.is_some() {
                    interval.saturating_record(us.max(1));
                }
            }
            Err(e) => {
                interval_errors += 1;
                if recorded {
                    let code = e.code().map(|c| c.code()).unwrap_or("connection");
                    match errors.iter_mut().find(|(c, _)| c == code) {
                        Some((_, n)) => *n += 1,
                        None => {
                            errors.push((code.to_string(), 1));
                            examples.push(format!("{code}: {}", db_message(&e)));
                        }
                    }
                }
                if pg.client.is_closed() {
                    if !recorded {
                        errors.push(("connection".into(), 1));
                        examples.push(format!("connection: {}", db_message(&e)));
                    }
                    break;
                }
            }
        }
        if let Some(tx) = &live {
            if done >= next_tick {
                let _ = tx.send(Tick {
                    hist: interval.clone(),
                    errors: interval_errors,
                });
                interval.reset();
                interval_errors = 0;
                while next_tick <= done {
                    next_tick += Duration::from_secs(1);
                }
            }
        }
    }
    Ok(ClientResult {
        hist,
        errors,
        examples,
        finished: Instant::now(),
    })
}

/// The server's message of a failed statement, or the driver's description.
pub fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// `measure` on a runtime of its own with one worker thread per client, up to the CPUs
/// (opsbook's runtime has one thread: enough for database-bound queries, but it caps a fast
/// query from several clients well below what pgbench -j reaches). One client stays here.
pub async fn measure_threaded(
    options: &PgOptions,
    timeouts: SessionTimeouts,
    q: &Query,
    plan: &Plan,
) -> anyhow::Result<Outcome> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (plan.clients as usize).min(cpus);
    if threads <= 1 {
        return measure(options, timeouts, q, plan).await;
    }
    let (options, q, plan) = (options.clone(), q.clone(), plan.clone());
    tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("opsbook-bench")
            .enable_all()
            .build()
            .context("starting the benchmark's worker threads")?;
        let out = rt.block_on(measure(&options, timeouts, &q, &plan));
        rt.shutdown_timeout(Duration::from_millis(100));
        out
    })
    .await
    .context("the benchmark's worker threads stopped")?
}

/// Connect every client, then run them all from one common start.
pub async fn measure(
    options: &PgOptions,
    timeouts: SessionTimeouts,
    q: &Query,
    plan: &Plan,
) -> anyhow::Result<Outcome> {
    let connects = (0..plan.clients).map(|_| async {
        let pg = PgClient::connect(options, timeouts).await?;
        let exec = Exec::new(&pg, q, plan.protocol).await?;
        anyhow::Ok((pg, exec))
    });
    let clients = futures_util::future::try_join_all(connects)
        .await
        .with_context(|| format!("connecting {} benchmark client(s)", plan.clients))?;
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let shared = Arc::new(Shared {
        start,
        measure_from,
        end: plan.duration.map(|d| measure_from + d),
        transactions: plan.transactions,
        interval: plan.rate.map(|r| f64::from(plan.clients) / r),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let reporter = plan
        .live
        .then(|| tokio::spawn(live_lines(rx, start, measure_from)));
    let mut tasks = Vec::with_capacity(clients.len());
    for (i, (pg, exec)) in clients.into_iter().enumerate() {
        let live = plan.live.then(|| tx.clone());
        tasks.push(tokio::spawn(client_loop(
            i as u32,
            pg,
            exec,
            shared.clone(),
            live,
        )));
    }
    drop(tx);
    let mut hist = new_histogram()?;
    let mut errors: Vec<(String, u64)> = Vec::new();
    let mut examples = Vec::new();
    let mut last = measure_from;
    for t in tasks {
        let r = t.await.context("a benchmark client stopped")??;
        hist.add(&r.hist).context("merging latency histograms")?;
        for (code, n) in r.errors {
            match errors.iter_mut().find(|(c, _)| *c == code) {
                Some((_, m)) => *m += n,
                None => errors.push((code, n)),
            }
        }
        for e in r.examples {
            if !examples.contains(&e) && examples.len() < 5 {
                examples.push(e);
            }
        }
        last = last.max(r.finished);
    }
    if let Some(r) = reporter {
        let _ = r.await;
    }
    errors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Outcome {
        hist,
        errors,
        error_examples: examples,
        elapsed: last.saturating_duration_since(measure_from),
        warmup: plan.warmup,
    })
}

/// A line per second on stderr, like pgbench -P 1: what finished in that second.
async fn live_lines(mut rx: mpsc::UnboundedReceiver<Tick>, start: Instant, measure_from: Instant) {
    let Ok(mut acc) = new_histogram() else {
        return;
    };
    let mut errors = 0u64;
    let mut ticker =
        tokio::time::interval_at(start + Duration::from_millis(1100), Duration::from_secs(1));
    let mut last = start;
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(t) => {
                    let _ = acc.add(&t.hist);
                    errors += t.errors;
                }
                None => break,
            },
            now = ticker.tick() => {
                let secs = now.saturating_duration_since(last).as_secs_f64().max(0.001);
                // A second that began before the end of the warmup is (mostly) warmup.
                let phase = if last < measure_from { " (warmup)" } else { "" };
                last = now;
                eprintln!(
                    "progress: {:.1} s, {:.1} tps, p50 {:.1} ms, p99 {:.1} ms, {} errors{phase}",
                    now.saturating_duration_since(start).as_secs_f64() - 0.1,
                    acc.len() as f64 / secs,
                    acc.value_at_quantile(0.5) as f64 / 1000.0,
                    acc.value_at_quantile(0.99) as f64 / 1000.0,
                    errors
                );
                acc.reset();
                errors = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_in_range_and_spread() {
        let mut r = Rng(42);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let u = r.uniform();
            assert!(u > 0.0 && u <= 1.0);
            sum += u;
        }
        let mean = sum / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }

    #[test]
    fn binds_common_types_and_refuses_others() {
        assert!(bind_one(1, &Type::INT8, "42").is_ok());
        assert!(bind_one(1, &Type::INT4, "x").is_err());
        assert!(bind_one(1, &Type::BOOL, "yes").is_ok());
        assert!(bind_one(1, &Type::TEXT, "abc").is_ok());
        let e = bind_one(2, &Type::TIMESTAMPTZ, "2026-01-01").unwrap_err();
        assert!(e.to_string().contains("$2::text::timestamptz"), "{e}");
    }

    #[test]
    fn outcome_json_has_percentiles() {
        let mut h = new_histogram().unwrap();
        for us in [1000u64, 2000, 3000, 4000, 100_000] {
            h.record(us).unwrap();
        }
        let o = Outcome {
            hist: h,
            errors: vec![("57014".into(), 2)],
            error_examples: vec![],
            elapsed: Duration::from_secs(1),
            warmup: Duration::ZERO,
        };
        let mut m = serde_json::Map::new();
        o.to_json(&mut m);
        assert_eq!(m["transactions"], 5);
        assert_eq!(m["tps"], 5.0);
        assert_eq!(m["errors"]["57014"], 2);
        let p50 = m["latency_ms"]["p50"].as_f64().unwrap();
        assert!((p50 - 3.0).abs() < 0.01, "{p50}");
        let max = m["latency_ms"]["max"].as_f64().unwrap();
        assert!((max - 100.0).abs() < 0.2, "{max}");
    }
}
