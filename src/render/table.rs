//! Tables fitted to a terminal: OUR code decides, comfy-table lays out.
//!
//! [`layout`] and [`squeeze`] choose the columns and their widths pg_activity's way: optional
//! columns are dropped first, then free text is cut with `…`; a column holding an identifier
//! an operator copies ([`Fit::Whole`]) is never cut or dropped, so a line may only pass the
//! width when the identifiers alone do not fit.
//!
//! [`lines`] then hands the pre-fitted cells to comfy-table, which aligns them: no border
//! (`presets::NOTHING`), `ContentArrangement::Disabled` (it never wraps or re-fits a cell),
//! each column's width fixed to ours with the gap as its right padding, colour through its
//! cells only when `Style.color` says so. comfy-table's own dynamic arrangement is not used:
//! it wrapped identifiers and padded lines.
//!
//! No line ends in a space: comfy-table pads the last column, so every line is trimmed, and a
//! piped table is as wide as its content and `grep` / `less` see no trailing blanks.
//!
//! Two things follow from comfy-table measuring the cells itself: it measures a cell as
//! unicode-width's string width, which for an emoji presentation sequence (`❤️`, with U+FE0F)
//! is one cell more than our per-character count, so such a column is as wide as comfy-table
//! measures (what a terminal shows) rather than ours; and it holds widths in `u16`, so a
//! cell is cut at 65 533 cells.

use comfy_table::{
    presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width,
};
use unicode_width::UnicodeWidthStr as _;

use crate::report::Fit;

use super::width::{cells, cut, one_line};

/// Spaces between two columns.
pub const GAP: usize = 2;
/// Free text keeps this many cells before an optional column is dropped for it...
const SOFT_MIN: usize = 24;
/// ...and this many before it is dropped itself.
const HARD_MIN: usize = 8;

/// Which columns are shown, at what width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Per column: its width, or `None` when it was dropped to fit.
    pub widths: Vec<Option<usize>>,
}

impl Layout {
    /// The indexes of the dropped columns.
    pub fn hidden(&self) -> impl Iterator<Item = usize> + '_ {
        self.widths
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.is_none().then_some(i))
    }
}

/// Choose the columns and widths of a table whose cells are `rows` (and `header`, when it has
/// one) for `room` cells (`None`: no limit, every column at its natural width).
pub fn layout(
    header: Option<&[String]>,
    rows: &[Vec<String>],
    fits: &[Fit],
    room: Option<usize>,
) -> Layout {
    let n = fits.len();
    let head_w: Vec<usize> = (0..n)
        .map(|i| header.and_then(|h| h.get(i)).map_or(0, |h| cells(h)))
        .collect();
    let natural: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| cells(&one_line(c))))
                .max()
                .unwrap_or(0)
                .max(head_w[i])
        })
        .collect();
    let Some(room) = room else {
        return Layout {
            widths: natural.into_iter().map(Some).collect(),
        };
    };
    let min = |i: usize, floor: usize| match fits[i] {
        Fit::Text => natural[i].min(floor.max(head_w[i])),
        _ => natural[i],
    };
    let need = |shown: &[bool], floor: usize| {
        let mut total = 0;
        let mut count: usize = 0;
        for i in (0..n).filter(|&i| shown[i]) {
            total += min(i, floor);
            count += 1;
        }
        total + GAP * count.saturating_sub(1)
    };
    let mut shown = vec![true; n];
    // Optional columns go first, the highest number (then the rightmost) first.
    while need(&shown, SOFT_MIN) > room {
        let drop = (0..n)
            .filter(|&i| shown[i])
            .filter_map(|i| match fits[i] {
                Fit::Optional(p) => Some((p, i)),
                _ => None,
            })
            .max();
        match drop {
            Some((_, i)) => shown[i] = false,
            None => break,
        }
    }
    // Then free text, from the right, while another column is left.
    while need(&shown, HARD_MIN) > room && shown.iter().filter(|s| **s).count() > 1 {
        match (0..n).rev().find(|&i| shown[i] && fits[i] == Fit::Text) {
            Some(i) => shown[i] = false,
            None => break,
        }
    }
    // The text left takes what remains: cut from the right, first to the soft floor, then
    // to the hard one.
    let mut widths: Vec<usize> = natural.clone();
    let total = |widths: &[usize]| {
        let count = shown.iter().filter(|s| **s).count();
        (0..n)
            .filter(|&i| shown[i])
            .map(|i| widths[i])
            .sum::<usize>()
            + GAP * count.saturating_sub(1)
    };
    for floor in [SOFT_MIN, HARD_MIN] {
        for i in (0..n).rev().filter(|&i| shown[i] && fits[i] == Fit::Text) {
            let excess = total(&widths).saturating_sub(room);
            if excess == 0 {
                break;
            }
            let give = widths[i].saturating_sub(min(i, floor)).min(excess);
            widths[i] -= give;
        }
    }
    Layout {
        widths: (0..n).map(|i| shown[i].then_some(widths[i])).collect(),
    }
}

