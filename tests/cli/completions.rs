//! TAB completion of run-time values: what the shell gets back from `COMPLETE=bash opsbook`
//! (the protocol of `opsbook completions bash --dynamic`).

use crate::backup::backup;
use crate::harness::*;

/// The words bash would offer at `words[index]`.
fn complete(
    config: &std::path::Path,
    home: &std::path::Path,
    index: usize,
    words: &[&str],
) -> Vec<String> {
    let mut args = vec!["--", "opsbook"];
    args.extend_from_slice(words);
    let r = opsbook(&args)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", index.to_string())
        .env("_CLAP_IFS", "\n")
        .env("OPSBOOK_CONFIG", config.to_str().unwrap())
        .env("HOME", home.to_str().unwrap())
        .run();
    assert_eq!(r.code, 0, "{r}");
    r.stdout.lines().map(str::to_string).collect()
}

#[test]
fn tab_completes_runbook_names_and_backup_ids() {
    let _g = shared();
    let db = TestDb::new("compl");
    db.psql("CREATE TABLE t AS SELECT generate_series(1, 10) AS id");
    let s = Scratch::new("compl");
    let dir = s.path().join("backups");
    let runbooks = s.path().join("runbooks");
    s.write(
        "runbooks/ours.yaml",
        "name: ours\ndescription: a local one\nsteps:\n  - name: look\n    run: check morning\n",
        0o644,
    );
    let extra = format!("runbook_dirs: [{}]\n", runbooks.display());
    let cfg = sandbox_config(&s, &db, &dir, &extra);

    let names = complete(&cfg, s.path(), 3, &["runbook", "run", ""]);
    for want in ["morning", "disaster-recovery", "ours"] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let m = complete(&cfg, s.path(), 3, &["runbook", "schedule", "mor"]);
    assert_eq!(m, vec!["morning".to_string()]);

    // No backup yet: nothing to offer, not even `latest`.
    let none = complete(&cfg, s.path(), 2, &["restore", ""]);
    assert!(!none.iter().any(|n| n.contains("latest")), "{none:?}");

    let b = backup(&cfg, &["--db", &db.name]);
    assert_eq!(b.code, 0, "{b}");
    let list = opsbook(&["backup", "list"])
        .config(&cfg)
        .format("json")
        .run();
    let id = list.json()["data"]["backups"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ids = complete(&cfg, s.path(), 3, &["backup", "verify", ""]);
    assert!(ids.contains(&id), "{id} not in {ids:?}");
    assert!(ids.contains(&format!("{}/latest", db.name)), "{ids:?}");
    let ids = complete(&cfg, s.path(), 2, &["restore", ""]);
    assert!(ids.contains(&id), "{id} not in {ids:?}");
}

#[test]
fn dynamic_scripts_are_checked_in_and_call_opsbook() {
    let r = opsbook(&["completions", "bash", "--dynamic"]).run();
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("COMPLETE=\"bash\""), "{}", r.stdout);
    assert!(r.stdout.contains("complete -o nospace"), "{}", r.stdout);
    let checked_in = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/dynamic/opsbook.bash"),
    )
    .unwrap();
    assert_eq!(checked_in, r.stdout);
}

#[test]
fn tab_completes_inventory_target_and_group_names() {
    let s = Scratch::new("compl_targets");
    let cfg = s.write(
        "opsbook.yaml",
        "targets:\n  pg-a: {kind: postgres, url: 'postgres://u@127.0.0.1:1/app'}\n  pg-b: {kind: postgres, url: 'postgres://u@127.0.0.1:2/app'}\n  cache: {kind: redis, url: 'redis://127.0.0.1:3'}\n  db: {kind: group, members: [pg-a, pg-b]}\n",
        0o600,
    );
    let all = complete(&cfg, s.path(), 4, &["check", "morning", "--target", ""]);
    for want in ["pg-a", "pg-b", "cache", "db"] {
        assert!(all.iter().any(|n| n == want), "{want} not in {all:?}");
    }
    let pg = complete(&cfg, s.path(), 4, &["check", "morning", "--target", "pg"]);
    assert_eq!(pg, vec!["pg-a".to_string(), "pg-b".to_string()]);
}
