//! `diagnose locks`: the blocking tree from `pg_blocking_pids()` (root blockers first, each
//! waiter under the session it queues behind), and `--cancel` / `--terminate` of a blocker.
//!
//! Replaces the seed's 20-line pg_locks self-join, which misses waits on a lock that is queued
//! behind another waiter and shows a row per lock pair instead of who to act on.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;
use serde::Serialize;

use crate::clients::postgres::PgClient;
use crate::config::Span;
use crate::context::Ctx;
use crate::render::human_duration;
use crate::report::{Finding, Fit, Report, Section, Status};

use crate::sql::one_line_text;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "diagnose locks",
    page: "commands/diagnose.md",
    ids: &["locks.waiting", "locks.root_blocker", "locks.action"],
};

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!(
        "{}{}",
        FINDING_IDS.help(),
        "\n\n\
Examples:\n  opsbook diagnose locks\n  opsbook diagnose locks --min-wait 5s --format json\n  \
opsbook diagnose locks --watch 2s\n  opsbook diagnose locks --terminate 4242\n\n\
Exit status: 0 nobody waits, 1 sessions wait for a lock, 2 a wait beyond the critical threshold \
(default 5m) or a cancel/terminate that failed, 3 unknown (no server, refused action).\n\
See commands/diagnose.md."
    )
}

/// Show the lock blocking tree; cancel or terminate a root blocker
#[derive(Debug, Args)]
pub struct LocksArgs {
    /// Only report waits at least this long (250ms, 5s, 1m)
    #[arg(long, value_name = "SECS", value_parser = Span::parse, default_value = "0s")]
    pub min_wait: Span,
    /// Print a fresh tree every SECS until Ctrl-C; the final one decides the exit code
    #[arg(long, value_name = "SECS", value_parser = parse_interval, conflicts_with_all = ["cancel", "terminate"])]
    pub watch: Option<Span>,
    /// Cancel the running query of session PID (pg_cancel_backend)
    #[arg(long, value_name = "PID", conflicts_with = "terminate")]
    pub cancel: Option<i32>,
    /// End session PID (pg_terminate_backend); its open transaction rolls back
    #[arg(long, value_name = "PID")]
    pub terminate: Option<i32>,
    /// Act without the typed confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Allow --cancel / --terminate of a session that blocks nobody
    #[arg(long)]
    pub force: bool,
}

fn parse_interval(s: &str) -> Result<Span, String> {
    let span = Span::parse(s)?;
    if span.0 < Duration::from_millis(200) {
        return Err(format!("`{s}` is too short: refresh at most every 200ms"));
    }
    Ok(span)
}

/// One session in the tree: a waiter, a blocker, or both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub pid: i32,
    /// pg_blocking_pids(): who it waits for (empty for a root blocker)
    pub blocked_by: Vec<i32>,
    pub user: Option<String>,
    pub application: Option<String>,
    pub client: Option<String>,
    pub database: Option<String>,
    pub state: Option<String>,
    pub wait_event: Option<String>,
    /// seconds it has waited for the lock (waiters only)
    pub wait_secs: Option<f64>,
    /// seconds since its transaction began
    pub xact_age_secs: Option<f64>,
    /// the mode it asks for (waiters only)
    pub lock_mode: Option<String>,
    /// the relation (or lock type) it waits on
    pub lock_target: Option<String>,
    pub query: Option<String>,
}

impl Session {
    pub fn waits(&self) -> bool {
        !self.blocked_by.is_empty()
    }

    fn who(&self) -> String {
        format!(
            "{}@{}",
            self.user.as_deref().unwrap_or("?"),
            self.application
                .as_deref()
                .filter(|a| !a.is_empty())
                .unwrap_or("-")
        )
    }
}

