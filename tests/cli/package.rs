//! The Debian package, proven by installing it. `cargo deb` packages this test's own binary
//! (a debug build: the README's documented build is release), lintian must find no error, then
//! `dpkg -i` runs with its maintainer scripts inside a private mount namespace whose /usr, /etc
//! and /var are overlays: the install is real for every program run in there, and invisible to
//! this machine and to the tests running beside this one (an /etc/opsbook/opsbook.yaml
//! appearing under them would change their defaults). Then the operator's checks, an upgrade
//! over an edited conffile, and `dpkg --purge`, listing what remains.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::harness::{opsbook, Scratch};

/// Straight to stderr, past the test harness's capture: a skip, lintian's warnings and what a
/// purge leaves belong in the CI log of a passing run too.
fn say(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Why the package cannot be built or installed on this machine, if it cannot.
fn cannot_run() -> Option<String> {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !runs("cargo", &["deb", "--version"]) {
        return Some("cargo-deb is not installed (`bash .ci/deps` installs it)".into());
    }
    if !runs("dpkg", &["--version"]) {
        return Some("dpkg cannot run here (not a Debian system)".into());
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("dpkg -i needs root (CI runs as root)".into());
    }
    if !runs("unshare", &["--mount", "--propagation", "private", "true"]) {
        return Some(
            "dpkg cannot run in isolation: `unshare --mount` is refused (no CAP_SYS_ADMIN)".into(),
        );
    }
    None
}

/// `cargo deb` over a copy of the test's binary placed where cargo-deb looks for it.
fn build_package(scratch: &Scratch) -> std::path::PathBuf {
    let target = scratch.path().join("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_opsbook"),
        target.join("release/opsbook"),
    )
    .unwrap();
    let deb = scratch.path().join("opsbook.deb");
    let out = Command::new("cargo")
        .args(["deb", "--no-build", "--strip", "--fast", "--output"])
        .arg(&deb)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        out.status.success() && deb.is_file(),
        "cargo deb failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    deb
}

/// What each step printed (stdout and stderr) and its exit status.
struct Steps(BTreeMap<String, (i32, String)>);

impl Steps {
    fn get(&self, name: &str) -> &(i32, String) {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("step {name} did not run: {:?}", self.0))
    }

    /// The step's output, asserting it exited 0.
    fn ok(&self, name: &str) -> &str {
        let (code, out) = self.get(name);
        assert_eq!(*code, 0, "step {name} exited {code}:\n{out}");
        out
    }
}

/// The install, checks and purge, as one bash script run in a fresh mount namespace; each
/// step's output sits between `@@begin NAME` and `@@end NAME STATUS`.
const IN_NAMESPACE: &str = r##"
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive
for d in usr etc var; do
    mkdir -p "$OV/$d/upper" "$OV/$d/work"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$OV/$d/upper,workdir=$OV/$d/work" "/$d" || exit 90
done
step() { name=$1; shift; echo "@@begin $name"; "$@" 2>&1; echo "@@end $name $?"; }
files() { dpkg -L opsbook > "$OV/files"; cat "$OV/files"; }
remains() {
    while read -r f; do [ -e "$f" ] && echo "$f"; done < "$OV/files"
    for d in /etc/opsbook /var/lib/opsbook /var/backups/opsbook; do
        [ -e "$d" ] && find "$d"
    done
    return 0
}
complete_ch() {
    bash -c '
        source /usr/share/bash-completion/bash_completion || exit 10
        __load_completion opsbook || { echo "bash-completion found no completion for opsbook"; exit 11; }
        spec=$(complete -p opsbook) || exit 12
        fn=${spec##* -F }; fn=${fn%% *}
        COMP_LINE="opsbook ch"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(opsbook ch); COMP_CWORD=1; COMP_TYPE=9
        "$fn" opsbook ch opsbook
        printf "%s\n" "${COMPREPLY[@]}"'
}
edit_conffile() { echo "# edited by the operator" >> /etc/opsbook/opsbook.yaml; }
keep_a_backup() { mkdir -p /var/backups/opsbook/app && echo dump > /var/backups/opsbook/app/app.dump; }
step install dpkg -i "$DEB"
step files files
step man man -w opsbook-check-morning
step completion complete_ch
step units sh -c 'systemd-analyze verify /usr/lib/systemd/system/opsbook-*'
step config /usr/bin/opsbook config check /etc/opsbook/opsbook.yaml
step version /usr/bin/opsbook --version
step modes stat -c '%n %a %U:%G' /var/lib/opsbook /var/backups/opsbook /etc/opsbook/opsbook.yaml
step enabled sh -c 'ls /etc/systemd/system/timers.target.wants/ 2>/dev/null | grep opsbook; true'
step conffiles dpkg-query -W -f '${Conffiles}\n' opsbook
step edit edit_conffile
step upgrade dpkg -i "$DEB"
step edited tail -n 1 /etc/opsbook/opsbook.yaml
step backup keep_a_backup
step purge dpkg --purge opsbook
step status dpkg-query -W opsbook
step remains remains
"##;

fn install_and_purge(deb: &Path, scratch: &Scratch) -> Steps {
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "bash",
            "-c",
            IN_NAMESPACE,
        ])
        .env("DEB", deb)
        .env("OV", scratch.path().join("overlay"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the namespace script failed ({}):\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut steps = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("@@begin ") {
            current = Some((name.to_string(), String::new()));
        } else if let Some(end) = line.strip_prefix("@@end ") {
            let (name, code) = end.rsplit_once(' ').unwrap();
            let (_, output) = current.take().unwrap();
            steps.insert(name.to_string(), (code.parse().unwrap(), output));
        } else if let Some((_, output)) = current.as_mut() {
            output.push_str(line);
            output.push('\n');
        }
    }
    Steps(steps)
}

