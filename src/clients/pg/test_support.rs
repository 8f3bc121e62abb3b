//! Test-only helpers shared by the client's unit tests: certificates, a temporary directory,
//! a fake environment and platform, and resolution shorthands.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::resolve::{resolve_in, Platform};
use super::PgOptions;

pub(super) const SECRET: &str = "s3cr3t-pw";

/// Test certificates made with `openssl ca` (P-256, valid 2020-2100): a CA, an unrelated
/// CA, a server certificate with only CN=db.example.com, one with SANs db.example.com and
/// 127.0.0.1 (CN ignored.example.com), and one with CN=*.example.com.
pub(super) const CA_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBZzCCAQ6gAwIBAgICEAAwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPb3BzYm9v\n\
ayB0ZXN0IENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAaMRgw\n\
FgYDVQQDDA9vcHNib29rIHRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n\
AASUxkfrud6ATb0vw8kQoVxEapztNiFOmSD6kDPsCxre29nn4JidgfUI40EqTcMr\n\
cKqH1Zmp8KIYogO0xpYpw6x3o0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB\n\
/wQEAwIBBjAdBgNVHQ4EFgQUWItmkrOUHqjPIYnFFCRQUQ2FO40wCgYIKoZIzj0E\n\
AwIDRwAwRAIgFJIiuh09JqmUK6hLmdcI8WLKq1DlXAZ8IoExF+izDSACIB2fTg08\n\
QJ7gzDGjNpLRIAevDxmxTppIPZefvZbxa+JN\n\
-----END CERTIFICATE-----\n\
";

pub(super) const CA2_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBWjCCAQCgAwIBAgICEAEwCgYIKoZIzj0EAwIwEzERMA8GA1UEAwwIb3RoZXIg\n\
Q0EwIBcNMjAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBMxETAPBgNVBAMM\n\
CG90aGVyIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgBqMWSkxzA/NTpzP\n\
ZdBSJnLuNfEmzJsjvld9DSKkii74hIZOn0iztZZUBTiXB32gR1d4QZuO4jIUJE42\n\
z+ExlqNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0O\n\
BBYEFLnW96DuxhsD1sEQOidRHBYI36RNMAoGCCqGSM49BAMCA0gAMEUCIGoQEQa7\n\
33TsByKHSlyRXE7eGYbAD334LluroN2u4otZAiEA476O23L+PwlG/AfCa6gulSk5\n\
ofSQteftBuaHpLeocOE=\n\
-----END CERTIFICATE-----\n\
";

pub(super) const CN_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBcTCCARigAwIBAgICEAIwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPb3BzYm9v\n\
ayB0ZXN0IENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAZMRcw\n\
FQYDVQQDDA5kYi5leGFtcGxlLmNvbTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA\n\
BDyYvTOzlWhztDYdCiNagqwgZ567C20gp1Lw5ycNYE2fZBW4QLgmaJHzDswBsZax\n\
0owmqoivujmHTm+RKZG1neijTTBLMAkGA1UdEwQCMAAwHQYDVR0OBBYEFBL2iBjT\n\
T48Ae62PKEBz5HpNvnrWMB8GA1UdIwQYMBaAFFiLZpKzlB6ozyGJxRQkUFENhTuN\n\
MAoGCCqGSM49BAMCA0cAMEQCIGDhXRHLl5CU3BNPN6G+JnlKuDyPqiv9RO41ooch\n\
fBccAiB4D6Z3SWEdn3jhkEKOtBq4J+ZsA7Fs8jZG3S2WNTY91Q==\n\
-----END CERTIFICATE-----\n\
";

pub(super) const SAN_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBsDCCAVWgAwIBAgICEAMwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPb3BzYm9v\n\
ayB0ZXN0IENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAeMRww\n\
GgYDVQQDDBNpZ25vcmVkLmV4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n\
AQcDQgAEYYIWzN2vtcVZAZoqfBgQYNQSQgzgEVlT4UkqkIvtH8kI2O/z4zl2Ziqs\n\
ejGQXPxzj8Q8d4BVD2l8KH8y92apzqOBhDCBgTAJBgNVHRMEAjAAMB8GA1UdEQQY\n\
MBaCDmRiLmV4YW1wbGUuY29thwR/AAABMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB0G\n\
A1UdDgQWBBRi+cZReTqgnSeGfufReRj9ssb//jAfBgNVHSMEGDAWgBRYi2aSs5Qe\n\
qM8hicUUJFBRDYU7jTAKBggqhkjOPQQDAgNJADBGAiEA+0dfr/JaielQhOkEpwbz\n\
9D+KELHymExR7GX8/6pa0nUCIQCARx/fc9JhFq3U5XsD0n0bT0MmFwlspjq1hoZ6\n\
LLnYwA==\n\
-----END CERTIFICATE-----\n\
";

pub(super) const WC_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBfjCCASOgAwIBAgICEAQwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPb3BzYm9v\n\
ayB0ZXN0IENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAkMRYw\n\
FAYDVQQDDA0qLmV4YW1wbGUuY29tMQowCAYDVQQKDAF4MFkwEwYHKoZIzj0CAQYI\n\
KoZIzj0DAQcDQgAErbiKz0k6HftLHe2Hg4fRJQtuqL7YEGkv9+X0NApZqAofV8JH\n\
TtHbqYyHY7fhSgMwPHoJNidkkLOSrxHZwYPNvqNNMEswCQYDVR0TBAIwADAdBgNV\n\
HQ4EFgQUESXbCSPqCbKZMJe7Y+LKjxywIuswHwYDVR0jBBgwFoAUWItmkrOUHqjP\n\
IYnFFCRQUQ2FO40wCgYIKoZIzj0EAwIDSQAwRgIhAPoYABF8xyqJOurxH1yzzaOn\n\
3mT+uoBF5RJamwj6gryCAiEAmP4T+IehUPhVkvsingnHC2Iha4OZgtr3v8aonKxB\n\
Z68=\n\
-----END CERTIFICATE-----\n\
";

pub(super) const SAN_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkN+C5WhmXJTaIVqP\n\
4Yb0itVL9cbt01BmSjvk/DCMMkuhRANCAARhghbM3a+1xVkBmip8GBBg1BJCDOAR\n\
WVPhSSqQi+0fyQjY7/PjOXZmKqx6MZBc/HOPxDx3gFUPaXwofzL3ZqnO\n\
-----END PRIVATE KEY-----\n\
";

pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "opsbook-pgconn-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(super) fn file(&self, name: &str, content: &str, mode: u32) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    pub(super) fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

/// Socket directories that do not exist, no passwd home: nothing of this machine leaks in
/// (in particular not the real ~/.pgpass).
pub(super) fn test_platform() -> Platform {
    Platform {
        os_user: Some("osuser".to_string()),
        pw_home: None,
        socket_dirs: vec![
            PathBuf::from("/nonexistent-opsbook/run"),
            PathBuf::from("/nonexistent-opsbook/tmp"),
        ],
    }
}

pub(super) fn res(
    flag: Option<&str>,
    config: Option<&str>,
    env: &[(&str, &str)],
) -> anyhow::Result<PgOptions> {
    resolve_in(flag, config, None, &env_of(env), &test_platform())
}

pub(super) fn err_text(r: anyhow::Result<PgOptions>) -> String {
    match r {
        Ok(o) => panic!("expected an error, got {o:?}"),
        Err(e) => format!("{e:#}"),
    }
}

pub(super) fn pem_cert(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}
