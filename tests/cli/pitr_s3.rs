//! `pitr setup --remote` + `pitr backup --remote` + `restore --to --remote` against a real S3
//! server: moto on loopback behind `socat openssl-listen` with a throwaway certificate (pgBackRest
//! speaks only HTTPS to S3), trusted through `remotes.NAME.ca_file` so verification stays on.
//! The repository is encrypted by pgBackRest with the remote's passphrase. No key or passphrase
//! may appear in opsbook's output, in archive_command or in the restore_command pgBackRest writes.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{closed_port, opsbook, wait_until, Run, Scratch};
use super::pitr::{at, detail_value, pgbackrest_installed, psql_socket, status_of, Cluster};
use super::remote::Moto;

const KEY_ID: &str = "AKIAPITRS3TEST7Q2W";
const KEY_SECRET: &str = "pitr-s3-secret-5e1b9c0d7a";
const PASSPHRASE: &str = "pitr-passphrase-c4d2e8f6a1b3";

fn has(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `socat openssl-listen` on a free port in front of moto, with a certificate for 127.0.0.1
/// (as a DNS name too: pgBackRest matches the host against DNS names) signed by a throwaway CA.
struct TlsFront {
    child: Child,
    port: u16,
}

impl TlsFront {
    fn start(dir: &Path, backend: u16) -> TlsFront {
        let (cert, key) = (dir.join("s3-cert.pem"), dir.join("s3-key.pem"));
        let (ca, ca_key) = (dir.join("s3-ca.pem"), dir.join("s3-ca-key.pem"));
        let (csr, ext) = (dir.join("s3.csr"), dir.join("s3.ext"));
        std::fs::write(
            &ext,
            "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        let openssl = |args: &[&std::ffi::OsStr]| {
            let out = Command::new("openssl").args(args).output().unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let o = |s: &'static str| std::ffi::OsStr::new(s);
        // A throwaway CA (what ca_file names) and the endpoint's certificate signed by it.
        openssl(&[
            o("req"),
            o("-x509"),
            o("-newkey"),
            o("rsa:2048"),
            o("-nodes"),
            o("-days"),
            o("1"),
            o("-subj"),
            o("/CN=opsbook test CA"),
            o("-keyout"),
            ca_key.as_os_str(),
            o("-out"),
            ca.as_os_str(),
        ]);
        openssl(&[
            o("req"),
            o("-newkey"),
            o("rsa:2048"),
            o("-nodes"),
            o("-subj"),
            o("/CN=127.0.0.1"),
            o("-keyout"),
            key.as_os_str(),
            o("-out"),
            csr.as_os_str(),
        ]);
        openssl(&[
            o("x509"),
            o("-req"),
            o("-in"),
            csr.as_os_str(),
            o("-CA"),
            ca.as_os_str(),
            o("-CAkey"),
            ca_key.as_os_str(),
            o("-set_serial"),
            o("1"),
            o("-days"),
            o("1"),
            o("-extfile"),
            ext.as_os_str(),
            o("-out"),
            cert.as_os_str(),
        ]);
        // pgBackRest runs as postgres and reads the CA file.
        std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).unwrap();
        let port = closed_port();
        let child = Command::new("socat")
            .arg(format!(
                "openssl-listen:{port},fork,reuseaddr,bind=127.0.0.1,cert={},key={},verify=0",
                cert.display(),
                key.display()
            ))
            .arg(format!("tcp:127.0.0.1:{backend}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "socat did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsFront { child, port }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every run's output, to prove no secret is ever printed.
#[derive(Default)]
struct Seen(String);

impl Seen {
    fn keep(&mut self, r: Run) -> Run {
        self.0.push_str(&r.stdout);
        self.0.push_str(&r.stderr);
        r
    }
}

fn no_secret_in(what: &str, text: &str) {
    for s in [KEY_ID, KEY_SECRET, PASSPHRASE] {
        assert!(!text.contains(s), "{what} shows a secret:\n{text}");
    }
}

#[test]
fn an_s3_repository_through_tls_archives_backs_up_and_restores_to_a_time() {
    if !pgbackrest_installed() || !has("socat") || !has("openssl") {
        eprintln!("skipped: needs pgbackrest, socat and openssl (.ci/deps installs them)");
        return;
    }
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("pitr-offsite");
    let scratch = Scratch::new("pitr-s3");
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let tls = TlsFront::start(scratch.path(), moto.port);
    let c = Cluster::up();
    let pgpass = scratch.write(
        "pgpass",
        &format!("127.0.0.1:*:*:postgres:{}\n", c.0.password().unwrap()),
        0o600,
    );
    let creds = scratch.write(
        "aws-credentials",
        &format!("[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {KEY_SECRET}\n"),
        0o600,
    );
    let pass = scratch.write("repo-passphrase", &format!("{PASSPHRASE}\n"), 0o600);
    let repo = c.0.state.dir.join("pgbackrest");
    let conf = c.0.state.dir.join("pgbackrest-s.conf");
    let remote = format!(
        "remotes:\n  offsite:\n    bucket: pitr-offsite\n    prefix: prod/\n    endpoint: https://127.0.0.1:{}\n    path_style: true\n    ca_file: {}\n    credentials_file: {}\n    encryption:\n      passphrase_file: {}\n",
        tls.port,
        scratch.path().join("s3-ca.pem").display(),
        creds.display(),
        pass.display()
    );
    let head = "services: []\nthresholds:\n  disk_pct: {warning: 99.5, critical: 99.9}\n  memory_pct: {warning: 99.5, critical: 99.9}\n";
    let config = scratch.write(
        "opsbook.yaml",
        &format!(
            "{head}{remote}pitr:\n  stanza: s\n  config: {}\n  remote: offsite\n",
            conf.display()
        ),
        0o600,
    );
    let sql = |q: &str| c.0.psql("postgres", q).unwrap();
    let mut seen = Seen::default();
    let setup = ["pitr", "setup", "--repo", repo.to_str().unwrap(), "--yes"];

    // Setup with pitr.remote: repo2 is the S3 repository; archive_mode waits for a restart.
    let first = seen.keep(at(&c, &pgpass, &config, &setup).format("json").run());
    assert_eq!(first.code, 1, "{first}");
    assert_eq!(status_of(&first.json(), "pitr.stanza"), "ok", "{first}");
    let text = std::fs::read_to_string(&conf).unwrap();
    for line in [
        "repo2-type=s3\n",
        "repo2-s3-bucket=pitr-offsite\n",
        "repo2-path=/prod/pgbackrest\n",
        "repo2-s3-uri-style=path\n",
        "repo2-bundle=y\n",
        "repo2-cipher-type=aes-256-cbc\n",
        &format!("repo2-storage-port={}\n", tls.port),
    ] {
        assert!(text.contains(line), "{line} not in {text}");
    }
    // The keys live only in this file: 0600, owned by the account archive_command runs as.
    let meta = std::fs::metadata(&conf).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), std::fs::metadata(c.0.data_dir()).unwrap().uid());
    let auto = std::fs::read_to_string(c.0.data_dir().join("postgresql.auto.conf")).unwrap();
    assert!(auto.contains("--stanza=s archive-push %p"), "{auto}");
    no_secret_in("postgresql.auto.conf", &auto);

    // Setup without a remote would drop repo2: refused before anything is touched.
    let bare = scratch.write("bare.yaml", &format!("{head}{remote}"), 0o600);
    let dropped = seen.keep(
        opsbook(&["pitr", "setup", "--stanza", "s", "--pgbackrest-config"])
            .arg(&conf)
            .args(["--repo", repo.to_str().unwrap(), "--yes"])
            .config(&bare)
            .run(),
    );
    assert_eq!(dropped.code, 3, "{dropped}");
    assert!(
        dropped.stderr.contains("pass --remote offsite"),
        "{dropped}"
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);

    c.restart();
    let second = seen.keep(at(&c, &pgpass, &config, &setup).format("json").run());
    assert_eq!(second.code, 0, "{second}");
    assert_eq!(status_of(&second.json(), "pitr.check"), "ok");

    // A full backup into the S3 repository only: whatever is restored comes from there.
    let backup = seen.keep(
        at(
            &c,
            &pgpass,
            &config,
            &["pitr", "backup", "--type", "full", "--remote", "offsite"],
        )
        .format("json")
        .run(),
    );
    assert_eq!(backup.code, 1, "repo1 has no backup: a warning\n{backup}");
    let j = backup.json();
    assert!(
        Run::one(&j, "pitr.backup")["summary"]
            .as_str()
            .unwrap()
            .contains("into repo2 (remote offsite)"),
        "{j}"
    );
    let repos = Run::findings(&j, "pitr.repo");
    let repo2 = repos.iter().find(|f| f["subject"] == "s/repo2").unwrap();
    assert_eq!(repo2["status"], "ok", "{j}");
    assert!(
        repo2["summary"].as_str().unwrap().contains("1 backups")
            && repo2["summary"].as_str().unwrap().contains("aes-256-cbc"),
        "{j}"
    );

    std::thread::sleep(Duration::from_millis(1100));
    sql("CREATE TABLE rows_a (i int); INSERT INTO rows_a SELECT generate_series(1, 100)");
    let target = sql("SELECT now()::text");
    std::thread::sleep(Duration::from_millis(1100));
    sql("CREATE TABLE rows_b (i int); INSERT INTO rows_b SELECT generate_series(1, 50)");
    let segment = sql("SELECT pg_walfile_name(pg_switch_wal())");
    wait_until("the switched segment to be archived", || {
        sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= segment
    });

    // The bucket holds pgBackRest's objects under the prefix, encrypted.
    let keys = moto.keys("pitr-offsite");
    assert!(
        keys.iter()
            .any(|k| k.starts_with("prod/pgbackrest/backup/s/")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("prod/pgbackrest/archive/s/")),
        "{keys:?}"
    );
    assert!(
        keys.iter().all(|k| k.starts_with("prod/pgbackrest/")),
        "{keys:?}"
    );
    // Every object, info files, manifest, bundles and WAL, is pgBackRest-encrypted.
    let plain = moto.boto(
        "for o in s3.list_objects_v2(Bucket='pitr-offsite').get('Contents',[]):\n    b=s3.get_object(Bucket='pitr-offsite',Key=o['Key'])['Body'].read(8)\n    print(o['Key']) if b!=b'Salted__' else None",
    );
    assert!(
        plain.is_empty(),
        "not encrypted: {}",
        String::from_utf8_lossy(&plain)
    );

    // The local repository's WAL moved aside: the recovery must fetch it from S3.
    let archive = repo.join("archive");
    let aside = repo.join("archive.aside");
    std::fs::rename(&archive, &aside).unwrap();
    let new_dir = c.0.spare_dir("from-s3").unwrap();
    let restored = seen.keep(
        at(
            &c,
            &pgpass,
            &config,
            &[
                "restore",
                "--to",
                &target,
                "--remote",
                "offsite",
                "--data-dir",
                new_dir.to_str().unwrap(),
                "--yes",
                "--promote",
            ],
        )
        .format("json")
        .run(),
    );
    std::fs::rename(&aside, &archive).unwrap();
    assert_eq!(restored.code, 0, "{restored}");
    let j = restored.json();
    assert!(
        Run::one(&j, "pitr.restore")["summary"]
            .as_str()
            .unwrap()
            .contains("from repo2 (remote offsite)"),
        "{j}"
    );
    let socket = detail_value(&j, "pitr.promote", "socket");
    let port = detail_value(&j, "pitr.promote", "port");
    assert_eq!(
        psql_socket(&socket, &port, "SELECT count(*) FROM rows_a"),
        "100"
    );
    assert_eq!(
        psql_socket(
            &socket,
            &port,
            "SELECT count(*) FROM pg_class WHERE relname = 'rows_b'"
        ),
        "0"
    );
    let restore_auto = std::fs::read_to_string(new_dir.join("postgresql.auto.conf")).unwrap();
    assert!(restore_auto.contains("archive-get"), "{restore_auto}");
    no_secret_in("the recovered postgresql.auto.conf", &restore_auto);

    // Both repositories in pitr status.
    let status = seen.keep(at(&c, &pgpass, &config, &["pitr", "status"]).run());
    assert!(
        status.stdout.contains("s/repo1") && status.stdout.contains("s/repo2"),
        "{status}"
    );

    // --remote-only, on the same server (archive_mode is on): a second stanza whose only
    // repository is the S3 one; check pushes a segment to it, a backup goes there by default.
    let only_conf = c.0.state.dir.join("pgbackrest-r.conf");
    let only_dir = c.0.state.dir.join("pgbackrest-r");
    let only = |extra: &[&str]| {
        at(&c, &pgpass, &config, &["pitr"])
            .args(extra)
            .args([
                "--stanza",
                "r",
                "--pgbackrest-config",
                only_conf.to_str().unwrap(),
            ])
            .format("json")
            .run()
    };
    let setup_only = seen.keep(only(&[
        "setup",
        "--repo",
        only_dir.to_str().unwrap(),
        "--remote",
        "offsite",
        "--remote-only",
        "--yes",
    ]));
    assert_eq!(setup_only.code, 0, "{setup_only}");
    assert_eq!(status_of(&setup_only.json(), "pitr.check"), "ok");
    let text = std::fs::read_to_string(&only_conf).unwrap();
    assert!(
        text.contains("repo1-type=s3\n") && !text.contains("repo2-"),
        "{text}"
    );
    assert!(
        text.contains("repo1-path=/prod/pgbackrest\n")
            && !text.contains(&format!("repo1-path={}", only_dir.display())),
        "{text}"
    );
    let moved = seen.keep(only(&[
        "setup",
        "--repo",
        only_dir.to_str().unwrap(),
        "--remote",
        "offsite",
        "--yes",
    ]));
    assert_eq!(moved.code, 3, "{moved}");
    assert!(moved.stderr.contains("add --remote-only"), "{moved}");
    let only_backup = seen.keep(only(&["backup", "--type", "full"]));
    assert_eq!(only_backup.code, 0, "{only_backup}");
    assert!(
        moto.keys("pitr-offsite")
            .iter()
            .any(|k| k.starts_with("prod/pgbackrest/backup/r/")),
        "no backup of stanza r in the bucket"
    );
    no_secret_in("opsbook's output", &seen.0);
}

/// pgBackRest cannot speak plain HTTP to S3: a remote on http:// is refused before anything
/// is written or the server is contacted.
#[test]
fn pitr_setup_refuses_an_http_remote() {
    if !pgbackrest_installed() {
        eprintln!("skipped: pgbackrest is not installed (.ci/deps)");
        return;
    }
    let s = Scratch::new("pitr-http");
    let conf = s.path().join("opsbook-main.conf");
    let config = s.write(
        "opsbook.yaml",
        "remotes:\n  lan:\n    bucket: pitr-lan\n    endpoint: http://127.0.0.1:9000\n    path_style: true\n",
        0o600,
    );
    let run = opsbook(&[
        "pitr",
        "setup",
        "--remote",
        "lan",
        "--yes",
        "--pgbackrest-config",
    ])
    .arg(&conf)
    .config(&config)
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("pgBackRest speaks only HTTPS")
            && run.stderr.contains("hint: serve the endpoint over TLS"),
        "{run}"
    );
    assert!(!conf.exists());
}

/// `--remote` without what to restore, or naming a remote the config lacks, or one the
/// stanza has no repository for: one message each with the way out, exit 3.
#[test]
fn remote_usage_errors_name_the_way_out() {
    let s = Scratch::new("pitr-remote-usage");
    let conf = s.write(
        "opsbook-main.conf",
        "[global]\nrepo1-path=/var/lib/pgbackrest\n\n[main]\npg1-path=/var/lib/postgresql/15/main\n",
        0o640,
    );
    let config = s.write(
        "opsbook.yaml",
        "remotes:\n  offsite:\n    bucket: pitr-usage\n    endpoint: https://127.0.0.1:9443\n",
        0o600,
    );
    let no_id = opsbook(&["restore", "--remote", "offsite", "--yes"])
        .config(&config)
        .run();
    assert_eq!(no_id.code, 3, "{no_id}");
    assert!(
        no_id.stderr.contains("which backup?") && no_id.stderr.contains("--to TIME"),
        "{no_id}"
    );
    if !pgbackrest_installed() {
        eprintln!("skipped the rest: pgbackrest is not installed (.ci/deps)");
        return;
    }
    let unknown = opsbook(&[
        "pitr",
        "backup",
        "--remote",
        "elsewhere",
        "--pgbackrest-config",
    ])
    .arg(&conf)
    .config(&config)
    .run();
    assert_eq!(unknown.code, 3, "{unknown}");
    assert!(
        unknown.stderr.contains("no remotes.elsewhere") && unknown.stderr.contains("offsite"),
        "{unknown}"
    );
    let not_set_up = opsbook(&[
        "pitr",
        "backup",
        "--remote",
        "offsite",
        "--pgbackrest-config",
    ])
    .arg(&conf)
    .config(&config)
    .run();
    assert_eq!(not_set_up.code, 3, "{not_set_up}");
    assert!(
        not_set_up
            .stderr
            .contains("hint: add it with `opsbook pitr setup --remote offsite`"),
        "{not_set_up}"
    );
}

/// `remotes.NAME.ca_file` is opsbook's own S3 client's trust too: through the TLS front, the
/// bucket is listed with it and refused (verification on) without it.
#[test]
fn ca_file_is_trusted_by_opsbooks_s3_client_and_needed() {
    if !has("socat") || !has("openssl") {
        eprintln!("skipped: needs socat and openssl (.ci/deps installs them)");
        return;
    }
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("pitr-ca");
    let s = Scratch::new("pitr-ca");
    let tls = TlsFront::start(s.path(), moto.port);
    let creds = s.write(
        "aws-credentials",
        "[default]\naws_access_key_id = k\naws_secret_access_key = s\n",
        0o600,
    );
    let config = |ca: &str| {
        s.write(
            "opsbook.yaml",
            &format!(
                "remotes:\n  offsite:\n    bucket: pitr-ca\n    endpoint: https://127.0.0.1:{}\n    path_style: true\n    credentials_file: {}\n{ca}",
                tls.port,
                creds.display()
            ),
            0o600,
        )
    };
    let with = config(&format!(
        "    ca_file: {}\n",
        s.path().join("s3-ca.pem").display()
    ));
    let listed = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&with)
        .format("json")
        .run();
    assert!(listed.code <= 1, "{listed}");
    let without = config("");
    let refused = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&without)
        .format("json")
        .run();
    assert!(
        refused.code >= 2 && refused.stderr.contains("certificate"),
        "{refused}"
    );
}
