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