/// `layout` for a line that needs `extra` more cells (an identifier longer than its
/// column): free text gives them up from the right, down to the hard floor, else the column
/// is left out of that line.
pub fn squeeze(layout: &Layout, fits: &[Fit], extra: usize) -> Layout {
    let mut widths = layout.widths.clone();
    let mut left = extra;
    for i in (0..widths.len()).rev() {
        if left == 0 {
            break;
        }
        let (Some(w), Some(Fit::Text)) = (widths[i], fits.get(i)) else {
            continue;
        };
        if w.saturating_sub(HARD_MIN) >= left {
            widths[i] = Some(w - left);
            left = 0;
        } else {
            widths[i] = None;
            left = left.saturating_sub(w + GAP);
        }
    }
    Layout { widths }
}

/// How a cell is decorated when colour is on: comfy-table writes the escape codes, around
/// the text only (never its padding, so a line still ends without a space).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ink {
    pub fg: Option<Color>,
    pub bold: bool,
}

/// The widest cell comfy-table can hold (it measures columns in `u16`) with the gap after it:
/// a longer cell, which no one reads on one line anyway, is cut to it.
const WIDEST: usize = u16::MAX as usize - GAP;

/// The lines of `rows` laid out by comfy-table to `layout`, one line per row: each shown cell
/// pre-fitted here (free text cut to its column, an identifier whole), the columns aligned
/// by comfy-table with `GAP` spaces between them, no border and no wrapping, and no line
/// ending in a space. `ink` decorates a cell (row, column) when `color` is on.
///
/// An identifier wider than its column (a squeezed finding line) widens the column: render
/// such a row on its own so only its line shifts.
pub fn lines(
    layout: &Layout,
    rows: &[&[String]],
    fits: &[Fit],
    color: bool,
    ink: &dyn Fn(usize, usize) -> Ink,
) -> Vec<String> {
    let shown: Vec<(usize, usize)> = layout
        .widths
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    if shown.is_empty() || rows.is_empty() {
        return vec![String::new(); rows.len()];
    }
    let texts: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            shown
                .iter()
                .map(|&(i, w)| {
                    let raw = one_line(row.get(i).map_or("", String::as_str));
                    let text = match fits.get(i) {
                        Some(Fit::Whole) => raw,
                        _ => cut(&raw, w),
                    };
                    cut(&text, WIDEST)
                })
                .collect()
        })
        .collect();
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .force_no_tty();
    if color {
        t.enforce_styling();
    }
    t.style_text_only();
    for (r, row) in texts.iter().enumerate() {
        let cells: Vec<Cell> = row
            .iter()
            .enumerate()
            .map(|(k, text)| {
                let Ink { fg, bold } = ink(r, shown[k].0);
                let mut cell = Cell::new(text);
                // An empty cell stays bare: escape codes around nothing would end a line.
                if !text.is_empty() {
                    if let Some(fg) = fg {
                        cell = cell.fg(fg);
                    }
                    if bold {
                        cell = cell.add_attribute(Attribute::Bold);
                    }
                }
                cell
            })
            .collect();
        t.add_row(cells);
    }
    let last = shown.len() - 1;
    for (k, &(_, w)) in shown.iter().enumerate() {
        // comfy-table measures a cell as unicode-width's string width: the column is as wide
        // as the widest cell by that measure, so it never wraps one.
        let widest = texts.iter().map(|r| r[k].width()).max().unwrap_or(0);
        let want = w.max(widest).min(WIDEST);
        // comfy-table gives a column at least one cell: an empty column takes one cell of
        // its gap.
        let content = want.max(1);
        let gap = if k == last { 0 } else { (want + GAP) - content };
        let total = u16::try_from(content + gap).unwrap_or(u16::MAX);
        if let Some(column) = t.column_mut(k) {
            column
                .set_padding((0, u16::try_from(gap).unwrap_or(0)))
                .set_constraint(ColumnConstraint::Absolute(Width::Fixed(total)));
        }
    }
    t.lines()
        .map(|l| l.trim_end_matches(' ').to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(_: usize, _: usize) -> Ink {
        Ink::default()
    }

    fn one(l: &Layout, row: &[String], fits: &[Fit]) -> String {
        lines(l, &[row], fits, false, &plain).concat()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn optional_columns_go_before_text_is_cut_and_identifiers_stay() {
        let header = strings(&["PID", "CLIENT", "STATE", "QUERY"]);
        let rows = vec![strings(&[
            "4242",
            "192.168.100.200:54321",
            "idle in transaction",
            "UPDATE accounts SET balance = balance - 10 WHERE id = 7",
        ])];
        let fits = [Fit::Whole, Fit::Optional(2), Fit::Optional(1), Fit::Text];
        let wide = layout(Some(&header), &rows, &fits, None);
        assert!(wide.widths.iter().all(Option::is_some));
        let l = layout(Some(&header), &rows, &fits, Some(60));
        assert_eq!(l.hidden().collect::<Vec<_>>(), vec![1]);
        let text = one(&l, &rows[0], &fits);
        assert!(cells(&text) <= 60, "{text}");
        assert!(
            text.starts_with("4242  idle in transaction  UPDATE"),
            "{text}"
        );
        assert!(text.ends_with('…'), "{text}");
        let l = layout(Some(&header), &rows, &fits, Some(20));
        let text = one(&l, &rows[0], &fits);
        assert!(text.starts_with("4242  UPDATE"), "{text}");
        assert!(cells(&text) <= 20, "{text}");
    }

    #[test]
    fn no_trailing_space_and_no_padding_of_the_last_column() {
        let rows = vec![strings(&["a", ""]), strings(&["bbb", "x"])];
        let fits = [Fit::Whole, Fit::Text];
        let l = layout(None, &rows, &fits, None);
        assert_eq!(one(&l, &rows[0], &fits), "a");
        assert_eq!(one(&l, &rows[1], &fits), "bbb  x");
        let both: Vec<&[String]> = rows.iter().map(Vec::as_slice).collect();
        assert_eq!(lines(&l, &both, &fits, false, &plain), vec!["a", "bbb  x"]);
    }

    #[test]
    fn an_empty_column_keeps_its_gap_and_a_long_identifier_shifts_its_line() {
        let fits = [Fit::Whole, Fit::Whole, Fit::Text, Fit::Text];
        let rows = vec![
            strings(&["OK", "a.b", "", "fine"]),
            strings(&["WARNING", "c", "", "slow"]),
        ];
        let l = layout(None, &rows, &fits, None);
        let both: Vec<&[String]> = rows.iter().map(Vec::as_slice).collect();
        assert_eq!(
            lines(&l, &both, &fits, false, &plain),
            vec!["OK       a.b    fine", "WARNING  c      slow"]
        );
        let long = strings(&["OK", "a.much.longer.label", "", "fine"]);
        assert_eq!(
            one(&l, &long, &fits),
            "OK       a.much.longer.label    fine"
        );
    }

    #[test]
    fn colour_wraps_the_text_only() {
        let rows = vec![strings(&["WARNING", "x", ""])];
        let fits = [Fit::Whole, Fit::Whole, Fit::Text];
        let l = layout(None, &rows, &fits, None);
        let ink = |_: usize, col: usize| Ink {
            fg: (col == 0).then_some(Color::DarkYellow),
            bold: true,
        };
        let drawn = lines(&l, &[rows[0].as_slice()], &fits, true, &ink);
        assert_eq!(
            drawn,
            vec!["\x1b[38;5;3m\x1b[1mWARNING\x1b[0m  \x1b[1mx\x1b[0m"]
        );
    }
}
