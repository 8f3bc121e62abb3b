use super::*;
use crate::clients::sentinel::Quorum;

fn entry(timeline: u64, ts: &str, leader: &str) -> HistoryEntry {
    HistoryEntry {
        timeline,
        lsn: 50_331_808,
        reason: "no recovery target specified".into(),
        timestamp: Some(ts.into()),
        new_leader: Some(leader.into()),
    }
}

#[test]
fn an_unchanged_timeline_is_ok() {
    let f = timeline_finding(
        Some("main"),
        2,
        Some((1_700_000_000, 2)),
        &Ok(vec![]),
        "check morning",
    );
    assert_eq!(f.status, Status::Ok);
    assert_eq!(f.subject.as_deref(), Some("main"));
    assert_eq!(
        f.summary,
        "timeline 2, unchanged since the previous check morning"
    );
}

#[test]
fn a_night_failover_says_when_and_to_whom() {
    let history = Ok(vec![
        entry(1, "2026-11-01T10:00:00.123456+00:00", "pg-a"),
        entry(2, "2026-12-05T03:12:45.987654+00:00", "pg-b"),
    ]);
    // the previous morning check saw timeline 2, now it is 3
    let f = timeline_finding(
        Some("main"),
        3,
        Some((1_764_907_200, 2)),
        &history,
        "check morning",
    );
    assert_eq!(f.status, Status::Warning);
    assert_eq!(
        f.summary,
        "timeline 2 -> 3 since the previous check morning at 2025-12-05T04:00:00Z: a failover or \
         switchover happened since: timeline 2 -> 3 at 2026-12-05T03:12:45+00:00, new leader pg-b \
         (no recovery target specified)"
    );
    assert_eq!(f.detail.len(), 1, "{:?}", f.detail);
    assert!(f.hint.is_some());
}

#[test]
fn two_switches_are_two_detail_lines_and_an_unreadable_history_is_said() {
    let history = Ok(vec![
        entry(1, "2026-12-05T01:00:00+00:00", "pg-b"),
        entry(2, "2026-12-05T02:00:00+00:00", "pg-a"),
    ]);
    let f = timeline_finding(None, 3, Some((0, 1)), &history, "monitor");
    assert_eq!(f.status, Status::Warning);
    assert_eq!(f.subject.as_deref(), Some("postgres"));
    assert_eq!(f.detail.len(), 2, "{:?}", f.detail);
    assert!(f.detail[1].contains("new leader pg-a"));

    let f = timeline_finding(None, 3, Some((0, 2)), &Err("refused".into()), "monitor");
    assert_eq!(f.status, Status::Warning);
    assert_eq!(
        f.detail,
        ["Patroni's /history could not be read: refused".to_string()]
    );
}

#[test]
fn the_first_run_names_the_last_switch() {
    let history = Ok(vec![entry(1, "2026-12-05T01:00:00+00:00", "pg-b")]);
    let f = timeline_finding(Some("main"), 2, None, &history, "check night");
    assert_eq!(f.status, Status::Ok);
    assert!(
        f.summary.ends_with(
            "the last switch Patroni knows: timeline 1 -> 2 at 2026-12-05T01:00:00+00:00, new leader pg-b (no recovery target specified)"
        ),
        "{}",
        f.summary
    );
    let f = timeline_finding(Some("main"), 1, None, &Ok(vec![]), "check night");
    assert!(f.summary.starts_with("timeline 1 (first check night"));
}

#[test]
fn a_timeline_that_went_back_is_named() {
    let f = timeline_finding(None, 1, Some((0, 4)), &Ok(vec![]), "check morning");
    assert_eq!(f.status, Status::Warning);
    assert!(f.summary.contains("went back"), "{}", f.summary);
}

#[test]
fn since_keeps_the_switches_between_the_runs() {
    let all = vec![entry(1, "a", "x"), entry(2, "b", "y"), entry(3, "c", "z")];
    let tl = |v: Vec<HistoryEntry>| v.iter().map(|e| e.timeline).collect::<Vec<_>>();
    assert_eq!(tl(since(all.clone(), Some(2), 4)), [2, 3]);
    assert_eq!(tl(since(all.clone(), Some(4), 4)), Vec::<u64>::new());
    assert_eq!(tl(since(all.clone(), None, 4)), [3]);
    assert_eq!(
        short_time("2026-12-05T03:12:45.987654+00:00"),
        "2026-12-05T03:12:45+00:00"
    );
    assert_eq!(short_time("2026-12-05T03:12:45Z"), "2026-12-05T03:12:45Z");
}

fn sentinel(name: &str, others: u64, ok: bool) -> Node<SentinelFacts> {
    Node {
        name: name.into(),
        address: format!("127.0.0.1:2637{}", name.len()),
        facts: Ok(SentinelFacts {
            master_name: "mymaster".into(),
            master: Some("127.0.0.1:6379".into()),
            flags: "master".into(),
            quorum: Some(2),
            other_sentinels: Some(others),
            replicas: Some(1),
            ckquorum: Quorum {
                ok,
                message: if ok {
                    "OK 3 usable Sentinels. Quorum and failover authorization can be reached".into()
                } else {
                    "NOQUORUM 1 usable Sentinels".into()
                },
            },
        }),
    }
}

