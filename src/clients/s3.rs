//! An S3-compatible bucket (`remotes.NAME` in the config) through `object_store`: AWS, MinIO,
//! IDrive e2, moto. It signs the requests, retries the idempotent ones and uploads in parts;
//! this module only builds it from the config and bounds what it reads back.
//!
//! Credentials: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` from the
//! environment (object_store's `from_env`), else the remote's 0600 credentials file, else the
//! instance role (object_store asks the metadata service when it has no keys).

use std::path::Path as FsPath;
use std::time::Duration;

use anyhow::{bail, Context as _};
use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectMeta, ObjectStore, RetryConfig};

use crate::config::remotes::Remote;

/// A bucket and the prefix inside it that opsbook owns.
pub struct Bucket {
    /// The remote's name in the config (what `--remote` took).
    pub name: String,
    /// The bucket's name at the provider.
    pub bucket: String,
    pub store: AmazonS3,
    prefix: String,
    /// The bucket's URL as object_store addresses it (`https://s3.REGION.amazonaws.com/B`,
    /// `ENDPOINT/B` path-style, or the endpoint itself when virtual-hosted).
    url: String,
    region: String,
    connect_timeout: Duration,
    /// the remote's private CA (`ca_file`, PEM), trusted by every client of this bucket
    ca_pem: Option<Vec<u8>>,
}

/// The S3 error document (`<Error><Code>..</Code><Message>..</Message></Error>`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct S3Error {
    pub code: String,
    pub message: String,
}

/// The most a bucket's configuration answer may be (they are a few hundred bytes).
pub const CONFIG_ANSWER_LIMIT: usize = 64 * 1024;

/// `bucket_endpoint` the way object_store's builder derives it.
fn bucket_url(remote: &Remote) -> String {
    let (bucket, region) = (&remote.bucket, &remote.region);
    match (&remote.endpoint, !remote.path_style) {
        (Some(e), true) => e.trim_end_matches('/').to_string(),
        (Some(e), false) => format!("{}/{bucket}", e.trim_end_matches('/')),
        (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    }
}

/// The keys of one credentials-file profile (or of the `AWS_*` environment).
#[derive(Debug, PartialEq)]
pub struct FileKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// `[profile]` of an AWS INI credentials file (both `[name]` and `[profile name]` headers).
fn profile_keys(text: &str, profile: &str) -> Option<FileKeys> {
    let mut in_section = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let h = h.trim();
            in_section = h == profile || h.strip_prefix("profile ").map(str::trim) == Some(profile);
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(FileKeys {
        access_key_id: id?,
        secret_access_key: secret?,
        session_token: token,
    })
}

fn read_credentials_file(path: &FsPath, profile: &str) -> anyhow::Result<FileKeys> {
    std::fs::metadata(path)
        .with_context(|| format!("reading credentials file {}", path.display()))?;
    if let Some(mode) = crate::config::secrets::readable_by_others(path) {
        bail!(
            "{}",
            crate::config::secrets::mode_error("credentials file", path, mode)
        );
    }
    let text = crate::bounded_read::read_text(
        path,
        "credentials file",
        crate::bounded_read::SECRET_FILE_LIMIT,
    )?;
    profile_keys(&text, profile).with_context(|| {
        format!(
            "credentials file {}: no [{profile}] section with aws_access_key_id and aws_secret_access_key\nhint: write them in AWS's INI format under [{profile}]",
            path.display()
        )
    })
}

/// The remote's private CA (`ca_file`) as PEM bytes, bounded; None without one.
fn ca_pem(name: &str, remote: &Remote) -> anyhow::Result<Option<Vec<u8>>> {
    remote
        .ca_file
        .as_ref()
        .map(|ca| {
            crate::bounded_read::read_bytes(ca, "CA file", 1 << 20)
                .with_context(|| format!("remote {name}: reading ca_file"))
        })
        .transpose()
}

/// Timeouts, and the remote's private CA (`ca_file`) besides the system's roots.
fn client_options(
    name: &str,
    remote: &Remote,
    connect_timeout: Duration,
    ca_pem: Option<&[u8]>,
) -> anyhow::Result<ClientOptions> {
    let mut o = ClientOptions::new()
        .with_connect_timeout(connect_timeout)
        .with_timeout(Duration::from_secs(120));
    if let Some(pem) = ca_pem {
        let ca = remote.ca_file.as_deref().unwrap_or(FsPath::new(""));
        let certs = object_store::Certificate::from_pem_bundle(pem).with_context(|| {
            format!(
                "remote {name}: ca_file {} holds no PEM certificate",
                ca.display()
            )
        })?;
        for c in certs {
            o = o.with_root_certificate(c);
        }
    }
    Ok(o)
}

impl Bucket {
    /// The bucket `remote` names, with its credentials resolved (not yet contacted).
    pub fn open(name: &str, remote: &Remote, connect_timeout: Duration) -> anyhow::Result<Bucket> {
        let ca_pem = ca_pem(name, remote)?;
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&remote.bucket)
            .with_region(&remote.region)
            .with_virtual_hosted_style_request(!remote.path_style)
            // A refused or dead remote must fail the backup in seconds, not after
            // object_store's default three minutes of retries.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            })
            .with_client_options(client_options(
                name,
                remote,
                connect_timeout,
                ca_pem.as_deref(),
            )?);
        if let Some(e) = &remote.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        let env_has_keys = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
        if let (Some(file), false) = (&remote.credentials_file, env_has_keys) {
            let keys = read_credentials_file(file, remote.profile.as_deref().unwrap_or("default"))?;
            b = b
                .with_access_key_id(keys.access_key_id)
                .with_secret_access_key(keys.secret_access_key);
            if let Some(t) = keys.session_token {
                b = b.with_token(t);
            }
        }
        let store = b.build().with_context(|| {
            format!(
                "remote {name}: building the S3 client for bucket {}",
                remote.bucket
            )
        })?;
        let mut prefix = remote.prefix.trim_end_matches('/').to_string();
        if !prefix.is_empty() {
            prefix.push('/');
        }
        Ok(Bucket {
            name: name.to_string(),
            bucket: remote.bucket.clone(),
            store,
            prefix,
            url: bucket_url(remote),
            region: remote.region.clone(),
            connect_timeout,
            ca_pem,
        })
    }

    /// GET a bucket subresource (`versioning`, `object-lock`): object_store has no call for
    /// these, so the request is signed with its SigV4 signer ([`AwsAuthorizer`]) and the
    /// credentials it resolved (environment, credentials file, instance role), and sent with
    /// reqwest. The status and the body (bounded); an error answer's code and message.
    pub async fn get_subresource(&self, sub: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        use object_store::aws::AwsAuthorizer;
        let what = || format!("remote {}: GET ?{sub} on bucket {}", self.name, self.bucket);
        let url = format!("{}/?{sub}", self.url.trim_end_matches('/'));
        let credential = self
            .store
            .credentials()
            .get_credential()
            .await
            .with_context(what)?;
        let mut req: object_store::client::HttpRequest = hyper::Request::builder()
            .method(hyper::Method::GET)
            .uri(&url)
            .body(Vec::<u8>::new().into())
            .with_context(what)?;
        AwsAuthorizer::new(&credential, "s3", &self.region).authorize(&mut req, None);
        let web = crate::clients::web::Web::with_roots(
            self.connect_timeout,
            Duration::from_secs(30),
            self.ca_pem.as_deref(),
        )?;
        web.get_with_headers(&url, req.headers().clone(), CONFIG_ANSWER_LIMIT)
            .await
            .with_context(what)
    }

    /// The object key of `rel` (a path opsbook built, never a raw key from the bucket).
    pub fn key(&self, rel: &str) -> Path {
        Path::from(format!("{}{rel}", self.prefix))
    }

    /// `rel` of a key under the prefix (None for keys outside it).
    pub fn relative<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(&self.prefix)
    }

    /// Every object under `rel` (a "directory" of ours, e.g. `app/`).
    pub async fn list(&self, rel: &str) -> anyhow::Result<Vec<ObjectMeta>> {
        let prefix = self.key(rel);
        let mut out = Vec::new();
        let mut stream = self.store.list(Some(&prefix));
        while let Some(m) = stream.next().await {
            out.push(m.with_context(|| format!("remote {}: listing {}", self.name, prefix))?);
        }
        Ok(out)
    }

    /// An object's bytes, refused when it is larger than `limit` (keys and sizes come from
    /// the bucket: data, not trusted).
    pub async fn get_bounded(&self, rel: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
        let key = self.key(rel);
        let got = self
            .store
            .get(&key)
            .await
            .with_context(|| format!("remote {}: reading {key}", self.name))?;
        if got.meta.size > limit {
            bail!(
                "remote {}: {key} is {} bytes, more than the {limit} expected",
                self.name,
                got.meta.size
            );
        }
        let bytes = got
            .bytes()
            .await
            .with_context(|| format!("remote {}: reading {key}", self.name))?;
        Ok(bytes.to_vec())
    }
}

