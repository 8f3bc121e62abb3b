//! The docs hold: what the operator pages (`commands/*.md`) and `--help` say about finding ids
//! and example commands is what the code does. Pure (no server, no terminal), driven by the
//! finding-id registry (`opsbook::cli::FINDING_IDS`), the pages and the clap tree, so a new
//! command, flag or id is covered without touching this file.
//!
//! The chain that keeps "every id a command emits is documented" true:
//! 1. the integration tests' harness (`tests/cli/harness.rs`, `Run::json`) fails when a report
//!    carries an id its command's `FindingIds` table does not declare (emitted ⊆ declared);
//! 2. this file: every declared id is listed on the command's page, in the command's own part
//!    of it, and in its `--help`; every id a page lists is declared by a command of that page
//!    (declared = page = help); and every id the code builds a finding with literally is
//!    declared by some command (for the paths no test reaches).
//!
//! It also holds two reference blocks to the code: `config.md`'s every-key block (a valid
//! config with every key of `Config::default()`) and `backup.md`'s manifest example (a
//! `Manifest`, field for field).
//!
//! How a page lists ids (the conventions this file reads; see `commands/mod.md`):
//! - a markdown table whose first header cell is `id`: the backticked words of each row's first
//!   cell (`` `restore.leftover`, `backup.leftover` ``; a `[subject]` suffix is ignored);
//! - a section headed `Finding ids`: the lines made only of backticked ids.
//!
//! A list belongs to the commands its level-2 heading names (`## check night`); a list under a
//! heading that names no command (`## Findings`) belongs to the page's commands that have no
//! list of their own.
//!
//! Example commands: every command line in a code block of a page (a line after `$ `, or every
//! line of a block without `$ ` prompts; not `yaml`/`json`/`sql` blocks, not the Synopsis
//! grammar), every `` `opsbook …` `` span of a page, and every `opsbook …` line or span of a
//! help text (`after_help`) must parse with the clap tree. A word in angle brackets is a
//! placeholder (`<ID>`, `<name>`): see [`placeholder`] for the value it stands for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::{CommandFactory as _, Parser as _};
use opsbook::cli::{Cli, FINDING_IDS};
use opsbook::report::FindingIds;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every operator page: `commands/<name>.md` → its text.
fn pages() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let dir = root().join("commands");
    for entry in std::fs::read_dir(&dir).expect("reading commands/") {
        let path = entry.expect("reading commands/").path();
        if path.extension().is_some_and(|e| e == "md") {
            let name = format!(
                "commands/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let text = std::fs::read_to_string(&path).expect("reading a page");
            out.insert(name, text);
        }
    }
    assert!(out.len() > 10, "found only {} pages in {dir:?}", out.len());
    out
}

/// One list of finding ids on a page.
#[derive(Debug)]
struct IdList {
    /// The level-2 heading it is under, without `#` and backticks.
    heading: String,
    /// The page line it starts on (1-based), for messages.
    line: usize,
    ids: Vec<String>,
}

/// The backticked words of `text`.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
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

