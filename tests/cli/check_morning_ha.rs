//! `check morning --all` (and `monitor --all`) on the HA sandbox of `sandbox up --ha`: every
//! target of the inventory reports, the HA facts (`cluster.*`: the verdict, Patroni paused,
//! pending restart, the timeline since the previous morning check, the Sentinels and their
//! quorum) are there, and the exit status is the worst finding's. A timeline that moved since
//! the previous morning check is a WARNING naming when that check ran; Patroni paused is a
//! WARNING (the test that pauses it holds the HA lock exclusively and resumes before it lets go).

use std::time::{Duration, Instant};

use opsbook::sandbox::Sandbox;
use serde_json::Value;

use super::harness::{command, ha_exclusive, ha_sandbox, ha_shared, opsbook, Run, Scratch};

fn morning(sb: &Sandbox, state: &Scratch, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["check", "morning"];
    all.extend_from_slice(args);
    let run = opsbook(&all)
        .config(sb.config_path())
        .state_dir(state.path())
        .format("json")
        .run();
    let v = run.json();
    (run, v)
}

fn summary(v: &Value, id: &str) -> String {
    Run::one(v, id)["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The exit status the findings call for: the worst by severity (ok < warning < unknown <
/// critical), as DESIGN.md says.
fn expected_code(v: &Value) -> i32 {
    let findings = v["findings"].as_array().expect("findings");
    let rank = |s: &str| match s {
        "ok" => (0, 0),
        "warning" => (1, 1),
        "unknown" => (2, 3),
        "critical" => (3, 2),
        other => panic!("status {other}"),
    };
    findings
        .iter()
        .map(|f| rank(f["status"].as_str().unwrap_or_default()))
        .max()
        .map_or(0, |(_, code)| code)
}

#[test]
fn check_morning_all_names_every_node_and_reports_the_ha_facts() {
    let Some(sb) = ha_sandbox() else { return };
    let _shared = ha_shared();
    let state = Scratch::new("ha-morning");
    let (run, v) = morning(sb, &state, &["--all"]);
    assert_eq!(run.code, expected_code(&v), "{run}");
    assert_eq!(
        v["status"],
        ["ok", "warning", "critical", "unknown"][run.code as usize],
        "{run}"
    );

    // Every target of the inventory is named by a finding of its own.
    let list = opsbook(&["targets", "list"])
        .config(sb.config_path())
        .json();
    let names: Vec<&str> = list["data"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter(|t| t["kind"] != "group")
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 8, "{list:#}");
    for name in &names {
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["target"] == *name),
            "no finding names target {name}:\n{run}"
        );
    }
    for (id, target) in [
        ("postgres.up", "pg-a"),
        ("postgres.up", "pg-b"),
        ("redis.up", "cache-a"),
        ("redis.up", "cache-b"),
        ("target.up", "sentinel-1"),
        ("target.up", "lb"),
    ] {
        let f = Run::findings(&v, id)
            .into_iter()
            .find(|f| f["target"] == target)
            .unwrap_or_else(|| panic!("no {id}[{target}] in {run}"));
        assert_eq!(f["status"], "ok", "{f:#}");
    }

    // The HA facts, about the whole stack (no target).
    for id in [
        "cluster.primary",
        "cluster.paused",
        "cluster.pending_restart",
        "cluster.timeline",
        "cluster.sentinels",
    ] {
        let f = Run::one(&v, id);
        assert_eq!(f["status"], "ok", "{f:#}");
        assert!(f.get("target").is_none(), "{f:#}");
    }
    assert_eq!(
        summary(&v, "cluster.primary"),
        "agree: pg-a is primary, cache-a is master"
    );
    assert_eq!(
        summary(&v, "cluster.paused"),
        "Patroni cluster opsbook is not paused: automatic failover is on"
    );
    assert_eq!(
        summary(&v, "cluster.timeline"),
        "timeline 1 (first check morning that records it: changes are reported from the next run on)"
    );
    assert_eq!(
        summary(&v, "cluster.sentinels"),
        "3 of 3 Sentinel(s) answer for opsbook (3 configured), each knows 3, quorum 2: CKQUORUM OK"
    );
    assert_eq!(v["data"]["cluster"]["verdict"]["primary"], "pg-a");
    assert_eq!(v["data"]["cluster"]["timeline"], 1);

    // The next morning check compares with this one.
    let (_, v) = morning(sb, &state, &["--all"]);
    assert_eq!(
        summary(&v, "cluster.timeline"),
        "timeline 1, unchanged since the previous check morning"
    );
    assert_eq!(v["data"]["cluster"]["previous_timeline"], 1);

    // A morning check that saw another timeline (as after a night's failover): WARNING, saying
    // when that check ran. (Recorded as that run would have: the history's own key.)
    let at = opsbook::state::now_secs() - 8 * 3600;
    let mut history = opsbook::state::History::load(state.path()).expect("history");
    history
        .record(
            state.path(),
            opsbook::state::Sample {
                at,
                command: "check morning".into(),
                values: [("cluster.timeline/check morning:opsbook".to_string(), 0.0)].into(),
            },
        )
        .expect("recording");
    let (run, v) = morning(sb, &state, &["--target", "postgres"]);
    let f = Run::one(&v, "cluster.timeline");
    assert_eq!(f["status"], "warning", "{run}");
    let when = opsbook::timefmt::rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(at as u64));
    assert_eq!(
        f["summary"],
        format!(
            "timeline 0 -> 1 since the previous check morning at {when}: a failover or switchover happened since"
        ),
        "{f:#}"
    );
    assert!(run.code >= 1, "{run}");
    // `--target postgres` selects no Sentinel: no Sentinel fact.
    assert!(Run::findings(&v, "cluster.sentinels").is_empty(), "{run}");

    // `monitor --all` carries the same facts; a monitor run does not reset the morning's
    // comparison (each command compares with its own previous run).
    let mon = opsbook(&["monitor", "--all", "--no-notify"])
        .config(sb.config_path())
        .state_dir(state.path())
        .json();
    assert_eq!(Run::one(&mon, "cluster.primary")["status"], "ok", "{mon:#}");
    assert!(summary(&mon, "cluster.timeline").starts_with("timeline 1 (first monitor"));
    let (_, v) = morning(sb, &state, &["--target", "postgres", "--no-record"]);
    assert_eq!(
        summary(&v, "cluster.timeline"),
        "timeline 1, unchanged since the previous check morning"
    );
}

