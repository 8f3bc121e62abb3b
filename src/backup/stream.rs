//! The archive byte stream: pg_dump's custom format compressed in-stream (zstd on several
//! threads, gzip, or none), hashed with sha256 as it is written, and read back the same way.

use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Zstd(i32),
    Gzip(u32),
    None,
}

impl Compression {
    /// The archive's file-name suffix after `.dump`.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::Zstd(_) => ".dump.zst",
            Compression::Gzip(_) => ".dump.gz",
            Compression::None => ".dump",
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compression::Zstd(l) => write!(f, "zstd:{l}"),
            Compression::Gzip(l) => write!(f, "gzip:{l}"),
            Compression::None => write!(f, "none"),
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, level) = match s.split_once(':') {
            Some((k, l)) => (k, Some(l)),
            None => (s, None),
        };
        let bad_level = |range: &str| {
            format!("`{s}`: the level must be a whole number in {range} (e.g. zstd:3, gzip:6)")
        };
        match kind {
            "zstd" => {
                let level = match level {
                    None => 3,
                    Some(l) => l
                        .parse::<i32>()
                        .ok()
                        .filter(|l| (1..=19).contains(l))
                        .ok_or_else(|| bad_level("1..=19"))?,
                };
                Ok(Compression::Zstd(level))
            }
            "gzip" => {
                let level = match level {
                    None => 6,
                    Some(l) => l
                        .parse::<u32>()
                        .ok()
                        .filter(|l| (1..=9).contains(l))
                        .ok_or_else(|| bad_level("1..=9"))?,
                };
                Ok(Compression::Gzip(level))
            }
            "none" if level.is_none() => Ok(Compression::None),
            _ => Err(format!(
                "`{s}` is not a compression: use zstd[:LEVEL], gzip[:LEVEL] or none"
            )),
        }
    }
}

/// Counts and hashes every byte on its way to `inner`.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    pub bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Counts bytes read (pg_dump's uncompressed output) and reports them to `progress`.
pub struct CountingReader<R: Read, F: FnMut(u64)> {
    pub inner: R,
    pub bytes: u64,
    pub progress: F,
}

impl<R: io::BufRead, F: FnMut(u64)> io::BufRead for CountingReader<R, F> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.bytes += amt as u64;
        (self.progress)(self.bytes);
    }
}

impl<R: Read, F: FnMut(u64)> Read for CountingReader<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        (self.progress)(self.bytes);
        Ok(n)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copy `input` through the compressor into `out`; returns bytes read from `input`.
pub fn compress_into<R: Read, W: Write>(
    input: &mut R,
    out: W,
    compression: Compression,
    threads: u32,
) -> io::Result<W> {
    match compression {
        Compression::Zstd(level) => {
            let mut enc = zstd::stream::write::Encoder::new(out, level)?;
            enc.include_checksum(true)?;
            if threads > 1 {
                enc.multithread(threads)?;
            }
            pump(input, &mut enc)?;
            enc.finish()
        }
        Compression::Gzip(level) => {
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::new(level));
            pump(input, &mut enc)?;
            enc.finish()
        }
        Compression::None => {
            let mut out = out;
            pump(input, &mut out)?;
            Ok(out)
        }
    }
}

/// `io::copy` with a 1 MiB buffer: fewer, larger calls into the compressor than its 8 KiB.
fn pump<R: Read, W: Write>(input: &mut R, out: &mut W) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// A file writer that starts the kernel's writeback every 32 MiB (`sync_file_range`), so the
/// final fsync of a large archive has little left to wait for.
pub struct WritebackFile {
    file: std::fs::File,
    written: u64,
    started: u64,
}

impl WritebackFile {
    const EVERY: u64 = 32 << 20;

    pub fn new(file: std::fs::File) -> Self {
        WritebackFile {
            file,
            written: 0,
            started: 0,
        }
    }

    pub fn into_inner(self) -> std::fs::File {
        self.file
    }
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= Self::EVERY {
            use std::os::fd::AsRawFd as _;
            // SAFETY: a valid fd and a range inside what was written; a hint only, so its
            // result does not matter (the fsync at the end is what guarantees durability).
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.started as libc::off64_t,
                    (self.written - self.started) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A reader of the archive's pg_dump bytes (decompressed).
pub fn open_plain(path: &Path, compression: &str) -> anyhow::Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("opening the archive {}", path.display()))?;
    decoder(io::BufReader::with_capacity(1 << 20, file), compression)
        .with_context(|| format!("archive {}", path.display()))
}

/// The decompressing reader over an archive's bytes.
pub fn decoder<R: io::BufRead + Send + 'static>(
    input: R,
    compression: &str,
) -> anyhow::Result<Box<dyn Read + Send>> {
    let c: Compression = compression
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    Ok(match c {
        Compression::Zstd(_) => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
        Compression::Gzip(_) => Box::new(flate2::read::GzDecoder::new(input)),
        Compression::None => Box::new(input),
    })
}

/// sha256 of a whole file.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("opening the archive {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading the archive {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// What an I/O error while writing a backup means for the operator.
pub fn write_error_hint(e: &io::Error, dir: &Path) -> String {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => format!(
            "the filesystem of {} is full: free space there or point --dir at a larger one",
            dir.display()
        ),
        Some(libc::EFBIG) => format!(
            "the file size limit was reached (ulimit -f, or the filesystem's largest file) writing in {}",
            dir.display()
        ),
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => format!(
            "{} is not writable by this user: fix its permissions or use --dir",
            dir.display()
        ),
        _ => "check the disk and the directory, then run the backup again".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compression_specs() {
        assert_eq!("zstd".parse::<Compression>(), Ok(Compression::Zstd(3)));
        assert_eq!("zstd:9".parse::<Compression>(), Ok(Compression::Zstd(9)));
        assert_eq!("gzip".parse::<Compression>(), Ok(Compression::Gzip(6)));
        assert_eq!("none".parse::<Compression>(), Ok(Compression::None));
        assert!("zstd:99".parse::<Compression>().is_err());
        assert!("lz4".parse::<Compression>().is_err());
        assert_eq!(Compression::Zstd(3).to_string(), "zstd:3");
    }

    #[test]
    fn round_trips_every_compression() {
        let dir = std::env::temp_dir().join(format!("opsbook-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for c in [
            Compression::Zstd(3),
            Compression::Gzip(1),
            Compression::None,
        ] {
            let path = dir.join(format!("x{}", c.suffix()));
            let file = std::fs::File::create(&path).unwrap();
            let w = compress_into(&mut &data[..], HashingWriter::new(file), c, 2).unwrap();
            let (_, sha, bytes) = w.finish();
            assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
            assert_eq!(sha, sha256_file(&path).unwrap());
            let mut back = Vec::new();
            open_plain(&path, &c.to_string())
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{c}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
