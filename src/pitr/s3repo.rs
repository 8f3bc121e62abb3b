//! The S3 repository `pitr setup --remote NAME` adds to the stanza config: pgBackRest's
//! `repoN-*` options built from `remotes.NAME` (endpoint, bucket, prefix, region, path style,
//! private CA), its keys and, for an encrypted remote, pgBackRest's own repository cipher.
//!
//! pgBackRest reads neither the `AWS_*` environment nor AWS's credentials file, and it runs
//! from archive_command in the postmaster's environment, so the keys it needs are written
//! into the stanza config, which is then 0600 and owned by the PostgreSQL account (who can
//! read the data itself anyway). Never on a command line.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

use super::plain;
use crate::clients::s3;
use crate::config::http_url;
use crate::config::remotes::Remote;

/// Everything the `repoN-*` lines need, resolved (secrets read) and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Repo {
    /// its number in the stanza config: 2 beside the local repo1, 1 with `--remote-only`
    pub index: u8,
    pub remote: String,
    pub bucket: String,
    /// `/` + prefix + `pgbackrest`
    pub path: String,
    pub region: String,
    pub host: String,
    /// None: pgBackRest's default (443)
    pub port: Option<u16>,
    pub path_style: bool,
    pub ca_file: Option<PathBuf>,
    /// None: the instance role (`repoN-s3-key-type=auto`)
    pub keys: Option<(String, String)>,
    /// the remote's passphrase, as pgBackRest's aes-256-cbc repository passphrase
    pub cipher_pass: Option<String>,
}

/// The repository path under the bucket: the remote's prefix, then `pgbackrest`.
pub fn repo_path(remote: &Remote) -> String {
    let prefix = remote.prefix.trim_matches('/');
    if prefix.is_empty() {
        "/pgbackrest".to_string()
    } else {
        format!("/{prefix}/pgbackrest")
    }
}

/// A value that goes on one line of pgBackRest's INI file as it is.
fn ini_value(what: &str, v: &str) -> anyhow::Result<()> {
    if v.is_empty() || v.trim() != v || v.chars().any(char::is_control) {
        bail!("{what} is empty, has surrounding blanks or a control character: pgBackRest's config cannot hold it");
    }
    Ok(())
}

/// First line of a 0600 secret file.
fn first_line(path: &Path, what: &str) -> anyhow::Result<String> {
    if let Some(mode) = crate::config::secrets::readable_by_others(path) {
        bail!("{}", crate::config::secrets::mode_error(what, path, mode));
    }
    let text = crate::bounded_read::read_text(path, what, crate::bounded_read::SECRET_FILE_LIMIT)?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// `remotes.NAME` as pgBackRest's S3 repository, or why it cannot be one.
pub fn resolve(name: &str, remote: &Remote) -> anyhow::Result<S3Repo> {
    let what = format!("pitr setup --remote {name}");
    let (host, port) = match &remote.endpoint {
        None => (format!("s3.{}.amazonaws.com", remote.region), None),
        Some(e) => {
            let t = http_url::Target::parse(e)
                .with_context(|| format!("{what}: remotes.{name}.endpoint"))?;
            if !t.tls {
                bail!("{what}: remotes.{name}.endpoint is http://; pgBackRest speaks only HTTPS to S3; nothing was changed\nhint: serve the endpoint over TLS (MinIO with a certificate, or a TLS proxy) and name its CA in remotes.{name}.ca_file when it is private");
            }
            if t.path != "/" {
                bail!("{what}: remotes.{name}.endpoint has a path ({}); pgBackRest takes a host and port only\nhint: put the path in remotes.{name}.prefix", t.path);
            }
            (t.host, (t.port != 443).then_some(t.port))
        }
    };
    if !remote
        .region
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        bail!(
            "{what}: remotes.{name}.region `{}` is not a region name",
            remote.region
        );
    }
    let path = repo_path(remote);
    if !plain(&path) || !plain(&host) {
        bail!("{what}: remotes.{name}: the prefix and endpoint host go unquoted into pgBackRest's config: use letters, digits, / _ . and -");
    }
    if let Some(ca) = &remote.ca_file {
        if !ca.is_absolute() || !plain(&ca.to_string_lossy()) {
            bail!("{what}: remotes.{name}.ca_file {}: give an absolute path of letters, digits, / _ . and -", ca.display());
        }
    }
    let cipher_pass = match &remote.encryption {
        None => None,
        Some(enc) => match &enc.passphrase_file {
            Some(p) => {
                let pass = first_line(p, "passphrase file")
                    .with_context(|| format!("{what}: remotes.{name}.encryption.passphrase_file"))?;
                ini_value(&format!("{what}: the passphrase in {}", p.display()), &pass)?;
                Some(pass)
            }
            None => bail!("{what}: remotes.{name} encrypts to age recipients, which pgBackRest cannot use (its repository cipher is aes-256-cbc with a passphrase); nothing was changed\nhint: give the remote a passphrase_file instead of recipients_file, or name a second remote without encryption for pgBackRest"),
        },
    };
    let keys = match s3::static_keys(remote).with_context(|| format!("{what}: the remote's keys"))? {
        None => None,
        Some(k) if k.session_token.is_some() => bail!("{what}: the keys are temporary (a session token): archive_command would start failing when they expire; nothing was changed\nhint: give pgBackRest long-lived keys of their own (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or remotes.{name}.credentials_file), or no keys at all to use the instance role"),
        Some(k) => {
            ini_value(&format!("{what}: the access key id"), &k.access_key_id)?;
            ini_value(&format!("{what}: the secret access key"), &k.secret_access_key)?;
            Some((k.access_key_id, k.secret_access_key))
        }
    };
    Ok(S3Repo {
        index: 2,
        remote: name.to_string(),
        bucket: remote.bucket.clone(),
        path,
        region: remote.region.clone(),
        host,
        port,
        path_style: remote.path_style,
        ca_file: remote.ca_file.clone(),
        keys,
        cipher_pass,
    })
}

