//! Client-side encryption of off-site copies with age (<https://age-encryption.org>): the
//! standard format, so an archive opens by hand with `age -d -i identity` (commands/backup.md).
//! Recipients are X25519 public keys (`age1...`); a passphrase file is the other choice.

use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr as _;

use age::secrecy::SecretString;
use anyhow::{bail, Context as _};

use crate::config::remotes::Encryption;

/// What the record says an object is encrypted with.
pub fn scheme(enc: &Encryption) -> &'static str {
    if enc.passphrase_file.is_some() {
        "age-passphrase"
    } else {
        "age-x25519"
    }
}

fn lines_of(path: &Path, what: &str) -> anyhow::Result<Vec<String>> {
    let text = crate::bounded_read::read_text(path, what, crate::bounded_read::SECRET_FILE_LIMIT)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// The encryptor `enc` describes (recipients or passphrase).
pub fn encryptor(enc: &Encryption) -> anyhow::Result<age::Encryptor> {
    if let Some(p) = &enc.passphrase_file {
        let pass = crate::clients::read_secret_file_as(p, "age passphrase file")?;
        if pass.is_empty() {
            bail!("age passphrase file {} is empty", p.display());
        }
        return Ok(age::Encryptor::with_user_passphrase(SecretString::from(
            pass,
        )));
    }
    let Some(path) = &enc.recipients_file else {
        bail!("encryption has neither recipients_file nor passphrase_file");
    };
    let mut recipients = Vec::new();
    for line in lines_of(path, "age recipients file")? {
        let r = age::x25519::Recipient::from_str(&line).map_err(|e| {
            anyhow::anyhow!(
                "age recipients file {}: `{line}` is not an age X25519 public key ({e})\nhint: one `age1...` key a line, as `age-keygen -y identity` prints it",
                path.display()
            )
        })?;
        recipients.push(r);
    }
    if recipients.is_empty() {
        bail!(
            "age recipients file {} names no recipient\nhint: add the `age1...` public key of the identity that will decrypt",
            path.display()
        );
    }
    age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        .context("setting up age encryption")
}

/// `input` (an age file) decrypted with `enc`'s identity or passphrase.
pub fn decrypt<R: Read + 'static>(enc: &Encryption, input: R) -> anyhow::Result<Box<dyn Read>> {
    let decryptor = age::Decryptor::new(input).context("reading the age header")?;
    let reader = if let Some(p) = &enc.passphrase_file {
        let pass = crate::clients::read_secret_file_as(p, "age passphrase file")?;
        let id = age::scrypt::Identity::new(SecretString::from(pass));
        decryptor.decrypt(std::iter::once(&id as &dyn age::Identity))
    } else {
        let Some(path) = &enc.identity_file else {
            bail!("decrypting needs encryption.identity_file (the age secret key of a recipient)\nhint: name the 0600 file `age-keygen` wrote");
        };
        if let Some(mode) = crate::config::secrets::readable_by_others(path) {
            bail!(
                "{}",
                crate::config::secrets::mode_error("age identity file", path, mode)
            );
        }
        let mut ids = Vec::new();
        for line in lines_of(path, "age identity file")? {
            ids.push(age::x25519::Identity::from_str(&line).map_err(|e| {
                anyhow::anyhow!(
                    "age identity file {}: a line is not an AGE-SECRET-KEY-1... ({e})",
                    path.display()
                )
            })?);
        }
        decryptor.decrypt(ids.iter().map(|i| i as &dyn age::Identity))
    };
    Ok(Box::new(reader.context(
        "decrypting with age (wrong identity or passphrase?)",
    )?))
}

/// Bytes written to it are collected until [`Sink::take`]: the age stream writes here, and the
/// upload takes what it produced after each chunk.
#[derive(Clone, Default)]
pub struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Sink {
    pub fn take(&self) -> Vec<u8> {
        match self.0.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.lock() {
            Ok(mut v) => v.extend_from_slice(buf),
            Err(p) => p.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The plaintext's way into the upload: as is, or through age.
pub enum Sealer {
    Plain(Sink),
    Age(age::stream::StreamWriter<Sink>),
}

impl Sealer {
    pub fn new(enc: Option<&Encryption>, sink: Sink) -> anyhow::Result<Sealer> {
        Ok(match enc {
            None => Sealer::Plain(sink),
            Some(e) => Sealer::Age(
                encryptor(e)?
                    .wrap_output(sink)
                    .context("starting the age stream")?,
            ),
        })
    }

    pub fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sealer::Plain(s) => s.write_all(buf),
            Sealer::Age(w) => w.write_all(buf),
        }
    }

    /// Ends the stream (age writes its last chunk and tag here).
    pub fn finish(self) -> io::Result<()> {
        match self {
            Sealer::Plain(_) => Ok(()),
            Sealer::Age(w) => w.finish().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn round_trip_with_recipients_and_the_ciphertext_hides_the_text() {
        let dir = std::env::temp_dir().join(format!("opsbook-crypt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let id = age::x25519::Identity::generate();
        use age::secrecy::ExposeSecret as _;
        let (rf, idf) = (dir.join("rec"), dir.join("id"));
        std::fs::write(&rf, format!("# ops\n{}\n", id.to_public())).unwrap();
        std::fs::write(&idf, id.to_string().expose_secret()).unwrap();
        std::fs::set_permissions(&idf, std::fs::Permissions::from_mode(0o600)).unwrap();
        let enc = Encryption {
            recipients_file: Some(rf),
            identity_file: Some(idf),
            passphrase_file: None,
        };
        let sink = Sink::default();
        let mut s = Sealer::new(Some(&enc), sink.clone()).unwrap();
        s.write_all(b"alice@example.com secret row").unwrap();
        s.finish().unwrap();
        let sealed = sink.take();
        assert!(!sealed.windows(5).any(|w| w == b"alice"));
        let mut out = String::new();
        decrypt(&enc, std::io::Cursor::new(sealed))
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "alice@example.com secret row");
        std::fs::remove_dir_all(&dir).ok();
    }
}
