//! `backup.remote_age`: per configured remote, how old its newest complete off-site copy is and
//! whether that backup verified; a remote that cannot be listed is CRITICAL with the reason
//! (an off-site copy nobody can reach is no copy). With it, `backup.remote_audit`'s read-only
//! facts (versioning, object lock; the delete probe writes an object, so only
//! `backup list --remote` runs it).

use std::time::Duration;

use crate::backup::remote;
use crate::config::remotes::Remotes;
use crate::config::SpanLimits;
use crate::render::human_duration;
use crate::report::{one_line, Finding, Status};

const ID: &str = "backup.remote_age";

pub async fn remote_age(
    remotes: &Remotes,
    limits: SpanLimits,
    connect: Duration,
    timeout: Duration,
    now: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for name in remotes.keys() {
        let listed = async {
            let (bucket, _) = remote::open(remotes, name, connect)?;
            let listing = remote::list(&bucket, None).await?;
            anyhow::Ok((bucket, listing))
        };
        let listing = match tokio::time::timeout(timeout, listed).await {
            Ok(Ok((bucket, l))) => {
                match tokio::time::timeout(timeout, remote::audit::audit(&bucket, false)).await {
                    Ok(facts) => out.extend(facts),
                    Err(_) => out.push(
                        Finding::new(
                            "backup.remote_audit",
                            Status::Unknown,
                            format!("remote {name}: the bucket's versioning and object lock were not read within {}", human_duration(timeout.as_secs_f64())),
                        )
                        .subject(name.clone()),
                    ),
                }
                l
            }
            Ok(Err(e)) => {
                out.push(unreachable(name, one_line(&e)));
                continue;
            }
            Err(_) => {
                out.push(unreachable(
                    name,
                    format!("no answer within {}", human_duration(timeout.as_secs_f64())),
                ));
                continue;
            }
        };
        let Some(newest) = listing.records.first() else {
            out.push(
                Finding::new(ID, Status::Critical, format!("remote {name} holds no complete backup"))
                    .subject(name.clone())
                    .hint(format!("copy one now: `opsbook backup --remote {name}`; check the nightly job's --remote flag")),
            );
            continue;
        };
        let age = (now - newest.uploaded_unix).max(0) as f64;
        let (w, c) = (
            limits.warning.map(|s| s.as_secs_f64()),
            limits.critical.map(|s| s.as_secs_f64()),
        );
        let mut status = Status::above(age, w, c);
        if !newest.manifest.verified && status == Status::Ok {
            status = Status::Warning;
        }
        let verified = if newest.manifest.verified {
            "verified"
        } else {
            "NOT verified"
        };
        out.push(
            Finding::new(
                ID,
                status,
                format!(
                    "remote {name}: newest copy {} is {} old, {verified}",
                    newest.id(),
                    human_duration(age)
                ),
            )
            .subject(name.clone())
            .value(age.round() as u64, "seconds")
            .above(w, c)
            .hint(format!(
                "prove it restores: `opsbook backup verify --remote {name} {} --restore-test`",
                newest.id()
            )),
        );
    }
    out
}

fn unreachable(name: &str, why: String) -> Finding {
    Finding::new(ID, Status::Critical, format!("remote {name} cannot be listed: {why}"))
        .subject(name.to_string())
        .hint("check the endpoint, the network path, the credentials (AWS_* / credentials_file / instance role) and the bucket name")
}
