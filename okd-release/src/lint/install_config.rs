//! The cluster an `install-config.yaml` describes, as `oc adm release extract --included
//! --install-config` reads it: `apiVersion: v1`, the feature set, the platform (the one key
//! under `platform`), and the capabilities (a baseline set plus additional ones). The profile
//! is `self-managed-high-availability`: an install-config does not say.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::include::{Cluster, capability_set};
use crate::Error;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstallConfigFile {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    feature_set: String,
    #[serde(default)]
    platform: BTreeMap<String, serde_yaml_ng::Value>,
    #[serde(default)]
    capabilities: Option<CapabilitiesFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CapabilitiesFile {
    #[serde(default)]
    baseline_capability_set: String,
    #[serde(default)]
    additional_enabled_capabilities: Vec<String>,
}

/// What an install-config says about the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallConfig {
    /// The cluster to check manifests against.
    pub cluster: Cluster,
    /// The platform (`aws`, `none`, …), when one is set.
    pub platform: Option<String>,
}

impl InstallConfig {
    /// Parses install-config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<InstallConfig, Error> {
        let invalid = |reason: String| Error::InvalidDocument {
            file: file.to_string(),
            reason,
        };
        let f: InstallConfigFile =
            serde_yaml_ng::from_str(text).map_err(|e| invalid(format!("failed to parse: {e}")))?;
        if f.api_version != "v1" {
            return Err(invalid(format!(
                "unrecognized API version: {:?} (expected \"v1\")",
                f.api_version
            )));
        }
        let enabled = match &f.capabilities {
            None => None,
            Some(c) => {
                let base = capability_set(&c.baseline_capability_set).ok_or_else(|| {
                    invalid(format!(
                        "unrecognized baselineCapabilitySet {:?}",
                        c.baseline_capability_set
                    ))
                })?;
                let mut set: BTreeSet<String> = base.iter().map(|s| s.to_string()).collect();
                set.extend(c.additional_enabled_capabilities.iter().cloned());
                Some(set)
            }
        };
        Ok(InstallConfig {
            cluster: Cluster {
                profile: super::PROFILES[0].to_string(),
                feature_set: if f.feature_set.is_empty() {
                    "Default".to_string()
                } else {
                    f.feature_set
                },
                major_version: None,
                enabled_capabilities: enabled,
            },
            platform: f.platform.keys().next_back().cloned(),
        })
    }

    /// Reads an install-config file.
    pub fn load(path: &Path) -> Result<InstallConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidDocument {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?;
        InstallConfig::parse(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_feature_set_and_platform() {
        let c = InstallConfig::parse(
            "apiVersion: v1\nfeatureSet: TechPreviewNoUpgrade\nplatform:\n  aws: {region: x}\ncapabilities:\n  baselineCapabilitySet: None\n  additionalEnabledCapabilities: [CloudCredential]\n",
            "install-config.yaml",
        )
        .unwrap();
        assert_eq!(c.cluster.feature_set, "TechPreviewNoUpgrade");
        assert_eq!(c.platform.as_deref(), Some("aws"));
        assert_eq!(
            c.cluster
                .enabled_capabilities
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["CloudCredential"]
        );
        let e = InstallConfig::parse("apiVersion: v2\n", "ic.yaml").unwrap_err();
        assert!(e.to_string().contains("unrecognized API version"), "{e}");
    }
}
