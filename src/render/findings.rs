//! The findings of a report as a person reads them: one line per finding (status, check,
//! value, summary cut to the width), grouped under a heading per component when a report
//! spans several, the hint of a finding that is not OK indented under it, and with `-v` the
//! full summary, hint and detail lines.
//!
//! The finding lines are a table laid out by comfy-table ([`table::lines`]); the component
//! headings and the hint/detail lines under a finding are not table rows (they are indented
//! under the CHECK column and cut at a word or wrapped, never aligned), so this module writes
//! them itself between the table's lines. A finding whose `id[subject]` is longer than the
//! CHECK column is a one-row table of its own, so only its line shifts.

use comfy_table::Color;

use crate::report::{Finding, Fit, Status};

use super::table::{self, Ink, GAP};
use super::width::{cells, cut_at_word, one_line, wrap};
use super::{human_value, Style};

/// The component a finding belongs to, from the prefix of its id (commands/mod.md lists it).
pub fn component(id: &str) -> String {
    let prefix = id.split('.').next().unwrap_or(id);
    let named = match prefix {
        "postgres" | "locks" | "queries" | "maintain" => "PostgreSQL",
        "redis" | "rq" => "Redis",
        "host" | "memory" | "network" | "cleanup" => "Host",
        "backup" | "restore" => "Backup",
        "service" | "journal" => "Services",
        "replica" | "replica_setup" => "Replication",
        "health" | "http" => "HTTP",
        "metric" => "Metrics",
        "notify" => "Notifications",
        other => {
            let mut c = other.chars();
            return match c.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(c)
                    .collect::<String>()
                    .replace('_', " "),
                None => String::new(),
            };
        }
    };
    named.to_string()
}

/// The colour of a status word on a terminal (the standard ANSI colours, bold).
fn status_ink(status: Status) -> Ink {
    let fg = match status {
        Status::Ok => Color::DarkGreen,
        Status::Warning => Color::DarkYellow,
        Status::Critical => Color::DarkRed,
        Status::Unknown => Color::DarkMagenta,
    };
    Ink {
        fg: Some(fg),
        bold: true,
    }
}

/// The lines of `shown` (already filtered by -q), laid out for `style.width`.
pub fn lines(shown: &[&Finding], style: Style) -> Vec<String> {
    if shown.is_empty() {
        return Vec::new();
    }
    // Groups in the order their first finding came, findings in report order inside each.
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    for f in shown {
        let c = component(&f.id);
        match groups.iter_mut().find(|(name, _)| *name == c) {
            Some((_, v)) => v.push(f),
            None => groups.push((c, vec![f])),
        }
    }
    let headed = groups.len() > 1;
    let indent = if headed { "  " } else { "" };
    let rows: Vec<Vec<String>> = shown.iter().map(|f| row_of(f)).collect();
    let fits = [Fit::Whole, Fit::Whole, Fit::Text, Fit::Text];
    let room = if style.wide {
        None
    } else {
        style.width.map(|w| w.saturating_sub(indent.len()))
    };
    // One long `id[subject]` (a database with a long name) must not push every summary off
    // the screen: the CHECK column is as wide as the labels that fit in half the room;
    // a longer label shifts only its own line, whose text gives way for it.
    let check_w = check_column_width(&rows, room);
    let measured: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if cells(&r[1]) > check_w {
                r[1] = "x".repeat(check_w);
            }
            r
        })
        .collect();
    let layout = table::layout(None, &measured, &fits, room);
    let status_w = layout.widths[0].unwrap_or(0);
    // Sub-lines sit under the CHECK column.
    let sub_indent = format!("{indent}{}", " ".repeat(status_w + GAP));
    let sub_room = style.width.map(|w| w.saturating_sub(cells(&sub_indent)));
    // The findings in the order they are printed, each with its own layout when its label
    // is longer than the CHECK column (`None`: the common one).
    let ordered: Vec<&Finding> = groups.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let rows: Vec<Vec<String>> = ordered.iter().map(|f| row_of(f)).collect();
    let owns: Vec<Option<table::Layout>> = rows
        .iter()
        .map(|row| {
            let over = cells(&row[1]).saturating_sub(check_w);
            (over > 0 && room.is_some()).then(|| table::squeeze(&layout, &fits, over))
        })
        .collect();
    let ink = |r: usize, col: usize| {
        if col == 0 {
            status_ink(ordered[r].status)
        } else {
            Ink::default()
        }
    };
    // The lines on the common layout are one comfy-table table; a line whose label shifts it
    // is a table of its own, so no other line moves.
    let common: Vec<usize> = (0..rows.len()).filter(|&r| owns[r].is_none()).collect();
    let common_rows: Vec<&[String]> = common.iter().map(|&r| rows[r].as_slice()).collect();
    let mut main_lines = vec![String::new(); rows.len()];
    let drawn = table::lines(&layout, &common_rows, &fits, style.color, &|k, col| {
        ink(common[k], col)
    });
    for (&r, line) in common.iter().zip(drawn) {
        main_lines[r] = line;
    }
    for (r, own) in owns.iter().enumerate() {
        if let Some(own) = own {
            let drawn = table::lines(own, &[rows[r].as_slice()], &fits, style.color, &|_, col| {
                ink(r, col)
            });
            main_lines[r] = drawn.into_iter().next().unwrap_or_default();
        }
    }
    let mut out = Vec::new();
    let mut r = 0;
    for (name, findings) in &groups {
        if headed {
            out.push(name.clone());
        }
        for f in findings {
            let own = owns[r].as_ref().unwrap_or(&layout);
            out.push(format!("{indent}{}", main_lines[r]));
            out.extend(
                sub_lines(f, own, style, sub_room)
                    .into_iter()
                    .map(|l| format!("{sub_indent}{l}")),
            );
            r += 1;
        }
    }
    out
}

