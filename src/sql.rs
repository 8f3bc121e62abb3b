//! SQL text helpers: quoting identifiers and literals for statements we build, and one line of
//! SQL for a table cell. Every module that writes SQL text uses these.

/// An identifier for SQL text: always double-quoted, `"` doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// An identifier for SQL text an operator reads and may paste (index advice): bare when it is
/// a plain lower-case name, else double-quoted with `"` doubled.
pub fn quote_ident_if_needed(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        quote_ident(s)
    }
}

/// A string literal for SQL text (standard_conforming_strings): `'` doubled.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One line of SQL or text for a table cell: whitespace collapsed, cut at `max` characters.
pub fn one_line_text(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_text_collapses_and_cuts() {
        assert_eq!(one_line_text("SELECT 1\n  FROM t", 80), "SELECT 1 FROM t");
        assert_eq!(one_line_text("abcdef", 4), "abc…");
    }

    #[test]
    fn identifiers_and_literals_quote() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(quote_ident_if_needed("users_global"), "users_global");
        assert_eq!(quote_ident_if_needed("Users"), "\"Users\"");
        assert_eq!(quote_ident_if_needed("1x"), "\"1x\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
