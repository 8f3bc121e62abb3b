//! Durations in the config and on flags: `Span`, written `30s`, `10m`, `24h`, `7d`, `250ms`
//! or a bare number of seconds, and shown back the same way.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as `30s`, `10m`, `24h`, `7d`, `250ms` or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl Span {
    pub const fn secs(s: u64) -> Span {
        Span(Duration::from_secs(s))
    }

    pub fn parse(text: &str) -> Result<Span, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("expected a duration like 30s, 10m, 24h or 7d, got `{text}`"))?;
        let secs = match unit.trim() {
            "" | "s" | "sec" | "secs" => n,
            "ms" => n / 1000.0,
            "m" | "min" | "mins" => n * 60.0,
            "h" | "hour" | "hours" => n * 3600.0,
            "d" | "day" | "days" => n * 86400.0,
            other => {
                return Err(format!(
                    "unknown duration unit `{other}` in `{text}` (use ms, s, m, h or d)"
                ))
            }
        };
        Span::from_secs_checked(secs, text)
    }

    /// The longest duration opsbook accepts anywhere, in the config or a flag: ten years
    /// (longer ones overflowed the clock arithmetic and panicked).
    pub const MAX: Span = Span::secs(3650 * 86400);

    /// `secs` as a Span, or the sentence saying why not (`text` is what the operator wrote).
    fn from_secs_checked(secs: f64, text: &str) -> Result<Span, String> {
        if secs.is_nan() || secs < 0.0 {
            return Err(format!("duration `{text}` must be zero or more"));
        }
        if secs > Span::MAX.as_secs_f64() {
            return Err(format!(
                "duration `{text}` is out of range: the accepted range is 0s to {} (ten years)",
                Span::MAX
            ));
        }
        Ok(Span(Duration::from_secs_f64(secs)))
    }

    pub fn as_secs_f64(&self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0.as_secs();
        let ms = self.0.subsec_millis();
        if ms != 0 {
            write!(f, "{}ms", self.0.as_millis())
        } else if s != 0 && s.is_multiple_of(86400) {
            write!(f, "{}d", s / 86400)
        } else if s != 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => {
                Span::from_secs_checked(n, &n.to_string()).map_err(serde::de::Error::custom)
            }
            Raw::Text(t) => Span::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn durations() {
        assert_eq!(Span::parse("24h").unwrap().0.as_secs(), 86400);
        assert_eq!(Span::parse("250ms").unwrap().0.as_millis(), 250);
        assert_eq!(Span::parse("90").unwrap().0.as_secs(), 90);
        assert!(Span::parse("5 fortnights").is_err());
        assert_eq!(Span::secs(86400).to_string(), "1d");
        assert_eq!(Span::secs(90).to_string(), "90s");
        let c = parse("thresholds:\n  backup_age:\n    critical: 36h\n", "f").unwrap();
        assert_eq!(
            c.thresholds.backup_age.critical,
            Some(Span::secs(36 * 3600))
        );
    }
}
