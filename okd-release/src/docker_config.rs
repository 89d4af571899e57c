//! The Docker image configuration as `oc` models and writes it (library-go
//! `dockerv1client.DockerImageConfig` with openshift/api `docker10.DockerConfig`).
//!
//! `oc adm release new` decodes the base image's configuration into this struct — dropping any
//! field it does not know — edits it and writes it back with `json.Marshal`. Writing the same
//! fields in the same order gives the same configuration bytes, and so the same config digest.
//!
//! ```
//! use okd_release::docker_config::DockerImageConfig;
//!
//! let c = DockerImageConfig::parse(br#"{"architecture":"amd64","os":"linux","config":{"Labels":{"a":"b"}}}"#)?;
//! assert_eq!(
//!     c.to_json(),
//!     r#"{"id":"","created":"0001-01-01T00:00:00Z","container_config":{},"config":{"Labels":{"a":"b"}},"architecture":"amd64","os":"linux"}"#
//! );
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;
use crate::gojson::{self, Shape, null_default};

/// A Go `time.Time` in JSON: RFC 3339 with nanoseconds trimmed of trailing zeros, `Z` for a zero
/// offset; `None` is Go's zero time.
pub type GoTime = Option<DateTime<FixedOffset>>;

/// An empty JSON object (Go's `struct{}`), the value type of `ExposedPorts` and `Volumes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Empty {}

/// `docker10.DockerConfig`: the runtime configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct DockerConfig {
    #[serde(rename = "Hostname", default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(
        rename = "Domainname",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub domainname: String,
    #[serde(rename = "User", default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(rename = "Memory", default, skip_serializing_if = "is_zero")]
    pub memory: i64,
    #[serde(rename = "MemorySwap", default, skip_serializing_if = "is_zero")]
    pub memory_swap: i64,
    #[serde(rename = "CpuShares", default, skip_serializing_if = "is_zero")]
    pub cpu_shares: i64,
    #[serde(rename = "Cpuset", default, skip_serializing_if = "String::is_empty")]
    pub cpuset: String,
    #[serde(rename = "AttachStdin", default, skip_serializing_if = "is_false")]
    pub attach_stdin: bool,
    #[serde(rename = "AttachStdout", default, skip_serializing_if = "is_false")]
    pub attach_stdout: bool,
    #[serde(rename = "AttachStderr", default, skip_serializing_if = "is_false")]
    pub attach_stderr: bool,
    #[serde(
        rename = "PortSpecs",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub port_specs: Vec<String>,
    #[serde(
        rename = "ExposedPorts",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub exposed_ports: BTreeMap<String, Empty>,
    #[serde(rename = "Tty", default, skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(rename = "OpenStdin", default, skip_serializing_if = "is_false")]
    pub open_stdin: bool,
    #[serde(rename = "StdinOnce", default, skip_serializing_if = "is_false")]
    pub stdin_once: bool,
    #[serde(
        rename = "Env",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<String>,
    #[serde(
        rename = "Cmd",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cmd: Vec<String>,
    #[serde(
        rename = "Dns",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dns: Vec<String>,
    #[serde(rename = "Image", default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(
        rename = "Volumes",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub volumes: BTreeMap<String, Empty>,
    #[serde(
        rename = "VolumesFrom",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub volumes_from: String,
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    #[serde(
        rename = "Entrypoint",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub entrypoint: Vec<String>,
    #[serde(rename = "NetworkDisabled", default, skip_serializing_if = "is_false")]
    pub network_disabled: bool,
    #[serde(
        rename = "SecurityOpts",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub security_opts: Vec<String>,
    #[serde(
        rename = "OnBuild",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub on_build: Vec<String>,
    #[serde(
        rename = "Labels",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
}

/// `DockerConfigRootFS`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RootFs {
    /// `layers`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Digests of the uncompressed layers.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub diff_ids: Vec<String>,
}

/// `DockerConfigHistory`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct History {
    /// When.
    #[serde(default, with = "go_time")]
    pub created: GoTime,
    /// Who.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// The command.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    /// A comment (`Release image for OpenShift`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// No layer for this step.
    #[serde(default, skip_serializing_if = "is_false")]
    pub empty_layer: bool,
}

/// `dockerv1client.DockerImageConfig`. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct DockerImageConfig {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, with = "go_time")]
    pub created: GoTime,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    #[serde(default)]
    pub container_config: DockerConfig,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<DockerConfig>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<RootFs>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub history: Vec<History>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Go's `time.Time` JSON encoding.
pub(crate) mod go_time {
    use super::*;

    pub fn format(t: &GoTime) -> String {
        let Some(t) = t else {
            return "0001-01-01T00:00:00Z".to_string();
        };
        let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let nanos = t.nanosecond() % 1_000_000_000;
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        if t.offset().local_minus_utc() == 0 {
            s.push('Z');
        } else {
            s.push_str(&t.format("%:z").to_string());
        }
        s
    }

    pub fn serialize<S: Serializer>(t: &GoTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<GoTime, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => {
                let t = DateTime::parse_from_rfc3339(&s)
                    .map_err(|e| serde::de::Error::custom(format!("time {s:?}: {e}")))?;
                // Go's zero time is "unset".
                Ok((t.timestamp() != -62_135_596_800 || t.nanosecond() != 0).then_some(t))
            }
        }
    }
}

