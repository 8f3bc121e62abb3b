//! `services:` entries: a systemd unit (a plain name, as before), a Docker container (by name or
//! by its compose service label) or a Swarm service.
//!
//! ```yaml
//! services:
//!   - postgresql                                   # systemd unit
//!   - {kind: docker, name: conecta-db-master}       # container by name
//!   - {kind: docker, compose_service: api}          # com.docker.compose.service=api
//!   - {kind: swarm, name: grimbots_worker}          # Swarm service
//! ```

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a `services:` entry is checked as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// a systemd unit: `service.active` and `journal.errors`
    #[default]
    Systemd,
    /// a Docker container: `container.*`
    Docker,
    /// a Swarm service: `swarm.*`
    Swarm,
}

/// One `services:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service {
    /// a systemd unit name
    Systemd(String),
    /// a container by its name
    Container(String),
    /// the containers labelled `com.docker.compose.service=<name>`
    ComposeService(String),
    /// a Swarm service name
    Swarm(String),
}

impl Service {
    /// The name the findings use as their subject.
    pub fn label(&self) -> &str {
        match self {
            Service::Systemd(n)
            | Service::Container(n)
            | Service::ComposeService(n)
            | Service::Swarm(n) => n,
        }
    }
}

/// The map form as written.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    kind: ServiceKind,
    /// a unit, container or Swarm service name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// docker only: the compose service label instead of a container name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compose_service: Option<String>,
}

impl TryFrom<Entry> for Service {
    type Error = String;
    fn try_from(e: Entry) -> Result<Service, String> {
        let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        match (e.kind, nonempty(e.name), nonempty(e.compose_service)) {
            (ServiceKind::Docker, Some(_), Some(_)) => Err(
                "a docker service entry names a container (`name:`) or a compose service (`compose_service:`), not both".into(),
            ),
            (ServiceKind::Docker, None, Some(c)) => Ok(Service::ComposeService(c)),
            (ServiceKind::Docker, None, None) => Err(
                "a docker service entry needs `name:` (a container) or `compose_service:`".into(),
            ),
            (_, None, _) => Err(format!(
                "a {} service entry needs `name:`",
                kind_word(e.kind)
            )),
            (ServiceKind::Docker, Some(n), None) => Ok(Service::Container(n)),
            (k, Some(_), Some(_)) => Err(format!(
                "`compose_service:` is for `kind: docker` entries, not {}",
                kind_word(k)
            )),
            (ServiceKind::Systemd, Some(n), None) => Ok(Service::Systemd(n)),
            (ServiceKind::Swarm, Some(n), None) => Ok(Service::Swarm(n)),
        }
    }
}

fn kind_word(k: ServiceKind) -> &'static str {
    match k {
        ServiceKind::Systemd => "systemd",
        ServiceKind::Docker => "docker",
        ServiceKind::Swarm => "swarm",
    }
}

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Service, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Service;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a systemd unit name, or a map with `kind: docker|swarm|systemd` and `name:` (or `compose_service:`)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Service, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("a service entry is empty"));
                }
                Ok(Service::Systemd(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Service, A::Error> {
                let entry = Entry::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Service::try_from(entry).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Service {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entry = |kind, name: &str, compose: bool| Entry {
            kind,
            name: (!compose).then(|| name.to_string()),
            compose_service: compose.then(|| name.to_string()),
        };
        match self {
            Service::Systemd(n) => s.serialize_str(n),
            Service::Container(n) => entry(ServiceKind::Docker, n, false).serialize(s),
            Service::ComposeService(n) => entry(ServiceKind::Docker, n, true).serialize(s),
            Service::Swarm(n) => entry(ServiceKind::Swarm, n, false).serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Vec<Service>, String> {
        serde_saphyr::from_str::<Vec<Service>>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn plain_names_stay_systemd_units_and_maps_pick_a_kind() {
        let got = parse(
            "- postgresql\n- {kind: docker, name: db}\n- {kind: docker, compose_service: api}\n- {kind: swarm, name: web}\n- {name: redis}\n",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                Service::Systemd("postgresql".into()),
                Service::Container("db".into()),
                Service::ComposeService("api".into()),
                Service::Swarm("web".into()),
                Service::Systemd("redis".into()),
            ]
        );
    }

    #[test]
    fn wrong_entries_say_what_is_missing() {
        assert!(parse("- {kind: docker}\n")
            .unwrap_err()
            .contains("needs `name:`"));
        assert!(parse("- {kind: docker, name: a, compose_service: b}\n")
            .unwrap_err()
            .contains("not both"));
        assert!(parse("- {kind: swarm, compose_service: b}\n")
            .unwrap_err()
            .contains("needs `name:`"));
        assert!(parse("- {kind: podman, name: a}\n").is_err());
        assert!(parse("- {kind: docker, nam: a}\n").is_err());
    }

    #[test]
    fn entries_serialize_back_to_what_parses() {
        let all = vec![
            Service::Systemd("postgresql".into()),
            Service::Container("db".into()),
            Service::ComposeService("api".into()),
            Service::Swarm("web".into()),
        ];
        let yaml = serde_saphyr::to_string(&all).unwrap();
        assert_eq!(parse(&yaml).unwrap(), all);
    }
}
