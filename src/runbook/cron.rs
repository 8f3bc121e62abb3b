//! Cron schedules (`m h dom mon dow`, with `@daily` and friends): parsed and checked, and
//! rendered as a systemd `OnCalendar=` expression for the timer of `runbook schedule`.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Any,
    Values(Vec<u32>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// What the runbook said (macros expanded), for the crontab line.
    pub expr: String,
    fields: [Field; 5],
}

const NAMES: [(&str, u32, u32, &[&str]); 5] = [
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    ),
    (
        "day of week",
        0,
        7,
        &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    ),
];

fn number(s: &str, idx: usize) -> Result<u32, String> {
    let (what, lo, hi, names) = NAMES[idx];
    let lower = s.to_ascii_lowercase();
    if let Some(pos) = names.iter().position(|n| *n == lower) {
        // Months count from 1 (jan), days of week from 0 (sun).
        return Ok(pos as u32 + u32::from(idx == 3));
    }
    let v: u32 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a {what} (expected {lo}-{hi})"))?;
    if v < lo || v > hi {
        return Err(format!("{what} {v} is outside {lo}-{hi}"));
    }
    Ok(v)
}

fn field(text: &str, idx: usize) -> Result<Field, String> {
    let (_, lo, hi, _) = NAMES[idx];
    if text == "*" {
        return Ok(Field::Any);
    }
    let mut values = Vec::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("`{part}`: the step after / must be a positive number")
                })?;
                (r, step)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (number(a, idx)?, number(b, idx)?)
        } else {
            let a = number(range, idx)?;
            // `5/15` means from 5 to the end in steps of 15.
            (a, if part.contains('/') { hi } else { a })
        };
        if a > b {
            return Err(format!("`{part}`: the range runs backwards"));
        }
        values.extend((a..=b).step_by(step as usize));
    }
    if idx == 4 {
        for v in values.iter_mut() {
            if *v == 7 {
                *v = 0;
            }
        }
    }
    values.sort_unstable();
    values.dedup();
    let all = (lo..=hi).count() - usize::from(idx == 4);
    if values.len() == all {
        return Ok(Field::Any);
    }
    Ok(Field::Values(values))
}

impl Schedule {
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let expanded = match expr.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@reboot" => {
                return Err("@reboot is not a schedule a timer can express; use a systemd unit with WantedBy=multi-user.target".into())
            }
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "`{expr}` has {} fields; a cron schedule has 5: minute hour day-of-month month day-of-week (e.g. `0 8 * * *`)",
                parts.len()
            ));
        }
        let mut fields = [Field::Any, Field::Any, Field::Any, Field::Any, Field::Any];
        for (i, p) in parts.iter().enumerate() {
            fields[i] = field(p, i).map_err(|e| format!("`{expr}`: {e}"))?;
        }
        Ok(Schedule {
            expr: parts.join(" "),
            fields,
        })
    }

    /// systemd's `OnCalendar=` for the same times.
    pub fn on_calendar(&self) -> Result<String, String> {
        let [min, hour, dom, mon, dow] = &self.fields;
        if *dom != Field::Any && *dow != Field::Any {
            return Err(format!(
                "`{}` restricts both the day of month and the day of week: cron runs when either matches, a systemd timer only when both do\nhint: split it into two runbooks (or timers), one per day rule",
                self.expr
            ));
        }
        let list = |f: &Field, width: usize| match f {
            Field::Any => "*".to_string(),
            Field::Values(v) => v
                .iter()
                .map(|n| format!("{n:0width$}"))
                .collect::<Vec<_>>()
                .join(","),
        };
        let mut out = String::new();
        if let Field::Values(days) = dow {
            const DAY: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
            let names: Vec<&str> = days.iter().map(|d| DAY[*d as usize % 7]).collect();
            let _ = write!(out, "{} ", names.join(","));
        }
        let _ = write!(
            out,
            "*-{}-{} {}:{}:00",
            list(mon, 2),
            list(dom, 2),
            list(hour, 2),
            list(min, 2)
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_schedules() {
        let s = Schedule::parse("0 8 * * *").unwrap();
        assert_eq!(s.on_calendar().unwrap(), "*-*-* 08:00:00");
        let s = Schedule::parse("*/15 * * * *").unwrap();
        assert_eq!(s.on_calendar().unwrap(), "*-*-* *:00,15,30,45:00");
        let s = Schedule::parse("30 3 * * sun").unwrap();
        assert_eq!(s.on_calendar().unwrap(), "Sun *-*-* 03:30:00");
        let s = Schedule::parse("0 2 * * 1-5").unwrap();
        assert_eq!(
            s.on_calendar().unwrap(),
            "Mon,Tue,Wed,Thu,Fri *-*-* 02:00:00"
        );
        let s = Schedule::parse("0 0 1 jan *").unwrap();
        assert_eq!(s.on_calendar().unwrap(), "*-01-01 00:00:00");
        let s = Schedule::parse("@daily").unwrap();
        assert_eq!(s.expr, "0 0 * * *");
        assert_eq!(
            Schedule::parse("0 0 * * 7").unwrap().on_calendar().unwrap(),
            "Sun *-*-* 00:00:00"
        );
    }

    #[test]
    fn bad_schedules_say_why() {
        assert!(Schedule::parse("0 8 * *").unwrap_err().contains("5"));
        assert!(Schedule::parse("61 * * * *")
            .unwrap_err()
            .contains("outside"));
        assert!(Schedule::parse("* * * * funday")
            .unwrap_err()
            .contains("day of week"));
        assert!(Schedule::parse("*/0 * * * *").unwrap_err().contains("step"));
        assert!(Schedule::parse("5-1 * * * *")
            .unwrap_err()
            .contains("backwards"));
        let both = Schedule::parse("0 0 1 * 1").unwrap();
        assert!(both.on_calendar().unwrap_err().contains("either"));
    }
}
