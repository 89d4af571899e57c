//! Cloud images in stream metadata: `architectures.<arch>.images`.
//!
//! The shapes follow the CoreOS stream schema: AWS and Aliyun images are replicated per region,
//! GCP has one image in a project, KubeVirt a container disk image, IBM Cloud and PowerVS objects
//! in a bucket per region. Every type keeps fields it does not know in `extra`, so a document
//! from a newer generator survives a parse and a write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Fields a document has that these types do not model, kept as they were.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// The cloud images of one architecture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Images {
    /// Alibaba Cloud images per region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliyun: Option<ReplicatedImage>,
    /// AWS AMIs per region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<ReplicatedImage>,
    /// The GCP image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpImage>,
    /// IBM Cloud objects per region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ibmcloud: Option<ReplicatedObject>,
    /// The KubeVirt container disk image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubevirt: Option<ContainerImage>,
    /// PowerVS objects per region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub powervs: Option<ReplicatedObject>,
    /// Clouds not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An image replicated to every region of an AWS-like cloud.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicatedImage {
    /// Image per region name (`us-east-1`). The generators never write an empty map.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, SingleImage>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An image in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleImage {
    /// The OS version the image is of.
    pub release: String,
    /// The image id (`ami-0af87d15e2e9295cd`).
    pub image: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A GCP image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GcpImage {
    /// The OS version the image is of.
    pub release: String,
    /// The project holding it (`fedora-coreos-cloud`).
    pub project: String,
    /// The image family (`fedora-coreos-stable`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The image name.
    pub name: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A container image with a tag and a digest reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerImage {
    /// The OS version the image is of.
    pub release: String,
    /// The image by tag (`quay.io/fedora/fedora-coreos-kubevirt:stable`).
    pub image: String,
    /// The image by digest (`quay.io/fedora/fedora-coreos-kubevirt@sha256:…`).
    #[serde(rename = "digest-ref")]
    pub digest_ref: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An object replicated to every region of an object store (IBM Cloud, PowerVS).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicatedObject {
    /// Object per region name. The generators never write an empty map.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, SingleObject>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An object in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleObject {
    /// The OS version the object is of.
    pub release: String,
    /// The object name.
    pub object: String,
    /// The bucket holding it.
    pub bucket: String,
    /// Its URL.
    pub url: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
