//! A container's log since a time, demultiplexed and counted like `journal.errors` counts a
//! unit's journal (lines that mention "error", the last five kept).

use super::Docker;

/// A chatty container's log is read up to this much per run; past it the count says so.
pub const LOG_LIMIT: usize = 32 * 1024 * 1024;

/// How many lines of a log mention an error, and the last few of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorLines {
    pub count: u64,
    pub last: Vec<String>,
    /// the log was longer than [`LOG_LIMIT`] and only its start was read
    pub truncated: bool,
}

/// Splits the Engine API's log stream into lines. Without a TTY the stream is multiplexed:
/// frames of an 8-byte header (stream, 0, 0, 0, big-endian length) and that many bytes;
/// with one it is the raw output. Frames and lines may break anywhere across reads.
pub struct LogDemux {
    multiplexed: bool,
    /// bytes of an incomplete frame header
    header: Vec<u8>,
    /// payload bytes still due for the current frame
    due: usize,
    /// the current line so far
    line: Vec<u8>,
    pub errors: ErrorLines,
}

impl LogDemux {
    pub fn new(tty: bool) -> LogDemux {
        LogDemux {
            multiplexed: !tty,
            header: Vec::new(),
            due: 0,
            line: Vec::new(),
            errors: ErrorLines::default(),
        }
    }

    pub fn feed(&mut self, mut data: &[u8]) {
        if !self.multiplexed {
            self.payload(data);
            return;
        }
        while !data.is_empty() {
            if self.due == 0 {
                let need = 8 - self.header.len();
                let take = need.min(data.len());
                self.header.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.header.len() == 8 {
                    let len = [
                        self.header[4],
                        self.header[5],
                        self.header[6],
                        self.header[7],
                    ];
                    self.due = u32::from_be_bytes(len) as usize;
                    self.header.clear();
                }
                continue;
            }
            let take = self.due.min(data.len());
            self.payload(&data[..take]);
            self.due -= take;
            data = &data[take..];
        }
    }

    fn payload(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' {
                self.end_line();
            } else if self.line.len() < 4096 {
                self.line.push(b);
            }
        }
    }

    fn end_line(&mut self) {
        let text = String::from_utf8_lossy(&self.line).trim_end().to_string();
        self.line.clear();
        if text.to_ascii_lowercase().contains("error") {
            self.errors.count += 1;
            if self.errors.last.len() == 5 {
                self.errors.last.remove(0);
            }
            self.errors.last.push(text.chars().take(300).collect());
        }
    }

    /// The counts, counting a last line without its newline.
    pub fn finish(mut self) -> ErrorLines {
        if !self.line.is_empty() {
            self.end_line();
        }
        self.errors
    }
}

impl Docker {
    /// Lines of container `id`'s stdout and stderr since `since` (seconds since the epoch)
    /// that mention an error.
    pub async fn log_errors(&self, id: &str, tty: bool, since: i64) -> anyhow::Result<ErrorLines> {
        let path = format!(
            "/containers/{}/logs?stdout=1&stderr=1&since={since}",
            super::query_value(id)
        );
        let mut demux = LogDemux::new(tty);
        let truncated = self.stream(&path, LOG_LIMIT, |d| demux.feed(d)).await?;
        let mut errors = demux.finish();
        errors.truncated = truncated;
        Ok(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(stream: u8, text: &str) -> Vec<u8> {
        let mut v = vec![stream, 0, 0, 0];
        v.extend_from_slice(&(text.len() as u32).to_be_bytes());
        v.extend_from_slice(text.as_bytes());
        v
    }

    #[test]
    fn multiplexed_frames_split_anywhere_count_lines() {
        let mut all = frame(1, "ok\nERROR one\npart");
        all.extend(frame(2, "ial error two\n"));
        all.extend(frame(1, "fine\nlast Error"));
        for cut in 0..all.len() {
            let mut d = LogDemux::new(false);
            d.feed(&all[..cut]);
            d.feed(&all[cut..]);
            let e = d.finish();
            assert_eq!(e.count, 3, "cut at {cut}");
            assert_eq!(e.last, vec!["ERROR one", "partial error two", "last Error"]);
        }
    }

    #[test]
    fn a_tty_stream_is_raw_text() {
        let mut d = LogDemux::new(true);
        d.feed(b"error a\r\nno\r\nerror b\r\n");
        assert_eq!(d.finish().count, 2);
    }
}