/// The sessions that wait on a lock and the sessions they wait for, with what each holds up.
/// Version notes: pg_blocking_pids needs 9.6+, backend_type 10+, pg_locks.waitstart 14+ (older
/// servers measure the wait from state_change, which is when the waiting statement began).
const TREE_SQL: &str = "WITH waiting AS (
    SELECT pid, pg_blocking_pids(pid) AS blocked_by
    FROM pg_stat_activity WHERE wait_event_type = 'Lock'
), involved AS (
    SELECT pid FROM waiting WHERE cardinality(blocked_by) > 0
    UNION SELECT unnest(blocked_by) FROM waiting
), ungranted AS (
    SELECT DISTINCT ON (pid) pid, mode, locktype, relation, database, {waitstart} AS waitstart
    FROM pg_locks WHERE NOT granted ORDER BY pid
)
SELECT a.pid, coalesce(w.blocked_by, '{}'::int[]), a.usename::text, a.application_name,
       host(a.client_addr), a.datname::text, a.state,
       CASE WHEN a.wait_event_type IS NOT NULL THEN a.wait_event_type || ':' || a.wait_event END,
       CASE WHEN cardinality(w.blocked_by) > 0
            THEN extract(epoch FROM clock_timestamp() - coalesce(l.waitstart, a.state_change))::float8 END,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
       l.mode,
       CASE WHEN l.relation IS NULL THEN l.locktype
            WHEN l.database IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
            THEN l.relation::regclass::text
            -- regclass resolves names in this database only: another's would print as a bare OID.
            ELSE 'relation OID ' || l.relation || ' in database '
                 || coalesce((SELECT quote_ident(datname) FROM pg_database WHERE oid = l.database), l.database::text)
       END,
       a.query
FROM involved i
JOIN pg_stat_activity a ON a.pid = i.pid
LEFT JOIN waiting w ON w.pid = a.pid
LEFT JOIN ungranted l ON l.pid = a.pid
ORDER BY a.pid";

/// Any one session, for --cancel / --terminate of a pid that is not in the tree.
const SESSION_SQL: &str = "SELECT a.pid, '{}'::int[], a.usename::text, a.application_name,
       host(a.client_addr), a.datname::text, a.state,
       CASE WHEN a.wait_event_type IS NOT NULL THEN a.wait_event_type || ':' || a.wait_event END,
       NULL::float8, extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
       NULL::text, NULL::text, a.query
FROM pg_stat_activity a WHERE a.pid = $1";

fn tree_sql(pg: &PgClient) -> String {
    let waitstart = if pg.version_num >= 140000 {
        "waitstart"
    } else {
        "NULL::timestamptz"
    };
    TREE_SQL.replace("{waitstart}", waitstart)
}

fn session_of(row: &tokio_postgres::Row) -> anyhow::Result<Session> {
    Ok(Session {
        pid: row.try_get(0)?,
        blocked_by: row.try_get(1)?,
        user: row.try_get(2)?,
        application: row.try_get(3)?,
        client: row.try_get(4)?,
        database: row.try_get(5)?,
        state: row.try_get(6)?,
        wait_event: row.try_get(7)?,
        wait_secs: row.try_get(8)?,
        xact_age_secs: row.try_get(9)?,
        lock_mode: row.try_get(10)?,
        lock_target: row.try_get(11)?,
        query: row.try_get(12)?,
    })
}

/// Every session involved in a lock wait, read in one statement.
pub async fn snapshot(pg: &PgClient) -> anyhow::Result<Vec<Session>> {
    let rows = pg
        .client
        .query(&tree_sql(pg), &[])
        .await
        .with_context(|| format!("reading lock waits (pg_blocking_pids) on {}", pg.options))?;
    rows.iter()
        .map(session_of)
        .collect::<anyhow::Result<Vec<_>>>()
        .context("reading a row of the lock-wait query")
}

/// A session with the sessions that queue behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    #[serde(flatten)]
    pub session: Session,
    pub waiters: Vec<Node>,
}

impl Node {
    /// Every session below this one.
    pub fn blocked_count(&self) -> usize {
        self.waiters.iter().map(|w| 1 + w.blocked_count()).sum()
    }

    pub fn longest_wait(&self) -> f64 {
        self.waiters
            .iter()
            .map(|w| w.session.wait_secs.unwrap_or(0.0).max(w.longest_wait()))
            .fold(0.0, f64::max)
    }

