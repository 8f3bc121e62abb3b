//! One report from the parts of a fanned-out run: each part's findings that are its own
//! (`parts::part_of`), carrying their target; sections titled by their target; each part's
//! `data` under `data.targets.<name>` (the host's under `data.host`); status the worst.

use serde_json::{Map, Value};

use super::parts::{part_of, Part};
use crate::config::Config;
use crate::report::Report;

/// What one part of a fanned-out run returned.
#[derive(Debug)]
pub struct Piece {
    /// The inventory target (None: the host's own part).
    pub target: Option<String>,
    /// Which findings of the report are this part's (None: all of them, e.g. `target.up`).
    pub keep: Option<Part>,
    pub report: Report,
}

/// Merge the pieces, in their order, into one report of `command`.
pub fn merge(command: &str, pieces: Vec<Piece>, config: &Config) -> Report {
    let mut out = Report::new(command);
    let mut targets = Map::new();
    let mut host = None;
    for piece in pieces {
        let Piece {
            target,
            keep,
            report,
        } = piece;
        for f in report.findings {
            if keep.is_some_and(|k| part_of(&f.id, config) != Some(k)) {
                continue;
            }
            out.push(match &target {
                Some(t) => f.target(t.clone()),
                None => f,
            });
        }
        for mut s in report.sections {
            if let Some(t) = &target {
                s.title = format!("{t}: {}", s.title);
            }
            out.sections.push(s);
        }
        match (report.data, &target) {
            (Some(d), Some(t)) => {
                targets.insert(t.clone(), d);
            }
            (Some(d), None) => host = Some(d),
            (None, _) => {}
        }
    }
    if !targets.is_empty() || host.is_some() {
        let mut data = Map::new();
        if !targets.is_empty() {
            data.insert("targets".into(), Value::Object(targets));
        }
        if let Some(h) = host {
            data.insert("host".into(), h);
        }
        out.data = Some(Value::Object(data));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Finding, Section, Status};

    fn report(findings: Vec<Finding>) -> Report {
        let mut r = Report::new("check morning");
        r.extend(findings);
        r
    }

    #[test]
    fn each_part_keeps_its_own_findings_with_its_target() {
        let c = Config::default();
        let pg_a = report(vec![
            Finding::ok("postgres.up", "up"),
            Finding::ok("postgres.database_size", "1 MB").subject("app"),
            Finding::new("redis.up", Status::Unknown, "not part of this target's run"),
            Finding::ok("host.disk_usage", "a copy the host part reports"),
        ]);
        let pg_b = report(vec![
            Finding::new("postgres.up", Status::Critical, "connection refused"),
            Finding::new("postgres.connections", Status::Unknown, "not checked"),
        ]);
        let cache = report(vec![
            Finding::new("postgres.up", Status::Unknown, "not part of this run"),
            Finding::new("redis.memory", Status::Warning, "81 %"),
        ]);
        let host = report(vec![
            Finding::new("postgres.up", Status::Unknown, "not part of this run"),
            Finding::ok("host.disk_usage", "40 %").subject("/"),
        ]);
        let sentinel = report(vec![Finding::ok("target.up", "answers").target("s1")]);
        let piece = |t: Option<&str>, keep, report| Piece {
            target: t.map(str::to_string),
            keep,
            report,
        };
        let r = merge(
            "check morning",
            vec![
                piece(Some("pg-a"), Some(Part::Postgres), pg_a),
                piece(Some("pg-b"), Some(Part::Postgres), pg_b),
                piece(Some("cache"), Some(Part::Redis), cache),
                piece(Some("s1"), None, sentinel),
                piece(None, Some(Part::Host), host),
            ],
            &c,
        );
        let labels: Vec<String> = r.findings.iter().map(|f| f.label()).collect();
        assert_eq!(
            labels,
            [
                "postgres.up[pg-a]",
                "postgres.database_size[pg-a:app]",
                "postgres.up[pg-b]",
                "postgres.connections[pg-b]",
                "redis.memory[cache]",
                "target.up[s1]",
                "host.disk_usage[/]",
            ]
        );
        assert_eq!(r.status, Status::Critical);
        let critical: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.status == Status::Critical)
            .collect();
        assert_eq!(critical.len(), 1);
        assert_eq!(critical[0].target.as_deref(), Some("pg-b"));
        assert_eq!(r.findings.last().unwrap().target, None);
    }

    #[test]
    fn sections_and_data_name_their_target() {
        let mut a = Report::new("replica status");
        a.sections.push(Section {
            title: "standbys".into(),
            ..Section::default()
        });
        a.data = Some(serde_json::json!({"role": "primary"}));
        let mut h = Report::new("replica status");
        h.data = Some(serde_json::json!({"n": 1}));
        let r = merge(
            "replica status",
            vec![
                Piece {
                    target: Some("pg-a".into()),
                    keep: Some(Part::Postgres),
                    report: a,
                },
                Piece {
                    target: None,
                    keep: Some(Part::Host),
                    report: h,
                },
            ],
            &Config::default(),
        );
        assert_eq!(r.sections[0].title, "pg-a: standbys");
        let d = r.data.unwrap();
        assert_eq!(d["targets"]["pg-a"]["role"], "primary");
        assert_eq!(d["host"]["n"], 1);
        assert_eq!(r.status, Status::Ok);
    }

    #[test]
    fn the_json_carries_the_target_only_when_there_is_one() {
        let f = Finding::ok("postgres.up", "up");
        let v = serde_json::to_value(&f).unwrap();
        assert!(v.get("target").is_none(), "{v}");
        let v = serde_json::to_value(f.target("pg-a")).unwrap();
        assert_eq!(v["target"], "pg-a");
    }
}
