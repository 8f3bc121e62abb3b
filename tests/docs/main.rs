//! The docs test (`cargo test --test docs`): what the operator pages (`commands/*.md`) and
//! `--help` say about finding ids and example commands is what the code does. Pure (no server, no terminal), driven by the
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
//! line of a block without `$ ` prompts; not `text`/`yaml`/`json`/`sql` blocks), every
//! `` `opsbook …` `` span of a page (and of README.md and DESIGN.md), and every `opsbook …` line
//! or span of a help text (`after_help`) must parse with the clap tree. A line or span in
//! synopsis grammar (`[--flag]`, `a|b`, `NAME...`) stands for every command it describes. A word in angle brackets is a
//! placeholder (`<ID>`, `<name>`, `N`): see `examples::PLACEHOLDER_VALUES` for what it stands
//! for. The conventions are written for page authors in commands/mod.md.

mod blocks;
mod examples;
mod ids;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every operator page: `commands/<name>.md` → its text.
pub fn pages() -> BTreeMap<String, String> {
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

/// The backticked words of `text`.
pub fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

pub fn heading_text(line: &str) -> String {
    line.trim_start_matches('#')
        .replace('`', "")
        .trim()
        .to_string()
}
