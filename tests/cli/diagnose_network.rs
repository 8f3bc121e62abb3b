//! `opsbook diagnose network`: a local HTTP server answering 200, 500 and slowly, a closed
//! port, and socket-state counts checked against `ss -tan`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use crate::harness::*;

/// A tiny HTTP server on a free loopback port: /ok → 200, /fail → 500, /slow → 200 after
/// 400 ms. Serves until the test process ends.
fn http_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let n = c.read(&mut buf).unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let code = match path.as_str() {
                    "/fail" => "500 Internal Server Error",
                    "/slow" => {
                        std::thread::sleep(Duration::from_millis(400));
                        "200 OK"
                    }
                    _ => "200 OK",
                };
                let _ = c.write_all(
                    format!("HTTP/1.1 {code}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                        .as_bytes(),
                );
            });
        }
    });
    port
}

#[test]
fn endpoints_answering_200_500_and_slowly_and_a_closed_port() {
    let _g = shared();
    let db = TestDb::new("network");
    let s = Scratch::new("network");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let port = http_server();
    let closed = closed_port();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let (ok, fail, slow) = (url("/ok"), url("/fail"), url("/slow"));
    let closed_host = format!("127.0.0.1:{closed}");
    let run = opsbook(&[
        "diagnose",
        "network",
        "--endpoint",
        &ok,
        "--endpoint",
        &fail,
        "--endpoint",
        &slow,
        "--host",
        &closed_host,
    ])
    .config(&cfg)
    .format("json")
    .run();
    let j = run.json();
    let http: BTreeMap<String, &serde_json::Value> = Run::findings(&j, "network.http")
        .into_iter()
        .map(|f| (f["subject"].as_str().unwrap().to_string(), f))
        .collect();
    assert_eq!(http[&ok]["status"], "ok", "{run}");
    assert!(
        http[&ok]["summary"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 200"),
        "{run}"
    );
    assert_eq!(http[&fail]["status"], "critical", "{run}");
    assert!(
        http[&fail]["summary"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 500"),
        "{run}"
    );
    assert_eq!(http[&slow]["status"], "warning", "{run}");
    assert!(http[&slow]["value"].as_f64().unwrap() >= 0.4, "{run}");
    assert!(
        http[&slow]["hint"].as_str().unwrap().contains("first byte"),
        "{run}"
    );

    let tcp = Run::findings(&j, "network.tcp_connect");
    let refused = tcp
        .iter()
        .find(|f| f["subject"] == closed_host.as_str())
        .unwrap_or_else(|| panic!("{run}"));
    assert_eq!(refused["status"], "critical", "{run}");
    assert!(
        refused["summary"].as_str().unwrap().contains("refused"),
        "{run}"
    );
    let pg = tcp
        .iter()
        .find(|f| f["subject"].as_str().unwrap().starts_with("postgres "))
        .unwrap_or_else(|| panic!("{run}"));
    assert_eq!(pg["status"], "ok", "{run}");
    assert!(
        tcp.iter()
            .any(|f| f["subject"].as_str().unwrap().starts_with("redis ") && f["status"] == "ok"),
        "{run}"
    );
    assert_eq!(run.code, 2, "{run}");
}

/// `ss -tan` state counts under opsbook's names.
fn ss_counts() -> BTreeMap<String, i64> {
    let out = std::process::Command::new("ss")
        .arg("-tan")
        .output()
        .expect("running ss -tan (apt-get install iproute2)");
    let mut m = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
        let Some(state) = line.split_whitespace().next() else {
            continue;
        };
        let name = match state {
            "ESTAB" => "ESTABLISHED",
            "TIME-WAIT" => "TIME_WAIT",
            "CLOSE-WAIT" => "CLOSE_WAIT",
            "LISTEN" => "LISTEN",
            "SYN-SENT" => "SYN_SENT",
            "SYN-RECV" => "SYN_RECV",
            "FIN-WAIT-1" => "FIN_WAIT1",
            "FIN-WAIT-2" => "FIN_WAIT2",
            "LAST-ACK" => "LAST_ACK",
            "CLOSING" => "CLOSING",
            other => other,
        };
        *m.entry(name.to_string()).or_insert(0) += 1;
    }
    m
}

#[test]
fn socket_states_agree_with_ss() {
    // Other tests open and close connections: keep them still while the counts are compared.
    let _g = exclusive();
    let db = TestDb::new("sockets");
    let s = Scratch::new("sockets");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let before = ss_counts();
    let run = opsbook(&["diagnose", "network"])
        .config(&cfg)
        .format("json")
        .run();
    let after = ss_counts();
    let j = run.json();
    let ours = j["data"]["socket_states"].as_object().unwrap();
    for state in ["ESTABLISHED", "LISTEN", "TIME_WAIT", "CLOSE_WAIT"] {
        let n = ours.get(state).and_then(|v| v.as_i64()).unwrap_or(0);
        let (b, a) = (
            before.get(state).copied().unwrap_or(0),
            after.get(state).copied().unwrap_or(0),
        );
        // opsbook's own connects (5 to PostgreSQL, 5 to Redis) land between the two ss runs.
        let tol = 3 + b.max(a) / 20;
        assert!(
            n >= b.min(a) - tol && n <= b.max(a) + tol,
            "{state}: opsbook {n}, ss before {b}, after {a}\n{run}"
        );
    }
    let tw = Run::one(&j, "network.time_wait");
    assert_eq!(
        tw["value"].as_i64().unwrap(),
        ours.get("TIME_WAIT").and_then(|v| v.as_i64()).unwrap_or(0)
    );
    assert_eq!(
        Run::findings(&j, "network.port_connections").len(),
        2,
        "{run}"
    );
}