static DOCKER_CONFIG: Shape = Shape::PtrStruct(&[
    ("Hostname", &Shape::Scalar),
    ("Domainname", &Shape::Scalar),
    ("User", &Shape::Scalar),
    ("Memory", &Shape::Scalar),
    ("MemorySwap", &Shape::Scalar),
    ("CpuShares", &Shape::Scalar),
    ("Cpuset", &Shape::Scalar),
    ("AttachStdin", &Shape::Scalar),
    ("AttachStdout", &Shape::Scalar),
    ("AttachStderr", &Shape::Scalar),
    ("PortSpecs", &Shape::List(&Shape::Scalar)),
    ("ExposedPorts", &Shape::Map(&Shape::Any)),
    ("Tty", &Shape::Scalar),
    ("OpenStdin", &Shape::Scalar),
    ("StdinOnce", &Shape::Scalar),
    ("Env", &Shape::List(&Shape::Scalar)),
    ("Cmd", &Shape::List(&Shape::Scalar)),
    ("Dns", &Shape::List(&Shape::Scalar)),
    ("Image", &Shape::Scalar),
    ("Volumes", &Shape::Map(&Shape::Any)),
    ("VolumesFrom", &Shape::Scalar),
    ("WorkingDir", &Shape::Scalar),
    ("Entrypoint", &Shape::List(&Shape::Scalar)),
    ("NetworkDisabled", &Shape::Scalar),
    ("SecurityOpts", &Shape::List(&Shape::Scalar)),
    ("OnBuild", &Shape::List(&Shape::Scalar)),
    ("Labels", &Shape::Map(&Shape::Scalar)),
]);
static HISTORY: Shape = Shape::Struct(&[
    ("created", &Shape::Scalar),
    ("author", &Shape::Scalar),
    ("created_by", &Shape::Scalar),
    ("comment", &Shape::Scalar),
    ("empty_layer", &Shape::Scalar),
]);
static IMAGE_CONFIG: Shape = Shape::Struct(&[
    ("id", &Shape::Scalar),
    ("parent", &Shape::Scalar),
    ("comment", &Shape::Scalar),
    ("created", &Shape::Scalar),
    ("container", &Shape::Scalar),
    ("container_config", &DOCKER_CONFIG),
    ("docker_version", &Shape::Scalar),
    ("author", &Shape::Scalar),
    ("config", &DOCKER_CONFIG),
    ("architecture", &Shape::Scalar),
    ("size", &Shape::Scalar),
    (
        "rootfs",
        &Shape::PtrStruct(&[
            ("type", &Shape::Scalar),
            ("diff_ids", &Shape::List(&Shape::Scalar)),
        ]),
    ),
    ("history", &Shape::List(&HISTORY)),
    ("os", &Shape::Scalar),
    ("os.version", &Shape::Scalar),
    ("os.features", &Shape::List(&Shape::Scalar)),
]);

impl DockerImageConfig {
    /// Decodes a configuration as `oc` does (`encoding/json` into the Go struct).
    pub fn parse(data: &[u8]) -> Result<DockerImageConfig, Error> {
        gojson::from_slice_go(data, &IMAGE_CONFIG, false)
            .map_err(|reason| Error::document("image config", reason))
    }

    /// `json.Marshal` of the struct: the configuration blob.
    pub fn to_json(&self) -> String {
        gojson::to_string_compact(self).unwrap_or_else(|e| unreachable!("image config: {e}"))
    }

    /// `json.MarshalIndent(…, "", "  ")`, as `oc adm release info -o json` shows it.
    pub fn to_json_indent(&self) -> String {
        gojson::to_string_indent(self).unwrap_or_else(|e| unreachable!("image config: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_like_go() {
        let t = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap());
        assert_eq!(
            go_time::format(&t("2023-05-25T08:25:20Z")),
            "2023-05-25T08:25:20Z"
        );
        assert_eq!(
            go_time::format(&t("2023-05-25T08:25:20.120000Z")),
            "2023-05-25T08:25:20.12Z"
        );
        assert_eq!(
            go_time::format(&t("2023-05-25T08:25:20+02:00")),
            "2023-05-25T08:25:20+02:00"
        );
        assert_eq!(go_time::format(&None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn drops_unknown_fields_and_keeps_go_order() {
        let c = DockerImageConfig::parse(
            br#"{"os":"linux","architecture":"arm64","variant":"v8","rootfs":{"diff_ids":["sha256:a"],"type":"layers"},
                "config":{"Labels":null,"ExposedPorts":{"80/tcp":{}},"Env":["A=<b>"]},"ID":"x","created":"2024-01-01T00:00:00.5Z"}"#,
        )
        .unwrap();
        assert_eq!(
            c.to_json(),
            r#"{"id":"x","created":"2024-01-01T00:00:00.5Z","container_config":{},"config":{"ExposedPorts":{"80/tcp":{}},"Env":["A=\u003cb\u003e"]},"architecture":"arm64","rootfs":{"type":"layers","diff_ids":["sha256:a"]},"os":"linux"}"#
        );
    }
}