/// `curl` PATCH /config on Patroni with the sandbox's API credentials (from stdin, never argv).
fn patch_config(sb: &Sandbox, body: &str) {
    let h = sb.ha().expect("HA state");
    let password = std::fs::read_to_string(sb.patroni_password_file()).expect("password file");
    let url = format!("http://127.0.0.1:{}/config", h.patroni[0].api_port);
    let run = command(
        "curl",
        &["-sS", "-f", "-K", "-", "-X", "PATCH", "-d", body, &url],
    )
    .stdin(&format!("user = \"opsbook:{}\"\n", password.trim()))
    .run();
    assert_eq!(run.code, 0, "PATCH /config {body}: {run}");
}

struct Resume<'a>(&'a Sandbox);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        patch_config(self.0, r#"{"pause": false}"#);
    }
}

#[test]
fn patroni_paused_is_a_warning_with_the_way_out() {
    let Some(sb) = ha_sandbox() else { return };
    let _exclusive = ha_exclusive();
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: curl is not installed (apt-get install curl)");
        return;
    }
    let state = Scratch::new("ha-paused");
    patch_config(sb, r#"{"pause": true}"#);
    let _resume = Resume(sb);
    let (run, v) = morning(sb, &state, &["--target", "pg-a"]);
    let f = Run::one(&v, "cluster.paused");
    assert_eq!(f["status"], "warning", "{run}");
    assert_eq!(
        f["summary"],
        "Patroni cluster opsbook is PAUSED (maintenance mode): no automatic failover"
    );
    assert!(
        f["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("resume opsbook"),
        "{f:#}"
    );
    assert!(run.code >= 1, "{run}");
    drop(_resume);
    // Resumed: the DCS says so at once.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = morning(sb, &state, &["--target", "pg-a", "--no-record"]);
        if Run::one(&v, "cluster.paused")["status"] == "ok" {
            break;
        }
        assert!(Instant::now() < deadline, "still paused: {v:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
