//! Names that become paths. A database name is the server's data, not the operator's: it may
//! hold `/`, `..`, a newline or bytes of another encoding, so each one maps to one directory name
//! that stays inside the backup directory. A manifest's `archive` field is untrusted too: only a
//! plain file name is ever joined to a directory.

/// The directory `pg_dumpall --globals-only` files go to; no database maps to it.
pub const GLOBALS_DIR: &str = "_globals";
/// The directory Redis snapshots go to (`backup --rdb`); their ids are `_redis/<stamp>`. No
/// database maps to it: a database named `_redis` is encoded like one named `_globals`.
pub const REDIS_DIR: &str = "_redis";

fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// The directory name of a database's backups: percent-encoding of every byte outside
/// `[A-Za-z0-9._-]`, of a leading dot, and of the `_` of a database literally named `_globals`.
/// Ordinary names map to themselves, so existing backup directories keep their name; the map
/// is injective (`%` itself is encoded), so two databases never share a directory.
pub fn db_dir_name(db: &str) -> String {
    let mut out = String::with_capacity(db.len());
    for (i, &b) in db.as_bytes().iter().enumerate() {
        let leading_special =
            i == 0 && (b == b'.' || (b == b'_' && (db == GLOBALS_DIR || db == REDIS_DIR)));
        if is_plain(b) && !leading_special {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `<backup dir>/<db dir name>`: where one database's backups live.
pub fn db_dir(backup_dir: &std::path::Path, db: &str) -> std::path::PathBuf {
    backup_dir.join(db_dir_name(db))
}

/// The database a directory name stands for, when it is one [`db_dir_name`] can produce.
pub fn db_name_of_dir(dir: &str) -> Option<String> {
    let bytes = dir.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = dir.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (db_dir_name(&name) == dir).then_some(name)
}

/// Why `name` (a manifest's `archive`) is not a plain file name in its own directory, or None.
pub fn unplain_file_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("it names a directory (`.` or `..`)")
    } else if name.contains('/') {
        Some("it holds a `/` (a path, not a file name in the backup's directory)")
    } else if name.contains('\0') {
        Some("it holds a NUL byte")
    } else if name.chars().any(char::is_control) {
        Some("it holds a control character")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_map_to_themselves() {
        for n in [
            "app",
            "telegram_invite_bot",
            "App-2.0",
            "t_x_123",
            "_private",
        ] {
            assert_eq!(db_dir_name(n), n);
            assert_eq!(db_name_of_dir(n).as_deref(), Some(n));
        }
    }

    #[test]
    fn hostile_names_stay_one_plain_component_and_round_trip() {
        let long = "é".repeat(31);
        for n in [
            "../escape",
            "..",
            ".",
            ".hidden",
            "a/b",
            "a\nb",
            "it's",
            "100%",
            "%41",
            "_globals",
            "_redis",
            "sp ace",
            "\u{1}\u{7f}ÿ",
            long.as_str(),
        ] {
            let d = db_dir_name(n);
            assert!(
                !d.contains('/') && !d.starts_with('.') && d != GLOBALS_DIR && d != REDIS_DIR,
                "{n:?} -> {d}"
            );
            assert!(d.bytes().all(|b| is_plain(b) || b == b'%'), "{d}");
            assert!(d.len() <= 255, "{}", d.len());
            assert_eq!(db_name_of_dir(&d).as_deref(), Some(n), "{d}");
        }
        assert_eq!(db_dir_name("../escape"), "%2E.%2Fescape");
        assert_eq!(db_dir_name("100%"), "100%25");
        // Distinct names, distinct directories.
        assert_ne!(db_dir_name("%41"), db_dir_name("A"));
    }

    #[test]
    fn directories_no_name_maps_to_are_not_databases() {
        for d in [
            GLOBALS_DIR,
            REDIS_DIR,
            ".hidden",
            "%2",
            "%zz",
            "%41",
            "a%2fb",
            "%FF",
        ] {
            assert_eq!(db_name_of_dir(d), None, "{d}");
        }
    }

    #[test]
    fn only_plain_file_names_pass() {
        assert_eq!(unplain_file_name("20261123T010000Z.dump.zst"), None);
        for bad in [
            "",
            ".",
            "..",
            "../../victim.txt",
            "/etc/passwd",
            "a/b",
            "x\ny",
        ] {
            assert!(unplain_file_name(bad).is_some(), "{bad:?}");
        }
    }
}