fn down(name: &str) -> Node<SentinelFacts> {
    Node {
        name: name.into(),
        address: "127.0.0.1:1".into(),
        facts: Err("connection refused".into()),
    }
}

fn inventory(names: &[&str]) -> Targets {
    names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                Target::Sentinel(crate::config::targets::SentinelTarget {
                    url: "redis://127.0.0.1:26379".into(),
                    master: "mymaster".into(),
                    password_file: None,
                }),
            )
        })
        .collect()
}

#[test]
fn sentinels_at_full_strength_are_ok() {
    let inv = inventory(&["s1", "s2", "s3"]);
    let nodes = [
        sentinel("s1", 2, true),
        sentinel("s2", 2, true),
        sentinel("s3", 2, true),
    ];
    let f = sentinel_facts(&nodes, &inv);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].status, Status::Ok, "{:?}", f[0]);
    assert_eq!(
        f[0].summary,
        "3 of 3 Sentinel(s) answer for mymaster (3 configured), each knows 3, quorum 2: CKQUORUM OK"
    );
    assert_eq!(f[0].subject.as_deref(), Some("mymaster"));
}

#[test]
fn one_sentinel_down_is_a_warning_two_are_critical() {
    let inv = inventory(&["s1", "s2", "s3"]);
    let f = sentinel_facts(
        &[sentinel("s1", 2, true), sentinel("s2", 2, true), down("s3")],
        &inv,
    );
    assert_eq!(f[0].status, Status::Warning, "{:?}", f[0]);
    assert!(
        f[0].detail.iter().any(|l| l == "not answering: s3"),
        "{:?}",
        f[0]
    );

    let f = sentinel_facts(&[sentinel("s1", 2, false), down("s2"), down("s3")], &inv);
    assert_eq!(f[0].status, Status::Critical, "{:?}", f[0]);
    assert!(
        f[0].summary.starts_with("1 of 3 Sentinel(s) answer"),
        "{}",
        f[0].summary
    );
}

#[test]
fn a_sentinel_that_knows_a_stale_peer_is_a_warning() {
    let inv = inventory(&["s1", "s2", "s3"]);
    let f = sentinel_facts(
        &[
            sentinel("s1", 3, true),
            sentinel("s2", 2, true),
            sentinel("s3", 2, true),
        ],
        &inv,
    );
    assert_eq!(f[0].status, Status::Warning, "{:?}", f[0]);
    assert!(
        f[0].summary.contains("they know 3 to 4"),
        "{}",
        f[0].summary
    );
    assert!(f[0]
        .hint
        .as_deref()
        .unwrap_or("")
        .contains("SENTINEL RESET mymaster"));
}

#[test]
fn selecting_one_sentinel_compares_with_the_configured_count() {
    let inv = inventory(&["s1", "s2", "s3"]);
    let f = sentinel_facts(&[sentinel("s1", 2, true)], &inv);
    assert_eq!(f[0].status, Status::Ok, "{:?}", f[0]);
    assert!(f[0]
        .summary
        .starts_with("1 of 1 Sentinel(s) answer for mymaster (3 configured)"));
}

fn patroni_node(cluster: &str) -> Node<PatroniFacts> {
    Node {
        name: "pg-a".into(),
        address: "127.0.0.1:8008".into(),
        facts: Ok(PatroniFacts {
            cluster: serde_json::from_str(cluster).expect("a /cluster document"),
            node: None,
        }),
    }
}

#[test]
fn pending_restart_names_the_members_and_pause_is_a_warning() {
    let n = patroni_node(
        r#"{"members": [
            {"name": "pg-a", "role": "leader", "state": "running", "timeline": 4, "pending_restart": true},
            {"name": "pg-b", "role": "replica", "state": "streaming", "timeline": 4, "lag": 0},
            {"name": "pg-c", "role": "replica", "state": "streaming", "timeline": 4, "lag": 0, "pending_restart": true}
        ], "pause": true}"#,
    );
    let f = patroni_facts(n.facts.as_ref().ok().map(|f| (&n, f)));
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].id.as_str(), f[0].status), (PAUSED, Status::Warning));
    // no /patroni answer: the scope is the API's target name
    assert_eq!(f[0].subject.as_deref(), Some("pg-a"));
    assert_eq!(
        (f[1].id.as_str(), f[1].status),
        (PENDING_RESTART, Status::Warning)
    );
    assert_eq!(
        f[1].summary,
        "2 of 3 member(s) wait for a restart to apply changed settings: pg-a, pg-c"
    );
    assert!(f[1]
        .hint
        .as_deref()
        .unwrap_or("")
        .contains("patronictl restart pg-a pg-a pg-c"));

    let none = patroni_facts(None);
    assert!(none.iter().all(|f| f.status == Status::Unknown));
}

#[test]
fn the_timeline_is_the_primarys_else_the_leaders() {
    let n = patroni_node(
        r#"{"members": [{"name": "pg-a", "role": "leader", "state": "running", "timeline": 7}]}"#,
    );
    let o = Observation::default();
    let v = verdict(&o);
    let facts = n.facts.as_ref().ok();
    assert_eq!(current_timeline(&o, &v, facts), Some(7));
    assert_eq!(current_timeline(&o, &v, None), None);
}
