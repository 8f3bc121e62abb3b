//! `backup.remote_audit`: would the copies on this bucket survive someone who holds the key?
//! One finding per fact, each with what to change:
//! - versioning (GetBucketVersioning): off, a delete or an overwrite is final;
//! - object lock (GetObjectLockConfiguration): off, any key with the right permission can
//!   remove every version;
//! - whether the configured key can delete backups: probed, not guessed: a small object is
//!   written under the prefix and deleted again; if the delete succeeds, so would an
//!   attacker's delete of every copy.
//!
//! The two GETs are bucket subresources object_store has no call for: they are signed with its
//! SigV4 signer and the same credentials ([`Bucket::get_subresource`]); the XML answers are
//! read within a bound and parsed as data (quick-xml into the two documents' fields).

use object_store::ObjectStore as _;
use serde::Deserialize;

use crate::clients::s3::{error_of, Bucket};
use crate::report::{one_line, Finding, Status};

const ID: &str = "backup.remote_audit";

/// Every fact of the audit: versioning, object lock, and (with `probe_delete`) the delete
/// probe, which writes an object (it stays when the key cannot delete: `check morning` leaves
/// it out so a safe bucket does not collect one a day).
pub async fn audit(bucket: &Bucket, probe_delete: bool) -> Vec<Finding> {
    let mut out = vec![versioning(bucket).await, object_lock(bucket).await];
    if probe_delete {
        out.push(delete_probe(bucket).await);
    }
    out
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct VersioningConfiguration {
    status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ObjectLockConfiguration {
    object_lock_enabled: Option<String>,
    rule: Option<Rule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Rule {
    default_retention: Option<Retention>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Retention {
    mode: Option<String>,
    days: Option<u32>,
    years: Option<u32>,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the answer is not UTF-8".to_string())?;
    quick_xml::de::from_str(text).map_err(|e| format!("the answer is not the expected XML: {e}"))
}

/// The finding for an answer that is neither the document nor "not configured".
fn could_not_tell(bucket: &Bucket, fact: &str, action: &str, status: u16, body: &[u8]) -> Finding {
    let e = error_of(body);
    let why = if e.code.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status} {}: {}", e.code, e.message)
    };
    Finding::new(
        ID,
        Status::Unknown,
        format!(
            "remote {}: could not read the bucket's {fact}: {why}",
            bucket.name
        ),
    )
    .subject(format!("{}:{fact}", bucket.name))
    .hint(format!(
        "allow the key {action} on bucket {} (read-only), or check this on the provider's console",
        bucket.bucket
    ))
}

async fn versioning(bucket: &Bucket) -> Finding {
    let (name, b) = (&bucket.name, &bucket.bucket);
    let subject = format!("{name}:versioning");
    let (status, body) = match bucket.get_subresource("versioning").await {
        Ok(a) => a,
        Err(e) => {
            return Finding::new(
                ID,
                Status::Unknown,
                format!(
                    "remote {name}: could not read the bucket's versioning: {}",
                    one_line(&e)
                ),
            )
            .subject(subject)
            .hint("check the endpoint and the network path to it")
        }
    };
    if status != 200 {
        return could_not_tell(
            bucket,
            "versioning",
            "s3:GetBucketVersioning",
            status,
            &body,
        );
    }
    match parse::<VersioningConfiguration>(&body) {
        Err(why) => Finding::new(ID, Status::Unknown, format!("remote {name}: bucket versioning: {why}")).subject(subject),
        Ok(v) if v.status.as_deref() == Some("Enabled") => Finding::ok(
            ID,
            format!("versioning is on for bucket {b} (remote {name}): an overwrite or delete keeps the old version"),
        )
        .subject(subject),
        Ok(v) => Finding::new(
            ID,
            Status::Warning,
            format!(
                "versioning is {} on bucket {b} (remote {name}): a delete or an overwrite of a backup is final",
                match v.status.as_deref() { Some("Suspended") => "suspended", _ => "off" }
            ),
        )
        .subject(subject)
        .hint(format!("turn it on: `aws s3api put-bucket-versioning --bucket {b} --versioning-configuration Status=Enabled` (or the provider's console), with a lifecycle rule that expires noncurrent versions")),
    }
}

async fn object_lock(bucket: &Bucket) -> Finding {
    let (name, b) = (&bucket.name, &bucket.bucket);
    let subject = format!("{name}:object_lock");
    let (status, body) = match bucket.get_subresource("object-lock").await {
        Ok(a) => a,
        Err(e) => {
            return Finding::new(
                ID,
                Status::Unknown,
                format!(
                    "remote {name}: could not read the bucket's object lock: {}",
                    one_line(&e)
                ),
            )
            .subject(subject)
            .hint("check the endpoint and the network path to it")
        }
    };
    let hint = format!("object lock is set when a bucket is created: `aws s3api create-bucket --bucket NEW --object-lock-enabled-for-bucket`, then a default retention (`aws s3api put-object-lock-configuration --bucket NEW --object-lock-configuration '{{\"ObjectLockEnabled\":\"Enabled\",\"Rule\":{{\"DefaultRetention\":{{\"Mode\":\"COMPLIANCE\",\"Days\":30}}}}}}'`), and point remotes.{name}.bucket at it; AWS also allows enabling it on an existing versioned bucket");
    let off = || {
        Finding::new(
            ID,
            Status::Warning,
            format!("object lock is off on bucket {b} (remote {name}): a key with delete rights can remove every copy, old versions included"),
        )
        .subject(subject.clone())
        .hint(hint.clone())
    };
    if status == 404 && error_of(&body).code == "ObjectLockConfigurationNotFoundError" {
        return off();
    }
    if status != 200 {
        return could_not_tell(
            bucket,
            "object_lock",
            "s3:GetBucketObjectLockConfiguration",
            status,
            &body,
        );
    }
    match parse::<ObjectLockConfiguration>(&body) {
        Err(why) => Finding::new(
            ID,
            Status::Unknown,
            format!("remote {name}: bucket object lock: {why}"),
        )
        .subject(subject),
        Ok(c) if c.object_lock_enabled.as_deref() == Some("Enabled") => {
            let retention = c.rule.and_then(|r| r.default_retention).map(|r| {
                let span = match (r.days, r.years) {
                    (Some(d), _) => format!("{d} day(s)"),
                    (None, Some(y)) => format!("{y} year(s)"),
                    _ => "no period".into(),
                };
                format!("default retention {} {span}", r.mode.unwrap_or_default())
            });
            Finding::ok(
                ID,
                format!(
                    "object lock is on for bucket {b} (remote {name}), {}",
                    retention.as_deref().unwrap_or(
                        "without a default retention (only objects written with one are locked)"
                    )
                ),
            )
            .subject(subject)
        }
        Ok(_) => off(),
    }
}

pub async fn delete_probe(bucket: &Bucket) -> Finding {
    let key = bucket.key(&format!(".opsbook-audit-probe-{}", std::process::id()));
    let name = &bucket.name;
    let subject = format!("{name}:delete");
    if let Err(e) = bucket
        .store
        .put(&key, b"opsbook audit probe\n".to_vec().into())
        .await
    {
        return Finding::new(ID, Status::Unknown, format!("remote {name}: could not write the audit probe {key}: {}", one_line(&anyhow::Error::new(e))))
            .subject(subject)
            .hint("a key that cannot write cannot take backups either: check its permissions on the prefix");
    }
    match bucket.store.delete(&key).await {
        Ok(()) => Finding::new(ID, Status::Warning, format!("this key can delete backups on remote {name}; a ransomware-safe key cannot"))
            .subject(subject)
            .hint("give opsbook a key without s3:DeleteObject (expire old copies with a lifecycle rule), and turn on versioning with object lock on the bucket"),
        Err(e) => Finding::ok(ID, format!("this key cannot delete objects on remote {name} ({}); the probe {key} stays", one_line(&anyhow::Error::new(e))))
            .subject(subject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answers_parse_as_data() {
        let v: VersioningConfiguration = parse(br#"<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#).unwrap();
        assert_eq!(v.status.as_deref(), Some("Enabled"));
        let never: VersioningConfiguration =
            parse(br#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#)
                .unwrap();
        assert_eq!(never.status, None);
        let l: ObjectLockConfiguration = parse(br#"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>"#).unwrap();
        assert_eq!(l.object_lock_enabled.as_deref(), Some("Enabled"));
        assert_eq!(l.rule.unwrap().default_retention.unwrap().days, Some(30));
        assert!(parse::<VersioningConfiguration>(b"not xml <").is_err());
    }
}