fn heading_text(line: &str) -> String {
    line.trim_start_matches('#')
        .replace('`', "")
        .trim()
        .to_string()
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

/// Whether a declared id (`metric.<name>`) and a listed one are the same entry.
fn same_id(declared: &str, listed: &str) -> bool {
    declared == listed
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
                if !listed.iter().any(|l| same_id(id, l)) {
                    problems.push(format!(
                        "{page}: `{id}` (declared by `{}`) is not in a findings list of that command's part of the page",
                        t.command
                    ));
                }
            }
        }
        for (l, o) in lists.iter().zip(&owners) {
            for id in &l.ids {
                if !o.iter().any(|t| t.ids().any(|d| same_id(d, id))) {
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

/// Whether an example's word is a placeholder for what the operator types: `<…>` (`<ID>`,
/// `<old primary>`, `<TAB>`) or an upper-case word as in a synopsis (`N`, `PATH`, `ID|PATH`).
fn is_placeholder(word: &str) -> bool {
    (word.starts_with('<') && word.ends_with('>'))
        || (word.chars().any(|c| c.is_ascii_uppercase())
            && word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "_|:".contains(c)))
}

/// The values a placeholder may stand for when the example is parsed, tried in turn for every
/// placeholder of the example: `1` (any string, number, path or duration), an address, a
/// shell. An example parses when one of them makes it parse.
const PLACEHOLDER_VALUES: &[&str] = &["1", "127.0.0.1", "bash"];

/// Split one command's text into words the way a POSIX shell would (quotes, backslashes);
/// `None` when the quoting is unbalanced.
fn shell_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.push(chars.next()?),
            (Some(_), c) => word.push(c),
            (None, '<') if !in_word => {
                // A placeholder (`<old primary>`) is one word, spaces and all.
                word.push('<');
                for c in chars.by_ref() {
                    word.push(c);
                    if c == '>' {
                        break;
                    }
                }
                in_word = true;
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                word.push(chars.next()?);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Whether the text before a word `opsbook` puts it where a shell runs a command: at the start,
/// after `$(`, `(`, `&&`, `||`, `|`, `;` or a backtick, or after a cron schedule, `sudo`,
/// `exec`, `eval "` or environment assignments (`NO_COLOR=1`). `COMPLETE=<shell> opsbook -- …`
/// is clap_complete's protocol at TAB, not a command line, and prose that happens to contain
/// the word ("another opsbook is writing") is not a command either.
fn at_command_position(prefix: &str) -> bool {
    let p = prefix.trim_end();
    let p = p.strip_suffix("eval \"$(").unwrap_or(p);
    if p.is_empty()
        || ["$(", "(", "&&", "||", "|", ";", "`", "\""]
            .iter()
            .any(|op| p.ends_with(op))
    {
        return true;
    }
    let tail = ["$(", "(", "&&", "||", "|", ";", "`"]
        .iter()
        .filter_map(|op| p.rfind(op).map(|i| i + op.len()))
        .max()
        .map_or(p, |i| &p[i..]);
    tail.split_whitespace().all(|w| {
        (w.contains('=') && !w.starts_with("COMPLETE="))
            || matches!(w, "sudo" | "exec" | "nice" | "time")
            || w.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c))
    })
}

/// The `opsbook …` commands in one line of shell: each starts at the word `opsbook` (or a
/// path ending in `/opsbook`) in a command position and ends at a pipe, `&&`, `||`, `;`,
/// `)`, a redirection, a comment or the end of the line. `<…>` is a placeholder, not a
/// redirection.
fn commands_in(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(pos) = line[from..].find("opsbook ") {
        let start = from + pos;
        from = start + "opsbook ".len();
        // The whole word: `opsbook` or `/usr/bin/opsbook` (`ExecStart=/usr/bin/opsbook`).
        let word_start = line[..start]
            .rfind(|c: char| c.is_whitespace() || "\"'(`".contains(c))
            .map_or(0, |i| i + 1);
        let word = &line[word_start..start];
        let word = word.strip_prefix("ExecStart=").unwrap_or(word);
        if !(word.is_empty() || word.starts_with('/') && word.ends_with('/')) {
            continue;
        }
        if !at_command_position(&line[..word_start]) {
            continue;
        }
        let quoted = word_start > 0 && bytes[word_start - 1] == b'"';
        let mut end = line.len();
        let mut quote: Option<u8> = None;
        let mut i = from;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'\'' => quote = Some(b),
                    b'"' if !quoted => quote = Some(b),
                    b'<' if bytes.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) => {
                        // A placeholder: skip to its `>`.
                        i += line[i..].find('>').unwrap_or(0);
                    }
                    b'"' | b'|' | b';' | b')' | b'>' | b'<' | b'`' | b'&' => {
                        end = i;
                        break;
                    }
                    b'#' if bytes[i - 1] == b' ' => {
                        end = i;
                        break;
                    }
                    _ => {}
                },
            }
            i += 1;
        }
        out.push(format!("opsbook {}", line[from..end].trim()));
        from = end.max(from);
    }
    out
}

