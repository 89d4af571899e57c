//! `release extract --credentials-requests`: the `CredentialsRequest` manifests `ccoctl`
//! needs, as `oc adm release extract --credentials-requests` selects them.
//!
//! A manifest is kept when it is a `cloudcredential.openshift.io/v1` `CredentialsRequest` and,
//! when a cloud is known, its `spec.providerSpec.kind` is that cloud's (`aws` →
//! `AWSProviderSpec`, …, [`provider_spec_kind`]). With [`Included`] only what the cluster
//! applies is kept ([`lint::include`](crate::lint::include)), except that a
//! `CredentialsRequest` without any annotation is kept, as `oc` keeps it for manually managed
//! credentials; the cloud is then the install-config's platform, and a `--cloud` naming
//! another one is refused.
//!
//! A file whose every document is kept is written byte for byte; one with some is rewritten as
//! YAML documents, each after a `---` line. `image-references` and `release-metadata` are not
//! written. The release is first extracted into a staging directory inside the target
//! directory, and only the kept files are moved out of it.
//!
//! ```
//! use okd_release::extract::credentials_requests::provider_spec_kind;
//! assert_eq!(provider_spec_kind("powervs"), Some("IBMCloudPowerVSProviderSpec"));
//! assert_eq!(provider_spec_kind("none"), None);
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use okd_oci::{ImageRef, Store};
use serde_json::Value;

use crate::lint::include::include;
use crate::lint::{Cluster, Document, parse_file};
use crate::{Error, ExtractError, Release};

/// The clouds `--cloud` takes and the provider spec kind of each.
pub const CLOUDS: &[(&str, &str)] = &[
    ("alibabacloud", "AlibabaCloudProviderSpec"),
    ("aws", "AWSProviderSpec"),
    ("azure", "AzureProviderSpec"),
    ("gcp", "GCPProviderSpec"),
    ("ibmcloud", "IBMCloudProviderSpec"),
    ("nutanix", "NutanixProviderSpec"),
    ("openstack", "OpenStackProviderSpec"),
    ("ovirt", "OvirtProviderSpec"),
    ("powervs", "IBMCloudPowerVSProviderSpec"),
    ("vsphere", "VSphereProviderSpec"),
];

/// The `spec.providerSpec.kind` of `cloud`'s credentials requests.
pub fn provider_spec_kind(cloud: &str) -> Option<&'static str> {
    CLOUDS.iter().find(|(c, _)| *c == cloud).map(|(_, k)| *k)
}

/// Keep only what this cluster applies (`--included`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    /// The cluster; its major version is the release's when unset.
    pub cluster: Cluster,
    /// The install-config's platform, when it names one.
    pub platform: Option<String>,
    /// Where the cluster came from, for errors (the install-config path).
    pub source: String,
}

/// What to keep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredentialsOptions {
    /// `--cloud`.
    pub cloud: Option<String>,
    /// `--included`.
    pub included: Option<Included>,
}

