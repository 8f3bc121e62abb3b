//! TLS the way libpq's sslmodes ask for it, which tokio-postgres alone cannot (it knows no
//! verify-ca / verify-full): which roots a mode trusts ([`Verification`]), the one rustls
//! verifier that applies that mode, and libpq's host-name rule for verify-full (subjectAltName
//! dNSName/iPAddress entries when the certificate has them, else the subject CN), read with the
//! `x509-cert` crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;
use x509_cert::der::oid::db::{rfc4519::CN, rfc5280::ID_CE_SUBJECT_ALT_NAME};
use x509_cert::der::{Any, Decode as _, Tag, Tagged as _};
use x509_cert::Certificate;

use super::options::{PgOptions, SslMode};

/// What the server certificate is checked against: the mode of the one [`Verifier`].
#[derive(Debug, Clone)]
pub(super) enum Verification {
    /// sslmode prefer/allow, and require without a root certificate: encryption without
    /// authentication, exactly what libpq does. The handshake signature is still checked.
    None,
    /// verify-ca, and require with a root certificate: the chain only.
    Chain(Arc<RootCertStore>),
    /// verify-full: the chain and the host name.
    ChainAndName(Arc<RootCertStore>),
}

impl PgOptions {
    fn rootcert_path(&self) -> Option<PathBuf> {
        match self.sslrootcert.as_deref() {
            Some(p) => Some(PathBuf::from(p)),
            None => self.default_rootcert.clone(),
        }
    }

    /// What the certificate is checked against for sslmode require and verify-*.
    pub(super) fn verification(&self) -> anyhow::Result<Verification> {
        let system = self.sslrootcert.as_deref() == Some("system");
        match self.ssl_mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => Ok(Verification::None),
            SslMode::Require => {
                // libpq: with a root certificate at hand, require behaves like verify-ca.
                if system {
                    return Ok(Verification::Chain(system_roots()?));
                }
                match self.rootcert_path() {
                    Some(path) if path.is_file() => Ok(Verification::Chain(load_roots(&path)?)),
                    _ => Ok(Verification::None),
                }
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = if system {
                    system_roots()?
                } else {
                    let path = self.rootcert_path().ok_or_else(|| {
                        anyhow!(
                            "could not get home directory to locate root certificate file\n\
                             Either provide the file, use the system's trusted roots with sslrootcert=system, \
                             or change sslmode to disable server certificate verification."
                        )
                    })?;
                    if !path.exists() {
                        bail!(
                            "root certificate file \"{}\" does not exist\n\
                             Either provide the file, use the system's trusted roots with sslrootcert=system, \
                             or change sslmode to disable server certificate verification.",
                            path.display()
                        );
                    }
                    load_roots(&path)?
                };
                Ok(if self.ssl_mode == SslMode::VerifyFull {
                    Verification::ChainAndName(roots)
                } else {
                    Verification::Chain(roots)
                })
            }
        }
    }
}

/// A connector whose certificate check is `verification`.
pub(super) fn connector(verification: Verification) -> anyhow::Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Verifier {
        check: verification,
        algs: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn load_roots(path: &Path) -> anyhow::Result<Arc<RootCertStore>> {
    let mut store = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading root certificate file \"{}\"", path.display()))?;
    for cert in certs {
        let cert =
            cert.with_context(|| format!("parsing root certificate file \"{}\"", path.display()))?;
        store.add(cert).with_context(|| {
            format!(
                "adding a certificate from root certificate file \"{}\"",
                path.display()
            )
        })?;
    }
    if store.is_empty() {
        bail!(
            "root certificate file \"{}\" contains no PEM certificate",
            path.display()
        );
    }
    Ok(Arc::new(store))
}

fn system_roots() -> anyhow::Result<Arc<RootCertStore>> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (_added, _ignored) = store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        bail!("sslrootcert=system: no trusted root certificates found on this system{why}");
    }
    Ok(Arc::new(store))
}

