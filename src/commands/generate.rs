//! The hidden `opsbook generate`: man/ and completions/ from the clap tree, so --help, man
//! pages and completions cannot disagree, and dist/systemd/ (the Debian package's units) from
//! the same code as `runbook schedule --print systemd`. `cargo gen` runs it; a test keeps them
//! fresh.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use clap_complete::Shell;

use crate::report::{Finding, Report, Status};
use crate::runbook::steps::StepRunner;
use crate::runbook::{catalog, model, systemd};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "generate",
    page: "commands/generate.md",
    ids: &["generate.written", "generate.stale", "generate.fresh"],
};

/// Regenerate man/, completions/ and dist/systemd/
#[derive(Debug, Args)]
#[command(after_help = FINDING_IDS.help())]
pub struct GenerateArgs {
    /// The project directory to write man/, completions/ and dist/systemd/ under
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Only compare; report the stale files and exit 2 when any differs
    #[arg(long)]
    pub check: bool,
}

/// Every generated file, relative to the project root, with its content.
/// `tree` is the whole clap command tree and `runner` parses the shipped runbooks' steps, both
/// handed down from the command line.
pub fn artifacts(
    tree: clap::Command,
    runner: &dyn StepRunner,
) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "opsbook.bash"),
        (Shell::Zsh, "_opsbook"),
        (Shell::Fish, "opsbook.fish"),
    ] {
        files.push((
            Path::new("completions").join(name),
            super::completions::script(shell, &mut tree.clone()),
        ));
        files.push((
            Path::new("completions/dynamic").join(name),
            super::completions::dynamic_script(shell)?,
        ));
    }
    // The man pages carry the package version only: with the commit of `--version` in them,
    // every commit would make them stale.
    let mut root = tree.version(env!("CARGO_PKG_VERSION"));
    root.build();
    man_pages(&root, "opsbook", &mut files)?;
    systemd_units(&mut files, runner)?;
    Ok(files)
}

/// Where the Debian package installs the binary and the operator pages (Cargo.toml's
/// `[package.metadata.deb]`).
const INSTALLED_BINARY: &str = "/usr/bin/opsbook";
const INSTALLED_DOCS: &str = "/usr/share/doc/opsbook/";

/// The service + timer of every shipped runbook that has a schedule, running the packaged
/// binary; installed disabled by the Debian package.
fn systemd_units(
    files: &mut Vec<(PathBuf, Vec<u8>)>,
    runner: &dyn StepRunner,
) -> anyhow::Result<()> {
    for (name, _) in catalog::SHIPPED {
        let rb = model::load(&catalog::resolve(name, &[])?, &[], &mut Vec::new(), runner)?;
        if rb.schedule.is_none() {
            continue;
        }
        let units = systemd::units(&rb, INSTALLED_BINARY)?;
        let dir = Path::new("dist/systemd");
        files.push((
            dir.join(format!("{}.service", units.name)),
            units.service.into_bytes(),
        ));
        files.push((
            dir.join(format!("{}.timer", units.name)),
            units.timer.into_bytes(),
        ));
    }
    Ok(())
}

/// A man page is read where the package installed it: `commands/check.md` in a help text
/// becomes the installed `/usr/share/doc/opsbook/commands/check.md`.
fn installed_doc_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("commands/") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let page_len = from["commands/".len()..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(from.len() - "commands/".len());
        let after = &from["commands/".len() + page_len..];
        let preceded_by_path = before.ends_with(|c: char| c == '/' || c.is_alphanumeric());
        if page_len > 0 && after.starts_with(".md") && !preceded_by_path {
            out.push_str(INSTALLED_DOCS);
        }
        out.push_str("commands/");
        rest = &from["commands/".len()..];
    }
    out.push_str(rest);
    out
}

fn man_pages(
    cmd: &clap::Command,
    name: &str,
    files: &mut Vec<(PathBuf, Vec<u8>)>,
) -> anyhow::Result<()> {
    let mut page = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    if let Some(text) = cmd.get_after_help() {
        page = page.after_help(installed_doc_paths(&text.to_string()));
    }
    if let Some(text) = cmd.get_after_long_help() {
        page = page.after_long_help(installed_doc_paths(&text.to_string()));
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .with_context(|| format!("rendering the man page of {name}"))?;
    let buf = examples_unfilled(&buf);
    files.push((Path::new("man").join(format!("{name}.1")), buf));
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        man_pages(sub, &format!("{name}-{}", sub.get_name()), files)?;
    }
    Ok(())
}