/// One example command line and where it was found.
struct Example {
    at: String,
    command: String,
    /// A span in prose may name a command without its required arguments ("`opsbook
    /// completions` prints a script"): a reference, which must still name real commands and
    /// flags. A code block or a help text's example must parse whole.
    reference: bool,
}

/// A synopsis line's grammar (`[--maintain] [-q|-v]`) is not a command line.
fn is_grammar(line: &str) -> bool {
    line.contains(" [-") || line.contains(" [<") || line.contains(" [--")
}

/// A span in synopsis grammar (`opsbook check morning|night`, `opsbook backup [list\|verify]`,
/// `opsbook monitor [--watch INTERVAL]`): optional parts in `[…]`, alternatives joined by a
/// `|` with no space around it (a table cell escapes it as `\|`). A pipeline's ` | ` is not.
fn is_grammar_span(span: &str) -> bool {
    let span = span.replace("\\|", "|");
    span.contains('[')
        || span
            .split_whitespace()
            .any(|w| w.contains('|') && w != "|" && w != "||")
}

/// Every command a grammar span describes: the brackets dropped (each optional part given),
/// one command per alternative of each `a|b` word.
fn expand_grammar(span: &str) -> Vec<String> {
    let flat = span.replace("\\|", "|").replace(['[', ']'], "");
    let words: Vec<&str> = flat.split_whitespace().collect();
    let Some(at) = words.iter().position(|w| w.contains('|')) else {
        return vec![words.join(" ")];
    };
    words[at]
        .split('|')
        .filter(|alt| !alt.is_empty())
        .flat_map(|alt| {
            let mut w: Vec<&str> = words.clone();
            w[at] = alt;
            expand_grammar(&w.join(" "))
        })
        .collect()
}

/// Every example command of the pages.
fn page_examples(pages: &BTreeMap<String, String>) -> Vec<Example> {
    let mut out = Vec::new();
    for (page, text) in pages {
        let mut heading = String::new();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let trimmed = lines[i].trim();
            if let Some(info) = trimmed.strip_prefix("```") {
                let start = i + 1;
                let mut end = start;
                while end < lines.len() && !lines[end].trim().starts_with("```") {
                    end += 1;
                }
                let block = &lines[start..end.min(lines.len())];
                // ```text (output, a message) and ```yaml/json/sql hold no command lines.
                let code = matches!(info.trim(), "" | "sh" | "shell" | "bash" | "console");
                if code && heading != "Synopsis" {
                    let prompts = block.iter().any(|l| l.trim_start().starts_with("$ "));
                    for (k, l) in block.iter().enumerate() {
                        let at = format!("{page}:{}", start + k + 1);
                        let l = l.trim();
                        let (found, reference) = if let Some(cmd) = l.strip_prefix("$ ") {
                            (commands_in(cmd), false)
                        } else if !prompts && !l.starts_with('#') && !is_grammar(l) {
                            (commands_in(l), false)
                        } else {
                            // Output lines: only a quoted command (a hint's `opsbook …`).
                            (
                                backticked(l).into_iter().flat_map(commands_in).collect(),
                                true,
                            )
                        };
                        for command in found {
                            out.push(Example {
                                at: at.clone(),
                                command,
                                reference,
                            });
                        }
                    }
                }
                i = end + 1;
                continue;
            }
            if trimmed.starts_with('#') {
                heading = heading_text(trimmed);
            }
            for span in backticked(trimmed) {
                let spans = if is_grammar_span(span) {
                    expand_grammar(span)
                } else {
                    vec![span.to_string()]
                };
                for command in spans.iter().flat_map(|s| commands_in(s)) {
                    out.push(Example {
                        at: format!("{page}:{}", i + 1),
                        command,
                        reference: true,
                    });
                }
            }
            i += 1;
        }
    }
    out
}

