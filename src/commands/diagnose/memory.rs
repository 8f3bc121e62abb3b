//! `diagnose memory`: sample host memory, a process's RSS, PostgreSQL's connection count and
//! Redis's used memory over a period; tell a leak (steady growth) from a sawtooth (growth that
//! comes and goes), and check PostgreSQL's memory settings against the host's RAM.
//!
//! Replaces the seed's `memory_diagnostic.py`, which watched only its own process and called
//! any first-half/second-half growth above 10 % a leak, so a garbage-collected sawtooth that
//! happened to end high was a "leak". The same half-growth verdicts are kept; a least-squares
//! fit has to agree (the values must climb steadily) before growth is called a leak.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use crate::config::Span;
use crate::context::Ctx;
use crate::interrupt::Interrupt;
use crate::render::{human_bytes, human_duration};
use crate::report::{Finding, Report, Section, Status};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "diagnose memory",
    page: "commands/diagnose.md",
    ids: &[
        "memory.process",
        "memory.host",
        "memory.postgres_connections",
        "memory.redis",
        "memory.pg_shared_buffers",
        "memory.pg_work_mem",
        "memory.swap",
        "memory.sampling (only when Ctrl-C stopped the sampling)",
    ],
};

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!(
        "{}{}",
        FINDING_IDS.help(),
        "\n\n\
Examples:\n  opsbook diagnose memory\n  opsbook diagnose memory --process gunicorn --duration 30m --interval 30s\n  \
opsbook diagnose memory --pid 4242 --duration 2m --interval 5s --format json\n\n\
Verdicts (growth of the second half's mean over the first half's): > 20 % critical, > 10 % \
warning, > 5 % noted, and only when the values climb steadily (least-squares fit r² >= 0.6).\n\n\
Exit status: 0 stable, 1 possible leak or a memory setting to fix, 2 a leak, 3 unknown.\n\
See commands/diagnose.md."
    )
}

/// The seed's verdicts, on the growth of the second half's mean over the first half's.
const GROWTH_CRITICAL: f64 = 20.0;
const GROWTH_WARNING: f64 = 10.0;
const GROWTH_NOTE: f64 = 5.0;
/// Below this fit the values go up and down (a sawtooth, GC cycles) rather than climb.
const STEADY_R2: f64 = 0.6;
/// The seed refused to judge fewer samples than this.
const MIN_SAMPLES: usize = 10;

/// Sample memory over time and tell a leak from a sawtooth
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// How long to sample (30s, 10m, 1h); Ctrl-C stops early and analyses what was sampled
    #[arg(long, value_name = "DURATION", value_parser = Span::parse, default_value = "60s")]
    pub duration: Span,
    /// Time between samples (a trend needs 10 samples)
    #[arg(long, value_name = "DURATION", value_parser = parse_interval, default_value = "5s")]
    pub interval: Span,
    /// Also sample the resident memory (RSS) of this process
    #[arg(long, value_name = "PID", conflicts_with = "process")]
    pub pid: Option<u32>,
    /// Also sample the summed RSS of every process with this name (its comm or argv[0])
    #[arg(long, value_name = "NAME")]
    pub process: Option<String>,
}

fn parse_interval(s: &str) -> Result<Span, String> {
    let span = Span::parse(s)?;
    if span.0 < Duration::from_millis(50) {
        return Err(format!("`{s}` is too short: sample at most every 50ms"));
    }
    Ok(span)
}

/// One sampling instant.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// seconds since the first sample
    pub t: f64,
    pub host_used_bytes: u64,
    pub process_rss_bytes: Option<u64>,
    pub process_pids: Vec<u32>,
    pub pg_connections: Option<i64>,
    pub redis_used_memory_bytes: Option<u64>,
}

/// The shape of one series over the sampling period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Trend {
    pub samples: usize,
    pub first: f64,
    pub last: f64,
    pub first_half_mean: f64,
    pub second_half_mean: f64,
    /// (second half mean - first half mean) / first half mean, percent (the seed's number)
    pub growth_pct: f64,
    /// least-squares slope, units per hour
    pub slope_per_hour: f64,
    /// coefficient of determination of the linear fit (1 = a straight climb)
    pub r2: f64,
}