    fn pids_below(&self, out: &mut Vec<i32>) {
        for w in &self.waiters {
            out.push(w.session.pid);
            w.pids_below(out);
        }
    }
}

/// Root blockers first, each waiter under the session it queues directly behind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BlockingTree {
    pub roots: Vec<Node>,
}

impl BlockingTree {
    /// A waiter blocked by several sessions hangs under the one nearest to it in the queue: a
    /// blocker that itself waits (it is ahead in the same queue), else the first hard blocker.
    /// Sessions caught in a cycle (a deadlock the detector has not broken yet) get the lowest
    /// pid of the cycle as their root, so nobody disappears from the tree.
    pub fn build(sessions: &[Session]) -> BlockingTree {
        let by_pid: BTreeMap<i32, &Session> = sessions.iter().map(|s| (s.pid, s)).collect();
        let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        let mut roots: Vec<i32> = Vec::new();
        for s in sessions {
            let known: Vec<i32> = s
                .blocked_by
                .iter()
                .copied()
                .filter(|p| by_pid.contains_key(p) && *p != s.pid)
                .collect();
            let parent = known
                .iter()
                .copied()
                .find(|p| by_pid.get(p).is_some_and(|b| b.waits()))
                .or_else(|| known.first().copied());
            match parent {
                Some(p) => children.entry(p).or_default().push(s.pid),
                None => roots.push(s.pid),
            }
        }
        let mut seen = BTreeSet::new();
        let mut tree = BlockingTree::default();
        for r in roots {
            tree.roots.push(grow(r, &by_pid, &children, &mut seen));
        }
        for s in sessions {
            if !seen.contains(&s.pid) {
                tree.roots.push(grow(s.pid, &by_pid, &children, &mut seen));
            }
        }
        // The root that holds up most sessions first.
        tree.roots
            .sort_by_key(|n| (std::cmp::Reverse(n.blocked_count()), n.session.pid));
        tree
    }

    /// Sessions that wait, directly or in a queue, on `pid`.
    pub fn blocked_by(&self, pid: i32) -> Vec<i32> {
        fn find(nodes: &[Node], pid: i32) -> Option<&Node> {
            nodes.iter().find_map(|n| {
                if n.session.pid == pid {
                    Some(n)
                } else {
                    find(&n.waiters, pid)
                }
            })
        }
        let mut out = Vec::new();
        if let Some(n) = find(&self.roots, pid) {
            n.pids_below(&mut out);
        }
        out
    }

    /// Depth-first rows for the table section.
    pub fn rows(&self) -> Vec<Vec<String>> {
        fn walk(n: &Node, depth: usize, out: &mut Vec<Vec<String>>) {
            let s = &n.session;
            let pid = if depth == 0 {
                s.pid.to_string()
            } else {
                format!("{}└ {}", "  ".repeat(depth - 1), s.pid)
            };
            let secs = |v: Option<f64>| v.map(human_duration).unwrap_or_default();
            let lock = match (&s.lock_mode, &s.lock_target) {
                (Some(m), Some(t)) => format!("{m} on {t}"),
                (Some(m), None) => m.clone(),
                _ => String::new(),
            };
            out.push(vec![
                pid,
                s.who(),
                s.client.clone().unwrap_or_else(|| "local".to_string()),
                s.state.clone().unwrap_or_default(),
                s.wait_event.clone().unwrap_or_default(),
                secs(s.wait_secs),
                secs(s.xact_age_secs),
                lock,
                one_line_text(s.query.as_deref().unwrap_or(""), 60),
            ]);
            for w in &n.waiters {
                walk(w, depth + 1, out);
            }
        }
        let mut out = Vec::new();
        for r in &self.roots {
            walk(r, 0, &mut out);
        }
        out
    }
}

