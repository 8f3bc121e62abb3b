//! Finding ids: declared (the `FindingIds` tables) = listed on the pages = on `--help`, and
//! every id the code builds a finding with literally is declared.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::CommandFactory as _;
use opsbook::cli::{Cli, FINDING_IDS};
use opsbook::report::FindingIds;

use crate::{backticked, heading_text, pages, root};

/// One list of finding ids on a page.
#[derive(Debug)]
struct IdList {
    /// The level-2 heading it is under, without `#` and backticks.
    heading: String,
    /// The page line it starts on (1-based), for messages.
    line: usize,
    ids: Vec<String>,
}

/// `id` or `id[subject]` as a page writes it → `id`, when it has the shape of a finding id
/// (`area.name`, lower case, `<name>` for a config-named part).
fn as_id(word: &str) -> Option<String> {
    let id = word.split_once('[').map_or(word, |(id, _)| id);
    let ok = id.contains('.')
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '<' | '>')
        });
    ok.then(|| id.to_string())
}

/// The first cell of a markdown table row (`\|` inside a cell is not a separator).
fn first_cell(row: &str) -> &str {
    let body = row.trim().trim_start_matches('|');
    let bytes = body.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'|' && (i == 0 || bytes[i - 1] != b'\\') {
            return &body[..i];
        }
    }
    body
}

/// The id lists of a page, by the conventions in this file's header. A word in an id cell
/// that is not an id fails (so a typo cannot drop an id unnoticed).
fn id_lists(page: &str, text: &str) -> Vec<IdList> {
    let mut lists = Vec::new();
    let mut h2 = String::new();
    let mut last_heading = String::new();
    let mut in_fence = false;
    let mut in_id_table = false;
    let mut prev_was_table = false;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
            prev_was_table = false;
            continue;
        }
        if in_fence {
            continue;
        }
        if trimmed.starts_with('#') {
            last_heading = heading_text(trimmed);
            if trimmed.starts_with("## ") {
                h2 = last_heading.clone();
            }
        }
        let is_table = trimmed.starts_with('|');
        if is_table && !prev_was_table {
            in_id_table = first_cell(trimmed).trim() == "id";
            if in_id_table {
                lists.push(IdList {
                    heading: h2.clone(),
                    line: n + 1,
                    ids: Vec::new(),
                });
            }
        } else if is_table && in_id_table && !trimmed.starts_with("| ---") {
            let list = lists.last_mut().expect("an id table was opened");
            // `(in `list`)`: a backticked word without a dot is not an id.
            for word in backticked(first_cell(trimmed))
                .into_iter()
                .filter(|w| w.contains('.'))
            {
                let id = as_id(word).unwrap_or_else(|| {
                    panic!(
                        "{page}:{}: `{word}` in the id column is not a finding id",
                        n + 1
                    )
                });
                list.ids.push(id);
            }
        } else if !is_table && last_heading == "Finding ids" && trimmed.starts_with('`') {
            let words: Vec<&str> = trimmed.split_whitespace().collect();
            if words
                .iter()
                .all(|w| w.len() > 2 && w.starts_with('`') && w.ends_with('`'))
            {
                let ids = words
                    .iter()
                    .map(|w| {
                        as_id(w.trim_matches('`')).unwrap_or_else(|| {
                            panic!("{page}:{}: {w} under Finding ids is not an id", n + 1)
                        })
                    })
                    .collect();
                lists.push(IdList {
                    heading: h2.clone(),
                    line: n + 1,
                    ids,
                });
            }
        }
        prev_was_table = is_table;
    }
    lists
}

/// Whether a heading names `command` (`check night`, `` `backup list` `` for `backup`).
fn names(heading: &str, command: &str) -> bool {
    heading
        .strip_prefix(command)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

/// The tables of one page, and which of its lists belong to which table.
fn owners<'a>(tables: &[&'a FindingIds], lists: &[IdList]) -> Vec<Vec<&'a FindingIds>> {
    let has_own = |t: &FindingIds| lists.iter().any(|l| names(&l.heading, t.command));
    lists
        .iter()
        .map(|l| {
            let named: Vec<&FindingIds> = tables
                .iter()
                .copied()
                .filter(|t| names(&l.heading, t.command))
                .collect();
            if named.is_empty() {
                tables.iter().copied().filter(|t| !has_own(t)).collect()
            } else {
                named
            }
        })
        .collect()
}

