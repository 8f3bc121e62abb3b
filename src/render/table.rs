//! An aligned-column writer over plain strings, with pg_activity's way of fitting a terminal:
//! optional columns are dropped first, then free text is cut with `…`; a column holding an
//! identifier an operator copies ([`Fit::Whole`]) is never cut or dropped, so a line may only
//! pass the width when the identifiers alone do not fit.
//!
//! No line ends in a space: the last column is never padded, so a piped table is as wide as
//! its content and `grep` / `less` see no trailing blanks.

use crate::report::Fit;

use super::width::{cells, cut, one_line, pad};

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

/// One table line: the shown cells aligned, free text cut to its column, the last cell not
/// padded and no trailing space. `paint` may decorate a cell's text (colour), after it was
/// measured.
pub fn line(
    layout: &Layout,
    cells_of_row: &[String],
    fits: &[Fit],
    paint: &dyn Fn(usize, &str) -> String,
) -> String {
    let shown: Vec<(usize, usize)> = layout
        .widths
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let mut out = String::new();
    for (k, &(i, w)) in shown.iter().enumerate() {
        let raw = one_line(cells_of_row.get(i).map_or("", String::as_str));
        let text = match fits.get(i) {
            Some(Fit::Whole) => raw,
            _ => cut(&raw, w),
        };
        if k > 0 {
            out.push_str(&" ".repeat(GAP));
        }
        let painted = paint(i, &text);
        if k + 1 == shown.len() {
            out.push_str(&painted);
        } else {
            out.push_str(&painted);
            out.push_str(&pad("", w.saturating_sub(cells(&text))));
        }
    }
    let end = out.trim_end_matches(' ').len();
    out.truncate(end);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let text = line(&l, &rows[0], &fits, &|_, s| s.to_string());
        assert!(cells(&text) <= 60, "{text}");
        assert!(
            text.starts_with("4242  idle in transaction  UPDATE"),
            "{text}"
        );
        assert!(text.ends_with('…'), "{text}");
        let l = layout(Some(&header), &rows, &fits, Some(20));
        let text = line(&l, &rows[0], &fits, &|_, s| s.to_string());
        assert!(text.starts_with("4242  UPDATE"), "{text}");
        assert!(cells(&text) <= 20, "{text}");
    }

    #[test]
    fn no_trailing_space_and_no_padding_of_the_last_column() {
        let rows = vec![strings(&["a", ""]), strings(&["bbb", "x"])];
        let fits = [Fit::Whole, Fit::Text];
        let l = layout(None, &rows, &fits, None);
        assert_eq!(line(&l, &rows[0], &fits, &|_, s| s.to_string()), "a");
        assert_eq!(line(&l, &rows[1], &fits, &|_, s| s.to_string()), "bbb  x");
    }
}
