//! A report's sections (a lock tree, a backup list, a step table) as aligned tables whose
//! columns are chosen by the width: see [`super::table`] and each section's [`Fit`]s.

use crate::report::{Fit, Section};

use super::table;
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
    let plain = |_: usize, s: &str| s.to_string();
    let bold = |_: usize, s: &str| {
        if style.color && !s.is_empty() {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = vec![fit_line(section.title.clone())];
    out.push(table::line(&layout, &section.columns, &fits, &bold));
    for row in &section.rows {
        out.push(table::line(&layout, row, &fits, &plain));
    }
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
