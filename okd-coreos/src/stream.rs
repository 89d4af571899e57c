//! CoreOS stream metadata: the `streams/<stream>.json` documents that list, per architecture,
//! the boot artifacts (disk images, PXE kernel/initramfs/rootfs, ISOs) with their checksums and
//! signatures, and the cloud images (AMIs, GCP images, KubeVirt container disks).
//!
//! The types mirror the CoreOS stream schema field for field. Every struct keeps fields it does
//! not model in an `extra` map, so parsing a document and writing it back loses nothing, even a
//! field added by a newer generator. Checksums and `last-modified` are validated on parse.
//!
//! ```
//! use okd_coreos::StreamMetadata;
//!
//! let json = br#"{
//!   "stream": "stable",
//!   "metadata": { "last-modified": "2026-07-21T14:07:12Z" },
//!   "architectures": { "x86_64": { "artifacts": { "qemu": { "release": "44.20260707.3.1",
//!     "formats": { "qcow2.xz": { "disk": {
//!       "location": "https://example.org/fcos-qemu.qcow2.xz",
//!       "sha256": "35eb8e1f601b2b65545402df54b2dbb2a48e75f1d4483de5dc575d020ddefa1e"
//!   } } } } } } }
//! }"#;
//! let stream = StreamMetadata::from_slice(json)?;
//! let disk = stream.disk("x86_64", "qemu", "qcow2.xz")?;
//! assert_eq!(disk.location, "https://example.org/fcos-qemu.qcow2.xz");
//! assert!(stream.disk("aarch64", "qemu", "qcow2.xz").is_err());
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cloud::{ContainerImage, Extra, GcpImage, Images, SingleImage, SingleObject};
use crate::error::{from_json, to_json_pretty};
use crate::rhcos_extensions::{AzureDisk, RhcosExtensions};
use crate::{Error, Sha256, Timestamp};

