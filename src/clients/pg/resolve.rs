//! Resolution: which connection string counts and how the gaps are filled, into
//! [`PgOptions`]. Precedence: `--pg` > DATABASE_URL > the config's `postgres.url` > the PG*
//! environment > the local socket defaults; the password from the URL > `password_file` >
//! PGPASSWORD > the pgpass file. Also `with_dbname`/`with_port`, which redo the pgpass lookup.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};

use super::conninfo::{self, parse_connect_timeout, parse_port, Echo, Params, URL_EXAMPLE};
use super::options::{PasswordSource, PgOptions, SslMode};
use super::pgpass;

const DEFAULT_PORT: u16 = 5432;
/// Debian's compiled-in socket directory first, then upstream's.
pub(super) const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];
/// libpq environment variables whose settings we cannot honour; warned about so that a
/// difference between our connection and a child psql's is not a mystery.
const UNSUPPORTED_ENV: &[&str] = &["PGSERVICE", "PGHOSTADDR", "PGSSLCERT", "PGSSLKEY"];

/// What the platform contributes to the defaults; a parameter so tests need not depend on the
/// account or the directories of the machine they run on.
pub(super) struct Platform {
    pub(super) os_user: Option<String>,
    pub(super) pw_home: Option<PathBuf>,
    pub(super) socket_dirs: Vec<PathBuf>,
}

impl Platform {
    /// The effective user's name and home directory from the passwd database, as libpq takes
    /// them, and the conventional socket directories.
    fn current() -> Platform {
        let account = crate::passwd::current();
        Platform {
            os_user: account
                .as_ref()
                .map(|a| a.name.clone())
                .filter(|n| !n.is_empty()),
            pw_home: account
                .map(|a| a.home)
                .filter(|h| !h.as_os_str().is_empty()),
            socket_dirs: DEFAULT_SOCKET_DIRS.iter().map(PathBuf::from).collect(),
        }
    }
}

/// A secret from `password_file` (config): its first line, which may not be empty.
fn read_password_file(path: &Path) -> anyhow::Result<String> {
    let first = crate::clients::read_secret_file_as(path, "password_file")?;
    let first = first.trim_end_matches('\r');
    if first.is_empty() {
        bail!("password_file {} has an empty first line", path.display());
    }
    Ok(first.to_string())
}

