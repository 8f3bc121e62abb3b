//! The commit `opsbook --version` names: `git rev-parse --short HEAD` and the commit's date when
//! built from a git checkout, "unknown" in a tarball build or without git. No dependency.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    // Only this project's own checkout counts: a source tarball unpacked inside some other
    // repository must not claim that repository's commit.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let ours = git(&["rev-parse", "--show-toplevel"])
        .and_then(|top| std::fs::canonicalize(top).ok())
        .zip(std::fs::canonicalize(&manifest_dir).ok())
        .is_some_and(|(top, dir)| top == dir);
    let commit = ours
        .then(|| git(&["rev-parse", "--short", "HEAD"]))
        .flatten()
        .map(
            |hash| match git(&["log", "-1", "--format=%cd", "--date=short", "HEAD"]) {
                Some(date) => format!("{hash} {date}"),
                None => hash,
            },
        )
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=OPSBOOK_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it points to (a commit) and
    // packed-refs. `--git-path` finds them in a worktree too.
    // A path that does not exist would make cargo rerun this script on every build.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for path in watch.iter().filter(|_| ours) {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            if std::path::Path::new(&p).exists() {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
