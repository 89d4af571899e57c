//! MachineConfig manifests: kernel arguments and systemd units for nodes that are already
//! running.
//!
//! The machine-config-operator rebases a running node onto a new OS image, but it does not read
//! the image's `usr/lib/bootc/kargs.d`, and a unit added to an image reaches a node only with
//! the image. What must reach the nodes of a pool is therefore written as a `MachineConfig`
//! (`machineconfiguration.openshift.io/v1`) labelled `machineconfiguration.openshift.io/role:
//! <pool>`: `spec.kernelArguments`, and `spec.config` an Ignition 3.2.0 config whose
//! `systemd.units` entries are `{name, enabled, contents}`, the field names of the MCO's types.
//! Written into a release payload ([`MachineConfig::to_payload_yaml`]) it carries the
//! `include.release.openshift.io/*` annotations without which the cluster-version-operator
//! skips a manifest.
//!
//! ```
//! use okd_coreos::machine_config::MachineConfig;
//!
//! let mc = MachineConfig::new("worker")
//!     .kernel_argument("mitigations=off")
//!     .unit("okd-hello.service", Some(true), Some("[Unit]\nDescription=hello\n".into()));
//! let yaml = mc.to_yaml()?;
//! assert!(yaml.contains("kernelArguments"));
//! assert_eq!(mc.name(), "99-worker-okd-streams-os");
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::Error;

/// The API version of MachineConfig objects.
pub const API_VERSION: &str = "machineconfiguration.openshift.io/v1";
/// The label naming the pool a MachineConfig applies to.
pub const ROLE_LABEL: &str = "machineconfiguration.openshift.io/role";
/// The Ignition spec version of `spec.config`.
pub const IGNITION_VERSION: &str = "3.2.0";
/// The pool MachineConfigs go to when none is named.
pub const DEFAULT_POOL: &str = "worker";

/// The cluster profiles a payload manifest is included in (the CVO skips a manifest without
/// the annotation of the cluster's profile).
const INCLUDE_PROFILES: &[&str] = &[
    "include.release.openshift.io/self-managed-high-availability",
    "include.release.openshift.io/single-node-developer",
];

/// Unit suffixes systemd knows.
const UNIT_SUFFIXES: &[&str] = &[
    ".service",
    ".socket",
    ".device",
    ".mount",
    ".automount",
    ".swap",
    ".target",
    ".path",
    ".timer",
    ".slice",
    ".scope",
];

/// One `systemd.units` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdUnit {
    /// The unit's name (`okd-hello.service`).
    pub name: String,
    /// Enabled (`true`), disabled (`false`) or left as its presets say (`None`).
    pub enabled: Option<bool>,
    /// The unit file, when the MachineConfig writes it.
    pub contents: Option<String>,
}

/// A MachineConfig for one pool. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    pool: String,
    name: Option<String>,
    kernel_arguments: Vec<String>,
    units: Vec<SystemdUnit>,
}

impl MachineConfig {
    /// An empty MachineConfig for `pool` (`worker`, `master`, or a custom pool).
    pub fn new(pool: &str) -> MachineConfig {
        MachineConfig {
            pool: pool.to_string(),
            name: None,
            kernel_arguments: Vec::new(),
            units: Vec::new(),
        }
    }

    /// Names it (default `99-<pool>-okd-streams-os`; the MCO merges MachineConfigs in name
    /// order, so `99-` comes after the cluster's own).
    pub fn named(mut self, name: &str) -> MachineConfig {
        self.name = Some(name.to_string());
        self
    }

    /// Adds a kernel argument (`mitigations=off`).
    pub fn kernel_argument(mut self, arg: &str) -> MachineConfig {
        self.kernel_arguments.push(arg.to_string());
        self
    }

    /// Adds a systemd unit.
    pub fn unit(mut self, name: &str, enabled: Option<bool>, contents: Option<String>) -> Self {
        self.units.push(SystemdUnit {
            name: name.to_string(),
            enabled,
            contents,
        });
        self
    }

    /// The same kernel arguments and units for another pool.
    pub fn in_pool(mut self, pool: &str) -> MachineConfig {
        self.pool = pool.to_string();
        self
    }

