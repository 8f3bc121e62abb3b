//! `targets discover` against the real Patroni and Sentinels of `sandbox up --ha` (the HA
//! sandbox of this test process, shared with tests/cli/cluster.rs): what it prints parses as
//! a `targets:` section the config accepts and names every member.

use opsbook::config::targets::{Target, Targets};

use super::cluster::ha;
use super::harness::{ha_sandbox, ha_shared, opsbook, Run};

#[derive(serde::Deserialize)]
struct Pasted {
    targets: Targets,
}

/// The YAML after the leading comment parses as a `targets:` section the config accepts.
fn pasted(run: &Run) -> Targets {
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .starts_with("# discovered by `opsbook targets discover` from "),
        "{run}"
    );
    let p: Pasted = serde_saphyr::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    opsbook::config::targets::validate(&p.targets).unwrap();
    p.targets
}

#[test]
fn discover_prints_every_member_as_targets() {
    let Some(sb) = ha_sandbox() else { return };
    let _shared = ha_shared();
    let h = ha(sb);

    // From a target of the config: Patroni's members, with the source's credentials files.
    let t = pasted(
        &opsbook(&["targets", "discover", "--from", "pg-b"])
            .config(sb.config_path())
            .run(),
    );
    for n in &h.patroni {
        let Some(Target::Postgres(p)) = t.get(&n.name) else {
            panic!("no postgres target {} in {t:?}", n.name)
        };
        assert_eq!(
            p.url,
            format!("postgres://postgres@127.0.0.1:{}/postgres", n.pg_port)
        );
        assert_eq!(
            p.password_file.as_deref(),
            Some(sb.ha_pg_password_file().as_path())
        );
        let api = p.patroni.as_ref().unwrap();
        assert_eq!(api.url, format!("http://127.0.0.1:{}", n.api_port));
        assert_eq!(api.username.as_deref(), Some("opsbook"));
    }
    let Some(Target::Group(g)) = t.get("postgres") else {
        panic!("{t:?}")
    };
    assert_eq!(g.members, ["pg-a", "pg-b"]);

    // Without a config: a Sentinel's master, replica and the three Sentinels.
    let s1 = h.sentinels[0].port;
    let t = pasted(
        &opsbook(&[
            "targets",
            "discover",
            "--sentinel",
            &format!("redis://127.0.0.1:{s1}"),
            "--master",
            "opsbook",
        ])
        .run(),
    );
    let redis_ports: Vec<u16> = [sb.state.redis_port, h.redis_replica.port].into();
    for port in redis_ports {
        assert!(
            t.contains_key(&format!("redis-127.0.0.1-{port}")),
            "no redis on {port} in {t:?}"
        );
    }
    for s in &h.sentinels {
        let Some(Target::Sentinel(st)) = t.get(&format!("sentinel-127.0.0.1-{}", s.port)) else {
            panic!("no sentinel on {} in {t:?}", s.port)
        };
        assert_eq!(st.master, "opsbook");
    }

    // And from a Patroni URL alone.
    let api = h.patroni[0].api_port;
    let t = pasted(
        &opsbook(&[
            "targets",
            "discover",
            "--patroni",
            &format!("http://127.0.0.1:{api}"),
        ])
        .run(),
    );
    assert!(t.contains_key("pg-a") && t.contains_key("pg-b"), "{t:?}");

    // A Sentinel that does not monitor the name: one error naming it, exit 3.
    let run = opsbook(&[
        "targets",
        "discover",
        "--sentinel",
        &format!("redis://127.0.0.1:{s1}"),
        "--master",
        "nosuch",
    ])
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("does not monitor a master named `nosuch`"),
        "{run}"
    );
}
