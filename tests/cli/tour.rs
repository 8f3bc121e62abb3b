//! A newcomer's tour at 80 columns, in a real terminal: tmux with an 80-column window runs
//! `check morning`, `backup list` after a backup and `diagnose locks` with a blocked session,
//! and the captured screen must show one line per finding, no line over 80 columns (a wrapped
//! line shows as a longer one when tmux joins it back) and every identifier whole.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::*;

const WIDTH: usize = 80;

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .output()
        .expect("running tmux")
}

/// Kills the tour's tmux server however the test ends.
struct Server(String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = tmux(&self.0, &["kill-server"]);
    }
}

/// A detached tmux session, 80 columns by 50 rows, running `script` under `sh`.
fn start(script: &std::path::Path) -> (Server, String) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let socket = format!("opsbook-tour-{}-{n}", std::process::id());
    let server = Server(socket.clone());
    let started = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "50",
            "-s",
            "tour",
            "sh",
            script.to_str().unwrap(),
        ],
    );
    assert!(started.status.success(), "tmux new-session: {started:?}");
    tmux(
        &socket,
        &["set-option", "-t", "tour", "history-limit", "5000"],
    );
    (server, socket)
}

/// The pane once the script printed TOUR-DONE: with `history`, everything it printed, with
/// lines the terminal wrapped joined back (-J), so a line over 80 columns shows as one.
fn wait_for_done(socket: &str, history: bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut args = vec!["capture-pane", "-p", "-J", "-t", "tour"];
        if history {
            args.extend(["-S", "-"]);
        }
        let cap = tmux(socket, &args);
        let text = String::from_utf8_lossy(&cap.stdout).into_owned();
        if text.contains("TOUR-DONE") {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the tour did not finish:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tmux_runs() -> bool {
    let runs = Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !runs {
        eprintln!("SKIPPED: tmux cannot run here (install it: .ci/deps)");
    }
    runs
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn a_newcomers_tour_at_80_columns() {
    if Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!(
            "SKIPPED a_newcomers_tour_at_80_columns: tmux cannot run here (install it: .ci/deps)"
        );
        return;
    }
    // Lock waits are counted cluster-wide: no other test's waiters on the screen.
    let _g = exclusive();
    let s = Scratch::new("tour");
    let db = crate::backup::seeded("tour_with_a_rather_long_database_name", 200);
    let (cfg, _dir) = crate::backup::config(&s, &db);
    let backup = crate::backup::backup(&cfg, &[]);
    assert_eq!(backup.code, 0, "{backup}");

    // A holder and a waiter: the lock tree has something to show.
    let mut holder_cmd = psql_command(&db, "tour-holder");
    holder_cmd.args([
        "-c",
        "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);",
    ]);
    let _holder = Child::spawn(holder_cmd);
    wait_until("the holder's lock", || {
        db.psql("SELECT count(*) FROM pg_locks WHERE relation = 'users'::regclass AND granted AND mode = 'AccessExclusiveLock'") == "1"
    });
    let mut waiter_cmd = psql_command(&db, "tour-waiter");
    waiter_cmd.args(["-c", "SELECT count(*) FROM users"]);
    let _waiter = Child::spawn(waiter_cmd);
    wait_until("the waiter", || {
        db.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") == "1"
    });

    // What the screen must show, from the JSON of the same commands.
    let morning = opsbook(&["check", "morning"])
        .config(&cfg)
        .format("json")
        .run()
        .json();
    let list = opsbook(&["backup", "list"])
        .config(&cfg)
        .format("json")
        .run()
        .json();
    let locks = opsbook(&["diagnose", "locks"])
        .config(&cfg)
        .format("json")
        .run()
        .json();

    let bin = env!("CARGO_BIN_EXE_opsbook");
    let state = s.path().join("tour-state");
    let script = format!(
        "unset COLUMNS NO_COLOR PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE DATABASE_URL REDIS_URL\n\
         export HOME={home} OPSBOOK_STATE_DIR={state} OPSBOOK_CONFIG={cfg}\n\
         {bin} check morning\n{bin} backup list\n{bin} diagnose locks\necho TOUR-DONE\nsleep 120\n",
        home = shell_quote(s.path().to_str().unwrap()),
        state = shell_quote(state.to_str().unwrap()),
        cfg = shell_quote(cfg.to_str().unwrap()),
        bin = shell_quote(bin),
    );
    let script_path = s.write("tour.sh", &script, 0o755);
    let (_server, socket) = start(&script_path);
    let screen = wait_for_done(&socket, true);

    if std::env::var_os("OPSBOOK_TOUR_SHOW").is_some() {
        eprintln!("{screen}");
    }
    for line in screen.lines() {
        assert!(
            line.trim_end().chars().count() <= WIDTH,
            "a line over {WIDTH} columns (wrapped by the terminal):\n{line}\n--- screen ---\n{screen}"
        );
    }
    // One line per finding, its id[subject] whole after its status.
    for report in [&morning, &list, &locks] {
        for f in report["findings"].as_array().unwrap() {
            let status = f["status"].as_str().unwrap().to_uppercase();
            let label = match f["subject"].as_str() {
                Some(sub) => format!("{}[{sub}]", f["id"].as_str().unwrap()),
                None => f["id"].as_str().unwrap().to_string(),
            };
            let lines = screen
                .lines()
                .filter(|l| {
                    l.trim_start()
                        .strip_prefix(status.as_str())
                        .is_some_and(|rest| {
                            rest.trim_start().starts_with(&format!("{label} "))
                                || rest.trim() == label
                        })
                })
                .count();
            assert!(lines >= 1, "no line for {status} {label}:\n{screen}");
        }
    }
    // The backup id an operator copies into `restore`, and the pids of the lock tree, whole.
    let backups = list["data"]["backups"].as_array().unwrap();
    assert!(!backups.is_empty(), "{list}");
    for b in backups {
        let id = b["id"].as_str().unwrap();
        assert!(
            screen
                .lines()
                .any(|l| l.split_whitespace().any(|w| w == id)),
            "backup id {id} broken:\n{screen}"
        );
    }
    for pid in [
        db.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'tour-holder'"),
        db.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'tour-waiter'"),
    ] {
        assert!(
            screen
                .lines()
                .any(|l| l.split_whitespace().any(|w| w == pid)),
            "pid {pid} broken or missing:\n{screen}"
        );
    }
}

/// `--watch` on a terminal redraws in place: the screen holds one snapshot, not three; piped,
/// the three are appended and carry no escape sequence.
#[test]
fn watch_redraws_on_a_terminal_and_appends_on_a_pipe() {
    if !tmux_runs() {
        return;
    }
    let _g = shared();
    let s = Scratch::new("watch");
    let db = TestDb::new("watch");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let args = [
        "monitor",
        "--watch",
        "200ms",
        "--count",
        "3",
        "--no-notify",
        "--no-record",
    ];

    let piped = opsbook(&args).config(&cfg).run();
    assert!(!piped.stdout.contains('\x1b'), "{piped}");
    assert_eq!(piped.stdout.matches("\nmonitor: ").count(), 3, "{piped}");

    let script = format!(
        "unset COLUMNS NO_COLOR\nexport HOME={home} OPSBOOK_STATE_DIR={state} OPSBOOK_CONFIG={cfg}\n{bin} {args}\necho TOUR-DONE\nsleep 120\n",
        home = shell_quote(s.path().to_str().unwrap()),
        state = shell_quote(s.path().join("state").to_str().unwrap()),
        cfg = shell_quote(cfg.to_str().unwrap()),
        bin = shell_quote(env!("CARGO_BIN_EXE_opsbook")),
        args = args.join(" "),
    );
    let script_path = s.write("watch.sh", &script, 0o755);
    let (_server, socket) = start(&script_path);
    let screen = wait_for_done(&socket, false);
    assert_eq!(
        screen
            .lines()
            .filter(|l| l.starts_with("monitor: "))
            .count(),
        1,
        "the screen should hold the last snapshot only:\n{screen}"
    );
}