#[test]
fn the_debian_package_installs_where_the_system_looks_and_purges_clean() {
    // Shared: the timing test of check_health (exclusive) must not run beside cargo-deb.
    let _g = crate::harness::shared();
    if let Some(reason) = cannot_run() {
        say(&format!(
            "skipped the_debian_package_installs_where_the_system_looks_and_purges_clean: {reason}"
        ));
        return;
    }
    let scratch = Scratch::new("package");
    let deb = build_package(&scratch);

    match Command::new("lintian").arg(&deb).output() {
        Ok(out) => {
            let report = String::from_utf8_lossy(&out.stdout);
            say(&format!("lintian on the package:\n{report}"));
            let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E:")).collect();
            assert!(errors.is_empty(), "lintian errors:\n{}", errors.join("\n"));
        }
        Err(e) => say(&format!(
            "lintian not run ({e}): `bash .ci/deps` installs it"
        )),
    }

    let steps = install_and_purge(&deb, &scratch);
    steps.ok("install");
    let files = steps.ok("files");
    for path in [
        "/usr/bin/opsbook",
        "/usr/share/man/man1/opsbook-check-morning.1.gz",
        "/usr/share/bash-completion/completions/opsbook",
        "/usr/share/zsh/vendor-completions/_opsbook",
        "/usr/share/fish/vendor_completions.d/opsbook.fish",
        "/usr/share/doc/opsbook/commands/check.md",
        "/usr/share/doc/opsbook/examples/opsbook.yaml",
        "/etc/opsbook/opsbook.yaml",
        "/usr/lib/systemd/system/opsbook-runbook-morning.timer",
        "/usr/lib/tmpfiles.d/opsbook.conf",
    ] {
        assert!(
            files.lines().any(|l| l == path),
            "{path} not in the package:\n{files}"
        );
    }
    // Every installed page a man page points the reader to is in the package (issue 19: the
    // man pages said `commands/check.md`, which nothing installed).
    let man_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut referenced = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&man_dir).unwrap() {
        // roff writes a hyphen as `\-`.
        let text = std::fs::read_to_string(entry.unwrap().path())
            .unwrap()
            .replace("\\-", "-");
        assert!(
            !text.contains(" commands/") && !text.contains("(commands/"),
            "a man page names a source-tree path"
        );
        for (at, _) in text.match_indices("/usr/share/doc/opsbook/") {
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
                .collect();
            referenced.insert(path.trim_end_matches('.').to_string());
        }
    }
    assert!(referenced.contains("/usr/share/doc/opsbook/commands/check.md"));
    for path in &referenced {
        assert!(
            files.lines().any(|l| l == path),
            "a man page points to {path}, which the package does not install:\n{files}"
        );
    }
    let units: Vec<&str> = files
        .lines()
        .filter(|l| l.starts_with("/usr/lib/systemd/system/opsbook-"))
        .collect();
    for runbook in [
        "morning",
        "afternoon",
        "night",
        "monitor",
        "weekly-maintenance",
    ] {
        for kind in ["service", "timer"] {
            let unit = format!("/usr/lib/systemd/system/opsbook-runbook-{runbook}.{kind}");
            assert!(units.contains(&unit.as_str()), "{unit} missing: {units:?}");
        }
    }

    assert!(
        steps
            .ok("man")
            .contains("/usr/share/man/man1/opsbook-check-morning.1.gz"),
        "{}",
        steps.ok("man")
    );
    assert!(
        steps.ok("completion").lines().any(|l| l == "check"),
        "`opsbook ch<TAB>` does not complete to check: {}",
        steps.ok("completion")
    );
    steps.ok("units");
    assert!(steps
        .ok("config")
        .contains("is a valid opsbook configuration"));
    let version = steps.ok("version");
    assert!(
        version.starts_with(&format!("opsbook {} (", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let modes = steps.ok("modes");
    for line in [
        "/var/lib/opsbook 700 root:root",
        "/var/backups/opsbook 700 root:root",
        "/etc/opsbook/opsbook.yaml 644 root:root",
    ] {
        assert!(modes.lines().any(|l| l == line), "{line}:\n{modes}");
    }
    assert_eq!(steps.ok("enabled"), "", "the package enabled timers itself");
    assert!(
        steps.ok("conffiles").contains("/etc/opsbook/opsbook.yaml"),
        "{}",
        steps.ok("conffiles")
    );
    steps.ok("upgrade");
    assert_eq!(
        steps.ok("edited").trim(),
        "# edited by the operator",
        "an upgrade replaced the edited conffile"
    );

    steps.ok("purge");
    let (code, status) = steps.get("status");
    assert!(
        *code != 0 && status.contains("no packages found"),
        "still known to dpkg: {status}"
    );
    let remains = steps.ok("remains");
    say(&format!("left after dpkg --purge:\n{remains}"));
    for path in remains.lines() {
        let kept_backup = path.starts_with("/var/backups/opsbook");
        let shared_dir = files.lines().any(|l| l == path) && !path.contains("opsbook");
        assert!(
            kept_backup || shared_dir,
            "{path} was left behind by the purge:\n{remains}"
        );
    }
    assert!(
        remains
            .lines()
            .any(|l| l == "/var/backups/opsbook/app/app.dump"),
        "the purge deleted the operator's backups:\n{remains}"
    );
    assert!(
        steps
            .ok("purge")
            .contains("kept /var/backups/opsbook (it holds backups)"),
        "{}",
        steps.ok("purge")
    );
}

#[test]
fn the_packaged_units_are_what_runbook_schedule_prints() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/systemd");
    let mut shipped = 0;
    for name in [
        "morning",
        "afternoon",
        "night",
        "monitor",
        "weekly-maintenance",
        "health-alert",
    ] {
        let run = opsbook(&["runbook", "schedule", name, "--print", "systemd"]).run();
        assert_eq!(run.code, 0, "{run}");
        // The printed pair runs this binary; the packaged one runs /usr/bin/opsbook.
        let printed = run
            .stdout
            .replace(env!("CARGO_BIN_EXE_opsbook"), "/usr/bin/opsbook");
        for kind in ["service", "timer"] {
            let file = format!("opsbook-runbook-{name}.{kind}");
            let unit = std::fs::read_to_string(dir.join(&file)).unwrap();
            let header = format!("# /etc/systemd/system/{file}\n");
            assert!(
                printed.contains(&format!("{header}{unit}\n")),
                "dist/systemd/{file} differs from `runbook schedule {name} --print systemd`:\n{printed}\n--- packaged ---\n{unit}"
            );
            shipped += 1;
        }
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), shipped);
}

