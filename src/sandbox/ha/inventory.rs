//! The `targets:` section `sandbox up --ha` appends to the sandbox's opsbook.yaml: every
//! node of the HA stack by the name its engine gives it (Patroni member names, `cache-a/b`,
//! `sentinel-N`, `lb`), and the groups `postgres`, `redis` and `sentinels`.

use super::super::files::yaml_scalar;
use super::super::Sandbox;
use super::haproxy::{PG_WRITE, REDIS_WRITE};
use super::{HA_NAME, PATRONI_API_USER};

pub(in crate::sandbox) fn targets_yaml(sb: &Sandbox) -> String {
    let Some(h) = sb.ha() else {
        return String::new();
    };
    let path = |p: std::path::PathBuf| yaml_scalar(&p.to_string_lossy());
    let mut out = String::from("targets:\n");
    for n in &h.patroni {
        out.push_str(&format!(
            "  {name}:\n    kind: postgres\n    url: postgres://postgres@127.0.0.1:{pg}/postgres\n    password_file: {pw}\n    patroni:\n      url: http://127.0.0.1:{api}\n      username: {PATRONI_API_USER}\n      password_file: {api_pw}\n",
            name = n.name,
            pg = n.pg_port,
            pw = path(sb.ha_pg_password_file()),
            api = n.api_port,
            api_pw = path(sb.patroni_password_file()),
        ));
    }
    for (name, port) in [
        ("cache-a", sb.state.redis_port),
        (h.redis_replica.name.as_str(), h.redis_replica.port),
    ] {
        out.push_str(&format!(
            "  {name}:\n    kind: redis\n    url: redis://127.0.0.1:{port}\n"
        ));
    }
    for s in &h.sentinels {
        out.push_str(&format!(
            "  {}:\n    kind: sentinel\n    url: redis://127.0.0.1:{}\n    master: {HA_NAME}\n",
            s.name, s.port
        ));
    }
    out.push_str(&format!(
        "  lb:\n    kind: haproxy\n    url: http://127.0.0.1:{}/stats\n    writer_backend: {PG_WRITE}\n    redis_backend: {REDIS_WRITE}\n",
        h.haproxy.port
    ));
    let names = |v: Vec<&str>| v.join(", ");
    out.push_str(&format!(
        "  postgres:\n    kind: group\n    members: [{}]\n",
        names(h.patroni.iter().map(|n| n.name.as_str()).collect())
    ));
    out.push_str(&format!(
        "  redis:\n    kind: group\n    members: [cache-a, {}]\n",
        h.redis_replica.name
    ));
    out.push_str(&format!(
        "  sentinels:\n    kind: group\n    members: [{}]\n",
        names(h.sentinels.iter().map(|s| s.name.as_str()).collect())
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::super::{HaProc, HaState, PatroniNode};
    use crate::config::targets::{validate, Target, Targets};
    use crate::sandbox::{Sandbox, SandboxState};
    use std::path::PathBuf;

    #[test]
    fn the_sandbox_inventory_is_a_valid_targets_section() {
        let p = |name: &str, port: u16| HaProc {
            name: name.into(),
            port,
            pid: None,
        };
        let sb = Sandbox {
            state: SandboxState {
                dir: PathBuf::from("/tmp/sbx"),
                pg_port: 40001,
                pg_pid: None,
                redis_port: 40002,
                redis_pid: None,
                pg_bindir: PathBuf::from("/usr/lib/postgresql/15/bin"),
                pg_version: "15.14".into(),
                user: "postgres".into(),
                demo_db: None,
                owner_pid: None,
                created_at: "2026-01-01T00:00:00Z".into(),
                ha: Some(HaState {
                    etcd: p("etcd", 40010),
                    etcd_peer_port: 40011,
                    patroni: vec![
                        PatroniNode {
                            name: "pg-a".into(),
                            pg_port: 40012,
                            api_port: 40013,
                            pid: None,
                        },
                        PatroniNode {
                            name: "pg-b".into(),
                            pg_port: 40014,
                            api_port: 40015,
                            pid: None,
                        },
                    ],
                    redis_replica: p("cache-b", 40016),
                    sentinels: vec![
                        p("sentinel-1", 40017),
                        p("sentinel-2", 40018),
                        p("sentinel-3", 40019),
                    ],
                    haproxy: p("haproxy", 40020),
                    pg_write_port: 40021,
                    redis_write_port: 40022,
                    started_in_seconds: 0.0,
                }),
            },
        };
        #[derive(serde::Deserialize)]
        struct Section {
            targets: Targets,
        }
        let t = serde_saphyr::from_str::<Section>(&super::targets_yaml(&sb))
            .unwrap()
            .targets;
        validate(&t).unwrap();
        let Target::Postgres(a) = &t["pg-a"] else {
            panic!("pg-a")
        };
        assert_eq!(a.url, "postgres://postgres@127.0.0.1:40012/postgres");
        let api = a.patroni.as_ref().unwrap();
        assert_eq!(api.url, "http://127.0.0.1:40013");
        assert_eq!(
            api.password_file.as_deref(),
            Some(std::path::Path::new("/tmp/sbx/ha/patroni-api.pass"))
        );
        let Target::Redis(m) = &t["cache-a"] else {
            panic!("cache-a")
        };
        assert_eq!(m.url, "redis://127.0.0.1:40002");
        let Target::Haproxy(lb) = &t["lb"] else {
            panic!("lb")
        };
        assert_eq!(lb.writer_backend.as_deref(), Some("pg_write"));
        let Target::Group(s) = &t["sentinels"] else {
            panic!("sentinels")
        };
        assert_eq!(s.members, ["sentinel-1", "sentinel-2", "sentinel-3"]);
        assert_eq!(t.len(), 11);
    }
}