#[test]
fn every_declared_id_is_listed_on_its_page_in_the_commands_part_and_nothing_else_is() {
    let pages = pages();
    let mut problems = Vec::new();
    let mut by_page: BTreeMap<&str, Vec<&FindingIds>> = BTreeMap::new();
    for t in FINDING_IDS {
        assert!(
            pages.contains_key(t.page),
            "`{}` names page {}, which does not exist",
            t.command,
            t.page
        );
        by_page.entry(t.page).or_default().push(t);
    }
    for (page, tables) in &by_page {
        let lists = id_lists(page, &pages[*page]);
        let owners = owners(tables, &lists);
        for t in tables {
            let listed: BTreeSet<&str> = lists
                .iter()
                .zip(&owners)
                .filter(|(_, o)| o.iter().any(|x| std::ptr::eq(*x, *t)))
                .flat_map(|(l, _)| l.ids.iter().map(String::as_str))
                .collect();
            for id in t.ids() {
                if !listed.contains(id) {
                    problems.push(format!(
                        "{page}: `{id}` (declared by `{}`) is not in a findings list of that command's part of the page",
                        t.command
                    ));
                }
            }
        }
        for (l, o) in lists.iter().zip(&owners) {
            for id in &l.ids {
                if !o.iter().any(|t| t.ids().any(|d| d == id)) {
                    let who: Vec<&str> = o.iter().map(|t| t.command).collect();
                    problems.push(format!(
                        "{page}:{}: `{id}` is listed (under `## {}`) but not declared by {who:?}",
                        l.line, l.heading
                    ));
                }
            }
        }
    }
    // A page that lists ids but belongs to no table: its ids are declared by nobody.
    for (page, text) in &pages {
        if !by_page.contains_key(page.as_str()) {
            for l in id_lists(page, text) {
                problems.push(format!(
                    "{page}:{}: lists finding ids, but no FindingIds table names this page",
                    l.line
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the pages and the FindingIds tables disagree (fix the page, or the table in src/commands/):\n  {}",
        problems.join("\n  ")
    );
}

/// The clap command a table's `command` names (`check morning` → `opsbook check morning`).
fn clap_command(root: &clap::Command, words: &str) -> Option<clap::Command> {
    let mut cmd = root.clone();
    for word in words.split_whitespace() {
        cmd = cmd.find_subcommand(word)?.clone();
    }
    Some(cmd)
}

/// The words of the `Finding ids:` line of a help text (rendered unwrapped).
fn help_ids(help: &str) -> Option<Vec<String>> {
    let (_, rest) = help.split_once("Finding ids:")?;
    let line = rest.lines().next().unwrap_or_default();
    Some(line.split_whitespace().map(str::to_string).collect())
}

#[test]
fn every_declared_id_is_in_the_commands_help_and_the_help_lists_no_other() {
    // Width 0: the source's own lines, so the ids are one line.
    let mut root = Cli::command().term_width(0);
    root.build();
    let mut problems = Vec::new();
    for t in FINDING_IDS {
        let Some(mut cmd) = clap_command(&root, t.command) else {
            problems.push(format!(
                "`{}` ({}) is not a command of the clap tree",
                t.command, t.page
            ));
            continue;
        };
        let help = cmd.render_long_help().to_string();
        let want: Vec<String> = help_ids(&t.help()).unwrap_or_default();
        match help_ids(&help) {
            Some(got) if got == want => {}
            Some(got) => problems.push(format!(
                "`opsbook {} --help` lists {got:?}, its table declares {want:?}",
                t.command
            )),
            None => problems.push(format!(
                "`opsbook {} --help` has no `Finding ids:` line (put FINDING_IDS.help() in its after_help)",
                t.command
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src/") {
        let path = entry.expect("reading src/").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The literal ids findings are built with in `code`: `Finding::new("x.y", …)`,
/// `Finding::ok("x.y", …)`, `Finding::unknown("x.y", …)` and `let id = "x.y"`.
fn literal_ids(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in [
        "Finding::new(",
        "Finding::ok(",
        "Finding::unknown(",
        "let id = ",
    ] {
        for (at, _) in code.match_indices(marker) {
            let rest = code[at + marker.len()..].trim_start();
            let Some(lit) = rest.strip_prefix('"') else {
                continue;
            };
            let lit = &lit[..lit.find('"').unwrap_or(0)];
            if let Some(id) = as_id(lit) {
                out.push(id);
            }
        }
    }
    out
}

/// The harness holds what the tests make a command print; this catches an id built in the code
/// that no table declares, even where no test reaches it (a Ctrl-C path, a failed send).
#[test]
fn every_literal_finding_id_in_the_code_is_declared_by_a_command() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut undeclared = Vec::new();
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("reading a source file");
        // A file's unit tests (after `#[cfg(test)]`) may build made-up findings.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for id in literal_ids(code) {
            seen += 1;
            if !FINDING_IDS.iter().any(|t| t.declares(&id)) {
                let rel = file.strip_prefix(root()).unwrap_or(&file);
                undeclared.push(format!("{}: `{id}`", rel.display()));
            }
        }
    }
    assert!(
        seen > 100,
        "found only {seen} literal ids: is the scan broken?"
    );
    assert!(
        undeclared.is_empty(),
        "finding ids built in the code but declared by no command's FindingIds table:\n  {}",
        undeclared.join("\n  ")
    );
    assert_eq!(
        literal_ids(
            "Finding::new(\n  \"memory.sampling\", x); let id = \"a.b\"; Finding::ok(id, y)"
        ),
        vec!["memory.sampling", "a.b"]
    );
}

#[test]
fn the_id_lists_of_a_page_are_read_by_the_conventions() {
    let page = "## Findings\n\n| id | x |\n| --- | --- |\n| `a.b`, `c.d[<x>]` | `not.this` |\n\n## Finding ids\n\n`e.f` `g.h`\n";
    let lists = id_lists("t.md", page);
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0].ids, vec!["a.b", "c.d"]);
    assert_eq!(lists[1].ids, vec!["e.f", "g.h"]);
    assert!(names("check night", "check night") && !names("check nightly", "check night"));
}