impl S3Repo {
    /// Whether the lines hold a secret (the file must then be 0600).
    pub fn has_secret(&self) -> bool {
        self.keys.is_some() || self.cipher_pass.is_some()
    }

    /// The `repoN-*` lines of the `[global]` section.
    pub fn lines(&self, retention_full: u32) -> String {
        let n = self.index;
        let mut out = format!(
            "# repo{n}: remotes.{remote} (written by `opsbook pitr setup --remote {remote}`)\n\
             repo{n}-type=s3\n\
             repo{n}-s3-bucket={bucket}\n\
             repo{n}-s3-endpoint={host}\n\
             repo{n}-s3-region={region}\n\
             repo{n}-path={path}\n\
             repo{n}-bundle=y\n\
             repo{n}-retention-full={retention_full}\n",
            remote = self.remote,
            bucket = self.bucket,
            host = self.host,
            region = self.region,
            path = self.path,
        );
        if let Some(p) = self.port {
            out.push_str(&format!("repo{n}-storage-port={p}\n"));
        }
        if self.path_style {
            out.push_str(&format!("repo{n}-s3-uri-style=path\n"));
        }
        if let Some(ca) = &self.ca_file {
            out.push_str(&format!("repo{n}-storage-ca-file={}\n", ca.display()));
        }
        match &self.keys {
            Some((id, secret)) => out.push_str(&format!(
                "repo{n}-s3-key={id}\nrepo{n}-s3-key-secret={secret}\n"
            )),
            None => out.push_str(&format!("repo{n}-s3-key-type=auto\n")),
        }
        if let Some(pass) = &self.cipher_pass {
            out.push_str(&format!(
                "repo{n}-cipher-type=aes-256-cbc\nrepo{n}-cipher-pass={pass}\n"
            ));
        }
        out
    }

    /// The plan line (no secret in it).
    pub fn describe(&self) -> String {
        let n = self.index;
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "repo{n}: S3 bucket {} at {}{port}, path {} (remotes.{}), bundled; keys: {}; {}",
            self.bucket,
            self.host,
            self.path,
            self.remote,
            if self.keys.is_some() {
                "in the config file (0600, PostgreSQL account)"
            } else {
                "the instance role"
            },
            if self.cipher_pass.is_some() {
                "encrypted by pgBackRest (aes-256-cbc, the remote's passphrase)"
            } else {
                "not encrypted by pgBackRest"
            }
        )
    }
}

