//! The RDB snapshot through the replica protocol, as `redis-cli --rdb` does (redis-cli.c,
//! `getRDB`): on a raw connection, `AUTH` when the URL has a password, then `SYNC`. The server
//! forks a BGSAVE and, while it runs, sends a newline every second; then `$<len>\r\n` and the
//! RDB bytes (or `$EOF:<40-byte mark>\r\n`, the bytes, the mark, when it streams diskless).
//! No `REPLCONF capa eof` is sent, so a disk-based transfer with a length is the usual answer.
//! This works against any Redis a client with the `SYNC` permission reaches, local or not.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};

/// Where the snapshot comes from, parsed from the Redis URL; `display` never holds the password.
pub struct Source {
    addr: Addr,
    username: Option<String>,
    password: Option<String>,
    pub display: String,
}

enum Addr {
    Tcp(String, u16),
    Unix(PathBuf),
}

impl Source {
    pub fn from_url(url: &str) -> anyhow::Result<Source> {
        let masked = crate::redact::mask_url(url);
        let client =
            redis::Client::open(url).with_context(|| format!("invalid Redis URL {masked}"))?;
        let info = client.get_connection_info();
        let settings = info.redis_settings();
        let (addr, display) = match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => {
                (Addr::Tcp(host.clone(), *port), format!("{host}:{port}"))
            }
            redis::ConnectionAddr::Unix(path) => {
                (Addr::Unix(path.clone()), path.display().to_string())
            }
            _ => bail!(
                "backup --rdb: {masked} is a TLS URL; the snapshot download speaks plain TCP or a Unix socket\nhint: run opsbook on the Redis host and point --redis at redis://127.0.0.1:PORT or the Unix socket"
            ),
        };
        Ok(Source {
            addr,
            username: settings.username().map(str::to_string),
            password: settings.password().map(str::to_string),
            display,
        })
    }
}

trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

fn connect(src: &Source, timeout: Duration) -> anyhow::Result<Box<dyn Conn>> {
    let what = || format!("connecting to Redis at {} for the snapshot", src.display);
    let conn: Box<dyn Conn> = match &src.addr {
        Addr::Tcp(host, port) => {
            use std::net::ToSocketAddrs as _;
            let addr = (host.as_str(), *port)
                .to_socket_addrs()
                .with_context(what)?
                .next()
                .with_context(what)?;
            let s = std::net::TcpStream::connect_timeout(&addr, timeout).with_context(what)?;
            s.set_read_timeout(Some(READ_TIMEOUT)).with_context(what)?;
            s.set_write_timeout(Some(timeout)).with_context(what)?;
            Box::new(s)
        }
        Addr::Unix(path) => {
            let s = std::os::unix::net::UnixStream::connect(path).with_context(what)?;
            s.set_read_timeout(Some(READ_TIMEOUT)).with_context(what)?;
            s.set_write_timeout(Some(timeout)).with_context(what)?;
            Box::new(s)
        }
    };
    Ok(conn)
}

/// The server sends a newline every second while it forks and saves; this long without a byte
/// means it is gone.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest line we read before the payload (`+OK`, `-ERR ...`, `$123`).
const MAX_LINE: usize = 4096;

fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn read_line<R: BufRead>(r: &mut R) -> anyhow::Result<String> {
    let mut line = Vec::new();
    r.by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .context("reading the server's answer")?;
    if line.is_empty() {
        bail!("the server closed the connection");
    }
    if line.last() != Some(&b'\n') {
        bail!("the server's answer is not a protocol line (over {MAX_LINE} bytes)");
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}

/// Ask for the snapshot; returns its bytes as a reader that fails on a short stream and on more
/// than `limit` bytes. Blocking: read it on a blocking thread.
pub fn open(src: &Source, limit: u64, timeout: Duration) -> anyhow::Result<Payload> {
    let conn = connect(src, timeout)?;
    let mut r = BufReader::with_capacity(1 << 20, conn);
    let at = &src.display;
    if let Some(password) = &src.password {
        let auth = match &src.username {
            Some(user) => command(&["AUTH", user, password]),
            None => command(&["AUTH", password]),
        };
        r.get_mut().write_all(&auth).context("sending AUTH")?;
        let answer = read_line(&mut r).with_context(|| format!("AUTH on Redis at {at}"))?;
        if !answer.starts_with('+') {
            bail!("Redis at {at} refused AUTH: {answer}\nhint: check the password in --redis / REDIS_URL / redis.password_file");
        }
    }
    r.get_mut()
        .write_all(&command(&["SYNC"]))
        .with_context(|| format!("sending SYNC to Redis at {at}"))?;
    let header = loop {
        let line = read_line(&mut r)
            .with_context(|| format!("waiting for the snapshot from Redis at {at}"))?;
        if line.is_empty() {
            continue; // the keep-alive newline while the server saves
        }
        break line;
    };
    if let Some(err) = header.strip_prefix('-') {
        bail!("Redis at {at} refused SYNC: {err}\nhint: the user needs the SYNC permission (ACL: +sync), and `rename-command SYNC` must not hide it");
    }
    let Some(len) = header.strip_prefix('$') else {
        bail!("Redis at {at} answered SYNC with {header:?}, not a snapshot");
    };
    let end = if let Some(mark) = len.strip_prefix("EOF:") {
        if mark.len() != 40 {
            bail!("Redis at {at} announced a malformed end mark");
        }
        End::Mark {
            mark: mark.as_bytes().to_vec(),
            held: Vec::new(),
            found: false,
        }
    } else {
        let len: u64 = len
            .parse()
            .with_context(|| format!("Redis at {at} announced a snapshot of {len:?} bytes"))?;
        if len > limit {
            bail!("Redis at {at} announced a {len}-byte snapshot, more than the {limit} bytes its memory use allows: refusing it");
        }
        End::Length(len)
    };
    Ok(Payload {
        inner: Box::new(r),
        end,
        limit,
        total: 0,
        done: false,
    })
}

enum End {
    /// Bytes still to come.
    Length(u64),
    /// The mark, the bytes held back because they may be its start, and whether it was seen.
    Mark {
        mark: Vec<u8>,
        held: Vec<u8>,
        found: bool,
    },
}

/// The snapshot's bytes, nothing before or after them.
pub struct Payload {
    inner: Box<dyn Read + Send>,
    end: End,
    limit: u64,
    total: u64,
    done: bool,
}

fn short() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server closed the connection before the end of the snapshot",
    )
}

impl Read for Payload {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = match &mut self.end {
            End::Length(left) => {
                if *left == 0 {
                    self.done = true;
                    return Ok(0);
                }
                let want = (*left).min(buf.len() as u64) as usize;
                let n = self.inner.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(short());
                }
                *left -= n as u64;
                n
            }
            End::Mark { mark, held, found } => {
                while !*found && held.len() <= mark.len() {
                    let mut chunk = vec![0u8; buf.len().max(64 << 10)];
                    let n = self.inner.read(&mut chunk)?;
                    if n == 0 {
                        return Err(short());
                    }
                    held.extend_from_slice(&chunk[..n]);
                    // Whatever follows the mark is the replication stream: not ours.
                    if let Some(at) = held.windows(mark.len()).position(|w| w == &mark[..]) {
                        held.truncate(at);
                        *found = true;
                    }
                }
                let keep = if *found { 0 } else { mark.len() };
                let release = (held.len() - keep).min(buf.len());
                if release == 0 {
                    self.done = true;
                    return Ok(0);
                }
                buf[..release].copy_from_slice(&held[..release]);
                held.drain(..release);
                release
            }
        };
        self.total += n as u64;
        if self.total > self.limit {
            return Err(io::Error::other(format!(
                "the snapshot passed {} bytes, more than the server's memory use allows: stopped",
                self.limit
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_resp_arrays() {
        assert_eq!(command(&["SYNC"]), b"*1\r\n$4\r\nSYNC\r\n");
    }

    #[test]
    fn the_mark_ends_the_diskless_payload_across_reads() {
        let mark = [b'x'; 40];
        let mut stream = b"REDIS0011abc".repeat(10_000);
        let body = stream.clone();
        stream.extend_from_slice(&mark);
        stream.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let mut p = Payload {
            inner: Box::new(BufReader::with_capacity(7, io::Cursor::new(stream))),
            end: End::Mark {
                mark: mark.to_vec(),
                held: Vec::new(),
                found: false,
            },
            limit: 1 << 20,
            total: 0,
            done: false,
        };
        let mut out = Vec::new();
        p.read_to_end(&mut out).unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn a_short_stream_is_an_error() {
        let mut p = Payload {
            inner: Box::new(io::Cursor::new(b"REDIS".to_vec())),
            end: End::Length(10),
            limit: 1 << 20,
            total: 0,
            done: false,
        };
        let mut out = Vec::new();
        assert!(p.read_to_end(&mut out).is_err());
    }
}
