//! Is a byte stream an RDB file Redis will load? The header (`REDIS` and a four-digit
//! version), the EOF opcode `0xFF`, and, from RDB version 5 on, the CRC64 (Jones polynomial,
//! reflected, the one `redis-check-rdb` checks) of everything before the last eight bytes.
//! A checksum of zero means the server ran with `rdbchecksum no`: nothing to compare.
//! Fed as a `Write`, so the download and `backup verify` check while the bytes pass.

use std::io::{self, Write};

use anyhow::bail;

/// Redis's crc64.c polynomial, bit-reversed for the reflected table.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const fn table() -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[i] = crc;
        i += 1;
    }
    t
}

static TABLE: [u64; 256] = table();

fn crc64_update(mut crc: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        crc = TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// What a complete RDB stream showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbFacts {
    pub version: u32,
    pub bytes: u64,
    /// None: the file carries no checksum (RDB < 5, or `rdbchecksum no`).
    pub crc64: Option<u64>,
}

/// Checks an RDB stream as it is written through it. The last eight bytes are held back from
/// the CRC until the stream ends, since they are the stored checksum.
#[derive(Default)]
pub struct RdbChecker {
    head: Vec<u8>,
    tail: Vec<u8>,
    crc: u64,
    bytes: u64,
    /// The newest byte in the CRC: the EOF opcode in a complete file.
    last_in_crc: Option<u8>,
}

impl Write for RdbChecker {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len() as u64;
        if self.head.len() < 9 {
            let n = (9 - self.head.len()).min(buf.len());
            self.head.extend_from_slice(&buf[..n]);
        }
        // Everything but the newest 8 bytes goes into the CRC.
        let total = self.tail.len() + buf.len();
        if total <= 8 {
            self.tail.extend_from_slice(buf);
        } else {
            let release = total - 8;
            let from_tail = release.min(self.tail.len());
            self.crc = crc64_update(self.crc, &self.tail[..from_tail]);
            if from_tail > 0 {
                self.last_in_crc = Some(self.tail[from_tail - 1]);
            }
            self.tail.drain(..from_tail);
            let from_buf = release - from_tail;
            self.crc = crc64_update(self.crc, &buf[..from_buf]);
            if from_buf > 0 {
                self.last_in_crc = Some(buf[from_buf - 1]);
            }
            self.tail.extend_from_slice(&buf[from_buf..]);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl RdbChecker {
    /// The verdict once the whole stream went through.
    pub fn finish(self) -> anyhow::Result<RdbFacts> {
        let h = &self.head;
        if h.len() < 9 || &h[..5] != b"REDIS" || !h[5..9].iter().all(u8::is_ascii_digit) {
            bail!(
                "it is not an RDB file: it does not start with REDIS and a version number ({} bytes)",
                self.bytes
            );
        }
        let version: u32 = std::str::from_utf8(&h[5..9])
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if version < 5 {
            // No checksum: the file ends with the EOF opcode.
            if self.tail.last() != Some(&0xFF) {
                bail!("the RDB file (version {version}) does not end with the EOF opcode 0xFF: it is truncated");
            }
            return Ok(RdbFacts {
                version,
                bytes: self.bytes,
                crc64: None,
            });
        }
        if self.bytes < 9 + 1 + 8 || self.tail.len() < 8 {
            bail!("the RDB file is truncated ({} bytes)", self.bytes);
        }
        let mut stored = [0u8; 8];
        stored.copy_from_slice(&self.tail[..8]);
        let stored = u64::from_le_bytes(stored);
        if self.last_in_crc != Some(0xFF) {
            bail!("the RDB file does not end with the EOF opcode 0xFF before its checksum: it is truncated or damaged");
        }
        if stored == 0 {
            return Ok(RdbFacts {
                version,
                bytes: self.bytes,
                crc64: None,
            });
        }
        if stored != self.crc {
            bail!(
                "the RDB file is damaged: its CRC64 is {:016x}, the file says {stored:016x}",
                self.crc
            );
        }
        Ok(RdbFacts {
            version,
            bytes: self.bytes,
            crc64: Some(stored),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8], chunk: usize) -> anyhow::Result<RdbFacts> {
        let mut c = RdbChecker::default();
        for part in bytes.chunks(chunk.max(1)) {
            c.write_all(part).unwrap();
        }
        c.finish()
    }

    /// An empty RDB 11 file with its CRC, as Redis writes it.
    fn empty_rdb() -> Vec<u8> {
        let mut v = b"REDIS0011".to_vec();
        v.push(0xFF);
        let crc = crc64_update(0, &v);
        v.extend_from_slice(&crc.to_le_bytes());
        v
    }

    #[test]
    fn crc64_is_redis_jones() {
        // crc64.c's own test vector.
        assert_eq!(crc64_update(0, b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn a_good_file_passes_in_any_chunking() {
        let v = empty_rdb();
        for chunk in [1, 3, 8, 9, 100] {
            let f = check(&v, chunk).unwrap();
            assert_eq!(f.version, 11);
            assert!(f.crc64.is_some());
        }
    }

    #[test]
    fn flipped_truncated_and_foreign_bytes_fail() {
        let mut v = empty_rdb();
        v[8] = b'2';
        assert!(check(&v, 4).unwrap_err().to_string().contains("CRC64"));
        let v = empty_rdb();
        assert!(check(&v[..v.len() - 3], 4).is_err());
        assert!(check(b"PGDMP\x01\x0e\x00\x04garbage", 4).is_err());
        let mut no_eof = b"REDIS0011".to_vec();
        no_eof.extend_from_slice(&[0u8; 9]);
        assert!(check(&no_eof, 5).is_err());
    }

    #[test]
    fn a_zero_checksum_means_none() {
        let mut v = b"REDIS0011".to_vec();
        v.push(0xFF);
        v.extend_from_slice(&[0u8; 8]);
        assert_eq!(check(&v, 2).unwrap().crc64, None);
    }
}
