//! The hidden `opsbook generate`: man/ and completions/ from the clap tree, so --help, man
//! pages and completions cannot disagree. `cargo gen` runs it; a test keeps them fresh.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::report::{Finding, Report, Status};

/// Regenerate man/ and completions/
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The project directory to write man/ and completions/ under
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Only compare; report the stale files and exit 2 when any differs
    #[arg(long)]
    pub check: bool,
}

/// Every generated file, relative to the project root, with its content.
pub fn artifacts() -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "opsbook.bash"),
        (Shell::Zsh, "_opsbook"),
        (Shell::Fish, "opsbook.fish"),
    ] {
        files.push((
            Path::new("completions").join(name),
            super::completions::script(shell),
        ));
        files.push((
            Path::new("completions/dynamic").join(name),
            super::completions::dynamic_script(shell)?,
        ));
    }
    let mut root = Cli::command();
    root.build();
    man_pages(&root, "opsbook", &mut files)?;
    Ok(files)
}

fn man_pages(
    cmd: &clap::Command,
    name: &str,
    files: &mut Vec<(PathBuf, Vec<u8>)>,
) -> anyhow::Result<()> {
    let page = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .with_context(|| format!("rendering the man page of {name}"))?;
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
pub fn stale(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (rel, content) in artifacts()? {
        if std::fs::read(root.join(&rel)).ok().as_deref() != Some(&content[..]) {
            out.push(rel);
        }
    }
    Ok(out)
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("generate");
    if args.check {
        let stale = stale(&args.out)?;
        for rel in &stale {
            report.push(
                Finding::new(
                    "generate.stale",
                    Status::Critical,
                    format!("{} is stale", rel.display()),
                )
                .hint("run `cargo gen` and commit man/ and completions/"),
            );
        }
        if stale.is_empty() {
            report.push(Finding::ok(
                "generate.fresh",
                "man/ and completions/ match the command tree",
            ));
        }
        return Ok(report);
    }
    for (rel, content) in artifacts()? {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_artifacts_are_fresh() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let stale = stale(root).unwrap();
        assert!(
            stale.is_empty(),
            "generated files are stale: {stale:?}\nrun `cargo gen` (opsbook generate --out .) and commit man/ and completions/"
        );
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
