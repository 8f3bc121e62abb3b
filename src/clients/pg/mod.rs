//! The PostgreSQL connection client: options resolved the way libpq resolves them (URL or
//! conninfo string, the PG* environment, ~/.pgpass, socket defaults), and a rustls connector
//! that implements libpq's sslmodes, which tokio-postgres alone does not (it knows no
//! verify-ca / verify-full). One room per job:
//! - `conninfo`: the URL and `key=value` grammar;
//! - `pgpass`: the password file (public: the sandbox writes and reads one too);
//! - `resolve`: precedence between flags, environment, config and defaults, into `PgOptions`;
//! - `options`: `PgOptions` and `SslMode`, their accessors and masked forms;
//! - `connect`: the tokio-postgres config and the connect with its sslmode retries;
//! - `tls`: the certificate check of each sslmode.
//!
//! Deliberate differences from libpq, each for a reason:
//! - one host only (no `host=a,b` failover): every command reports on exactly one server;
//! - `sslmode=prefer`/`allow` never verify the certificate, even when ~/.postgresql/root.crt
//!   exists: libpq would verify and then fall back to plaintext on failure, which protects nothing;
//! - unsupported libpq parameters (sslcert, service, hostaddr, ...) are an error rather than being
//!   silently ignored, so nobody believes a client certificate is in use when it is not.

mod connect;
mod conninfo;
mod options;
pub mod pgpass;
mod resolve;
mod tls;

#[cfg(test)]
mod test_support;

pub use options::{PgOptions, SslMode};
