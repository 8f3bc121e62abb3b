//! Every example command of the pages, README.md, DESIGN.md and `--help` parses with the
//! clap tree.

use std::collections::BTreeMap;

use clap::{CommandFactory as _, Parser as _};
use opsbook::cli::Cli;

use crate::{backticked, pages, root};

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
    // `NAME...` and `URL ...`: a repeatable part, given once.
    let words: Vec<&str> = flat
        .split_whitespace()
        .filter(|w| *w != "..." && *w != "…")
        .map(|w| w.strip_suffix("...").unwrap_or(w))
        .collect();
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
                if code {
                    let prompts = block.iter().any(|l| l.trim_start().starts_with("$ "));
                    for (k, l) in block.iter().enumerate() {
                        let at = format!("{page}:{}", start + k + 1);
                        let l = l.trim();
                        let (found, reference) = if let Some(cmd) = l.strip_prefix("$ ") {
                            (commands_in(cmd), false)
                        } else if !prompts && !l.starts_with('#') && is_grammar_span(l) {
                            // A synopsis line: every command its grammar describes (its
                            // continuation lines, not starting with opsbook, are not read).
                            let all = expand_grammar(l);
                            (all.iter().flat_map(|c| commands_in(c)).collect(), true)
                        } else if !prompts && !l.starts_with('#') {
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
                let (found, reference) = if l.starts_with('#') {
                    (Vec::new(), false)
                } else if l.starts_with("opsbook ") && is_grammar_span(l) {
                    let all = expand_grammar(l);
                    (all.iter().flat_map(|c| commands_in(c)).collect(), true)
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
    let holes: Vec<usize> = (0..words.len())
        .filter(|&i| is_placeholder(&words[i]))
        .collect();
    // Every placeholder on its own: `--standby-addr ADDR --slot NAME` needs an address for
    // one and a name for the other. (At most 3^5 parses; more placeholders share one value.)
    let n = PLACEHOLDER_VALUES.len();
    let combos = if holes.len() <= 5 {
        n.pow(holes.len() as u32)
    } else {
        n
    };
    let mut first_error = None;
    for combo in 0..combos {
        let mut words = words.clone();
        for (k, &i) in holes.iter().enumerate() {
            let pick = if holes.len() <= 5 {
                (combo / n.pow(k as u32)) % n
            } else {
                combo
            };
            words[i] = PLACEHOLDER_VALUES[pick].to_string();
        }
        match parse_words(words.into_iter(), reference) {
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
    // One line per place and error (a synopsis line expands to many commands).
    let mut seen = std::collections::BTreeSet::new();
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|x| {
            parses(&x.command, x.reference)
                .err()
                .filter(|e| seen.insert((x.at.clone(), e.clone())))
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
    assert_eq!(
        expand_grammar("opsbook diagnose network [--endpoint URL ...] [--host H:P]..."),
        vec!["opsbook diagnose network --endpoint URL --host H:P"]
    );
    assert!(parses(
        "opsbook replica-setup primary --standby-addr ADDR --slot NAME",
        false
    )
    .is_ok());
    assert!(!is_grammar_span(
        "opsbook check morning --format json | jq .status"
    ));
}
