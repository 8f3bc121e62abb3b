//! The password file, ~/.pgpass or PGPASSFILE, as libpq reads it: the permission rule (no
//! group or world access), the `host:port:database:user:password` lines with `*` wildcards and
//! `\\` escapes, and writing such lines. The one pgpass parser in opsbook.

use std::path::Path;

/// A secret file may not be readable by anybody else (libpq's rule for ~/.pgpass).
fn group_or_world_accessible(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 != 0
}

/// The pgpass file's text: Ok(None) when it does not exist, Err(warning) when libpq would
/// ignore it (not a plain file, readable by group or others, unreadable). The warning is
/// libpq's sentence, ready to show.
pub fn read(path: &Path) -> Result<Option<String>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "WARNING: password file \"{}\" cannot be read: {e}",
                path.display()
            ))
        }
    };
    if !meta.is_file() {
        return Err(format!(
            "WARNING: password file \"{}\" is not a plain file",
            path.display()
        ));
    }
    if group_or_world_accessible(&meta) {
        return Err(format!(
            "WARNING: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map(Some).map_err(|e| {
        format!(
            "WARNING: password file \"{}\" cannot be read: {e}",
            path.display()
        )
    })
}

/// One pgpass field: `*` alone is a wildcard, `\` escapes the next character (so `\*` is a
/// literal star and `\:` a literal colon). Returns the field and the rest after its ':'.
fn field(s: &str) -> Option<(Option<String>, &str)> {
    if let Some(rest) = s.strip_prefix("*:") {
        return Some((None, rest));
    }
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => return None,
            },
            ':' => return Some((Some(out), &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// The password of the first line of `text` matching host, port, database and user (each
/// field equal or `*`); None when no line matches or the matching line's password is empty.
/// Comment lines start with `#`; a line with fewer than five fields never matches.
pub fn find(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    'lines: for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        for wanted in [host, port.as_str(), db, user] {
            match field(rest) {
                Some((field, tail)) => {
                    if field.as_deref().is_some_and(|f| f != wanted) {
                        continue 'lines;
                    }
                    rest = tail;
                }
                None => continue 'lines,
            }
        }
        // The password runs to the next unescaped ':' (libpq ignores anything after it).
        let mut password = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => password.push(escaped),
                    None => break,
                },
                ':' => break,
                c => password.push(c),
            }
        }
        return (!password.is_empty()).then_some(password);
    }
    None
}

/// [`read`] then [`find`]: Ok(None) when the file does not exist or has no matching entry.
pub fn lookup(
    path: &Path,
    host: &str,
    port: u16,
    db: &str,
    user: &str,
) -> Result<Option<String>, String> {
    Ok(read(path)?.and_then(|text| find(&text, host, port, db, user)))
}

/// A literal value as one pgpass field: `\` and `:` escaped. (`*` is left alone, so a field
/// given as `*` stays the wildcard.)
pub fn escape_field(s: &str) -> String {
    s.replace('\\', "\\\\").replace(':', "\\:")
}

/// One pgpass line, newline included, with every field escaped by [`escape_field`]; give `*`
/// for "any" in host, database or user.
pub fn line(host: &str, port: u16, db: &str, user: &str, password: &str) -> String {
    format!(
        "{}:{port}:{}:{}:{}\n",
        escape_field(host),
        escape_field(db),
        escape_field(user),
        escape_field(password)
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::TempDir;
    use super::*;

    #[test]
    fn pgpass_matching() {
        let content = "\
# comment:with:colons:and:pw
db.example.com:5432:app:alice:alice-pw
db.example.com:5432:app:alice:second-match-never-used
*:*:*:bob:pw-\\:colon\\\\back:ignored-after-colon
fe80\\:\\:1:5432:*:*:v6pw
\\*:5432:*:carol:literal-star
too:1:fields:only
db.example.com:6000:*:*:port-6000
*:*:reports:*:reports-pw
";
        let l = |h: &str, p: &str, d: &str, u: &str| find(content, h, p.parse().unwrap(), d, u);
        assert_eq!(
            l("db.example.com", "5432", "app", "alice").as_deref(),
            Some("alice-pw")
        );
        assert_eq!(
            l("other", "1", "x", "bob").as_deref(),
            Some("pw-:colon\\back")
        );
        assert_eq!(l("fe80::1", "5432", "x", "dave").as_deref(), Some("v6pw"));
        assert_eq!(
            l("*", "5432", "x", "carol").as_deref(),
            Some("literal-star")
        );
        assert_eq!(
            l("elsewhere", "5432", "x", "carol"),
            None,
            "\\* is not a wildcard"
        );
        assert_eq!(
            l("db.example.com", "6000", "any", "anyone").as_deref(),
            Some("port-6000")
        );
        assert_eq!(l("db.example.com", "5433", "app", "alice"), None);
        assert_eq!(l("db.example.com", "5432", "app", "mallory"), None);
        assert_eq!(l("h", "1", "reports", "zed").as_deref(), Some("reports-pw"));
        assert_eq!(l("too", "1", "fields", "only"), None);
        assert_eq!(find("h:1:d:u:\n", "h", 1, "d", "u"), None, "empty password");
    }

    #[test]
    fn written_lines_read_back() {
        let text = line("127.0.0.1", 6000, "*", "postgres", r"a:b\c*");
        assert_eq!(text, "127.0.0.1:6000:*:postgres:a\\:b\\\\c*\n");
        assert_eq!(
            find(&text, "127.0.0.1", 6000, "anydb", "postgres").as_deref(),
            Some(r"a:b\c*")
        );
        assert_eq!(find(&text, "127.0.0.1", 6001, "anydb", "postgres"), None);
        let odd = line("fe80::1", 5432, "d:b", "u\\ser", "pw");
        assert_eq!(
            find(&odd, "fe80::1", 5432, "d:b", "u\\ser").as_deref(),
            Some("pw")
        );
        assert_eq!(escape_field(r"x:y\z"), r"x\:y\\z");
    }

    #[test]
    fn files_are_read_only_when_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("pgpass-mod");
        assert_eq!(lookup(&dir.0.join("missing"), "h", 1, "d", "u"), Ok(None));
        let path = dir.file("pgpass", &line("h", 1, "*", "u", "pw"), 0o600);
        assert_eq!(lookup(&path, "h", 1, "d", "u"), Ok(Some("pw".to_string())));
        assert_eq!(lookup(&path, "h", 2, "d", "u"), Ok(None));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
        let warning = lookup(&path, "h", 1, "d", "u").unwrap_err();
        assert!(warning.contains("has group or world access"), "{warning}");
        let warning = read(&dir.0).unwrap_err();
        assert!(warning.contains("is not a plain file"), "{warning}");
    }
}
