//! `targets list`: the inventory as a table, in name order; secrets never shown (URLs masked).

use clap::Args;

use crate::config::targets::{Target, Targets};
use crate::context::Ctx;
use crate::redact::mask_url;
use crate::report::{Finding, Fit, Report, Section, Status};

/// List every target and group of the config's `targets:`
#[derive(Debug, Args)]
pub struct ListArgs {}

/// Where a target is, as shown (passwords masked).
fn address(t: &Target) -> String {
    match t {
        Target::Postgres(p) => mask_url(&p.url),
        Target::Redis(r) => mask_url(&r.url),
        Target::Sentinel(s) => format!("{} (master {})", mask_url(&s.url), s.master),
        Target::Haproxy(h) => match (&h.url, &h.socket) {
            (Some(u), _) => mask_url(u),
            (None, Some(s)) => s.display().to_string(),
            (None, None) => String::new(),
        },
        Target::Group(g) => g.members.join(", "),
    }
}

/// The groups `name` is a member of, in name order.
fn groups_of<'a>(targets: &'a Targets, name: &str) -> Vec<&'a str> {
    targets
        .iter()
        .filter(|(_, t)| matches!(t, Target::Group(g) if g.members.iter().any(|m| m == name)))
        .map(|(n, _)| n.as_str())
        .collect()
}

fn patroni(t: &Target) -> Option<String> {
    match t {
        Target::Postgres(p) => p.patroni.as_ref().map(|a| mask_url(&a.url)),
        _ => None,
    }
}

pub(super) fn run(_args: &ListArgs, ctx: &Ctx) -> Report {
    let targets = &ctx.config.targets;
    let mut report = Report::new("targets list");
    let groups = targets
        .values()
        .filter(|t| matches!(t, Target::Group(_)))
        .count();
    let nodes = targets.len() - groups;
    report.push(if targets.is_empty() {
        Finding::new("targets.list", Status::Warning, "the config has no targets")
            .value(0u64, "targets")
            .hint("add a `targets:` section to the config (see commands/targets.md)")
    } else {
        Finding::ok(
            "targets.list",
            format!("{nodes} target(s) and {groups} group(s) in the inventory"),
        )
        .value(nodes as u64, "targets")
    });
    report.sections.push(Section {
        title: "Targets (--target NAME|GROUP, --all)".to_string(),
        columns: ["NAME", "KIND", "ADDRESS", "GROUPS", "PATRONI"]
            .map(String::from)
            .to_vec(),
        rows: targets
            .iter()
            .map(|(name, t)| {
                vec![
                    name.clone(),
                    t.kind().to_string(),
                    address(t),
                    groups_of(targets, name).join(","),
                    patroni(t).unwrap_or_default(),
                ]
            })
            .collect(),
        fit: vec![
            Fit::Whole,
            Fit::Whole,
            Fit::Text,
            Fit::Optional(2),
            Fit::Optional(3),
        ],
    });
    let data: Vec<serde_json::Value> = targets
        .iter()
        .map(|(name, t)| {
            let mut v = serde_json::json!({
                "name": name,
                "kind": t.kind(),
                "address": address(t),
                "groups": groups_of(targets, name),
            });
            if let Target::Group(g) = t {
                v["members"] = serde_json::json!(g.members);
            }
            if let Some(p) = patroni(t) {
                v["patroni"] = serde_json::json!(p);
            }
            v
        })
        .collect();
    report.data = Some(serde_json::json!({ "targets": data }));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_and_groups_found() {
        let t: Targets = serde_saphyr::from_str(
            "pg-a: {kind: postgres, url: 'postgres://u:secret@h:5432/app'}\n\
             db: {kind: group, members: [pg-a]}\n\
             s: {kind: sentinel, url: 'redis://h:26379', master: m}\n",
        )
        .unwrap();
        let a = address(&t["pg-a"]);
        assert!(!a.contains("secret"), "{a}");
        assert_eq!(groups_of(&t, "pg-a"), ["db"]);
        assert!(groups_of(&t, "s").is_empty());
        assert_eq!(address(&t["s"]), "redis://h:26379 (master m)");
    }
}