/// Every example command of the help texts (`after_help`): its `opsbook …` lines must parse
/// whole; an `opsbook …` quoted in its prose is a reference.
fn help_examples() -> Vec<Example> {
    fn walk(cmd: &clap::Command, path: String, out: &mut Vec<Example>) {
        let texts = [cmd.get_after_help(), cmd.get_after_long_help()];
        for text in texts.into_iter().flatten() {
            for line in text.to_string().lines() {
                let l = line.trim();
                let l = l.strip_prefix("$ ").unwrap_or(l);
                let (found, reference) = if l.starts_with('#') || is_grammar(l) {
                    (Vec::new(), false)
                } else if !l.starts_with('`') && !commands_in(l).is_empty() {
                    (commands_in(l), false)
                } else {
                    (
                        backticked(l).into_iter().flat_map(commands_in).collect(),
                        true,
                    )
                };
                for command in found {
                    out.push(Example {
                        at: format!("`{path} --help`"),
                        command,
                        reference,
                    });
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()), out);
        }
    }
    let mut out = Vec::new();
    let mut root = Cli::command();
    root.build();
    walk(&root, "opsbook".to_string(), &mut out);
    out
}

/// Parse one example with the clap tree; `Err` says why not.
fn parses(example: &str, reference: bool) -> Result<(), String> {
    let words = shell_words(example).ok_or("unbalanced quotes")?;
    let mut first_error = None;
    for value in PLACEHOLDER_VALUES {
        let words = words.iter().map(|w| {
            if is_placeholder(w) {
                value.to_string()
            } else {
                w.clone()
            }
        });
        match parse_words(words, reference) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

fn parse_words(words: impl Iterator<Item = String>, reference: bool) -> Result<(), String> {
    use clap::error::ErrorKind;
    match Cli::try_parse_from(words) {
        Ok(_) => Ok(()),
        // `opsbook check --help` is an example too.
        Err(e) if !e.use_stderr() => Ok(()),
        Err(e)
            if reference
                && matches!(
                    e.kind(),
                    ErrorKind::MissingRequiredArgument
                        | ErrorKind::MissingSubcommand
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) =>
        {
            Ok(())
        }
        // A reference may name a flag without its value (`opsbook bench --sql`).
        Err(e) if reference && e.to_string().contains("but none was supplied") => Ok(()),
        Err(e) => Err(e
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()),
    }
}

#[test]
fn every_example_command_of_the_pages_and_the_help_parses() {
    let mut pages = pages();
    // The README's examples are the first a newcomer copies: held to the same rule.
    for doc in ["README.md", "DESIGN.md"] {
        let text = std::fs::read_to_string(root().join(doc)).expect("reading a top-level doc");
        pages.insert(doc.to_string(), text);
    }
    let mut examples = page_examples(&pages);
    let from_pages = examples.len();
    examples.extend(help_examples());
    assert!(
        from_pages > 100 && examples.len() > from_pages + 40,
        "found only {from_pages} examples on the pages and {} in --help: is the extraction broken?",
        examples.len() - from_pages
    );
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|x| {
            parses(&x.command, x.reference)
                .err()
                .map(|e| format!("{}: `{}`: {e}", x.at, x.command))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} example command(s) do not parse:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn the_extractors_find_what_an_operator_would_copy() {
    assert_eq!(
        commands_in("eval \"$(opsbook sandbox env)\" && opsbook check morning | jq .status"),
        vec!["opsbook sandbox env", "opsbook check morning"]
    );
    assert_eq!(
        commands_in("*/5 * * * * /usr/bin/opsbook monitor -q  # every five minutes"),
        vec!["opsbook monitor -q"]
    );
    assert_eq!(
        shell_words("opsbook bench --sql 'SELECT 1' \"a b\"").unwrap(),
        vec!["opsbook", "bench", "--sql", "SELECT 1", "a b"]
    );
    assert!(parses("opsbook check morning --format json", false).is_ok());
    assert!(parses("opsbook check morning --no-such-flag", true).is_err());
    assert!(parses("opsbook backup verify <ID> --restore-test", false).is_ok());
    assert!(parses(
        "opsbook replica-setup primary --standby-addr <old primary>",
        false
    )
    .is_ok());
    assert!(parses("opsbook config check", true).is_ok());
    assert!(parses("opsbook config check", false).is_err());
    assert!(commands_in("another opsbook is writing into it").is_empty());
    assert!(commands_in("COMPLETE=bash opsbook -- <words>").is_empty());
    assert_eq!(
        expand_grammar("opsbook backup [list\\|verify] [--dry-run]"),
        vec![
            "opsbook backup list --dry-run",
            "opsbook backup verify --dry-run"
        ]
    );
    assert!(is_grammar_span("opsbook monitor [--watch 60s]"));
    assert!(!is_grammar_span(
        "opsbook check morning --format json | jq .status"
    ));
    let page = "## Findings\n\n| id | x |\n| --- | --- |\n| `a.b`, `c.d[<x>]` | `not.this` |\n\n## Finding ids\n\n`e.f` `g.h`\n";
    let lists = id_lists("t.md", page);
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0].ids, vec!["a.b", "c.d"]);
    assert_eq!(lists[1].ids, vec!["e.f", "g.h"]);
    assert!(names("check night", "check night") && !names("check nightly", "check night"));
}

/// The first fenced block of `lang` after `heading` on a page.
fn block_after(page: &str, heading: &str, lang: &str) -> String {
    let text = &pages()[page];
    let from = text
        .find(heading)
        .unwrap_or_else(|| panic!("{page} has no `{heading}`"));
    let fence = format!("```{lang}\n");
    let start = from
        + text[from..]
            .find(&fence)
            .unwrap_or_else(|| panic!("{page}: no ```{lang} block after `{heading}`"))
        + fence.len();
    let end = start + text[start..].find("```").expect("an unclosed block");
    text[start..end].to_string()
}

/// `a.b` paths of the mapping keys of `v`, `depth` levels deep.
fn key_paths(v: &serde_json::Value, prefix: &str, depth: usize, out: &mut BTreeSet<String>) {
    if let (Some(map), true) = (v.as_object(), depth > 0) {
        for (k, child) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(path.clone());
            key_paths(child, &path, depth - 1, out);
        }
    }
}