#[test]
fn the_packaged_config_is_valid_and_changes_no_default() {
    let packaged = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/opsbook.yaml");
    let packaged = packaged.to_str().unwrap();
    let run = opsbook(&["config", "check", packaged]).run();
    assert_eq!(run.code, 0, "{run}");
    let text = std::fs::read_to_string(packaged).unwrap();
    for secret in ["password:", "token:", "://opsbook:"] {
        assert!(!text.contains(secret), "{secret} in the packaged config");
    }
    // Installing the package must not change what a run does: the file states the defaults.
    let shown = |config: &str| {
        let run = opsbook(&["config", "show"])
            .format("json")
            .config(config)
            .run();
        assert_eq!(run.code, 0, "{run}");
        let mut config = run.json()["data"]["config"].clone();
        // Each run of the harness has its own state directory.
        config["state_dir"].take();
        config
    };
    assert_eq!(shown(packaged), shown("/dev/null"),);
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // A build from a tarball has no commit to name.
    let commit = match (
        git(&["rev-parse", "--short", "HEAD"]),
        git(&["log", "-1", "--format=%cd", "--date=short", "HEAD"]),
    ) {
        (Some(hash), Some(date)) => format!("{hash} {date}"),
        _ => "unknown".to_string(),
    };
    for flag in ["--version", "-V"] {
        let run = opsbook(&[flag]).run();
        assert_eq!(run.code, 0, "{run}");
        assert_eq!(
            run.stdout,
            format!("opsbook {} ({commit})\n", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
    }
}

/// `## [Unreleased]` first, then one `## [X.Y.Z] - YYYY-MM-DD` per release, newest first, none
/// newer than the version Cargo.toml (and so the package) carries.
#[test]
fn the_changelog_has_a_section_per_release() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("CHANGELOG.md"))
        .unwrap();
    let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(headings.first(), Some(&"## [Unreleased]"), "{headings:?}");
    let version = |v: &str| -> Vec<u64> {
        v.split('.')
            .map(|n| n.parse().unwrap_or_else(|_| panic!("version {v}")))
            .collect()
    };
    let mut newer = version(env!("CARGO_PKG_VERSION"));
    for (i, heading) in headings[1..].iter().enumerate() {
        let (v, date) = heading
            .strip_prefix("## [")
            .and_then(|h| h.split_once("] - "))
            .unwrap_or_else(|| panic!("not `## [X.Y.Z] - YYYY-MM-DD`: {heading}"));
        assert!(
            date.len() == 10 && date.chars().filter(|c| *c == '-').count() == 2,
            "{heading}"
        );
        let v = version(v);
        // The newest release may be Cargo.toml's version; each older one is strictly older.
        assert!(
            if i == 0 { v <= newer } else { v < newer },
            "{heading}: releases go newest first, and none is newer than Cargo.toml's {}",
            env!("CARGO_PKG_VERSION")
        );
        newer = v;
    }
}