impl PgOptions {
    /// Resolve with this precedence: `flag_url` (--pg) > env DATABASE_URL > `config_url` > libpq
    /// environment > local socket defaults. The PG* environment fills in whatever the chosen
    /// URL leaves out. Password: the URL's > `password_file` (config) > PGPASSWORD > pgpass file.
    pub fn resolve(
        flag_url: Option<&str>,
        config_url: Option<&str>,
        password_file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<PgOptions> {
        resolve_in(
            flag_url,
            config_url,
            password_file,
            env,
            &Platform::current(),
        )
    }

    /// Same server and credentials, another database (the pgpass lookup is redone, since
    /// pgpass entries may be per database).
    pub fn with_dbname(&self, db: &str) -> PgOptions {
        let mut other = self.clone();
        other.dbname = db.to_string();
        let from_pgpass = matches!(
            self.password_source,
            PasswordSource::None | PasswordSource::PgPassFile(_)
        );
        if let (true, Some(path)) = (from_pgpass, &self.passfile) {
            other.password = None;
            other.password_source = PasswordSource::None;
            if let Ok(Some(pw)) = pgpass::lookup(
                path,
                other.pgpass_host(),
                other.port,
                &other.dbname,
                &other.user,
            ) {
                other.password = Some(pw);
                other.password_source = PasswordSource::PgPassFile(path.clone());
            }
        }
        other
    }

    /// The same roles on another server at `host` (None: this one's) and `port`: a standby
    /// cloned from this server has its roles and passwords. pgpass is asked for the new
    /// address first; when it has no entry there, the password found for this server is kept
    /// (a pgpass line names the primary's port, not the new standby's).
    pub fn for_clone_at(&self, host: Option<&str>, port: u16) -> PgOptions {
        let mut other = self.clone();
        if let Some(h) = host {
            other.host = h.to_string();
            other.default_socket = false;
        }
        other.port = port;
        let looked_up = other.with_dbname(&self.dbname);
        if looked_up.password.is_some() || self.password.is_none() {
            looked_up
        } else {
            other
        }
    }

    /// Same host and credentials on another port (the pgpass lookup is redone: entries may be
    /// per port).
    pub fn with_port(&self, port: u16) -> PgOptions {
        let mut other = self.clone();
        other.port = port;
        other.with_dbname(&self.dbname)
    }
}

pub(super) fn resolve_in(
    flag_url: Option<&str>,
    config_url: Option<&str>,
    password_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    platform: &Platform,
) -> anyhow::Result<PgOptions> {
    // libpq treats an empty variable like an unset one for every setting we read.
    let getenv = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let chosen = [
        ("--pg", flag_url.map(str::to_string)),
        ("DATABASE_URL", getenv("DATABASE_URL")),
        ("the config's postgres.url", config_url.map(str::to_string)),
    ]
    .into_iter()
    .find_map(|(src, url)| url.filter(|u| !u.trim().is_empty()).map(|u| (src, u)));

    let (params, echo) = match &chosen {
        Some((src, text)) => {
            let text = text.trim();
            let params = conninfo::parse_conn_string(text).map_err(|msg| {
                anyhow!(
                    "invalid PostgreSQL connection string from {src}: {msg}\nexample of a valid URL: {URL_EXAMPLE}"
                )
            })?;
            (params, Echo::for_input(text))
        }
        None => (Params::default(), Echo(true)),
    };
    let src = chosen.as_ref().map_or("the environment", |(s, _)| *s);
    let bad_param = |e: anyhow::Error| {
        anyhow!(
            "invalid PostgreSQL connection string from {src}: {e}\nexample of a valid URL: {URL_EXAMPLE}"
        )
    };
    let mut warnings = Vec::new();

    let port = match (&params.port, getenv("PGPORT")) {
        (Some(p), _) => parse_port(p, &echo).map_err(bad_param)?,
        (None, Some(p)) => parse_port(&p, &Echo(true)).map_err(|e| anyhow!("{e} in PGPORT"))?,
        (None, None) => DEFAULT_PORT,
    };
    let host = match params.host.clone().or_else(|| getenv("PGHOST")) {
        Some(h) => {
            if h.contains(',') {
                bail!("multiple hosts are not supported; give one host (from {src} or PGHOST)");
            }
            h
        }
        None => default_socket_dir(&platform.socket_dirs, port),
    };
    let default_socket = host.starts_with('/')
        && platform
            .socket_dirs
            .iter()
            .any(|d| Path::new(host.trim_end_matches('/')) == d.as_path());
    let user = params
        .user
        .clone()
        .or_else(|| getenv("PGUSER"))
        .or_else(|| platform.os_user.clone())
        .or_else(|| getenv("USER"))
        .ok_or_else(|| {
            anyhow!(
                "cannot determine the PostgreSQL user name: set PGUSER or put the user in the URL"
            )
        })?;
    let dbname = params
        .dbname
        .clone()
        .or_else(|| getenv("PGDATABASE"))
        .unwrap_or_else(|| user.clone());

    let sslrootcert = params
        .sslrootcert
        .clone()
        .or_else(|| getenv("PGSSLROOTCERT"));
    let ssl_mode = match (params.sslmode.as_deref(), getenv("PGSSLMODE")) {
        (Some(m), _) => m.parse::<SslMode>().map_err(bad_param)?,
        (None, Some(m)) => m.parse::<SslMode>().context("in PGSSLMODE")?,
        // libpq 16: asking for the system roots implies checking the host name too.
        (None, None) if sslrootcert.as_deref() == Some("system") => SslMode::VerifyFull,
        (None, None) => SslMode::default(),
    };
    if sslrootcert.as_deref() == Some("system") && ssl_mode != SslMode::VerifyFull {
        // Any certificate a public CA issued for any name would pass a chain-only check.
        bail!(
            "weak sslmode \"{ssl_mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
        );
    }
    let connect_timeout = match (&params.connect_timeout, getenv("PGCONNECT_TIMEOUT")) {
        (Some(t), _) => parse_connect_timeout(t, "the connection string").map_err(bad_param)?,
        (None, Some(t)) => parse_connect_timeout(&t, "PGCONNECT_TIMEOUT")?,
        (None, None) => None,
    };
    let application_name = params
        .application_name
        .clone()
        .or_else(|| getenv("PGAPPNAME"))
        .or_else(|| params.fallback_application_name.clone());
    let options = params.options.clone().or_else(|| getenv("PGOPTIONS"));

    let home = getenv("HOME")
        .map(PathBuf::from)
        .or_else(|| platform.pw_home.clone());
    let default_rootcert = home
        .as_ref()
        .map(|h| h.join(".postgresql").join("root.crt"));
    let passfile_path = params
        .passfile
        .clone()
        .or_else(|| getenv("PGPASSFILE"))
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".pgpass")));

    let mut opts = PgOptions {
        host,
        port,
        user,
        dbname,
        password: None,
        password_source: PasswordSource::None,
        ssl_mode,
        sslrootcert,
        default_rootcert,
        connect_timeout,
        application_name,
        options,
        passfile: None,
        default_socket,
        warnings: Vec::new(),
    };

    if let Some(pw) = params.password.clone().filter(|p| !p.is_empty()) {
        opts.password = Some(pw);
        opts.password_source = PasswordSource::Url;
    } else if let Some(path) = password_file {
        opts.password = Some(read_password_file(path)?);
        opts.password_source = PasswordSource::PasswordFile(path.to_path_buf());
    } else if let Some(pw) = getenv("PGPASSWORD") {
        opts.password = Some(pw);
        opts.password_source = PasswordSource::PgPassword;
    }
    if let Some(path) = passfile_path {
        match pgpass::read(&path) {
            Ok(Some(content)) => {
                if opts.password.is_none() {
                    if let Some(pw) = pgpass::find(
                        &content,
                        opts.pgpass_host(),
                        opts.port,
                        &opts.dbname,
                        &opts.user,
                    ) {
                        opts.password = Some(pw);
                        opts.password_source = PasswordSource::PgPassFile(path.clone());
                    }
                }
                opts.passfile = Some(path);
            }
            Ok(None) => {}
            // Like libpq, only worth a word when the file would actually have been consulted.
            Err(warning) if opts.password.is_none() => warnings.push(warning),
            Err(_) => {}
        }
    }

    for var in UNSUPPORTED_ENV {
        if getenv(var).is_some() {
            warnings.push(format!(
                "{var} is set but opsbook ignores it (child tools such as psql will still use it)"
            ));
        }
    }
    opts.warnings = warnings;
    Ok(opts)
}