/// The server-certificate check of every sslmode: none, the chain (verify-ca), or the chain
/// and the host name (verify-full, with libpq's fallback to the subject CN when the certificate
/// has no subjectAltName of the host's kind — many PostgreSQL server certificates are made that
/// way, and rustls alone would reject them). The handshake signature is checked in every mode.
#[derive(Debug)]
pub(super) struct Verifier {
    pub(super) check: Verification,
    pub(super) algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (roots, check_name) = match &self.check {
            Verification::None => return Ok(ServerCertVerified::assertion()),
            Verification::Chain(roots) => (roots, false),
            Verification::ChainAndName(roots) => (roots, true),
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, self.algs.all)?;
        if check_name {
            match verify_server_name(&cert, server_name) {
                Ok(()) => {}
                Err(
                    e @ rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. },
                    ),
                ) => {
                    if !common_name_matches(end_entity.as_ref(), server_name) {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// libpq's CN rule: consulted only when the certificate has no subjectAltName entry of the
/// host's kind (dNSName for a name, iPAddress for an address); the first CN then must match,
/// with a `*.` wildcard allowed for one leading label of a name.
fn common_name_matches(cert_der: &[u8], server_name: &ServerName<'_>) -> bool {
    let (host, is_ip) = match server_name {
        ServerName::DnsName(d) => (d.as_ref().to_string(), false),
        ServerName::IpAddress(ip) => (std::net::IpAddr::from(*ip).to_string(), true),
        _ => return false,
    };
    let Some(info) = name_info(cert_der) else {
        return false;
    };
    if (is_ip && info.san_ip) || (!is_ip && info.san_dns) {
        return false;
    }
    let Some(cn) = info.first_cn else {
        return false;
    };
    if cn.eq_ignore_ascii_case(&host) {
        return true;
    }
    if is_ip {
        return false;
    }
    match cn.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => false,
    }
}

/// What the CN rule needs of a certificate: its subject's first CN and the kinds of its
/// subjectAltNames. The chain itself has already been verified by webpki when this runs.
pub(super) struct NameInfo {
    pub(super) first_cn: Option<String>,
    pub(super) san_dns: bool,
    pub(super) san_ip: bool,
}

/// None when the certificate does not parse, or its first CN is not a readable string.
pub(super) fn name_info(cert_der: &[u8]) -> Option<NameInfo> {
    let cert = Certificate::from_der(cert_der).ok()?;
    let tbs = &cert.tbs_certificate;
    let first_cn = match tbs
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == CN)
    {
        Some(atv) => Some(directory_string(&atv.value)?),
        None => None,
    };
    let (mut san_dns, mut san_ip) = (false, false);
    for ext in tbs.extensions.iter().flatten() {
        if ext.extn_id != ID_CE_SUBJECT_ALT_NAME {
            continue;
        }
        // GeneralNames, read as bare TLVs: only the kinds matter (and x509-cert's GeneralName
        // would refuse a certificate with an x400Address).
        for name in Vec::<Any>::from_der(ext.extn_value.as_bytes()).ok()? {
            match name.tag().octet() {
                0x82 => san_dns = true, // [2] dNSName
                0x87 => san_ip = true,  // [7] iPAddress
                _ => {}
            }
        }
    }
    Some(NameInfo {
        first_cn,
        san_dns,
        san_ip,
    })
}

/// A DirectoryString (or IA5String) attribute value as text.
fn directory_string(value: &Any) -> Option<String> {
    let bytes = value.value();
    let s = match value.tag() {
        Tag::Utf8String => String::from_utf8(bytes.to_vec()).ok()?,
        // PrintableString, TeletexString, IA5String: only their ASCII subset is meaningful here.
        Tag::PrintableString | Tag::TeletexString | Tag::Ia5String if bytes.is_ascii() => {
            String::from_utf8(bytes.to_vec()).ok()?
        }
        Tag::BmpString if bytes.len().is_multiple_of(2) => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()?
        }
        _ => return None,
    };
    // libpq refuses names with embedded NULs: they are a classic spoofing trick.
    (!s.contains('\0')).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use std::time::Duration;

    // ---- certificate verification ----

    fn verifier(ca: &str, check_name: bool) -> Verifier {
        let mut roots = RootCertStore::empty();
        roots.add(pem_cert(ca)).unwrap();
        let roots = Arc::new(roots);
        Verifier {
            check: if check_name {
                Verification::ChainAndName(roots)
            } else {
                Verification::Chain(roots)
            },
            algs: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        }
    }