/// A finding's cells: status, `id[subject]` (on one line: a control character in a subject is
/// shown escaped), value, summary.
fn row_of(f: &Finding) -> Vec<String> {
    vec![
        f.status.label().to_string(),
        one_line(&f.label()),
        human_value(f),
        f.summary.clone(),
    ]
}

/// The width of the CHECK column: the longest label within half the room (every label when
/// there is no limit, the shortest when none is that short).
fn check_column_width(rows: &[Vec<String>], room: Option<usize>) -> usize {
    let widths = rows.iter().map(|r| cells(&r[1]));
    let Some(room) = room else {
        return widths.max().unwrap_or(0);
    };
    let cap = room / 2;
    widths
        .clone()
        .filter(|w| *w <= cap)
        .max()
        .or_else(|| widths.min())
        .unwrap_or(0)
}

/// What goes under a finding: without -v the hint and detail lines of a finding that is not
/// OK, each cut to one line; with -v also those of an OK finding, and the full summary when
/// the line cut it, each wrapped at spaces to the width.
fn sub_lines(
    f: &Finding,
    layout: &table::Layout,
    style: Style,
    room: Option<usize>,
) -> Vec<String> {
    if f.status == Status::Ok && !style.verbose {
        return Vec::new();
    }
    let room = if style.wide && !style.verbose {
        None
    } else {
        room
    };
    let mut texts = Vec::new();
    if style.verbose {
        let summary_w = layout.widths[3];
        let summary = one_line(&f.summary);
        if summary_w.is_none_or(|w| cells(&summary) > w) {
            texts.push(summary);
        }
    }
    if let Some(h) = &f.hint {
        texts.push(format!("hint: {}", one_line(h)));
    }
    texts.extend(f.detail.iter().map(|d| one_line(d)));
    let mut out = Vec::new();
    for text in texts {
        if style.verbose {
            out.extend(wrap(&text, room));
        } else {
            out.push(match room {
                Some(r) => cut_at_word(&text, r),
                None => text,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_come_from_the_id_prefix() {
        assert_eq!(component("postgres.connections"), "PostgreSQL");
        assert_eq!(component("locks.blocked"), "PostgreSQL");
        assert_eq!(component("rq.failed"), "Redis");
        assert_eq!(component("service.active"), "Services");
        assert_eq!(component("backup.latest_age"), "Backup");
        assert_eq!(component("replica_setup.wal_level"), "Replication");
        assert_eq!(component("sandbox.up"), "Sandbox");
    }
}
