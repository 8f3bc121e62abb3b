//! `opsbook targets list` from the operator's side: the inventory, secrets masked.

use crate::harness::*;

#[test]
fn targets_list_shows_the_inventory_with_secrets_masked() {
    let inv = crate::fleet::inventory(
        "fleet_list",
        "  lb: {kind: haproxy, url: 'http://127.0.0.1:8404/stats', writer_backend: pg_write}\n",
    );
    let r = crate::fleet::run(&inv, &["targets", "list", "--format", "json"]);
    let j = r.json();
    assert_eq!(r.code, 0, "{r}");
    let rows = j["data"]["targets"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cache", "db", "lb", "pg-a", "pg-b"], "{r}");
    let pg_a = rows.iter().find(|t| t["name"] == "pg-a").unwrap();
    assert_eq!(pg_a["kind"], "postgres");
    assert_eq!(pg_a["groups"], serde_json::json!(["db"]));
    let password = sandbox().password().unwrap();
    assert!(
        !r.stdout.contains(&password),
        "the password never shows: {r}"
    );
    let t = crate::fleet::run(&inv, &["targets", "list"]);
    assert!(
        t.stdout.contains("pg-a") && t.stdout.contains("haproxy"),
        "{t}"
    );
}