/// Generated files that are missing or differ under `root`.
pub fn stale(
    root: &Path,
    tree: clap::Command,
    runner: &dyn StepRunner,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (rel, content) in artifacts(tree, runner)? {
        if std::fs::read(root.join(&rel)).ok().as_deref() != Some(&content[..]) {
            out.push(rel);
        }
    }
    Ok(out)
}

/// `tree` is the whole clap command tree, handed down from the command line.
pub fn run(
    args: &GenerateArgs,
    tree: clap::Command,
    runner: &dyn StepRunner,
) -> anyhow::Result<Report> {
    let mut report = Report::new("generate");
    if args.check {
        let stale = stale(&args.out, tree, runner)?;
        for rel in &stale {
            report.push(
                Finding::new(
                    "generate.stale",
                    Status::Critical,
                    format!("{} is stale", rel.display()),
                )
                .hint("run `cargo gen` and commit man/, completions/ and dist/systemd/"),
            );
        }
        if stale.is_empty() {
            report.push(Finding::ok(
                "generate.fresh",
                "man/, completions/ and dist/systemd/ match the command tree and the runbooks",
            ));
        }
        return Ok(report);
    }
    for (rel, content) in artifacts(tree, runner)? {
        let path = args.out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, &content).with_context(|| format!("writing {}", path.display()))?;
        report.push(Finding::ok(
            "generate.written",
            format!("wrote {}", rel.display()),
        ));
    }
    Ok(report)
}

/// The man page with each run of indented lines after `.SH EXTRA` (the examples) between
/// `.nf` and `.fi`: man fills the text to the terminal's width, and broke an example command
/// line in two, as clap's help did. Hyphenation is off (`.nh` after `.TH`): it cut finding
/// ids (`bench.aggrega‐tion`) and flags at the line's end.
fn examples_unfilled(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut out = String::with_capacity(text.len() + 64);
    let (mut extra, mut unfilled) = (false, false);
    for line in text.lines() {
        if line.starts_with(".SH ") {
            extra = line == ".SH EXTRA";
        }
        let example = extra && line.starts_with("  ");
        if example && !unfilled {
            out.push_str(".nf\n");
        } else if !example && unfilled {
            out.push_str(".fi\n");
        }
        unfilled = example;
        out.push_str(line);
        out.push('\n');
        if line.starts_with(".TH ") {
            out.push_str(".nh\n");
        }
    }
    if unfilled {
        out.push_str(".fi\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::cli::Steps;
    use clap::CommandFactory as _;

    #[test]
    fn man_examples_are_not_filled() {
        let page = ".TH x 1\n.SH DESCRIPTION\n  indented prose\n.SH EXTRA\nExamples:\n  opsbook a\n  opsbook b\n\nExit status\n";
        assert_eq!(
            String::from_utf8(examples_unfilled(page.as_bytes())).unwrap(),
            ".TH x 1\n.nh\n.SH DESCRIPTION\n  indented prose\n.SH EXTRA\nExamples:\n.nf\n  opsbook a\n  opsbook b\n.fi\n\nExit status\n"
        );
    }

    #[test]
    fn generated_artifacts_are_fresh() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let stale = stale(root, Cli::command(), &Steps).unwrap();
        assert!(
            stale.is_empty(),
            "generated files are stale: {stale:?}\nrun `cargo gen` (opsbook generate --out .) and commit man/, completions/ and dist/systemd/"
        );
    }

    #[test]
    fn man_pages_point_at_the_installed_operator_pages() {
        assert_eq!(
            installed_doc_paths("See commands/check.md. Thresholds (see commands/config.md)."),
            "See /usr/share/doc/opsbook/commands/check.md. Thresholds (see /usr/share/doc/opsbook/commands/config.md)."
        );
        for kept in [
            "/usr/share/doc/opsbook/commands/check.md",
            "src/commands/check.rs",
            "commands/ holds them",
            "commands/",
        ] {
            assert_eq!(installed_doc_paths(kept), kept);
        }
        for (rel, content) in artifacts(Cli::command(), &Steps).unwrap() {
            if rel.starts_with("man") {
                let text = String::from_utf8(content).unwrap();
                assert_eq!(
                    installed_doc_paths(&text),
                    text,
                    "{} names an operator page by its source path",
                    rel.display()
                );
            }
        }
    }

    #[test]
    fn every_visible_subcommand_has_an_operator_page() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for sub in Cli::command().get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let page = root.join("commands").join(format!("{}.md", sub.get_name()));
            assert!(page.is_file(), "missing operator page {}", page.display());
        }
    }
}
