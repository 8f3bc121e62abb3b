//! A command line opsbook cannot parse reads like every other error (commands/mod.md): one
//! `error:` line, then `hint:` lines, exit 3, nothing on stdout; `--help` and `--version` are
//! not errors.

use crate::harness::*;

/// Every line of stderr after the first is a `hint:`; the first is the `error:`.
fn assert_error_then_hints(run: &Run) {
    let mut lines = run.stderr.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{run}");
    for line in lines {
        assert!(
            line.starts_with("hint: "),
            "not a hint line: {line:?}\n{run}"
        );
    }
    assert_eq!(run.code, 3, "{run}");
    assert_eq!(run.stdout, "", "{run}");
}

#[test]
fn a_wrong_flag_is_one_error_line_and_hints() {
    let run = opsbook(&["check", "morning", "--verbos"]).run();
    assert_error_then_hints(&run);
    assert!(
        run.stderr
            .starts_with("error: unexpected argument '--verbos' found\n"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("hint: a similar argument exists: '--verbose'\n"),
        "{run}"
    );
    assert!(
        run.stderr
            .ends_with("hint: see `opsbook check morning --help`\n"),
        "{run}"
    );
}

#[test]
fn a_missing_argument_a_wrong_value_and_a_wrong_command_read_the_same_way() {
    let run = opsbook(&["config", "check"]).run();
    assert_error_then_hints(&run);
    assert!(
        run.stderr
            .starts_with("error: the following required arguments were not provided: <PATH>\n"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("hint: usage: opsbook config check <PATH>\n"),
        "{run}"
    );

    let run = opsbook(&["check", "morning", "--timeout", "soon"]).run();
    assert_error_then_hints(&run);
    assert!(
        run.stderr.contains("`soon` is not a number of seconds"),
        "{run}"
    );

    let run = opsbook(&["check", "mornin"]).run();
    assert_error_then_hints(&run);
    assert!(
        run.stderr
            .contains("hint: a similar subcommand exists: 'morning'"),
        "{run}"
    );
    assert!(
        run.stderr.contains("hint: see `opsbook check --help`"),
        "{run}"
    );
}

#[test]
fn help_and_version_are_not_errors() {
    for args in [vec!["check", "morning", "--help"], vec!["--version"]] {
        let run = opsbook(&args).run();
        assert_eq!(run.code, 0, "{run}");
        assert!(!run.stdout.is_empty() && run.stderr.is_empty(), "{run}");
    }
}
