//! The rollback file: the previous values as `ALTER SYSTEM SET <name> = '<value>';` (for
//! settings postgresql.auto.conf held) or `ALTER SYSTEM RESET <name>;` (for the others), one a
//! line. Read back, it is untrusted input: only those two shapes, only the settings the plan
//! may touch, only plain values; anything else refuses the whole file.

use std::path::Path;

use anyhow::bail;

use super::settings::{Setting, TUNABLE};

/// A rollback file is a few hundred bytes; anything near this is not one of ours.
pub const MAX_BYTES: u64 = 64 * 1024;

const HEADER: &str = "-- opsbook diagnose config: rollback file";

/// One statement of a plan or a rollback file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    Set { name: String, value: String },
    Reset { name: String },
}

impl Statement {
    pub fn name(&self) -> &str {
        match self {
            Statement::Set { name, .. } | Statement::Reset { name } => name,
        }
    }

    /// The SQL (names come from [`TUNABLE`], values are checked by [`plain_value`]).
    pub fn sql(&self) -> String {
        match self {
            Statement::Set { name, value } => {
                format!(
                    "ALTER SYSTEM SET {name} = {};",
                    crate::sql::quote_literal(value)
                )
            }
            Statement::Reset { name } => format!("ALTER SYSTEM RESET {name};"),
        }
    }
}

/// What undoes a change of `current`: its value again when ALTER SYSTEM had set it, a RESET
/// otherwise (the value then comes back from postgresql.conf or the default, source and all).
pub fn undo(current: &Setting) -> Statement {
    if current.in_auto_conf() {
        Statement::Set {
            name: current.name.clone(),
            value: current.setting.clone(),
        }
    } else {
        Statement::Reset {
            name: current.name.clone(),
        }
    }
}

/// The file's text: a header saying what it is and when, then one statement a line.
pub fn render(server: &str, when: &str, statements: &[Statement]) -> String {
    let mut out = format!(
        "{HEADER} for {server}, written {when}\n-- undo with: opsbook diagnose config --rollback THIS_FILE\n"
    );
    for s in statements {
        out.push_str(&s.sql());
        out.push('\n');
    }
    out
}

/// A value as the tool writes them: digits, letters, `.`, `-` (16384, 1.1, 4GB, -1).
fn plain_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 32
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

fn known(name: &str) -> bool {
    TUNABLE.contains(&name)
}

/// Parse a rollback file's text strictly: `--` comment lines and blank lines, then only
/// `ALTER SYSTEM SET <tunable> = '<plain value>';` and `ALTER SYSTEM RESET <tunable>;`.
pub fn parse(text: &str) -> anyhow::Result<Vec<Statement>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || (line.starts_with("--") && !line.contains(';')) {
            continue;
        }
        let refuse = |why: &str| -> anyhow::Result<Vec<Statement>> {
            bail!(
                "line {}: {why}: `{}`",
                n + 1,
                crate::sql::one_line_text(line, 80)
            )
        };
        let Some(body) = line.strip_suffix(';') else {
            return refuse("not a statement this tool writes (no `;` at the end)");
        };
        let words: Vec<&str> = body.split(' ').collect();
        match words.as_slice() {
            ["ALTER", "SYSTEM", "RESET", name] => {
                if !known(name) {
                    return refuse("not a setting diagnose config changes");
                }
                out.push(Statement::Reset {
                    name: name.to_string(),
                });
            }
            ["ALTER", "SYSTEM", "SET", name, "=", quoted] => {
                if !known(name) {
                    return refuse("not a setting diagnose config changes");
                }
                let Some(value) = quoted
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .filter(|v| plain_value(v))
                else {
                    return refuse("the value is not a plain number or size in single quotes");
                };
                out.push(Statement::Set {
                    name: name.to_string(),
                    value: value.to_string(),
                });
            }
            _ => return refuse(
                "not `ALTER SYSTEM SET <setting> = '<value>';` or `ALTER SYSTEM RESET <setting>;`",
            ),
        }
    }
    if out.is_empty() {
        bail!("no ALTER SYSTEM statement in it");
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = out.iter().find(|s| !seen.insert(s.name().to_string())) {
        bail!("{} appears twice", dup.name());
    }
    Ok(out)
}

/// Read and parse `path` within [`MAX_BYTES`].
pub fn read(path: &Path) -> anyhow::Result<Vec<Statement>> {
    let text = crate::bounded_read::read_text(path, "rollback file", MAX_BYTES)?;
    parse(&text).map_err(|e| {
        anyhow::anyhow!(
            "refusing the rollback file {}: {e}; nothing was changed\nhint: pass a file `opsbook diagnose config --apply` wrote, unedited",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_we_write_we_read_back() {
        let st = vec![
            Statement::Set {
                name: "work_mem".into(),
                value: "4096".into(),
            },
            Statement::Reset {
                name: "shared_buffers".into(),
            },
            Statement::Set {
                name: "random_page_cost".into(),
                value: "1.1".into(),
            },
        ];
        let text = render("127.0.0.1:5432", "2026-12-05T00:00:00Z", &st);
        assert_eq!(parse(&text).unwrap(), st);
    }

    #[test]
    fn anything_else_is_refused() {
        for hostile in [
            "DROP DATABASE app;",
            "ALTER SYSTEM SET shared_preload_libraries = 'evil';",
            "ALTER SYSTEM SET work_mem = '4MB'; DROP TABLE x;",
            "ALTER SYSTEM SET work_mem = '4MB''; SELECT 1';",
            "ALTER SYSTEM SET work_mem = $$4MB$$;",
            "alter system reset work_mem;",
            "ALTER SYSTEM SET work_mem = '4MB'",
            "ALTER SYSTEM SET archive_command = 'rm';",
            "ALTER SYSTEM RESET ALL;",
            "-- comment; DROP DATABASE app;",
            "ALTER SYSTEM  SET work_mem = '4MB';",
            "ALTER SYSTEM SET work_mem = '4MB';\nALTER SYSTEM RESET work_mem;",
            "",
        ] {
            assert!(parse(hostile).is_err(), "accepted: {hostile}");
        }
    }
}
