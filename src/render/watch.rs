//! `--watch` (monitor, diagnose locks): on a terminal every snapshot replaces the last one in
//! place, like `watch(1)`; piped, snapshots are appended so a log keeps every one.

use std::io::IsTerminal as _;

use super::{Format, Output};

/// Cursor home, then clear the screen: the next frame is drawn from the top.
pub const REDRAW: &str = "\x1b[H\x1b[2J";

/// Whether snapshots redraw in place: the human form on a terminal.
pub fn redraws(output: &Output) -> bool {
    output.format == Format::Table && std::io::stdout().is_terminal()
}

/// The bytes to write for one snapshot rendered as `text`.
pub fn frame(text: &str, redraw: bool) -> String {
    if redraw {
        format!("{REDRAW}{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_redraws_only_when_asked() {
        assert_eq!(frame("a\n", false), "a\n");
        assert_eq!(frame("a\n", true), "\x1b[H\x1b[2Ja\n");
    }
}