/// The first default directory that holds this port's socket; the first directory when none
/// does, so the eventual "no such file" names the conventional place.
fn default_socket_dir(dirs: &[PathBuf], port: u16) -> String {
    let socket = format!(".s.PGSQL.{port}");
    dirs.iter()
        .find(|d| d.join(&socket).exists())
        .or_else(|| dirs.first())
        .map_or_else(
            || DEFAULT_SOCKET_DIRS[0].to_string(),
            |d| d.to_string_lossy().into_owned(),
        )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    #[test]
    fn precedence_flag_then_database_url_then_config_then_env() {
        let env = [
            ("DATABASE_URL", "postgres://dburl-host/x"),
            ("PGHOST", "env-host"),
        ];
        let flag = Some("postgres://flag-host/x");
        let config = Some("postgres://config-host/x");
        assert_eq!(res(flag, config, &env).unwrap().host(), "flag-host");
        assert_eq!(res(None, config, &env).unwrap().host(), "dburl-host");
        assert_eq!(res(None, config, &env[1..]).unwrap().host(), "config-host");
        assert_eq!(res(None, None, &env[1..]).unwrap().host(), "env-host");
        // An empty DATABASE_URL is as good as unset.
        let empty = [("DATABASE_URL", ""), ("PGHOST", "env-host")];
        assert_eq!(res(None, config, &empty).unwrap().host(), "config-host");
        // URLs are not merged: the chosen one's gaps come from PG*, not from a lower URL.
        let o = res(
            Some("postgres://flag-host"),
            Some("postgres://cfguser@config-host:7777/cfgdb"),
            &[],
        )
        .unwrap();
        assert_eq!((o.port(), o.user(), o.dbname()), (5432, "osuser", "osuser"));
    }

    #[test]
    fn environment_fills_what_the_url_leaves_out() {
        let env = [
            ("PGPORT", "6543"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "require"),
            ("PGAPPNAME", "envapp"),
            ("PGCONNECT_TIMEOUT", "7"),
            ("PGSSLROOTCERT", "/etc/ssl/pg-root.crt"),
        ];
        let o = res(Some("postgres://db.example.com"), None, &env).unwrap();
        assert_eq!(o.host(), "db.example.com");
        assert_eq!(o.port(), 6543);
        assert_eq!(o.user(), "envuser");
        assert_eq!(o.dbname(), "envdb");
        assert_eq!(o.ssl_mode(), SslMode::Require);
        assert_eq!(o.connect_timeout(), Some(Duration::from_secs(7)));
        let c = o.pg_config(Duration::from_secs(30), Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_application_name(), Some("envapp"));

        // What the URL does say wins over the environment.
        let o = res(
            Some("postgres://u@h:5000/d?sslmode=disable&application_name=urlapp&connect_timeout=0"),
            None,
            &env,
        )
        .unwrap();
        assert_eq!(
            (o.host(), o.port(), o.user(), o.dbname()),
            ("h", 5000, "u", "d")
        );
        assert_eq!(o.ssl_mode(), SslMode::Disable);
        assert_eq!(o.connect_timeout(), None);
        let c = o.pg_config(Duration::from_secs(30), Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_application_name(), Some("urlapp"));

        // Env values are validated too, and named in the error.
        let e = err_text(res(None, None, &[("PGPORT", "70000")]));
        assert!(e.contains("PGPORT") && e.contains("70000"), "{e}");
        let e = err_text(res(None, None, &[("PGCONNECT_TIMEOUT", "soon")]));
        assert!(e.contains("PGCONNECT_TIMEOUT"), "{e}");
        let e = err_text(res(None, None, &[("PGHOST", "a,b")]));
        assert!(e.contains("multiple hosts"), "{e}");
    }

    #[test]
    fn connect_timeout_follows_libpq_rules() {
        let t = |v: &str| {
            res(None, None, &[("PGCONNECT_TIMEOUT", v)])
                .unwrap()
                .connect_timeout()
        };
        assert_eq!(t("-3"), None);
        assert_eq!(t("0"), None);
        assert_eq!(t("1"), Some(Duration::from_secs(2)));
        assert_eq!(t("15"), Some(Duration::from_secs(15)));
    }

    #[test]
    fn socket_defaults_pick_the_directory_holding_the_socket() {
        let a = TempDir::new("sock-a");
        let b = TempDir::new("sock-b");
        let platform = Platform {
            os_user: Some("osuser".to_string()),
            pw_home: None,
            socket_dirs: vec![a.0.clone(), b.0.clone()],
        };
        let none = env_of(&[]);
        let o = resolve_in(None, None, None, &none, &platform).unwrap();
        assert_eq!(
            o.host(),
            a.path(),
            "no socket anywhere: the first directory"
        );
        assert!(o.is_local_socket());
        assert_eq!((o.port(), o.user(), o.dbname()), (5432, "osuser", "osuser"));
        assert_eq!(o.ssl_mode(), SslMode::Prefer);

        b.file(".s.PGSQL.5432", "", 0o600);
        let o = resolve_in(None, None, None, &none, &platform).unwrap();
        assert_eq!(o.host(), b.path());
        // The socket name depends on the port.
        let other_port = env_of(&[("PGPORT", "5433")]);
        let o = resolve_in(None, None, None, &other_port, &platform).unwrap();
        assert_eq!(o.host(), a.path());

        // The real platform: some user, dbname = user, one of the conventional directories.
        let home = TempDir::new("home");
        let home_path = home.path();
        let o = PgOptions::resolve(None, None, None, &|k: &str| {
            (k == "HOME").then(|| home_path.clone())
        })
        .unwrap();
        assert!(!o.user().is_empty());
        assert_eq!(o.dbname(), o.user());
        assert!(DEFAULT_SOCKET_DIRS.contains(&o.host()), "{}", o.host());
        let c = o.pg_config(Duration::from_secs(1), Duration::ZERO, Duration::ZERO);
        assert!(matches!(
            c.get_hosts(),
            [tokio_postgres::config::Host::Unix(_)]
        ));
        assert_eq!(c.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
    }
    #[test]
    fn pgpass_file_resolution_and_permission_rule() {
        let dir = TempDir::new("pgpass");
        let home = dir.path();
        let pgpass = dir.file(
            ".pgpass",
            "localhost:5432:*:app:socket-pw\ndb.example.com:5432:appdb:app:appdb-pw\ndb.example.com:5432:otherdb:app:otherdb-pw\n",
            0o600,
        );
        let env = [("HOME", home.as_str()), ("PGUSER", "app")];

        let o = res(Some("postgres://db.example.com/appdb"), None, &env).unwrap();
        assert_eq!(o.password.as_deref(), Some("appdb-pw"));
        assert_eq!(
            o.password_source(),
            format!("pgpass file {}", pgpass.display())
        );
        assert!(o.warnings().is_empty(), "{:?}", o.warnings());
        // pgpass entries are per database: another database, another password.
        let other = o.with_dbname("otherdb");
        assert_eq!(other.dbname(), "otherdb");
        assert_eq!(other.password.as_deref(), Some("otherdb-pw"));
        let none = o.with_dbname("nodb");
        assert_eq!(
            (none.password.as_deref(), none.password_source().as_str()),
            (None, "none")
        );
        assert_eq!(none.host(), "db.example.com");

        // The default socket directory matches as "localhost", like libpq.
        let sock = TempDir::new("pgpass-sock");
        let platform = Platform {
            os_user: Some("app".to_string()),
            pw_home: None,
            socket_dirs: vec![sock.0.clone()],
        };
        let o = resolve_in(None, None, None, &env_of(&env), &platform).unwrap();
        assert!(o.is_local_socket());
        assert_eq!(o.password.as_deref(), Some("socket-pw"));

        // PGPASSFILE points elsewhere.
        let alt = dir.file("alt-pgpass", "*:*:*:*:alt-pw\n", 0o600);
        let alt_s = alt.to_string_lossy().into_owned();
        let env2 = [("HOME", home.as_str()), ("PGPASSFILE", alt_s.as_str())];
        let o = res(Some("postgres://db.example.com/appdb"), None, &env2).unwrap();
        assert_eq!(o.password.as_deref(), Some("alt-pw"));

        // Group/world access: ignored, with libpq's warning.
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o640)).unwrap();
        let o = res(Some("postgres://db.example.com/appdb"), None, &env).unwrap();
        assert_eq!(o.password, None);
        assert_eq!(o.password_source(), "none");
        assert_eq!(o.warnings().len(), 1);
        assert!(
            o.warnings()[0].contains("has group or world access"),
            "{:?}",
            o.warnings()
        );
        assert!(o.warnings()[0].contains(&pgpass.display().to_string()));
        // ... but not worth a warning when the password came from elsewhere.
        let with_pw = [("HOME", home.as_str()), ("PGPASSWORD", "x")];
        let o = res(Some("postgres://db.example.com/appdb"), None, &with_pw).unwrap();
        assert!(o.warnings().is_empty());
    }

    #[test]
    fn password_precedence_url_then_password_file_then_pgpassword_then_pgpass() {
        let dir = TempDir::new("pwprec");
        let home = dir.path();
        dir.file(".pgpass", "*:*:*:*:pgpass-pw\n", 0o600);
        let pwfile = dir.file("pw", "file-pw\nsecond line ignored\n", 0o600);
        let env_all = [("HOME", home.as_str()), ("PGPASSWORD", "env-pw")];
        let r = |url: &str, pwf: Option<&Path>, env: &[(&str, &str)]| {
            resolve_in(Some(url), None, pwf, &env_of(env), &test_platform()).unwrap()
        };

        let o = r("postgres://u:url-pw@h/d", Some(&pwfile), &env_all);
        assert_eq!(
            (o.password.as_deref(), o.password_source().as_str()),
            (Some("url-pw"), "url")
        );
        let o = r("postgres://u@h/d", Some(&pwfile), &env_all);
        assert_eq!(o.password.as_deref(), Some("file-pw"));
        assert_eq!(
            o.password_source(),
            format!("password_file {}", pwfile.display())
        );
        let o = r("postgres://u@h/d", None, &env_all);
        assert_eq!(
            (o.password.as_deref(), o.password_source().as_str()),
            (Some("env-pw"), "PGPASSWORD")
        );
        let o = r("postgres://u@h/d", None, &env_all[..1]);
        assert_eq!(o.password.as_deref(), Some("pgpass-pw"));
        assert!(o.password_source().starts_with("pgpass file "));
        let o = r("postgres://u@h/d", None, &[]);
        assert_eq!(
            (o.password.as_deref(), o.password_source().as_str()),
            (None, "none")
        );

        // A password_file others can read is refused outright.
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = resolve_in(
            Some("postgres://u@h/d"),
            None,
            Some(&pwfile),
            &env_of(&[]),
            &test_platform(),
        )
        .unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("group or others") && e.contains("chmod 600"),
            "{e}"
        );
        assert!(!e.contains("file-pw"));
        let missing = dir.0.join("missing");
        assert!(resolve_in(
            Some("postgres://u@h/d"),
            None,
            Some(&missing),
            &env_of(&[]),
            &test_platform()
        )
        .is_err());
    }
    #[test]
    fn unsupported_environment_is_reported() {
        let o = res(None, None, &[("PGSERVICE", "prod"), ("PGSSLCERT", "/x")]).unwrap();
        let w = o.warnings().join("\n");
        assert!(w.contains("PGSERVICE") && w.contains("PGSSLCERT"), "{w}");
    }
}