    /// The pool.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    /// Its name.
    pub fn name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("99-{}-okd-streams-os", self.pool))
    }

    /// The kernel arguments.
    pub fn kernel_arguments(&self) -> &[String] {
        &self.kernel_arguments
    }

    /// The units.
    pub fn units(&self) -> &[SystemdUnit] {
        &self.units
    }

    /// True when it holds neither a kernel argument nor a unit.
    pub fn is_empty(&self) -> bool {
        self.kernel_arguments.is_empty() && self.units.is_empty()
    }

    /// The file it is written to: `<name>.yaml`.
    pub fn file_name(&self) -> String {
        format!("{}.yaml", self.name())
    }

    /// Checks the names, the pool, the arguments and the units.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |reason: String| Error::InvalidMachineConfig {
            name: self.name(),
            reason,
        };
        let dns = |s: &str| {
            !s.is_empty()
                && s.len() <= 253
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
                && !s.starts_with(['-', '.'])
                && !s.ends_with(['-', '.'])
        };
        if !dns(&self.pool) {
            return Err(bad(format!(
                "pool {:?} is not a Kubernetes object name (lowercase letters, digits, `-`)",
                self.pool
            )));
        }
        if !dns(&self.name()) {
            return Err(bad(
                "the name is not a Kubernetes object name (lowercase letters, digits, `-`, `.`)"
                    .to_string(),
            ));
        }
        for arg in &self.kernel_arguments {
            if arg.trim().is_empty() || arg.chars().any(char::is_control) {
                return Err(bad(format!(
                    "kernel argument {arg:?} is empty or has control characters"
                )));
            }
        }
        for u in &self.units {
            let plain = u.name.rsplit('/').next() == Some(u.name.as_str());
            if !plain || !UNIT_SUFFIXES.iter().any(|s| u.name.ends_with(s)) {
                return Err(bad(format!(
                    "unit {:?} is not a unit name (`name.service`, `.timer`, …)",
                    u.name
                )));
            }
            if u.enabled.is_none() && u.contents.is_none() {
                return Err(bad(format!(
                    "unit {} has neither contents nor enabled",
                    u.name
                )));
            }
        }
        Ok(())
    }

    /// The object, as the MCO reads it.
    pub fn to_value(&self) -> Value {
        let units: Vec<Value> = self
            .units
            .iter()
            .map(|u| {
                let mut v = json!({ "name": u.name });
                if let Some(e) = u.enabled {
                    v["enabled"] = json!(e);
                }
                if let Some(c) = &u.contents {
                    v["contents"] = json!(c);
                }
                v
            })
            .collect();
        let mut config = json!({ "ignition": { "version": IGNITION_VERSION } });
        if !units.is_empty() {
            config["systemd"] = json!({ "units": units });
        }
        let mut spec = json!({ "config": config });
        if !self.kernel_arguments.is_empty() {
            spec["kernelArguments"] = json!(self.kernel_arguments);
        }
        json!({
            "apiVersion": API_VERSION,
            "kind": "MachineConfig",
            "metadata": {
                "name": self.name(),
                "labels": { ROLE_LABEL: self.pool },
            },
            "spec": spec,
        })
    }

    /// The manifest as YAML, to apply to a cluster (`oc apply -f`).
    pub fn to_yaml(&self) -> Result<String, Error> {
        self.validate()?;
        self.yaml(self.to_value())
    }

    /// The manifest as YAML for a release payload's `release-manifests/`, with the
    /// `include.release.openshift.io/*` annotations the cluster-version-operator selects
    /// manifests by.
    pub fn to_payload_yaml(&self) -> Result<String, Error> {
        self.validate()?;
        let mut v = self.to_value();
        let annotations: serde_json::Map<String, Value> = INCLUDE_PROFILES
            .iter()
            .map(|k| (k.to_string(), json!("true")))
            .collect();
        v["metadata"]["annotations"] = Value::Object(annotations);
        self.yaml(v)
    }

    fn yaml(&self, v: Value) -> Result<String, Error> {
        serde_yaml_ng::to_string(&v).map_err(|e| Error::InvalidMachineConfig {
            name: self.name(),
            reason: e.to_string(),
        })
    }

    /// Writes [`Self::to_yaml`] to `dir/<name>.yaml` atomically (a temporary file in `dir`,
    /// renamed), creating `dir`; returns the path.
    pub fn write_to_dir(&self, dir: &Path) -> Result<PathBuf, Error> {
        let yaml = self.to_yaml()?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(self.file_name());
        let mut temp = tempfile::Builder::new()
            .prefix(".okd-mc-")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        temp.write_all(yaml.as_bytes())
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| Error::io(&path, e))?;
        temp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(path)
    }
}