/// What [`extract_credentials_requests`] wrote.
#[derive(Debug, Clone)]
pub struct CredentialsExtracted {
    /// The release.
    pub release: Release,
    /// The files written, sorted.
    pub files: Vec<String>,
    /// The credentials requests in them.
    pub requests: usize,
    /// Files the CVO could not read, skipped, with the reason.
    pub skipped: Vec<String>,
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// A `--cloud` value no credentials request uses.
    #[error("--cloud value {0:?} not recognized, must be one of: {1}")]
    UnknownCloud(String, String),
    /// `--cloud` names another cloud than the install-config's platform.
    #[error("--cloud {cloud:?} set, but {source_name} has {platform:?}")]
    CloudMismatch {
        /// `--cloud`.
        cloud: String,
        /// The install-config.
        source_name: String,
        /// Its platform.
        platform: String,
    },
    /// An install-config platform without credentials requests (`none`, `baremetal`).
    #[error("unrecognized platform for CredentialsRequests: {0:?}")]
    UnknownPlatform(String),
    /// Extracting the release failed.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// Writing a file failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

impl From<Error> for CredentialsError {
    fn from(e: Error) -> Self {
        CredentialsError::Extract(ExtractError::Release(e))
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CredentialsError {
    let path = path.to_path_buf();
    move |source| CredentialsError::Io {
        action,
        path,
        source,
    }
}

/// The provider spec kind to keep, from `--cloud` and the install-config's platform; checked
/// before anything is read.
pub fn expected_kind(
    options: &CredentialsOptions,
) -> Result<Option<&'static str>, CredentialsError> {
    let mut kind = match &options.cloud {
        None => None,
        Some(c) => Some(provider_spec_kind(c).ok_or_else(|| {
            let all: Vec<&str> = CLOUDS.iter().map(|(c, _)| *c).collect();
            CredentialsError::UnknownCloud(c.clone(), all.join(", "))
        })?),
    };
    if let Some(Included {
        platform: Some(platform),
        source,
        ..
    }) = &options.included
    {
        if let Some(cloud) = options.cloud.as_ref().filter(|c| *c != platform) {
            return Err(CredentialsError::CloudMismatch {
                cloud: cloud.clone(),
                source_name: source.clone(),
                platform: platform.clone(),
            });
        }
        kind = Some(
            provider_spec_kind(platform)
                .ok_or_else(|| CredentialsError::UnknownPlatform(platform.clone()))?,
        );
    }
    Ok(kind)
}

/// Writes the credentials requests of the release `image` in `store` that `options` keeps into
/// `dir`. See the [module docs](self).
pub async fn extract_credentials_requests(
    store: &dyn Store,
    image: &ImageRef,
    dir: &Path,
    options: &CredentialsOptions,
) -> Result<CredentialsExtracted, CredentialsError> {
    let kind = expected_kind(options)?;
    fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    let staging = tempfile::Builder::new()
        .prefix(".okd-extract-")
        .tempdir_in(dir)
        .map_err(io_err("creating a staging directory in", dir))?;
    let unpacked = staging.path().join("release-manifests");
    let done = super::extract(store, image, &unpacked).await?;
    let mut cluster = options.included.as_ref().map(|i| i.cluster.clone());
    if let Some(c) = cluster.as_mut().filter(|c| c.major_version.is_none()) {
        c.major_version = done.release.version().ok().map(|v| v.major());
    }
    let kept_dir = staging.path().join("kept");
    fs::create_dir(&kept_dir).map_err(io_err("creating", &kept_dir))?;
    let mut result = CredentialsExtracted {
        release: done.release,
        files: Vec::new(),
        requests: 0,
        skipped: Vec::new(),
    };
    for (name, data) in crate::lint::read_dir(&unpacked)? {
        let docs = match parse_file(&data) {
            Ok(d) => d,
            Err(e) => {
                result.skipped.push(format!("{name}: {e}"));
                continue;
            }
        };
        let kept: Vec<&Document> = docs
            .iter()
            .filter(|d| keep(d, cluster.as_ref(), kind))
            .collect();
        if kept.is_empty() {
            continue;
        }
        let path = kept_dir.join(&name);
        let text = if kept.len() == docs.len() {
            data
        } else {
            as_yaml(&name, &kept)?.into_bytes()
        };
        fs::write(&path, text).map_err(io_err("writing", &path))?;
        result.requests += kept.len();
        result.files.push(name);
    }
    for name in &result.files {
        let to = dir.join(name);
        fs::rename(kept_dir.join(name), &to).map_err(io_err("moving into place", &to))?;
    }
    staging
        .close()
        .map_err(io_err("removing the staging directory in", dir))?;
    Ok(result)
}

fn is_credentials_request(doc: &Document) -> bool {
    doc.object.get("apiVersion").and_then(Value::as_str) == Some("cloudcredential.openshift.io/v1")
        && doc.id.kind == "CredentialsRequest"
}

fn keep(doc: &Document, cluster: Option<&Cluster>, kind: Option<&str>) -> bool {
    if !is_credentials_request(doc) {
        return false;
    }
    if let Some(cluster) = cluster {
        // Manually managed credentials: a request without annotations is still wanted.
        let bare = doc.annotations.as_ref().is_none_or(|a| a.is_empty());
        if !bare && include(doc, cluster).is_err() {
            return false;
        }
    }
    match kind {
        None => true,
        Some(k) => {
            doc.object
                .pointer("/spec/providerSpec/kind")
                .and_then(Value::as_str)
                == Some(k)
        }
    }
}

fn as_yaml(name: &str, docs: &[&Document]) -> Result<String, CredentialsError> {
    let mut text = String::new();
    for d in docs {
        text.push_str("---\n");
        let yaml = serde_yaml_ng::to_string(&d.object).map_err(|e| Error::InvalidManifest {
            file: name.to_string(),
            reason: e.to_string(),
        })?;
        text.push_str(&yaml);
    }
    Ok(text)
}
