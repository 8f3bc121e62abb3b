//! The width a report is laid out to, and text measured, cut and wrapped in terminal cells.

use std::io::IsTerminal as _;

use unicode_width::UnicodeWidthChar as _;

/// The width to lay a report out to: `COLUMNS` when it is set to a number (scripts and tests
/// ask for a width that way), else the terminal's width when stdout is one, else none (piped:
/// no line is cut or padded to a width).
pub fn for_stdout() -> Option<usize> {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(c);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_columns()
}

/// TIOCGWINSZ on stdout; none when the terminal does not say (a serial console says 0).
fn terminal_columns() -> Option<usize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which outlives the call.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

/// Terminal cells `s` takes (a CJK character two, a combining mark none).
pub fn cells(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `s` on one line: a control character (a newline in a database name) is shown escaped, so
/// a finding stays one line and the name still reads.
pub fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `s` cut to `max` cells, the last one `…` when anything was cut.
pub fn cut(s: &str, max: usize) -> String {
    if cells(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    // A cut right after a space would end in " …": the space says nothing.
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('…');
    out
}

/// `s` cut to `max` cells like [`cut`], but at a space: a command or an id in a hint is then
/// shown whole or not at all, never half (a half id pasted into `restore` is a different id).
/// A text without a space in reach is cut like [`cut`].
pub fn cut_at_word(s: &str, max: usize) -> String {
    if cells(s) <= max {
        return s.to_string();
    }
    let hard = cut(s, max);
    let kept = hard.trim_end_matches('…');
    // The cut fell on a word boundary when the next character of `s` is a space.
    if s[kept.len()..].starts_with(' ') {
        return hard;
    }
    match kept.rfind(' ') {
        Some(at) if !kept[..at].trim_end().is_empty() => format!("{} …", kept[..at].trim_end()),
        _ => hard,
    }
}

/// `s` pad with spaces to `width` cells (never cut).
pub fn pad(s: &str, width: usize) -> String {
    let w = cells(s);
    let mut out = s.to_string();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// `text` broken at spaces into lines of at most `width` cells. A word longer than a line is
/// never broken (it may be a path or a command an operator copies): it gets a line of its own.
pub fn wrap(text: &str, width: Option<usize>) -> Vec<String> {
    let Some(width) = width else {
        return vec![text.to_string()];
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && cells(&line) + 1 + cells(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_marks_what_it_cut_and_counts_cells() {
        assert_eq!(cut("hello world", 20), "hello world");
        assert_eq!(cut("hello world", 7), "hello…");
        assert_eq!(cut("hello world", 6), "hello…");
        assert_eq!(cut("日本語テキスト", 5), "日本…");
        assert_eq!(cells(&cut("日本語テキスト", 5)), 5);
        assert_eq!(cut("abc", 0), "");
    }

    #[test]
    fn cut_at_word_never_shows_half_a_word() {
        assert_eq!(
            cut_at_word("verify app/2026 now", 40),
            "verify app/2026 now"
        );
        assert_eq!(
            cut_at_word("verify app/20261204T010000Z now", 20),
            "verify …"
        );
        assert_eq!(cut_at_word("verify app now", 11), "verify app…");
        assert_eq!(cut_at_word("averylongword", 5), "aver…");
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("a bb ccc dddd", Some(6)), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(
            wrap("see /var/lib/postgresql/17/main/pg_wal now", Some(10)),
            vec!["see", "/var/lib/postgresql/17/main/pg_wal", "now"]
        );
        assert_eq!(wrap("x y", None), vec!["x y"]);
    }

    #[test]
    fn one_line_escapes_control_characters() {
        assert_eq!(one_line("db\nline two"), "db\\nline two");
        assert_eq!(one_line("plain"), "plain");
    }
}
