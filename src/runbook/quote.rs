//! Quoting a command line for the two schedulers `runbook schedule` prints for: a crontab
//! line goes through cron (which turns an unescaped `%` into a newline) and then `sh -c`; a
//! systemd `ExecStart=` is split by systemd itself (systemd.syntax(7)), which expands `%`
//! specifiers and `$VARIABLES` first. A path holding a space, a quote, `%` or `$` must reach
//! opsbook as the same one argument through either.

/// Characters a POSIX shell word may hold without quoting.
fn shell_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./=:,+@-".contains(c)
}

/// One argument for `sh`: as is when every character is safe, else in single quotes (a
/// single quote inside becomes `'\''`).
pub fn shell_word(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(shell_safe) {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// The command part of a crontab line: shell words, then every `%` escaped as `\%` (cron
/// removes the backslash and hands `sh` a plain `%`).
pub fn cron_command(argv: &[&str]) -> String {
    argv.iter()
        .map(|a| shell_word(a))
        .collect::<Vec<_>>()
        .join(" ")
        .replace('%', r"\%")
}

/// One `ExecStart=` argument: as is when safe, else in double quotes with `\` and `"`
/// escaped; `%` doubled (a specifier otherwise) and `$` doubled (a variable otherwise).
pub fn systemd_word(arg: &str) -> String {
    systemd_quoted(&arg.replace('$', "$$"), arg)
}

fn systemd_quoted(escaped: &str, arg: &str) -> String {
    let escaped = escaped.replace('%', "%%");
    if !arg.is_empty() && arg.chars().all(shell_safe) {
        return escaped;
    }
    let mut out = String::from("\"");
    for c in escaped.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\t' => out.push_str(r"\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An `ExecStart=` command line. The executable is not variable-expanded (a `$` stays as
/// is) and systemd refuses one whose path holds a quote, a backslash or a control character
/// ("Executable name contains special characters"): that is an error naming the path.
pub fn systemd_command(argv: &[&str]) -> Result<String, String> {
    let Some((exe, args)) = argv.split_first() else {
        return Err("no command to run".into());
    };
    if exe.contains(['\'', '"', '\\']) || exe.chars().any(char::is_control) {
        return Err(format!(
            "systemd refuses an executable path holding a quote, a backslash or a control character: {exe}"
        ));
    }
    let mut words = vec![systemd_quoted(exe, exe)];
    words.extend(args.iter().map(|a| systemd_word(a)));
    Ok(words.join(" "))
}

/// Free text on one systemd line (`Description=`): no newline, `%` not a specifier.
pub fn systemd_text(text: &str) -> String {
    one_line(text).replace('%', "%%")
}

/// Free text on one line (a crontab comment): a newline would end the comment and start a
/// line cron reads as a job.
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r']).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("/usr/bin/opsbook"), "/usr/bin/opsbook");
        assert_eq!(shell_word("/a b/c"), "'/a b/c'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn cron_escapes_percent_after_quoting() {
        assert_eq!(
            cron_command(&["/x y/opsbook", "run", "/r/50%.yaml"]),
            r"'/x y/opsbook' run '/r/50\%.yaml'"
        );
    }

    #[test]
    fn systemd_quotes_and_doubles_specifiers() {
        assert_eq!(
            systemd_command(&["/x $y/opsbook", "run", "/r/50%$HOME\"\\.yaml", "-q"]).unwrap(),
            r#""/x $y/opsbook" run "/r/50%%$$HOME\"\\.yaml" -q"#
        );
        assert!(systemd_command(&["/x'y/opsbook"])
            .unwrap_err()
            .contains("/x'y/opsbook"));
        assert_eq!(systemd_word("/opt/100%/bin"), "\"/opt/100%%/bin\"");
        assert_eq!(systemd_text("50% done\nnext"), "50%% done next");
    }
}
