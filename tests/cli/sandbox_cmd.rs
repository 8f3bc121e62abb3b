//! `opsbook sandbox` as a newcomer uses it: up, env, status, check, down.

use crate::harness::*;

#[test]
fn sandbox_lifecycle_from_the_command_line() {
    let s = Scratch::new("sbx");
    let dir = s.path().join("sandbox");
    let d = dir.to_str().unwrap();
    let up = opsbook(&["sandbox", "up", "--dir", d]).run();
    assert_eq!(up.code, 0, "{up}");
    assert!(up.stdout.contains("sandbox.postgres"), "{up}");
    assert!(
        up.stdout.contains("eval \"$(opsbook sandbox env)\""),
        "{up}"
    );

    let again = opsbook(&["sandbox", "up", "--dir", d]).run();
    assert_eq!(
        again.code, 3,
        "a second up on a running sandbox is refused: {again}"
    );

    let env = opsbook(&["sandbox", "env", "--dir", d]).run();
    assert_eq!(env.code, 0, "{env}");
    assert!(
        env.stdout.lines().all(|l| l.starts_with("export ")),
        "{env}"
    );
    assert!(env.stdout.contains("PGPASSFILE="), "{env}");
    assert!(
        !env.stdout.contains("PGPASSWORD"),
        "no password in the environment lines: {env}"
    );

    // The printed environment is enough for a morning check.
    let mut check = opsbook(&["check", "morning"]).format("json");
    for line in env.stdout.lines() {
        let (k, v) = line.trim_start_matches("export ").split_once('=').unwrap();
        check = check.env(k, v.trim_matches('\''));
    }
    let run = check.run();
    let j = run.json();
    assert_eq!(Run::one(&j, "postgres.up")["status"], "ok", "{run}");
    assert_eq!(Run::one(&j, "redis.up")["status"], "ok", "{run}");

    let status = opsbook(&["sandbox", "status", "--dir", d])
        .format("json")
        .run();
    assert_eq!(status.code, 0, "{status}");

    let down = opsbook(&["sandbox", "down", "--dir", d]).run();
    assert_eq!(down.code, 0, "{down}");
    assert!(!dir.exists());
    let gone = opsbook(&["sandbox", "status", "--dir", d]).run();
    assert_eq!(gone.code, 3, "{gone}");
    assert!(gone.stderr.contains("opsbook sandbox up"), "{gone}");
}
