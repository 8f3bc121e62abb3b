//! `backup.remote_audit`: can the configured key delete backups? A ransomware-safe setup
//! (a key without s3:DeleteObject, or object lock) cannot. Probed, not guessed: a small object
//! is written under the prefix and deleted again; if the delete succeeds, so would an
//! attacker's delete of every copy.

use object_store::ObjectStore as _;

use crate::clients::s3::Bucket;
use crate::report::{one_line, Finding, Status};

const ID: &str = "backup.remote_audit";

pub async fn delete_probe(bucket: &Bucket) -> Finding {
    let key = bucket.key(&format!(".opsbook-audit-probe-{}", std::process::id()));
    let name = &bucket.name;
    if let Err(e) = bucket
        .store
        .put(&key, b"opsbook audit probe\n".to_vec().into())
        .await
    {
        return Finding::new(ID, Status::Unknown, format!("remote {name}: could not write the audit probe {key}: {}", one_line(&anyhow::Error::new(e))))
            .subject(name.clone())
            .hint("a key that cannot write cannot take backups either: check its permissions on the prefix");
    }
    match bucket.store.delete(&key).await {
        Ok(()) => Finding::new(ID, Status::Warning, format!("remote {name}: this key can delete backups; a ransomware-safe key cannot"))
            .subject(name.clone())
            .hint("give opsbook a key without s3:DeleteObject (expire old copies with a lifecycle rule), and turn on versioning with object lock on the bucket"),
        Err(e) => Finding::ok(ID, format!("remote {name}: this key cannot delete objects ({}); the probe {key} stays", one_line(&anyhow::Error::new(e))))
            .subject(name.clone()),
    }
}
