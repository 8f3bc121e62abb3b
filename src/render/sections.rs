//! A report's sections (a lock tree, a backup list, a step table) as aligned tables whose
//! columns are chosen by the width: see [`super::table`] and each section's [`Fit`]s. The
//! header and rows are one comfy-table table; the title and the note naming the columns left
//! out are lines of their own, cut to the width.

use crate::report::{Fit, Section};

use super::table::{self, Ink};
use super::width::cut;
use super::Style;

/// The lines of one section: its title, the header, the rows, and a note naming the columns
/// left out for the width.
pub fn lines(section: &Section, style: Style) -> Vec<String> {
    let fits: Vec<Fit> = (0..section.columns.len())
        .map(|i| section.fit_of(i))
        .collect();
    let room = if style.wide { None } else { style.width };
    let layout = table::layout(Some(&section.columns), &section.rows, &fits, room);
    let fit_line = |s: String| match room {
        Some(w) => cut(&s, w),
        None => s,
    };
    // The header is the first row of the table, in bold on a terminal.
    let mut rows: Vec<&[String]> = vec![section.columns.as_slice()];
    rows.extend(section.rows.iter().map(Vec::as_slice));
    let ink = |r: usize, _: usize| Ink {
        fg: None,
        bold: r == 0,
    };
    let mut out = vec![fit_line(section.title.clone())];
    out.extend(table::lines(&layout, &rows, &fits, style.color, &ink));
    let hidden: Vec<&str> = layout
        .hidden()
        .filter_map(|i| section.columns.get(i).map(String::as_str))
        .collect();
    if !hidden.is_empty() {
        out.push(fit_line(format!(
            "(--wide shows {} too)",
            hidden.join(", ")
        )));
    }
    out
}
