//! Redis Sentinel, over the redis crate's connection (`redis.rs`: connect and response
//! timeouts, the URL masked in errors): `SENTINEL GET-MASTER-ADDR-BY-NAME`, `MASTER`,
//! `REPLICAS`, `SENTINELS`, `CKQUORUM` and `FAILOVER` for one master name.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use crate::clients::redis::RedisClient;

/// Field → value, as SENTINEL MASTER / REPLICAS / SENTINELS answer (a flat list of pairs).
pub type Fields = BTreeMap<String, String>;

/// What `SENTINEL CKQUORUM` said: `+OK 3 usable Sentinels...` or `-NOQUORUM ...`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quorum {
    pub ok: bool,
    pub message: String,
}

/// One Sentinel, asked about one master name.
pub struct Sentinel {
    conn: RedisClient,
    master: String,
}

fn pairs(v: &redis::Value) -> Fields {
    let items: Vec<String> = match v {
        redis::Value::Array(items) => items
            .iter()
            .map(|i| redis::from_redis_value_ref::<String>(i).unwrap_or_default())
            .collect(),
        redis::Value::Map(kv) => kv
            .iter()
            .flat_map(|(k, v)| {
                [
                    redis::from_redis_value_ref::<String>(k).unwrap_or_default(),
                    redis::from_redis_value_ref::<String>(v).unwrap_or_default(),
                ]
            })
            .collect(),
        _ => Vec::new(),
    };
    items
        .chunks(2)
        .filter_map(|c| Some((c.first()?.clone(), c.get(1)?.clone())))
        .collect()
}

fn list_of_pairs(v: &redis::Value) -> Vec<Fields> {
    match v {
        redis::Value::Array(items) => items.iter().map(pairs).collect(),
        _ => Vec::new(),
    }
}

/// A Sentinel's `flags` say the peer or replica is down (`s_down`, `o_down`, `disconnected`).
pub fn flags_down(f: &Fields) -> bool {
    f.get("flags")
        .map(|fl| {
            fl.split(',')
                .any(|x| matches!(x, "s_down" | "o_down" | "disconnected"))
        })
        .unwrap_or(false)
}

impl Sentinel {
    pub async fn connect(url: &str, master: &str, timeout: Duration) -> anyhow::Result<Sentinel> {
        let conn = RedisClient::connect(url, timeout)
            .await
            .context("connecting to the Sentinel")?;
        Ok(Sentinel {
            conn,
            master: master.to_string(),
        })
    }

    /// The Sentinel's URL, password masked.
    pub fn url(&self) -> &str {
        self.conn.url()
    }

    pub fn master_name(&self) -> &str {
        &self.master
    }

    async fn sentinel(&self, sub: &str) -> anyhow::Result<redis::Value> {
        let mut conn = self.conn.connection();
        redis::cmd("SENTINEL")
            .arg(sub)
            .arg(&self.master)
            .query_async(&mut conn)
            .await
            .with_context(|| {
                format!(
                    "SENTINEL {sub} {} on the Sentinel at {}",
                    self.master,
                    self.conn.url()
                )
            })
    }

    /// Where this Sentinel says the master is (None: it does not monitor that name).
    pub async fn master_addr(&self) -> anyhow::Result<Option<(String, u16)>> {
        let v = self.sentinel("GET-MASTER-ADDR-BY-NAME").await?;
        let addr: Option<(String, String)> = redis::from_redis_value_ref(&v).ok();
        Ok(addr.and_then(|(h, p)| Some((h, p.parse().ok()?))))
    }

    /// `SENTINEL MASTER name`: flags, num-slaves, num-other-sentinels, quorum, ...
    pub async fn master(&self) -> anyhow::Result<Fields> {
        Ok(pairs(&self.sentinel("MASTER").await?))
    }

    pub async fn replicas(&self) -> anyhow::Result<Vec<Fields>> {
        Ok(list_of_pairs(&self.sentinel("REPLICAS").await?))
    }

    /// The other Sentinels this one knows for the master.
    pub async fn sentinels(&self) -> anyhow::Result<Vec<Fields>> {
        Ok(list_of_pairs(&self.sentinel("SENTINELS").await?))
    }

    /// `SENTINEL CKQUORUM`: whether enough Sentinels are reachable to authorise a failover.
    pub async fn ckquorum(&self) -> anyhow::Result<Quorum> {
        let mut conn = self.conn.connection();
        let r: redis::RedisResult<String> = redis::cmd("SENTINEL")
            .arg("CKQUORUM")
            .arg(&self.master)
            .query_async(&mut conn)
            .await;
        match r {
            Ok(text) => Ok(Quorum {
                ok: true,
                message: text,
            }),
            Err(e) if e.code() == Some("NOQUORUM") => Ok(Quorum {
                ok: false,
                message: e
                    .detail()
                    .map_or_else(|| e.to_string(), |d| format!("NOQUORUM {d}")),
            }),
            Err(e) => Err(anyhow::Error::from(e)).with_context(|| {
                format!(
                    "SENTINEL CKQUORUM {} on the Sentinel at {}",
                    self.master,
                    self.conn.url()
                )
            }),
        }
    }

    /// `SENTINEL FAILOVER name`: promote a replica without asking the other Sentinels.
    pub async fn failover(&self) -> anyhow::Result<()> {
        self.sentinel("FAILOVER").await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> redis::Value {
        redis::Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn reads_the_pair_lists_sentinel_sends() {
        let v = redis::Value::Array(vec![
            bulk("name"),
            bulk("opsbook"),
            bulk("flags"),
            bulk("master"),
            bulk("num-other-sentinels"),
            bulk("2"),
        ]);
        let f = pairs(&v);
        assert_eq!(f["name"], "opsbook");
        assert_eq!(f["num-other-sentinels"], "2");
        assert!(!flags_down(&f));
        let list = list_of_pairs(&redis::Value::Array(vec![redis::Value::Array(vec![
            bulk("flags"),
            bulk("slave,s_down"),
        ])]));
        assert!(flags_down(&list[0]));
        assert!(list_of_pairs(&redis::Value::Nil).is_empty());
    }
}