impl Trend {
    /// `points` are (seconds, value). None with fewer than two points.
    pub fn of(points: &[(f64, f64)]) -> Option<Trend> {
        let n = points.len();
        if n < 2 {
            return None;
        }
        let half = n / 2;
        let mean = |p: &[(f64, f64)]| p.iter().map(|x| x.1).sum::<f64>() / p.len() as f64;
        let (m1, m2) = (mean(&points[..half]), mean(&points[half..]));
        let growth_pct = if m1 > 0.0 {
            (m2 - m1) / m1 * 100.0
        } else if m2 > 0.0 {
            100.0
        } else {
            0.0
        };
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n as f64;
        let my = mean(points);
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for (x, y) in points {
            sxx += (x - mx) * (x - mx);
            sxy += (x - mx) * (y - my);
            syy += (y - my) * (y - my);
        }
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let r2 = if sxx > 0.0 && syy > 0.0 {
            (sxy * sxy) / (sxx * syy)
        } else {
            0.0
        };
        Some(Trend {
            samples: n,
            first: points[0].1,
            last: points[n - 1].1,
            first_half_mean: m1,
            second_half_mean: m2,
            growth_pct,
            slope_per_hour: slope * 3600.0,
            r2,
        })
    }

    /// The seed's verdicts, each one only when the fit says the values climb steadily.
    pub fn verdict(&self) -> (Status, &'static str) {
        if self.samples < MIN_SAMPLES {
            return (Status::Unknown, "too few samples for a trend");
        }
        let steady = self.r2 >= STEADY_R2 && self.slope_per_hour > 0.0;
        let g = self.growth_pct;
        if steady && g > GROWTH_CRITICAL {
            (Status::Critical, "leak: grows steadily")
        } else if steady && g > GROWTH_WARNING {
            (Status::Warning, "possible leak: grows steadily")
        } else if g > GROWTH_WARNING {
            (
                Status::Ok,
                "goes up and down (a sawtooth, not a steady climb): not a leak",
            )
        } else if g > GROWTH_NOTE {
            (
                Status::Ok,
                "slight growth, normal for a long-running process",
            )
        } else {
            (Status::Ok, "stable")
        }
    }
}

/// What --pid / --process names, resolved anew at each sample (workers come and go).
#[derive(Debug, Clone)]
enum Target {
    Pid(u32),
    Name(String),
}

impl Target {
    fn label(&self) -> String {
        match self {
            Target::Pid(p) => format!("pid {p}"),
            Target::Name(n) => n.clone(),
        }
    }

    fn pids(&self) -> Vec<u32> {
        match self {
            Target::Pid(p) => vec![*p],
            Target::Name(n) => pids_named(n),
        }
    }
}

/// Processes whose comm (cut at 15 bytes by the kernel) or argv[0]'s file name is `name`.
fn pids_named(name: &str) -> Vec<u32> {
    let me = std::process::id();
    let short: String = name.chars().take(15).collect();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            let base = Path::new("/proc").join(pid.to_string());
            let comm = std::fs::read_to_string(base.join("comm")).unwrap_or_default();
            if comm.trim_end() == short {
                return true;
            }
            let cmdline = std::fs::read(base.join("cmdline")).unwrap_or_default();
            let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or(&[]);
            let argv0 = String::from_utf8_lossy(argv0);
            Path::new(argv0.as_ref())
                .file_name()
                .is_some_and(|f| f.to_string_lossy() == name)
        })
        .collect();
    out.sort_unstable();
    out
}

/// Resident memory of a process from /proc/PID/statm (pages), None when it is gone.
fn rss_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).unwrap_or(4096))
}

async fn take_sample(ctx: &Ctx, t: f64, target: Option<&Target>) -> anyhow::Result<Sample> {
    let host = crate::clients::host::memory()?;
    let (pids, rss) = match target {
        Some(tg) => {
            let pids = tg.pids();
            let sizes: Vec<u64> = pids.iter().filter_map(|p| rss_bytes(*p)).collect();
            let rss = (!sizes.is_empty()).then(|| sizes.iter().sum());
            (pids, rss)
        }
        None => (Vec::new(), None),
    };
    let limit = ctx.probe_timeout();
    let pg = async {
        let pg = ctx.pg().await.ok()?;
        // The same count as check morning and monitor: opsbook's own sessions left out.
        let counts = tokio::time::timeout(limit, crate::probes::postgres::connection_counts(pg))
            .await
            .ok()?
            .ok()?;
        Some(counts.used)
    };
    let redis = async {
        let r = ctx.redis().await.ok()?;
        let info = tokio::time::timeout(limit, r.info()).await.ok()?.ok()?;
        Some(info.used_memory)
    };
    let (pg_connections, redis_used) = tokio::join!(pg, redis);
    Ok(Sample {
        t,
        host_used_bytes: host.used,
        process_rss_bytes: rss,
        process_pids: pids,
        pg_connections,
        redis_used_memory_bytes: redis_used,
    })
}