fn grow(
    pid: i32,
    by_pid: &BTreeMap<i32, &Session>,
    children: &BTreeMap<i32, Vec<i32>>,
    seen: &mut BTreeSet<i32>,
) -> Node {
    seen.insert(pid);
    let mut waiters = Vec::new();
    for c in children.get(&pid).into_iter().flatten() {
        if !seen.contains(c) {
            waiters.push(grow(*c, by_pid, children, seen));
        }
    }
    let session = by_pid.get(&pid).map(|s| (*s).clone()).unwrap_or(Session {
        pid,
        blocked_by: Vec::new(),
        user: None,
        application: None,
        client: None,
        database: None,
        state: None,
        wait_event: None,
        wait_secs: None,
        xact_age_secs: None,
        lock_mode: None,
        lock_target: None,
        query: None,
    });
    Node { session, waiters }
}

/// How the tree's columns give way on a narrow terminal: the pid (what --cancel and
/// --terminate take) stays whole, the query is cut, the rest go least useful first.
const FIT: [Fit; 9] = [
    Fit::Whole,
    Fit::Optional(3),
    Fit::Optional(6),
    Fit::Optional(4),
    Fit::Optional(5),
    Fit::Optional(1),
    Fit::Optional(7),
    Fit::Optional(2),
    Fit::Text,
];

const COLUMNS: [&str; 9] = [
    "PID",
    "USER@APP",
    "CLIENT",
    "STATE",
    "WAIT EVENT",
    "WAITING",
    "XACT AGE",
    "WANTS",
    "QUERY",
];

/// The findings and the tree section of one snapshot.
pub fn findings(
    sessions: &[Session],
    min_wait: f64,
    limits: crate::config::SpanLimits,
) -> (Vec<Finding>, BlockingTree) {
    let tree = BlockingTree::build(sessions);
    let warn = limits.warning.map(|s| s.as_secs_f64());
    let crit = limits.critical.map(|s| s.as_secs_f64());
    let counted: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.waits() && s.wait_secs.unwrap_or(0.0) >= min_wait)
        .collect();
    let mut out = Vec::new();
    let longest = counted.iter().max_by(|a, b| {
        a.wait_secs
            .unwrap_or(0.0)
            .total_cmp(&b.wait_secs.unwrap_or(0.0))
    });
    match longest {
        None => {
            let filter = if min_wait > 0.0 {
                format!(" for {} or longer", human_duration(min_wait))
            } else {
                String::new()
            };
            out.push(
                Finding::ok(
                    "locks.waiting",
                    format!("no session waits for a lock{filter}"),
                )
                .value(0, "sessions"),
            )
        }
        Some(l) => {
            let secs = l.wait_secs.unwrap_or(0.0);
            let status = if counted.is_empty() {
                Status::Ok
            } else {
                Status::above(secs, warn, crit)
            };
            let on = l
                .lock_target
                .as_deref()
                .map(|t| format!(" on {t}"))
                .unwrap_or_default();
            out.push(
                Finding::new(
                    "locks.waiting",
                    status,
                    format!(
                        "{} session(s) wait for a lock; the longest, pid {}, for {}{on}",
                        counted.len(),
                        l.pid,
                        human_duration(secs)
                    ),
                )
                .value(counted.len(), "sessions")
                .hint("see the root blockers below; `opsbook diagnose locks --terminate PID` ends one"),
            );
        }
    }
    for root in &tree.roots {
        let waited = root.longest_wait();
        let blocked = root.blocked_count();
        if blocked == 0 || waited < min_wait {
            continue;
        }
        let s = &root.session;
        let state = s.state.as_deref().unwrap_or("unknown state");
        let xact = s
            .xact_age_secs
            .map(|a| format!(", transaction open for {}", human_duration(a)))
            .unwrap_or_default();
        let idle_in_xact = state.starts_with("idle in transaction");
        let hint = if idle_in_xact {
            format!(
                "it is idle in transaction, so cancelling does nothing: end it with `opsbook diagnose locks --terminate {pid}` (its transaction rolls back), then fix the client that leaves transactions open (idle_in_transaction_session_timeout)",
                pid = s.pid
            )
        } else {
            format!(
                "cancel its query with `opsbook diagnose locks --cancel {pid}`, or end the session (its transaction rolls back) with `opsbook diagnose locks --terminate {pid}`",
                pid = s.pid
            )
        };
        let mut detail = vec![format!(
            "query: {}",
            one_line_text(s.query.as_deref().unwrap_or(""), 500)
        )];
        let mut below = Vec::new();
        root.pids_below(&mut below);
        detail.push(format!(
            "blocks pids: {}",
            below
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push(
            Finding::new(
                "locks.root_blocker",
                Status::above(waited, warn, crit).worst(Status::Warning),
                format!(
                    "pid {} ({}, {state}{xact}) blocks {blocked} session(s), the longest waiting {}",
                    s.pid,
                    s.who(),
                    human_duration(waited)
                ),
            )
            .subject(s.pid.to_string())
            .value(blocked, "sessions")
            .hint(hint)
            .detail(detail),
        );
    }
    (out, tree)
}

async fn snapshot_report(args: &LocksArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let pg = ctx.pg().await.context("connecting to PostgreSQL to read its locks\nhint: check --pg / DATABASE_URL / the config's postgres.url; `opsbook sandbox up` gives a local server to try")?;
    let sessions = snapshot(pg).await?;
    let mut report = Report::new("diagnose locks");
    append_snapshot(&mut report, &sessions, args, ctx);
    Ok(report)
}

fn append_snapshot(report: &mut Report, sessions: &[Session], args: &LocksArgs, ctx: &Ctx) {
    let (found, tree) = findings(
        sessions,
        args.min_wait.as_secs_f64(),
        ctx.config.thresholds.lock_wait,
    );
    report.extend(found);
    if !tree.roots.is_empty() {
        report.sections.push(Section {
            title: "Blocking tree (root blockers first, waiters under what they queue behind)"
                .to_string(),
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows: tree.rows(),
            fit: FIT.to_vec(),
        });
    }
    report.data = Some(serde_json::json!({ "tree": tree.roots }));
}

pub async fn run(args: &LocksArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    if let Some(pid) = args.cancel {
        return act(args, ctx, pid, Action::Cancel).await;
    }
    if let Some(pid) = args.terminate {
        return act(args, ctx, pid, Action::Terminate).await;
    }
    let Some(every) = args.watch else {
        return snapshot_report(args, ctx).await;
    };
    loop {
        let report = snapshot_report(args, ctx).await?;
        print_now(&report, ctx)?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(every.0) => {}
        }
    }
    let mut report = snapshot_report(args, ctx).await?;
    // On a terminal the last snapshot replaces the one before it too.
    if crate::render::watch::redraws(&ctx.output) {
        print_now(&report, ctx)?;
        report.shown = true;
    }
    Ok(report)
}