#[test]
fn the_config_pages_every_key_block_is_every_key_and_a_valid_config() {
    let block = block_after("commands/config.md", "Every key, with its default", "yaml");
    opsbook::config::parse(&block, "commands/config.md's every-key block")
        .unwrap_or_else(|e| panic!("{e}"));
    let page: serde_json::Value = serde_saphyr::from_str(&block).expect("YAML");
    let defaults =
        serde_json::to_value(opsbook::config::Config::default()).expect("the default config");
    let (mut on_page, mut in_code) = (BTreeSet::new(), BTreeSet::new());
    key_paths(&page, "", 2, &mut on_page);
    key_paths(&defaults, "", 2, &mut in_code);
    // Below `bench.queries` the keys are the operator's own query names.
    on_page.retain(|k| !k.starts_with("bench.queries."));
    let missing: Vec<&String> = in_code.difference(&on_page).collect();
    assert!(
        missing.is_empty(),
        "config keys missing from commands/config.md's every-key block: {missing:?}"
    );
}

#[test]
fn the_backup_pages_manifest_example_is_a_manifest_as_opsbook_writes_it() {
    let block = block_after("commands/backup.md", "## The manifest", "json");
    let example: serde_json::Value = serde_json::from_str(&block).expect("JSON");
    let m: opsbook::backup::manifest::Manifest =
        serde_json::from_value(example.clone()).expect("the example reads as a Manifest");
    let written = serde_json::to_value(&m).expect("serialize");
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        keys(&example),
        keys(&written),
        "the example's fields are the manifest's"
    );
    // `pg_dump_version` is the version number (`tools::tool_version`), as `server_version`
    // starts with one.
    let v = &m.pg_dump_version;
    assert!(
        !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'),
        "pg_dump_version {v:?} is not a version number"
    );
    assert!(m.server_version.starts_with(v.as_str()));
    assert!(m.id.ends_with(&m.archive[..16]) && m.id.starts_with(&m.database));
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
