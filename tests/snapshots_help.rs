//! Snapshot tests of `--help`: the long help of every command and subcommand, one snapshot per
//! command path (`opsbook`, `opsbook check`, `opsbook check morning`, ...), rendered from the
//! clap tree at a fixed width of 100 columns (what the binary prints when stdout is not a
//! terminal), so no server, terminal or environment enters.
//!
//! A changed help text fails the test (CI sets `CI`, so insta writes nothing there). To accept a
//! deliberate change: `INSTA_UPDATE=always cargo test --test snapshots_help`, then review
//! `git diff tests/snapshots/`.

use std::collections::BTreeSet;

use clap::CommandFactory as _;
use opsbook::cli::Cli;

/// The width the binary wraps to when stdout is not a terminal and COLUMNS is unset.
const WIDTH: usize = 100;

/// Every command path with its long help, depth first, in the tree's order. clap's generated
/// `help` subcommands are left out (they print the same text as `--help`).
fn every_help() -> Vec<(Vec<String>, String)> {
    let mut root = Cli::command().term_width(WIDTH);
    root.build();
    let mut out = Vec::new();
    walk(&mut root, vec!["opsbook".to_string()], &mut out);
    out
}

fn walk(cmd: &mut clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    // What the binary prints: clap's help with opsbook's layout of the examples.
    out.push((
        path.clone(),
        opsbook::cli::render_help(cmd, true, false, WIDTH),
    ));
    for sub in cmd.get_subcommands_mut() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut sub_path = path.clone();
        sub_path.push(sub.get_name().to_string());
        walk(sub, sub_path, out);
    }
}

/// The snapshot's name: the command path joined with `-` (`opsbook-check-morning`).
fn snapshot_name(path: &[String]) -> String {
    path.join("-")
}

#[test]
fn help_of_every_command_path() {
    let helps = every_help();
    assert!(
        helps.len() > 20,
        "walked only {} command paths",
        helps.len()
    );
    for (path, help) in &helps {
        insta::assert_snapshot!(snapshot_name(path), help);
    }
}

/// A command that is gone leaves no snapshot behind: the snapshot files are exactly the
/// walked command paths.
#[test]
fn no_snapshot_outlives_its_command() {
    let expected: BTreeSet<String> = every_help()
        .iter()
        .map(|(path, _)| format!("snapshots_help__{}.snap", snapshot_name(path)))
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let found: BTreeSet<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("snapshots_help__") && n.ends_with(".snap"))
                .collect()
        })
        .unwrap_or_default();
    let stale: Vec<&String> = found.difference(&expected).collect();
    assert!(
        stale.is_empty(),
        "snapshots of commands that no longer exist (delete them): {stale:?}"
    );
}

/// What is pinned is what an operator sees: the binary's own `--help` output (stdout not a
/// terminal, COLUMNS=100) is the rendering above, for a top-level command, a nested one and
/// the root.
#[test]
fn the_binary_prints_the_same_help() {
    let helps = every_help();
    for words in [
        &["opsbook"][..],
        &["opsbook", "check", "morning"],
        &["opsbook", "backup"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
            .args(&words[1..])
            .arg("--help")
            .env("COLUMNS", WIDTH.to_string())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .output()
            .expect("running opsbook --help");
        assert!(out.status.success(), "{words:?} --help: {out:?}");
        let (_, expected) = helps
            .iter()
            .find(|(path, _)| path.iter().map(String::as_str).eq(words.iter().copied()))
            .unwrap_or_else(|| panic!("{words:?} is not in the clap tree"));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            *expected,
            "{words:?} --help"
        );
    }
}

/// An example command line in a help is never broken, however narrow the terminal: clap
/// re-flowed the examples to the width, so `--target-ms 5` landed on a line of its own and the
/// pasted command lost it.
#[test]
fn example_lines_are_never_wrapped() {
    fn walk(cmd: &clap::Command, checked: &mut usize) {
        let help = opsbook::cli::render_help(cmd, true, false, 40);
        let after = cmd
            .get_after_long_help()
            .or(cmd.get_after_help())
            .map(|s| s.to_string())
            .unwrap_or_default();
        for example in after
            .lines()
            .filter(|l| l.trim_start().starts_with("opsbook "))
        {
            assert!(
                help.lines().any(|l| l == example),
                "`{}` --help at 40 columns broke the example {example:?}:\n{help}",
                cmd.get_name()
            );
            *checked += 1;
        }
        for sub in cmd.get_subcommands() {
            walk(sub, checked);
        }
    }
    let mut root = Cli::command();
    root.build();
    let mut checked = 0;
    walk(&root, &mut checked);
    assert!(checked > 20, "only {checked} examples found");
}