/// --watch prints every intermediate snapshot itself; main prints the final one.
fn print_now(report: &Report, ctx: &Ctx) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let style = crate::render::Style::for_stdout(&ctx.output);
    let redraw = crate::render::watch::redraws(&ctx.output);
    let text = crate::render::watch::frame(
        &crate::render::render(report, ctx.output.format, style),
        redraw,
    );
    let mut out = stdout.lock();
    // Piped, snapshots are appended a blank line apart; redrawn, the frame is the screen.
    out.write_all(text.as_bytes())
        .and_then(|_| out.write_all(if redraw { b"" } else { b"\n" }))
        .and_then(|_| out.flush())
        .context("writing a --watch snapshot to stdout")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Cancel,
    Terminate,
}

impl Action {
    fn function(self) -> &'static str {
        match self {
            Action::Cancel => "pg_cancel_backend",
            Action::Terminate => "pg_terminate_backend",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Cancel => "cancel the running query of",
            Action::Terminate => "terminate (end the session, rolling back its transaction)",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Action::Cancel => "--cancel",
            Action::Terminate => "--terminate",
        }
    }
}

async fn act(args: &LocksArgs, ctx: &Ctx, pid: i32, action: Action) -> anyhow::Result<Report> {
    let pg = ctx.pg().await.context("connecting to PostgreSQL to signal a session\nhint: check --pg / DATABASE_URL / the config's postgres.url")?;
    let me: i32 = pg
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .context("reading our own backend pid")?
        .get(0);
    if pid == me {
        bail!(
            "refusing to {} pid {pid}: it is opsbook's own session\nhint: pick a pid from the blocking tree (`opsbook diagnose locks`)",
            action.function()
        );
    }
    let before = snapshot(pg).await?;
    let tree = BlockingTree::build(&before);
    let target = match before.iter().find(|s| s.pid == pid) {
        Some(s) => s.clone(),
        None => {
            let row = pg
                .client
                .query_opt(SESSION_SQL, &[&pid])
                .await
                .with_context(|| format!("looking up session {pid} in pg_stat_activity"))?;
            match row {
                Some(r) => session_of(&r).context("reading pg_stat_activity")?,
                None => bail!(
                    "no session with pid {pid} on {}\nhint: it may have ended already; run `opsbook diagnose locks` to see the current pids",
                    pg.options
                ),
            }
        }
    };
    let blocked = tree.blocked_by(pid);
    if blocked.is_empty() && !args.force {
        bail!(
            "pid {pid} blocks no session; refusing to {} it\nhint: run `opsbook diagnose locks` to find the root blocker, or add --force to signal it anyway",
            action.function()
        );
    }
    let blocked_list = if blocked.is_empty() {
        "nobody".to_string()
    } else {
        blocked
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let plan = format!(
        "plan: {} pid {pid} on {}\n  session: {} from {}, database {}, {}{}\n  query:   {}\n  it blocks {} session(s): {blocked_list}",
        action.verb(),
        pg.options,
        target.who(),
        target.client.as_deref().unwrap_or("local socket"),
        target.database.as_deref().unwrap_or("?"),
        target.state.as_deref().unwrap_or("?"),
        target
            .xact_age_secs
            .map(|a| format!(", transaction open for {}", human_duration(a)))
            .unwrap_or_default(),
        one_line_text(target.query.as_deref().unwrap_or(""), 200),
        blocked.len(),
    );
    crate::confirm::confirm(
        &plan,
        &pid.to_string(),
        args.yes,
        &format!("{} {pid} --yes", action.flag()),
    )
    .await?;

    let mut report = Report::new("diagnose locks");
    let sql = format!("SELECT {}($1)", action.function());
    let signalled: anyhow::Result<bool> = pg
        .client
        .query_one(&sql, &[&pid])
        .await
        .map(|r| r.get(0))
        .with_context(|| format!("running {}({pid})", action.function()));
    let after = match signalled {
        Err(e) => {
            report.push(
                Finding::new("locks.action", Status::Critical, crate::report::one_line(&e))
                    .subject(pid.to_string())
                    .hint("signalling another role's session needs superuser or membership in pg_signal_backend"),
            );
            before
        }
        Ok(false) => {
            report.push(
                Finding::new(
                    "locks.action",
                    Status::Critical,
                    format!("{}({pid}) returned false: the session was not signalled (it may have ended)", action.function()),
                )
                .subject(pid.to_string()),
            );
            before
        }
        Ok(true) => {
            let after = wait_released(pg, pid, &blocked).await?;
            let still: Vec<i32> = after
                .iter()
                .filter(|s| blocked.contains(&s.pid) && s.blocked_by.contains(&pid))
                .map(|s| s.pid)
                .collect();
            let f = if still.is_empty() {
                Finding::ok(
                    "locks.action",
                    format!(
                        "{}({pid}) done; none of the {} session(s) it blocked waits on it any more",
                        action.function(),
                        blocked.len()
                    ),
                )
            } else {
                Finding::new(
                    "locks.action",
                    Status::Critical,
                    format!(
                        "{}({pid}) was sent, but {} session(s) still wait on it: {:?}",
                        action.function(),
                        still.len(),
                        still
                    ),
                )
                .hint(match action {
                    Action::Cancel => format!("a cancel does not release locks held by an open transaction: use --terminate {pid}"),
                    Action::Terminate => "the session may be stuck in an uninterruptible call; look at the server log".to_string(),
                })
            };
            report.push(f.subject(pid.to_string()).value(blocked.len(), "sessions"));
            after
        }
    };
    append_snapshot(&mut report, &after, args, ctx);
    Ok(report)
}

/// Poll until the sessions that waited on `pid` no longer do (or 3 s pass).
async fn wait_released(pg: &PgClient, pid: i32, blocked: &[i32]) -> anyhow::Result<Vec<Session>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let now = snapshot(pg).await?;
        let waiting = now
            .iter()
            .any(|s| blocked.contains(&s.pid) && s.blocked_by.contains(&pid));
        if !waiting || tokio::time::Instant::now() >= deadline {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pid: i32, blocked_by: &[i32], wait: Option<f64>) -> Session {
        Session {
            pid,
            blocked_by: blocked_by.to_vec(),
            user: Some("app".into()),
            application: Some("bot".into()),
            client: None,
            database: Some("db".into()),
            state: Some(
                if wait.is_some() {
                    "active"
                } else {
                    "idle in transaction"
                }
                .into(),
            ),
            wait_event: wait.map(|_| "Lock:relation".into()),
            wait_secs: wait,
            xact_age_secs: Some(10.0),
            lock_mode: wait.map(|_| "AccessShareLock".into()),
            lock_target: wait.map(|_| "t".into()),
            query: Some("SELECT * FROM t".into()),
        }
    }

    #[test]
    fn holder_is_root_and_waiters_hang_under_it() {
        let sessions = vec![
            s(10, &[], None),
            s(11, &[10], Some(3.0)),
            s(12, &[10], Some(1.0)),
        ];
        let tree = BlockingTree::build(&sessions);
        assert_eq!(tree.roots.len(), 1);
        assert_eq!(tree.roots[0].session.pid, 10);
        let under: Vec<i32> = tree.roots[0]
            .waiters
            .iter()
            .map(|n| n.session.pid)
            .collect();
        assert_eq!(under, vec![11, 12]);
        assert_eq!(tree.blocked_by(10), vec![11, 12]);
        let rows = tree.rows();
        assert_eq!(rows[0][0], "10");
        assert_eq!(rows[1][0], "└ 11");
    }

    #[test]
    fn queued_waiter_hangs_under_the_waiter_ahead_of_it() {
        // 12 wants an exclusive lock queued behind 11, which waits for 10.
        let sessions = vec![
            s(10, &[], None),
            s(11, &[10], Some(3.0)),
            s(12, &[10, 11], Some(1.0)),
        ];
        let tree = BlockingTree::build(&sessions);
        assert_eq!(tree.roots.len(), 1);
        assert_eq!(tree.roots[0].waiters[0].session.pid, 11);
        assert_eq!(tree.roots[0].waiters[0].waiters[0].session.pid, 12);
        assert_eq!(tree.roots[0].blocked_count(), 2);
        assert_eq!(tree.rows()[2][0], "  └ 12");
    }

    #[test]
    fn a_cycle_still_shows_everyone() {
        let sessions = vec![s(20, &[21], Some(0.5)), s(21, &[20], Some(0.4))];
        let tree = BlockingTree::build(&sessions);
        assert_eq!(tree.rows().len(), 2);
    }

    #[test]
    fn findings_name_the_root_and_count_waiters() {
        let sessions = vec![
            s(10, &[], None),
            s(11, &[10], Some(3.0)),
            s(12, &[10], Some(1.0)),
        ];
        let limits = crate::config::Thresholds::default().lock_wait;
        let (f, _) = findings(&sessions, 0.0, limits);
        assert_eq!(f[0].id, "locks.waiting");
        assert_eq!(f[0].value, serde_json::json!(2));
        assert_eq!(f[0].status, Status::Warning);
        assert_eq!(f[1].id, "locks.root_blocker");
        assert_eq!(f[1].subject.as_deref(), Some("10"));
        assert!(f[1].hint.as_deref().unwrap().contains("--terminate 10"));
        let (f, _) = findings(&sessions, 5.0, limits);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].status, Status::Ok);
        let (f, _) = findings(&[s(10, &[], None), s(11, &[10], Some(400.0))], 0.0, limits);
        assert_eq!(f[0].status, Status::Critical);
    }
}