/// An S3 error answer's code and message (empty when the body is not one).
pub fn error_of(body: &[u8]) -> S3Error {
    std::str::from_utf8(body)
        .ok()
        .and_then(|t| quick_xml::de::from_str(t).ok())
        .unwrap_or_default()
}

/// The keys `Bucket::open` would sign with, for a tool that reads neither the `AWS_*`
/// environment nor AWS's files (pgBackRest): the environment's, else the credentials file's;
/// None when there are none (the instance role).
pub fn static_keys(remote: &Remote) -> anyhow::Result<Option<FileKeys>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Some(FileKeys {
            access_key_id: id,
            secret_access_key: secret,
            session_token: env("AWS_SESSION_TOKEN"),
        }));
    }
    match &remote.credentials_file {
        Some(file) => {
            read_credentials_file(file, remote.profile.as_deref().unwrap_or("default")).map(Some)
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_urls_follow_object_store() {
        let mut r: Remote = serde_saphyr::from_str("bucket: b\nregion: eu-west-1\n").unwrap();
        assert_eq!(bucket_url(&r), "https://b.s3.eu-west-1.amazonaws.com");
        r.path_style = true;
        r.endpoint = Some("http://127.0.0.1:9000/".into());
        assert_eq!(bucket_url(&r), "http://127.0.0.1:9000/b");
        let e = error_of(
            b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>no</Message></Error>",
        );
        assert_eq!(e.code, "AccessDenied");
        assert_eq!(error_of(b"\x00").code, "");
    }

    #[test]
    fn credentials_file_profiles() {
        let text = "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n\n[profile ops]\naws_access_key_id=A2\naws_secret_access_key=S2\naws_session_token=T2\n";
        assert_eq!(profile_keys(text, "default").unwrap().access_key_id, "AK");
        let ops = profile_keys(text, "ops").unwrap();
        assert_eq!(ops.secret_access_key, "S2");
        assert_eq!(ops.session_token.as_deref(), Some("T2"));
        assert!(profile_keys(text, "missing").is_none());
        assert!(profile_keys("[default]\naws_access_key_id=x\n", "default").is_none());
    }
}
