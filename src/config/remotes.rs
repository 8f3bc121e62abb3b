//! `remotes:` S3-compatible places that hold off-site copies of opsbook's backups.
//!
//! Credentials never live in the config: they come from the `AWS_*` environment, a 0600
//! AWS-style credentials file, or the instance role. Keys written inline are refused with a
//! message that says where they belong (the seeds kept them in the script).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One remote, `remotes.NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    /// the bucket that holds the backups
    pub bucket: String,
    /// key prefix inside the bucket (e.g. `prod/`); empty: the bucket's root
    #[serde(default)]
    pub prefix: String,
    /// the bucket's region (default us-east-1)
    #[serde(default = "default_region")]
    pub region: String,
    /// any S3-compatible endpoint (MinIO, IDrive e2, moto); default: AWS
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// path-style requests (`endpoint/bucket/key`) instead of virtual-host (`bucket.endpoint/key`)
    #[serde(default)]
    pub path_style: bool,
    /// PEM certificate(s) of a private CA that signs an https endpoint (trusted besides the
    /// system's roots; verification stays on)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// an AWS INI credentials file (aws_access_key_id / aws_secret_access_key); 0600 enforced
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
    /// the section of credentials_file to read (default: `default`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// client-side encryption with age: the remote never sees plaintext
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// refused: read so the error can say where keys belong instead of "unknown key"
    #[serde(default, skip_serializing)]
    pub access_key_id: Option<String>,
    /// refused (see access_key_id)
    #[serde(default, skip_serializing)]
    pub secret_access_key: Option<String>,
    /// refused (see access_key_id)
    #[serde(default, skip_serializing)]
    pub session_token: Option<String>,
}

/// `remotes.NAME.encryption`: age recipients (X25519 public keys) or a passphrase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// age recipients, one `age1...` public key a line (`#` comments allowed)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients_file: Option<PathBuf>,
    /// the age identity (`AGE-SECRET-KEY-1...`) that decrypts; 0600; needed by verify/restore
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<PathBuf>,
    /// a passphrase (first line) instead of recipients; 0600
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<PathBuf>,
}

fn default_region() -> String {
    "us-east-1".to_string()
}

/// The `remotes:` section: NAME -> remote.
pub type Remotes = BTreeMap<String, Remote>;

/// The rules serde cannot state, one message with a hint per problem (the first is reported).
pub fn validate(remotes: &Remotes) -> Result<(), String> {
    for (name, r) in remotes {
        let key = format!("remotes.{name}");
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "{key}: a remote's name is letters, digits, `-` and `_`\nhint: it is what `--remote NAME` takes"
            ));
        }
        if r.access_key_id.is_some() || r.secret_access_key.is_some() || r.session_token.is_some() {
            return Err(format!(
                "{key}: access keys are never written in the config\nhint: put them in the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment, or in a 0600 credentials file named by {key}.credentials_file (AWS INI format), or use the instance role"
            ));
        }
        if !valid_bucket(&r.bucket) {
            return Err(format!(
                "{key}.bucket: `{}` is not a bucket name\nhint: 3-63 lowercase letters, digits, `.` and `-`",
                r.bucket
            ));
        }
        if r.prefix.starts_with('/') || r.prefix.split('/').any(|p| p == ".." || p == ".") {
            return Err(format!(
                "{key}.prefix: `{}` must be a relative key prefix such as `prod/`\nhint: no leading `/`, no `.` or `..` parts",
                r.prefix
            ));
        }
        if let Some(e) = &r.endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://"))
                || crate::redact::inline_secret(e).is_some()
            {
                return Err(format!(
                    "{key}.endpoint: `{}` is not an http(s) URL without credentials\nhint: e.g. https://s3.eu-central-2.idrivee2.com or http://127.0.0.1:9000",
                    crate::redact::mask_url(e)
                ));
            }
        }
        if r.profile.is_some() && r.credentials_file.is_none() {
            return Err(format!(
                "{key}.profile names a section of credentials_file, which is not set\nhint: add {key}.credentials_file or remove profile"
            ));
        }
        if let Some(enc) = &r.encryption {
            match (&enc.recipients_file, &enc.passphrase_file) {
                (None, None) => {
                    return Err(format!(
                        "{key}.encryption: neither recipients_file nor passphrase_file is set\nhint: name an age recipients file (age1... public keys) or a 0600 passphrase file"
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "{key}.encryption: recipients_file and passphrase_file are both set\nhint: choose one: age encrypts to recipients or to a passphrase, not both"
                    ))
                }
                _ => {}
            }
            if enc.passphrase_file.is_some() && enc.identity_file.is_some() {
                return Err(format!(
                    "{key}.encryption.identity_file goes with recipients_file, not passphrase_file\nhint: the passphrase file both encrypts and decrypts"
                ));
            }
        }
    }
    Ok(())
}

