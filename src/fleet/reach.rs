//! `target.up` for the targets no command runs against: a Sentinel (`SENTINEL
//! get-master-addr-by-name <master>` answered) and an HAProxy (its statistics read from the
//! stats URL or the admin socket), through the same clients `cluster status` uses.

use std::time::Duration;

use crate::clients::haproxy::{read_stats, StatsSource};
use crate::clients::redis::resolve_url;
use crate::clients::sentinel::Sentinel;
use crate::config::targets::{HaproxyTarget, SentinelTarget};
use crate::redact::mask_url;
use crate::report::{one_line, Finding, Status};

/// The finding id of a target's reachability.
pub const UP: &str = "target.up";

/// A Sentinel answers and names the master it monitors.
pub async fn sentinel(name: &str, s: &SentinelTarget, timeout: Duration) -> Finding {
    let masked = mask_url(&s.url);
    let probe = async {
        let url = resolve_url(Some(&s.url), None, s.password_file.as_deref(), &|_| None)?;
        Sentinel::connect(&url, &s.master, timeout)
            .await?
            .master_addr()
            .await
    };
    match tokio::time::timeout(timeout * 2, probe).await {
        Ok(Ok(Some((host, port)))) => Finding::ok(
            UP,
            format!(
                "Sentinel at {masked} answers; master {} is at {host}:{port}",
                s.master
            ),
        ),
        Ok(Ok(None)) => Finding::new(
            UP,
            Status::Critical,
            format!(
                "Sentinel at {masked} answers but does not monitor a master named {}",
                s.master
            ),
        )
        .hint(format!(
            "check targets.{name}.master against `sentinel monitor` in the Sentinel's config"
        )),
        Ok(Err(e)) => down(name, &masked, &one_line(&e)),
        Err(_) => down(
            name,
            &masked,
            &format!("no answer within {:.1}s", (timeout * 2).as_secs_f64()),
        ),
    }
    .target(name)
}

/// An HAProxy's statistics can be read from its stats page (`URL;csv`) or its admin socket
/// (`show stat`).
pub async fn haproxy(name: &str, h: &HaproxyTarget, connect: Duration, total: Duration) -> Finding {
    let (what, source) = match (&h.url, &h.socket) {
        (Some(url), _) => (mask_url(url), StatsSource::Url(url)),
        (None, Some(socket)) => (socket.display().to_string(), StatsSource::Socket(socket)),
        // validate() refuses a target with neither.
        (None, None) => {
            return down(name, "the HAProxy target", "no url or socket configured").target(name)
        }
    };
    match read_stats(&source, connect, total).await {
        Ok(backends) => {
            let servers: usize = backends.iter().map(|b| b.servers.len()).sum();
            let up: usize = backends.iter().map(|b| b.up_servers().len()).sum();
            Finding::ok(
                UP,
                format!(
                    "HAProxy at {what} answers: {} backends, {up} of {servers} servers up",
                    backends.len()
                ),
            )
        }
        Err(e) => {
            // read_stats names its own hint when the place answers but is not a stats page.
            let text = format!("{e:#}");
            match text.split_once("\nhint: ") {
                Some((why, hint)) => Finding::new(
                    UP,
                    Status::Critical,
                    format!("{what}: {}", why.replace('\n', " ")),
                )
                .hint(format!("{hint} (targets.{name}.url)")),
                None => down(name, &what, &one_line(&e)),
            }
        }
    }
    .target(name)
}

fn down(name: &str, what: &str, why: &str) -> Finding {
    Finding::new(UP, Status::Critical, format!("{what} is not reachable: {why}")).hint(format!(
        "check that the service of target {name} runs and listens there (targets.{name} in the config)"
    ))
}