/// The repository number whose S3 bucket and path are `remotes.NAME`'s in a stanza config.
pub fn repo_of(conf: &str, remote: &Remote) -> Option<u8> {
    let value = |key: String| {
        conf.lines()
            .find_map(|l| l.trim().strip_prefix(&key).map(|v| v.trim().to_string()))
    };
    (1..=4u8).find(|n| {
        value(format!("repo{n}-type=")).as_deref() == Some("s3")
            && value(format!("repo{n}-s3-bucket=")).as_deref() == Some(remote.bucket.as_str())
            && value(format!("repo{n}-path=")) == Some(repo_path(remote))
    })
}

/// The `# repoN: remotes.NAME` note of an S3 repository in a stanza config (what
/// `pitr setup` without `--remote` would drop).
pub fn configured_remote(conf: &str) -> Option<(u8, String)> {
    conf.lines().find_map(|l| {
        let rest = l.strip_prefix("# repo")?;
        let (n, rest) = rest.split_once(": remotes.")?;
        let name = rest.split_whitespace().next()?;
        Some((n.parse().ok()?, name.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn remote(yaml: &str) -> Remote {
        let c = parse(yaml, "f").unwrap();
        c.remotes["off"].clone()
    }

    #[test]
    fn a_remote_becomes_repo2_lines() {
        let r = remote("remotes:\n  off:\n    bucket: bkt\n    prefix: prod/\n    endpoint: https://127.0.0.1:9443\n    path_style: true\n    ca_file: /etc/opsbook/ca.pem\n");
        let mut s3 = resolve("off", &r).unwrap();
        assert_eq!(s3.path, "/prod/pgbackrest");
        assert_eq!((s3.host.as_str(), s3.port), ("127.0.0.1", Some(9443)));
        s3.keys = Some(("AKID".into(), "SECRET".into()));
        let text = s3.lines(3);
        for line in [
            "repo2-type=s3\n",
            "repo2-s3-bucket=bkt\n",
            "repo2-s3-endpoint=127.0.0.1\n",
            "repo2-storage-port=9443\n",
            "repo2-s3-uri-style=path\n",
            "repo2-path=/prod/pgbackrest\n",
            "repo2-bundle=y\n",
            "repo2-retention-full=3\n",
            "repo2-storage-ca-file=/etc/opsbook/ca.pem\n",
            "repo2-s3-key=AKID\n",
            "repo2-s3-key-secret=SECRET\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(!s3.describe().contains("SECRET"));
        assert_eq!(repo_of(&text, &r), Some(2));
        assert_eq!(configured_remote(&text), Some((2, "off".to_string())));
        let other = remote("remotes:\n  off:\n    bucket: bkt\n    prefix: staging/\n");
        assert_eq!(repo_of(&text, &other), None);
    }

    #[test]
    fn pitr_remote_must_name_a_remote() {
        let ok = parse("remotes:\n  off:\n    bucket: bkt\npitr:\n  stanza: main\n  config: /etc/pgbackrest/x.conf\n  remote: off\n", "f").unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.pitr.unwrap().remote.as_deref(), Some("off"));
        let bad = parse("remotes:\n  off:\n    bucket: bkt\npitr:\n  stanza: main\n  config: /etc/pgbackrest/x.conf\n  remote: elsewhere\n", "f").unwrap();
        let e = bad.validate().unwrap_err().to_string();
        assert!(
            e.contains("pitr.remote: no remote `elsewhere`") && e.contains("off"),
            "{e}"
        );
    }

    #[test]
    fn what_pgbackrest_cannot_do_is_refused() {
        let e = resolve(
            "off",
            &remote("remotes:\n  off:\n    bucket: bkt\n    endpoint: http://127.0.0.1:9000\n"),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("only HTTPS"), "{e:#}");
        let e = resolve(
            "off",
            &remote("remotes:\n  off:\n    bucket: bkt\n    encryption: {recipients_file: /r}\n"),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("age recipients"), "{e:#}");
        let aws = resolve(
            "off",
            &remote("remotes:\n  off:\n    bucket: bkt\n    region: eu-west-1\n"),
        )
        .unwrap();
        assert_eq!(
            (aws.host.as_str(), aws.port),
            ("s3.eu-west-1.amazonaws.com", None)
        );
        assert_eq!(aws.path, "/pgbackrest");
    }
}