pub async fn run(args: &MemoryArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let started = Instant::now();
    let target = match (&args.pid, &args.process) {
        (Some(p), _) => Some(Target::Pid(*p)),
        (None, Some(n)) => Some(Target::Name(n.clone())),
        _ => None,
    };
    if let Some(t) = &target {
        if t.pids().iter().all(|p| rss_bytes(*p).is_none()) {
            bail!(
                "no running process matches {}\nhint: check the pid or name with `ps -eo pid,comm,rss | grep ...`",
                t.label()
            );
        }
    }
    let count = (args.duration.0.as_secs_f64() / args.interval.0.as_secs_f64()).floor() as u64 + 1;
    let bar = crate::render::show_progress(&ctx.output).then(|| {
        let pb = indicatif::ProgressBar::with_draw_target(
            Some(count),
            indicatif::ProgressDrawTarget::stderr_with_hz(4),
        );
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "sampling memory {bar:30} {pos}/{len} samples, {msg} (Ctrl-C stops and analyses)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.set_message(format!(
            "{} left",
            human_duration(args.duration.as_secs_f64())
        ));
        pb
    });
    // Ctrl-C / SIGTERM end the sampling, not the run: what was sampled is still analysed.
    let interrupt = Interrupt::install()?;
    let mut samples: Vec<Sample> = Vec::new();
    let origin = Instant::now();
    let mut ticks = tokio::time::interval(args.interval.0);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..count {
        if interrupt.guard(ticks.tick()).await.is_err() {
            break;
        }
        let taken = interrupt
            .run(take_sample(
                ctx,
                origin.elapsed().as_secs_f64(),
                target.as_ref(),
            ))
            .await;
        match taken {
            Ok(s) => samples.push(s),
            Err(e) if crate::interrupt::is_interrupted(&e) => break,
            Err(e) => return Err(e.context("sampling memory")),
        }
        if let Some(pb) = &bar {
            pb.inc(1);
            let left = args.duration.as_secs_f64() - origin.elapsed().as_secs_f64();
            pb.set_message(format!("{} left", human_duration(left.max(0.0))));
        }
        // Test-only: hold here after N samples so the signal suite can Ctrl-C at a known count.
        let pause = format!("memory.after_sample.{}", samples.len());
        if interrupt
            .guard(crate::interrupt::test_pause(&pause))
            .await
            .is_err()
        {
            break;
        }
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    let mut report = Report::new("diagnose memory");
    analyse(&mut report, &samples, target.as_ref());
    if let Some(sig) = interrupt.signal() {
        report.push(
            Finding::ok(
                "memory.sampling",
                format!(
                    "stopped by {sig} after {} of {count} samples ({:.0} s of {})",
                    samples.len(),
                    origin.elapsed().as_secs_f64(),
                    human_duration(args.duration.as_secs_f64())
                ),
            )
            .value(samples.len(), "samples"),
        );
    }
    settings(&mut report, ctx).await;
    report
        .sections
        .push(samples_section(&samples, target.is_some()));
    report.data = Some(serde_json::json!({
        "interval_seconds": args.interval.as_secs_f64(),
        "target": target.as_ref().map(Target::label),
        "samples": samples,
    }));
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

fn series(samples: &[Sample], pick: impl Fn(&Sample) -> Option<f64>) -> Vec<(f64, f64)> {
    samples
        .iter()
        .filter_map(|s| pick(s).map(|v| (s.t, v)))
        .collect()
}

/// One finding per sampled series, judged by the same verdicts. `taken` is how many samples
/// were taken at all: a series with none of them could not be read (a server down), a short
/// run (Ctrl-C, a short --duration) says how far it got.
fn trend_finding(
    id: &str,
    what: &str,
    points: &[(f64, f64)],
    taken: usize,
    bytes: bool,
) -> Finding {
    if points.is_empty() && taken > 0 {
        return Finding::new(
            id,
            Status::Unknown,
            format!("{what}: could not be sampled (see the connection findings or --pid)"),
        );
    }
    if points.len() < MIN_SAMPLES {
        return Finding::new(
            id,
            Status::Unknown,
            format!(
                "{what}: too few samples: {} of the {MIN_SAMPLES} needed for a trend",
                points.len()
            ),
        )
        .value(points.len(), "samples")
        .hint(
            "sample longer (--duration) or more often (--interval); Ctrl-C only after 10 samples",
        );
    }
    let Some(t) = Trend::of(points) else {
        return Finding::new(
            id,
            Status::Unknown,
            format!("{what}: could not be sampled (see the connection findings or --pid)"),
        );
    };
    let (status, words) = t.verdict();
    let fmt = |v: f64| {
        if bytes {
            human_bytes(v)
        } else {
            format!("{v:.0}")
        }
    };
    let slope = if bytes {
        format!("{:+.1} MiB/h", t.slope_per_hour / (1024.0 * 1024.0))
    } else {
        format!("{:+.1}/h", t.slope_per_hour)
    };
    let mut f = Finding::new(
        id,
        status,
        format!(
            "{what} {} -> {}, {:+.1}% (second half vs first), {slope} (fit r² {:.2}): {words}",
            fmt(t.first),
            fmt(t.last),
            t.growth_pct,
            t.r2
        ),
    )
    .value_f64(t.growth_pct, "percent");
    if status == Status::Critical || status == Status::Warning {
        f = f.hint("sample again for longer to confirm, then restart the process in a quiet hour and find what it accumulates (caches without a bound, connections never closed)");
    }
    f
}

fn analyse(report: &mut Report, samples: &[Sample], target: Option<&Target>) {
    if let Some(tg) = target {
        let points = series(samples, |s| s.process_rss_bytes.map(|v| v as f64));
        let mut f = trend_finding(
            "memory.process",
            &format!("RSS of {}", tg.label()),
            &points,
            samples.len(),
            true,
        )
        .subject(tg.label());
        if let Some(last) = samples.last() {
            f.detail.push(format!(
                "pids in the last sample: {}",
                last.process_pids
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        report.push(f);
    }
    report.push(trend_finding(
        "memory.host",
        "host memory in use",
        &series(samples, |s| Some(s.host_used_bytes as f64)),
        samples.len(),
        true,
    ));
    report.push(trend_finding(
        "memory.postgres_connections",
        "PostgreSQL client connections",
        &series(samples, |s| s.pg_connections.map(|v| v as f64)),
        samples.len(),
        false,
    ));
    report.push(trend_finding(
        "memory.redis",
        "Redis used_memory",
        &series(samples, |s| s.redis_used_memory_bytes.map(|v| v as f64)),
        samples.len(),
        true,
    ));
}

fn samples_section(samples: &[Sample], with_process: bool) -> Section {
    let mut columns = vec!["T".to_string(), "HOST USED".to_string()];
    if with_process {
        columns.push("PROCESS RSS".to_string());
    }
    columns.extend(["PG CONNECTIONS".to_string(), "REDIS USED".to_string()]);
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    let rows = samples
        .iter()
        .map(|s| {
            let mut row = vec![
                format!("{:.1}s", s.t),
                human_bytes(s.host_used_bytes as f64),
            ];
            if with_process {
                row.push(opt(s.process_rss_bytes.map(|v| human_bytes(v as f64))));
            }
            row.push(opt(s.pg_connections.map(|v| v.to_string())));
            row.push(opt(s
                .redis_used_memory_bytes
                .map(|v| human_bytes(v as f64))));
            row
        })
        .collect();
    Section {
        title: "Samples".to_string(),
        columns,
        rows,
        fit: Vec::new(),
    }
}

/// PG 9.6+: pg_size_bytes.
const SETTINGS_SQL: &str = "SELECT pg_size_bytes(current_setting('shared_buffers'))::float8, \
     pg_size_bytes(current_setting('work_mem'))::float8, \
     current_setting('max_connections')::float8";

/// PostgreSQL's memory settings against this host's RAM, and swap in use.
async fn settings(report: &mut Report, ctx: &Ctx) {
    let mem = match crate::clients::host::memory() {
        Ok(m) => m,
        Err(e) => {
            report.push(Finding::unknown("memory.swap", &e));
            return;
        }
    };
    report.push(swap_finding(mem.swap_used, mem.swap_total));
    let pg = match ctx.pg().await {
        Ok(pg) => pg,
        Err(e) => {
            report.push(
                Finding::new(
                    "memory.pg_shared_buffers",
                    Status::Unknown,
                    format!("not checked: {}", crate::report::one_line(&e)),
                )
                .hint("check --pg / DATABASE_URL / the config's postgres.url"),
            );
            return;
        }
    };
    let host = pg.options.host().to_string();
    let local =
        pg.options.is_local_socket() || matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1");
    if !local {
        report.push(Finding::ok(
            "memory.pg_shared_buffers",
            format!("not compared: PostgreSQL runs on {host}, not on this host; run opsbook there to compare its settings with its RAM"),
        ));
        return;
    }
    let row = match pg.client.query_one(SETTINGS_SQL, &[]).await {
        Ok(r) => r,
        Err(e) => {
            let e = anyhow::Error::from(e)
                .context("reading shared_buffers, work_mem and max_connections");
            report.push(Finding::unknown("memory.pg_shared_buffers", &e));
            return;
        }
    };
    let (shared, work_mem, max_conn): (f64, f64, f64) = (row.get(0), row.get(1), row.get(2));
    report.extend(setting_findings(
        shared,
        work_mem,
        max_conn,
        mem.total as f64,
    ));
}

fn swap_finding(used: u64, total: u64) -> Finding {
    if total == 0 {
        return Finding::ok("memory.swap", "no swap configured").value(0, "bytes");
    }
    let p = crate::probes::pct(used as f64, total as f64);
    let status = if p > 5.0 { Status::Warning } else { Status::Ok };
    let mut f = Finding::new(
        "memory.swap",
        status,
        format!(
            "{} of {} swap in use ({p:.0}%)",
            human_bytes(used as f64),
            human_bytes(total as f64)
        ),
    )
    .value(used, "bytes");
    if status != Status::Ok {
        f = f.hint("memory pressure pushed pages to swap, where PostgreSQL and Redis become slow: find the process that grew (--process), or lower shared_buffers / work_mem / Redis maxmemory");
    }
    f
}

/// The advice rules: shared_buffers about 25 % of RAM (more than 40 % starves the OS cache);
/// work_mem x max_connections + shared_buffers must fit in RAM (one sort per connection).
pub fn setting_findings(shared: f64, work_mem: f64, max_conn: f64, ram: f64) -> Vec<Finding> {
    let share = crate::probes::pct(shared, ram);
    let advice = human_bytes(ram * 0.25);
    let (status, words) = if share > 40.0 {
        (Status::Warning, format!("too large: the OS page cache starves; about 25% of RAM ({advice}) is the usual start"))
    } else if share < 10.0 {
        (Status::Ok, format!("small: about 25% of RAM ({advice}) is the usual start when the server is dedicated"))
    } else {
        (Status::Ok, "within the usual 10-40%".to_string())
    };
    let mut sb = Finding::new(
        "memory.pg_shared_buffers",
        status,
        format!(
            "shared_buffers {} is {share:.1}% of {} RAM: {words}",
            human_bytes(shared),
            human_bytes(ram)
        ),
    )
    .value_f64(share, "percent");
    if status != Status::Ok {
        sb = sb.hint(format!(
            "ALTER SYSTEM SET shared_buffers = '{}MB'; then restart PostgreSQL",
            (ram * 0.25 / 1048576.0).round()
        ));
    }
    let worst = work_mem * max_conn + shared;
    let worst_pct = crate::probes::pct(worst, ram);
    let wstatus = if worst > ram {
        Status::Warning
    } else {
        Status::Ok
    };
    let mut wm = Finding::new(
        "memory.pg_work_mem",
        wstatus,
        format!(
            "work_mem {} x max_connections {max_conn:.0} + shared_buffers = {} worst case, {worst_pct:.0}% of RAM",
            human_bytes(work_mem),
            human_bytes(worst)
        ),
    )
    .value(worst as u64, "bytes");
    if wstatus != Status::Ok {
        wm = wm.hint("lower work_mem or max_connections (a pooler such as PgBouncer serves many clients with few connections); raise work_mem per session only for the reports that sort a lot");
    }
    vec![sb, wm]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        (0..20).map(|i| (i as f64, f(i as f64))).collect()
    }

    #[test]
    fn steady_growth_is_a_leak() {
        let t = Trend::of(&points(|x| 100.0 + 10.0 * x)).unwrap();
        assert!(t.r2 > 0.99);
        assert!((t.slope_per_hour - 36000.0).abs() < 1e-6);
        assert_eq!(t.verdict().0, Status::Critical);
        let t = Trend::of(&points(|x| 1000.0 + 1.5 * x)).unwrap();
        assert!(t.growth_pct > 1.0 && t.growth_pct < 5.0);
        assert_eq!(t.verdict().0, Status::Ok);
    }

    #[test]
    fn flat_is_stable() {
        let t = Trend::of(&points(|_| 500.0)).unwrap();
        assert_eq!(t.growth_pct, 0.0);
        assert_eq!(t.verdict(), (Status::Ok, "stable"));
    }

    #[test]
    fn a_sawtooth_that_ends_high_is_not_a_leak() {
        // Grows and is collected every 4 samples; the second half happens to average higher.
        let saw = [100.0, 180.0, 260.0, 340.0];
        let mut p: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, saw[i % 4])).collect();
        for v in p.iter_mut().skip(10) {
            v.1 *= 1.25;
        }
        let t = Trend::of(&p).unwrap();
        assert!(t.growth_pct > GROWTH_CRITICAL, "{t:?}");
        assert!(t.r2 < STEADY_R2, "{t:?}");
        assert_eq!(t.verdict().0, Status::Ok);
    }

    #[test]
    fn too_few_samples_is_unknown() {
        let t = Trend::of(&[(0.0, 1.0), (1.0, 2.0)]).unwrap();
        assert_eq!(t.verdict().0, Status::Unknown);
        assert!(Trend::of(&[(0.0, 1.0)]).is_none());
    }

    #[test]
    fn a_short_run_says_how_far_it_got() {
        let three: Vec<(f64, f64)> = (0..3).map(|i| (i as f64, 100.0)).collect();
        let f = trend_finding("memory.host", "host memory in use", &three, 3, true);
        assert_eq!(f.status, Status::Unknown);
        assert!(
            f.summary
                .ends_with("too few samples: 3 of the 10 needed for a trend"),
            "{}",
            f.summary
        );
        // Stopped before the first sample: still "too few", not "could not be sampled".
        let f = trend_finding("memory.host", "host memory in use", &[], 0, true);
        assert!(f.summary.contains("0 of the 10 needed"), "{}", f.summary);
        // Samples were taken but this series has none: the server could not be read.
        let f = trend_finding("memory.redis", "Redis used_memory", &[], 12, true);
        assert!(f.summary.contains("could not be sampled"), "{}", f.summary);
    }

    #[test]
    fn the_default_run_is_a_minute_with_enough_samples_for_a_trend() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: MemoryArgs,
        }
        let a = Cli::parse_from(["memory"]).args;
        assert_eq!(a.duration.0, Duration::from_secs(60));
        let count = (a.duration.as_secs_f64() / a.interval.as_secs_f64()).floor() as usize + 1;
        assert!(count >= MIN_SAMPLES, "{count}");
    }

    #[test]
    fn settings_advice() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        let f = setting_findings(0.5 * gib, 64.0 * 1048576.0, 500.0, 4.0 * gib);
        assert_eq!(f[0].status, Status::Ok);
        assert_eq!(f[1].status, Status::Warning, "{f:?}");
        let f = setting_findings(2.0 * gib, 4.0 * 1048576.0, 100.0, 4.0 * gib);
        assert_eq!(f[0].status, Status::Warning);
        assert!(f[0].hint.as_deref().unwrap().contains("1024MB"));
    }

    #[test]
    fn own_process_rss_is_read() {
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
        assert!(rss_bytes(u32::MAX).is_none());
    }
}