/// A stream metadata document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamMetadata {
    /// The stream's name (`stable`, `c10s`, `rhcos-4.21`).
    pub stream: String,
    /// When and by what the document was generated.
    pub metadata: Metadata,
    /// Artifacts and images per architecture (RPM names: `x86_64`, `aarch64`).
    pub architectures: BTreeMap<String, Arch>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `metadata` object of a CoreOS document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// When the document last changed.
    #[serde(rename = "last-modified")]
    pub last_modified: Timestamp,
    /// What generated it (`fedora-coreos-stream-generator v0.2.19`, `plume cosa2stream 574b0e2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Everything a stream has for one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arch {
    /// Downloadable artifacts per platform (`metal`, `qemu`, `aws`).
    pub artifacts: BTreeMap<String, PlatformArtifacts>,
    /// Images already uploaded to clouds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Images>,
    /// RHCOS/SCOS-only data.
    #[serde(
        rename = "rhel-coreos-extensions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rhel_coreos_extensions: Option<RhcosExtensions>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The artifacts of one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformArtifacts {
    /// The OS version the artifacts are of.
    pub release: String,
    /// Artifacts per format (`raw.xz`, `qcow2.gz`, `iso`, `pxe`).
    pub formats: BTreeMap<String, ImageFormat>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The files of one format: a disk image, or the kernel, initramfs and rootfs of PXE booting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageFormat {
    /// The disk image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<Artifact>,
    /// The kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<Artifact>,
    /// The initramfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initramfs: Option<Artifact>,
    /// The root filesystem image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<Artifact>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One downloadable file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Its URL.
    pub location: String,
    /// URL of its detached GPG signature (Fedora CoreOS signs every artifact; RHCOS/SCOS
    /// metadata carries none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// SHA-256 of the file as downloaded.
    pub sha256: Sha256,
    /// SHA-256 after decompression, for compressed disk images.
    #[serde(
        rename = "uncompressed-sha256",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub uncompressed_sha256: Option<Sha256>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StreamMetadata {
    /// Parses a stream metadata document. Errors name the field that is wrong.
    pub fn from_slice(bytes: &[u8]) -> Result<StreamMetadata, Error> {
        from_json("stream metadata", bytes)
    }

    /// Writes the document as pretty JSON.
    pub fn to_json_pretty(&self) -> Vec<u8> {
        to_json_pretty("stream metadata", self)
    }

    fn missing(&self, path: String) -> Error {
        Error::NotFound {
            document: "stream",
            name: self.stream.clone(),
            path,
        }
    }

    /// The architecture names the stream has.
    pub fn architecture_names(&self) -> impl Iterator<Item = &str> {
        self.architectures.keys().map(String::as_str)
    }

    /// Everything for one architecture (RPM name).
    pub fn arch(&self, arch: &str) -> Result<&Arch, Error> {
        self.architectures
            .get(arch)
            .ok_or_else(|| self.missing(format!("architectures.{arch}")))
    }

    /// The artifacts of one platform of one architecture.
    pub fn platform(&self, arch: &str, platform: &str) -> Result<&PlatformArtifacts, Error> {
        self.arch(arch)?
            .artifacts
            .get(platform)
            .ok_or_else(|| self.missing(format!("architectures.{arch}.artifacts.{platform}")))
    }

    /// The files of one format of one platform (`"x86_64", "metal", "pxe"`).
    pub fn format(&self, arch: &str, platform: &str, format: &str) -> Result<&ImageFormat, Error> {
        self.platform(arch, platform)?
            .formats
            .get(format)
            .ok_or_else(|| {
                self.missing(format!(
                    "architectures.{arch}.artifacts.{platform}.formats.{format}"
                ))
            })
    }

    /// The disk image of one format (`"x86_64", "metal", "raw.xz"`).
    pub fn disk(&self, arch: &str, platform: &str, format: &str) -> Result<&Artifact, Error> {
        self.format(arch, platform, format)?
            .disk
            .as_ref()
            .ok_or_else(|| {
                self.missing(format!(
                    "architectures.{arch}.artifacts.{platform}.formats.{format}.disk"
                ))
            })
    }

    /// The kernel, initramfs and rootfs for PXE booting an architecture (`metal` / `pxe`).
    pub fn pxe(&self, arch: &str) -> Result<Pxe<'_>, Error> {
        let f = self.format(arch, "metal", "pxe")?;
        let missing = |name: &str| {
            self.missing(format!(
                "architectures.{arch}.artifacts.metal.formats.pxe.{name}"
            ))
        };
        Ok(Pxe {
            kernel: f.kernel.as_ref().ok_or_else(|| missing("kernel"))?,
            initramfs: f.initramfs.as_ref().ok_or_else(|| missing("initramfs"))?,
            rootfs: f.rootfs.as_ref().ok_or_else(|| missing("rootfs"))?,
        })
    }

    fn images(&self, arch: &str) -> Result<&Images, Error> {
        self.arch(arch)?
            .images
            .as_ref()
            .ok_or_else(|| self.missing(format!("architectures.{arch}.images")))
    }

    /// The entry for `region` of a cloud's per-region map (images or objects alike).
    fn regional<'a, T>(
        &'a self,
        arch: &str,
        cloud: &str,
        regions: Option<&'a BTreeMap<String, T>>,
        region: &str,
    ) -> Result<&'a T, Error> {
        regions.and_then(|r| r.get(region)).ok_or_else(|| {
            self.missing(format!(
                "architectures.{arch}.images.{cloud}.regions.{region}"
            ))
        })
    }

    /// The AWS AMI of an architecture in a region.
    pub fn aws_ami(&self, arch: &str, region: &str) -> Result<&SingleImage, Error> {
        let images = self.images(arch)?;
        self.regional(arch, "aws", images.aws.as_ref().map(|i| &i.regions), region)
    }

    /// The Alibaba Cloud image of an architecture in a region.
    pub fn aliyun_image(&self, arch: &str, region: &str) -> Result<&SingleImage, Error> {
        let images = self.images(arch)?;
        self.regional(
            arch,
            "aliyun",
            images.aliyun.as_ref().map(|i| &i.regions),
            region,
        )
    }

    /// The GCP image of an architecture.
    pub fn gcp_image(&self, arch: &str) -> Result<&GcpImage, Error> {
        self.images(arch)?
            .gcp
            .as_ref()
            .ok_or_else(|| self.missing(format!("architectures.{arch}.images.gcp")))
    }

    /// The container image of an architecture: the KubeVirt container disk.
    pub fn container_image(&self, arch: &str) -> Result<&ContainerImage, Error> {
        self.images(arch)?
            .kubevirt
            .as_ref()
            .ok_or_else(|| self.missing(format!("architectures.{arch}.images.kubevirt")))
    }

    /// The IBM Cloud object of an architecture in a region.
    pub fn ibmcloud_object(&self, arch: &str, region: &str) -> Result<&SingleObject, Error> {
        let images = self.images(arch)?;
        self.regional(
            arch,
            "ibmcloud",
            images.ibmcloud.as_ref().map(|o| &o.regions),
            region,
        )
    }

    /// The PowerVS object of an architecture in a region.
    pub fn powervs_object(&self, arch: &str, region: &str) -> Result<&SingleObject, Error> {
        let images = self.images(arch)?;
        self.regional(
            arch,
            "powervs",
            images.powervs.as_ref().map(|o| &o.regions),
            region,
        )
    }

    /// The Azure disk image of an architecture (RHCOS/SCOS only).
    pub fn azure_disk(&self, arch: &str) -> Result<&AzureDisk, Error> {
        self.arch(arch)?
            .rhel_coreos_extensions
            .as_ref()
            .and_then(|x| x.azure_disk.as_ref())
            .ok_or_else(|| {
                self.missing(format!(
                    "architectures.{arch}.rhel-coreos-extensions.azure-disk"
                ))
            })
    }

    /// Every OS version the document mentions (artifact and image `release` fields). A stream
    /// usually has one, but architectures may lag behind each other.
    pub fn releases(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        for arch in self.architectures.values() {
            out.extend(arch.artifacts.values().map(|p| p.release.as_str()));
            if let Some(images) = &arch.images {
                let replicated = [&images.aws, &images.aliyun];
                for r in replicated.into_iter().flatten() {
                    out.extend(r.regions.values().map(|i| i.release.as_str()));
                }
                for r in [&images.ibmcloud, &images.powervs].into_iter().flatten() {
                    out.extend(r.regions.values().map(|o| o.release.as_str()));
                }
                out.extend(images.gcp.iter().map(|g| g.release.as_str()));
                out.extend(images.kubevirt.iter().map(|k| k.release.as_str()));
            }
            if let Some(ext) = &arch.rhel_coreos_extensions {
                out.extend(ext.azure_disk.iter().map(|d| d.release.as_str()));
            }
        }
        out
    }
}

/// The three files of a PXE boot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pxe<'a> {
    /// The kernel.
    pub kernel: &'a Artifact,
    /// The initramfs.
    pub initramfs: &'a Artifact,
    /// The root filesystem image.
    pub rootfs: &'a Artifact,
}
