//! Reads of input opsbook does not control, each with a size bound checked before and while
//! reading: a config or runbook that is really a 50 MB dump, a password file that is a FIFO or
//! `/dev/zero`, a health URL that streams forever. Without a bound any of these grows the
//! process until the kernel kills it; with one, the operator gets a sentence naming the file
//! and the limit.

use std::io::Read as _;
use std::path::Path;

/// Configs and runbooks: the largest shipped example is a few KiB; a file over 1 MiB is not a
/// config (the YAML parser's own node budget would refuse it later, in its own words).
pub const YAML_FILE_LIMIT: u64 = 1024 * 1024;

/// Password and token files: a secret is one short line.
pub const SECRET_FILE_LIMIT: u64 = 64 * 1024;

/// State files opsbook writes itself (history.json, alerts.json): a year of history is a few
/// hundred KiB, so 64 MiB means a file that is not ours (or is corrupt).
pub const STATE_FILE_LIMIT: u64 = 64 * 1024 * 1024;

/// Every HTTP body opsbook reads (health URLs, notifier answers): enough for any health
/// document or API error, and a bound for an endless one.
pub const HTTP_BODY_LIMIT: usize = 64 * 1024;

/// `64 KiB`, `1 MiB`: a limit as an operator reads it.
pub fn limit_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The bytes of `path`, refusing more than `limit` (`what` names the file in errors: "config
/// file"). The size is checked before reading (a regular file) and while reading (a FIFO,
/// a device or a file that grows), so at most `limit + 1` bytes are ever held.
pub fn read_bytes(path: &Path, what: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
    let over = |size: String| {
        anyhow::anyhow!(
            "{what} {} is {size}, over the limit of {}\nhint: is this the right file?",
            path.display(),
            limit_text(limit)
        )
    };
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("reading {what} {}: {e}", path.display()))?;
    if let Ok(meta) = file.metadata() {
        if meta.is_file() && meta.len() > limit {
            return Err(over(format!("{} bytes", meta.len())));
        }
    }
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| anyhow::anyhow!("reading {what} {}: {e}", path.display()))?;
    if buf.len() as u64 > limit {
        return Err(over("larger than that".to_string()));
    }
    Ok(buf)
}

/// [`read_bytes`] as UTF-8 text; invalid UTF-8 is named by its byte offset, line and column.
pub fn read_text(path: &Path, what: &str, limit: u64) -> anyhow::Result<String> {
    let bytes = read_bytes(path, what, limit)?;
    utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{what} {}:{}:{}: {e}\nhint: save the file as UTF-8 text (e.g. `iconv -f latin1 -t utf-8`)",
            path.display(),
            e.line,
            e.column
        )
    })
}

/// Where a byte sequence stops being UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    /// 0-based offset of the first invalid byte
    pub offset: usize,
    /// 1-based line and column (in characters) of that byte
    pub line: usize,
    pub column: usize,
    pub byte: u8,
}

impl std::fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not UTF-8 text: byte 0x{:02x} at offset {} (line {}, column {})",
            self.byte, self.offset, self.line, self.column
        )
    }
}

/// `bytes` as a String, or the position of the first byte that is not UTF-8.
pub fn utf8(bytes: Vec<u8>) -> Result<String, NotUtf8> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        // Everything before `offset` is valid, so lines and columns count characters there.
        let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let column = valid.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        NotUtf8 {
            offset,
            line,
            column,
            byte: bytes[offset],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_invalid_byte() {
        let e = utf8(b"a: 1\nb: \xc3\xa9\xff\n".to_vec()).unwrap_err();
        assert_eq!((e.offset, e.line, e.column, e.byte), (10, 2, 5, 0xff));
        assert_eq!(utf8(b"ok\n".to_vec()).unwrap(), "ok\n");
        assert_eq!(
            e.to_string(),
            "not UTF-8 text: byte 0xff at offset 10 (line 2, column 5)"
        );
    }

    #[test]
    fn limits_read_as_an_operator_writes_them() {
        assert_eq!(limit_text(HTTP_BODY_LIMIT as u64), "64 KiB");
        assert_eq!(limit_text(YAML_FILE_LIMIT), "1 MiB");
        assert_eq!(limit_text(1000), "1000 bytes");
    }

    #[test]
    fn a_device_is_read_up_to_the_limit_only() {
        let e = read_bytes(Path::new("/dev/zero"), "password file", 16)
            .unwrap_err()
            .to_string();
        assert!(e.contains("over the limit of 16 bytes"), "{e}");
    }
}