/// S3's bucket naming rule (the part that matters for building URLs).
fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// The secret files the remotes name: `(key, path, what)`.
pub fn secret_files(remotes: &Remotes) -> Vec<(String, PathBuf, &'static str)> {
    let mut out = Vec::new();
    for (name, r) in remotes {
        if let Some(p) = &r.credentials_file {
            out.push((
                format!("remotes.{name}.credentials_file"),
                p.clone(),
                "credentials file",
            ));
        }
        if let Some(enc) = &r.encryption {
            if let Some(p) = &enc.identity_file {
                out.push((
                    format!("remotes.{name}.encryption.identity_file"),
                    p.clone(),
                    "age identity file",
                ));
            }
            if let Some(p) = &enc.passphrase_file {
                out.push((
                    format!("remotes.{name}.encryption.passphrase_file"),
                    p.clone(),
                    "age passphrase file",
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    const FULL: &str = "remotes:\n  offsite:\n    bucket: opsbook-backups\n    prefix: prod/\n    region: eu-west-1\n    endpoint: http://127.0.0.1:9000\n    path_style: true\n    credentials_file: /etc/opsbook/aws-credentials\n    profile: default\n    encryption:\n      recipients_file: /etc/opsbook/age-recipients\n      identity_file: /etc/opsbook/age-identity\n";

    #[test]
    fn the_documented_shape_parses() {
        let c = parse(FULL, "f").unwrap();
        c.validate().unwrap();
        let r = &c.remotes["offsite"];
        assert_eq!(r.bucket, "opsbook-backups");
        assert!(r.path_style);
        let c = parse("remotes:\n  a:\n    bucket: b-1\n", "f").unwrap();
        assert_eq!(c.remotes["a"].region, "us-east-1");
        assert!(!c.remotes["a"].path_style);
    }

    #[test]
    fn inline_keys_and_bad_shapes_are_refused() {
        for (yaml, says) in [
            ("remotes:\n  a:\n    bucket: bkt\n    secret_access_key: x\n", "never written in the config"),
            ("remotes:\n  a:\n    bucket: Bad_Bucket\n", "not a bucket name"),
            ("remotes:\n  a:\n    bucket: bkt\n    prefix: /abs\n", "relative key prefix"),
            ("remotes:\n  a:\n    bucket: bkt\n    endpoint: ftp://x\n", "http(s) URL"),
            ("remotes:\n  a:\n    bucket: bkt\n    endpoint: http://k:s@x\n", "http(s) URL"),
            ("remotes:\n  a:\n    bucket: bkt\n    encryption: {}\n", "neither recipients_file"),
            ("remotes:\n  a:\n    bucket: bkt\n    encryption: {recipients_file: r, passphrase_file: p}\n", "both set"),
            ("remotes:\n  a:\n    bucket: bkt\n    profile: p\n", "credentials_file"),
        ] {
            let c = parse(yaml, "f").unwrap();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(says), "{yaml}: {e}");
        }
        assert!(parse("remotes:\n  a:\n    bucket: bkt\n    keyz: 1\n", "f").is_err());
    }
}