    fn verifies(v: &Verifier, cert_pem: &str, name: &str) -> bool {
        // 2030-01-01: inside the test certificates' validity, independent of the clock.
        let now = UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000));
        let name = ServerName::try_from(name.to_string()).unwrap();
        v.verify_server_cert(&pem_cert(cert_pem), &[], &name, &[], now)
            .is_ok()
    }

    #[test]
    fn verify_full_checks_chain_and_name_with_libpq_cn_fallback() {
        let full = verifier(CA_PEM, true);
        assert!(verifies(&full, SAN_PEM, "db.example.com"));
        assert!(verifies(&full, SAN_PEM, "127.0.0.1"));
        assert!(
            !verifies(&full, SAN_PEM, "ignored.example.com"),
            "CN is ignored when a DNS SAN exists"
        );
        assert!(!verifies(&full, SAN_PEM, "localhost"));
        assert!(
            verifies(&full, CN_PEM, "db.example.com"),
            "CN-only certificate"
        );
        assert!(verifies(&full, CN_PEM, "DB.Example.COM"));
        assert!(!verifies(&full, CN_PEM, "other.example.com"));
        assert!(!verifies(&full, CN_PEM, "10.0.0.1"));
        assert!(verifies(&full, WC_PEM, "a.example.com"));
        assert!(!verifies(&full, WC_PEM, "a.b.example.com"));
        assert!(!verifies(&full, WC_PEM, "example.com"));
        let wrong_ca = verifier(CA2_PEM, true);
        assert!(!verifies(&wrong_ca, SAN_PEM, "db.example.com"));
        assert!(!verifies(&wrong_ca, CN_PEM, "db.example.com"));
    }

    #[test]
    fn verify_ca_checks_the_chain_only() {
        let ca = verifier(CA_PEM, false);
        assert!(verifies(&ca, CN_PEM, "anything.invalid"));
        assert!(verifies(&ca, SAN_PEM, "10.9.8.7"));
        let wrong_ca = verifier(CA2_PEM, false);
        assert!(!verifies(&wrong_ca, CN_PEM, "db.example.com"));
        // A CA certificate is not a server certificate.
        assert!(!verifies(&ca, CA_PEM, "ca.example.com"));
    }

    #[test]
    fn der_name_info() {
        let info = name_info(pem_cert(CN_PEM).as_ref()).unwrap();
        assert_eq!(info.first_cn.as_deref(), Some("db.example.com"));
        assert!(!info.san_dns && !info.san_ip);
        let info = name_info(pem_cert(SAN_PEM).as_ref()).unwrap();
        assert_eq!(info.first_cn.as_deref(), Some("ignored.example.com"));
        assert!(info.san_dns && info.san_ip);
        let info = name_info(pem_cert(WC_PEM).as_ref()).unwrap();
        assert_eq!(info.first_cn.as_deref(), Some("*.example.com"));
        let der = pem_cert(CN_PEM);
        assert!(name_info(&der.as_ref()[..der.as_ref().len() / 2]).is_none());
        assert!(name_info(&[]).is_none());
    }

    #[test]
    fn roots_loading_errors_are_clear() {
        let dir = TempDir::new("roots");
        let home = dir.path();
        let o = res(
            Some("postgres://h/d?sslmode=verify-full"),
            None,
            &[("HOME", home.as_str())],
        )
        .unwrap();
        let e = format!("{:#}", o.verification().err().unwrap());
        assert!(
            e.contains(".postgresql/root.crt") && e.contains("does not exist"),
            "{e}"
        );
        let empty = dir.file("empty.crt", "not a certificate\n", 0o644);
        let url = format!(
            "postgres://h/d?sslmode=verify-ca&sslrootcert={}",
            empty.display()
        );
        let o = res(Some(&url), None, &[]).unwrap();
        let e = format!("{:#}", o.verification().err().unwrap());
        assert!(e.contains("contains no PEM certificate"), "{e}");
        // require: no root certificate = no verification; one present = chain verification.
        let o = res(
            Some("postgres://h/d?sslmode=require"),
            None,
            &[("HOME", home.as_str())],
        )
        .unwrap();
        assert!(matches!(o.verification().unwrap(), Verification::None));
        std::fs::create_dir_all(dir.0.join(".postgresql")).unwrap();
        dir.file(".postgresql/root.crt", CA_PEM, 0o644);
        assert!(matches!(o.verification().unwrap(), Verification::Chain(_)));
        let o = res(
            Some("postgres://h/d?sslmode=verify-full"),
            None,
            &[("HOME", home.as_str())],
        )
        .unwrap();
        assert!(matches!(
            o.verification().unwrap(),
            Verification::ChainAndName(_)
        ));
    }

    #[test]
    fn without_verification_any_certificate_passes() {
        let none = Verifier {
            check: Verification::None,
            algs: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        };
        assert!(verifies(&none, CN_PEM, "elsewhere.invalid"));
        assert!(verifies(&none, CA2_PEM, "10.1.2.3"));
    }
}
