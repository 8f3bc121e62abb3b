//! Finding and reading the config: `--config` > `OPSBOOK_CONFIG` > /etc > ~/.config, the
//! YAML parse with positions in every error, and where the effective config came from.

use std::path::{Path, PathBuf};

use super::errors::yaml_error_parts;
use super::validate::validate_located;
use super::{secrets, Config, ConfigError, Origin};
use crate::redact::mask_urls_in;

/// Where the effective configuration came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Defaults,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Defaults => write!(f, "built-in defaults (no config file)"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The default search path, in precedence order after `--config` and `OPSBOOK_CONFIG`.
pub fn default_paths(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("/etc/opsbook/opsbook.yaml")];
    let xdg = env("XDG_CONFIG_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")));
    if let Some(dir) = xdg {
        paths.push(dir.join("opsbook/opsbook.yaml"));
    }
    paths
}

/// Pick and parse the config: `--config` > `OPSBOOK_CONFIG` > /etc > ~/.config; none is fine.
pub fn load(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Config, Source)> {
    let explicit = flag.map(Path::to_path_buf).or_else(|| {
        env("OPSBOOK_CONFIG")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(ConfigError {
                message: format!(
                    "config file {} does not exist\nhint: check the path given by --config or OPSBOOK_CONFIG, or run without it to use the built-in defaults",
                    path.display()
                ),
            }
            .into());
        }
        let cfg = load_file(&path)?;
        return Ok((cfg, Source::File(path)));
    }
    for path in default_paths(env) {
        if path.exists() {
            let cfg = load_file(&path)?;
            return Ok((cfg, Source::File(path)));
        }
    }
    Ok((Config::default(), Source::Defaults))
}

/// Parse one file, with `file:line:column` in every error, and refuse it when it leaks a
/// secret (`secrets::check`).
pub fn load_file(path: &Path) -> anyhow::Result<Config> {
    let cfg = parse_file(path)?;
    secrets::check(path, &cfg)?;
    Ok(cfg)
}

/// Read and parse one file without the secret rules: `config check` reports every breach of
/// them as a finding instead of stopping at the first.
pub fn parse_file(path: &Path) -> anyhow::Result<Config> {
    let text =
        crate::bounded_read::read_text(path, "config file", crate::bounded_read::YAML_FILE_LIMIT)
            .map_err(|e| ConfigError {
            message: e.to_string(),
        })?;
    Ok(parse(&text, &path.display().to_string())?)
}

/// Parse YAML text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let cfg = serde_saphyr::from_str::<Config>(text).map_err(|e| {
            let (at, what, snippet) = yaml_error_parts(&e, origin);
            let mut message = format!("invalid config {at}: {what}");
            if !snippet.is_empty() {
                // The snippet quotes the file: a password in a URL there must not be shown.
                let shown: Vec<String> = snippet.iter().map(|l| mask_urls_in(l)).collect();
                message.push('\n');
                message.push_str(&shown.join("\n"));
            }
            message.push_str(
                "\nhint: fix the key or value at that position (see `opsbook config show` for every key and its default)",
            );
            ConfigError { message }
        })?;
    validate_located(&cfg, Origin { name: origin, text })?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_comment_only_files_are_the_defaults() {
        assert_eq!(parse("", "f").unwrap(), Config::default());
        assert_eq!(parse("# nothing\n", "f").unwrap(), Config::default());
    }

    #[test]
    fn unknown_key_names_file_line_and_column() {
        let e = parse("thresholds:\n  disk_pct:\n    warnin: 70\n", "/etc/x.yaml").unwrap_err();
        assert!(
            e.message
                .starts_with("invalid config /etc/x.yaml:3:5: unknown field `warnin`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("expected one of"), "{}", e.message);
    }

    #[test]
    fn type_error_names_the_position() {
        let e = parse("timeouts:\n  connect: soon\n", "c.yaml").unwrap_err();
        assert!(e.message.contains("c.yaml:2:"), "{}", e.message);
        assert!(e.message.contains("duration"), "{}", e.message);
    }

    #[test]
    fn error_snippets_never_show_a_url_password() {
        assert_eq!(
            mask_urls_in("  urls: ['http://app:pw@h:1/x', redis://:pw2@r/0]"),
            "  urls: ['http://app:***@h:1/x', redis://:***@r/0]"
        );
        assert_eq!(mask_urls_in("no url here"), "no url here");
        let e = parse(
            "postgres: {url: 'postgres://a:hunter2@h/db', bogus: 1}\n",
            "f.yaml",
        )
        .unwrap_err();
        assert!(e.message.contains("bogus"), "{}", e.message);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.contains("postgres://a:***@h/db"), "{}", e.message);
    }
}
