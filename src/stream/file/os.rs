//! The `os` section of stream files: variant and layering.

use std::collections::BTreeMap;

use okd_coreos::containerfile::ContainerfileBuild;
use okd_coreos::layer_source::{DirSource, FileListSource, TarballSource};
use okd_coreos::owners::Owner;
use okd_coreos::{BaseDistro, CustomVariant, Variant};
use serde::{Deserialize, Serialize};

use crate::stream::{OsLayering, StreamError};

/// A CoreOS variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum VariantFile {
    /// Fedora CoreOS (`fedora-coreos`).
    Fcos,
    /// CentOS Stream CoreOS (`stream-coreos`).
    Scos,
    /// RHEL CoreOS (`rhel-coreos`).
    Rhcos,
    /// A variant of your own, described by `custom_variant`.
    Custom,
}

/// A variant of your own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomVariantFile {
    /// Short name.
    pub name: String,
    /// `machine-os` display name.
    pub display_name: String,
    /// Payload tag of the OS image.
    pub os_tag: String,
    /// Base distribution name (`Fedora` (default), `CentOS Stream`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

/// The operating system of the stream's payloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OsFile {
    /// The variant.
    pub variant: VariantFile,
    /// The variant, when `variant` is `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_variant: Option<CustomVariantFile>,
    /// Base OS image (default: the upstream payload's image for the variant's OS tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Layers added on top, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerFile>,
    /// Labels set on the layered image.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `machine-os` version the layered image shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_os: Option<String>,
    /// Make the modes of added entries canonical (0644, or 0755 when executable; directories
    /// 0755), so that the umask of the checkout never changes a digest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canonical_modes: bool,
    /// A Containerfile built with buildah on the base (`FROM $BASE_IMAGE`) before `layers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerfile: Option<String>,
    /// The Containerfile's build context (default: the Containerfile's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// buildah's storage driver (`vfs` where overlay mounts are not allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_driver: Option<String>,
    /// buildah's isolation of `RUN` steps (`chroot` inside an unprivileged container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    /// Units enabled in the image (`usr/lib/systemd/system/<target>.wants/<unit>` links).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enable: Vec<EnableFile>,
    /// Paths of the base removed from the image (OCI whiteouts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// Kernel arguments and units for running nodes, written as a MachineConfig next to each
    /// release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_config: Option<MachineConfigFile>,
}

/// A unit enabled for a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EnableFile {
    /// The unit (`okd-hello.service`, `getty@tty1.service`).
    pub unit: String,
    /// The target that wants it (`multi-user.target`).
    pub target: String,
}

/// The MachineConfig of a stream's releases.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MachineConfigFile {
    /// The MachineConfig pool (default `worker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Kernel arguments (`spec.kernelArguments`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernel_arguments: Vec<String>,
    /// systemd units (`spec.config.systemd.units`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<NodeUnitFile>,
    /// Also put it into each payload's `release-manifests/` for the cluster-version-operator.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_payload: bool,
}

/// A systemd unit of a MachineConfig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NodeUnitFile {
    /// The unit's name (`okd-tune.service`).
    pub name: String,
    /// Enabled or disabled (default: as its presets say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The unit file, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<String>,
    /// A unit file to read instead of `contents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// One added layer: exactly one of `files`, `dir` and `tarball`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LayerFile {
    /// Listed files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileEntry>>,
    /// A directory tree's contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// A prebuilt tarball.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tarball: Option<String>,
}

/// A file of a `files` layer: `content`, `from` or `symlink`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path in the image (`etc/motd`).
    pub path: String,
    /// The content, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// A file to copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A symbolic link to this target instead of a file (an absolute target is resolved inside
    /// the image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symlink: Option<String>,
    /// Octal mode (default `0644`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Owner: a user id, or a user name of the base image's passwd files (default root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Group: a group id, or a group name of the base image's group files (default root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl OsFile {
    /// The layering this section describes; `stream` names the stream in errors.
    pub fn to_layering(&self, stream: &str) -> Result<OsLayering, StreamError> {
        let variant = match (self.variant, &self.custom_variant) {
            (VariantFile::Fcos, None) => Variant::Fcos,
            (VariantFile::Scos, None) => Variant::Scos,
            (VariantFile::Rhcos, None) => Variant::Rhcos,
            (VariantFile::Custom, Some(c)) => Variant::Custom(CustomVariant::new(
                &c.name,
                &c.display_name,
                match c.base.as_deref() {
                    None | Some("Fedora") => BaseDistro::Fedora,
                    Some("CentOS Stream") => BaseDistro::CentOsStream,
                    Some("Red Hat Enterprise Linux") => BaseDistro::Rhel,
                    Some(other) => BaseDistro::Other(other.to_string()),
                },
                &c.os_tag,
            )),
            (VariantFile::Custom, None) => {
                return Err(StreamError::invalid(
                    stream,
                    "os.custom_variant",
                    "variant `custom` needs `custom_variant`",
                ));
            }
            (_, Some(_)) => {
                return Err(StreamError::invalid(
                    stream,
                    "os.custom_variant",
                    "only variant `custom` takes `custom_variant`",
                ));
            }
        };
        let mut os = OsLayering::new(variant);
        if let Some(base) = &self.base {
            let image = base.parse().map_err(|e: okd_oci::Error| {
                StreamError::invalid(stream, "os.base", e.to_string())
            })?;
            os = os.base(image);
        }
        for (i, layer) in self.layers.iter().enumerate() {
            os = match (&layer.files, &layer.dir, &layer.tarball) {
                (None, Some(d), None) => os.layer(DirSource::new(d)),
                (None, None, Some(t)) => os.layer(TarballSource::new(t)),
                (Some(files), None, None) => {
                    let mut list = FileListSource::new();
                    for (j, f) in files.iter().enumerate() {
                        let field = format!("os.layers[{i}].files[{j}]");
                        let mode = match &f.mode {
                            None => 0o644,
                            Some(m) => u32::from_str_radix(m.trim_start_matches("0o"), 8).map_err(
                                |_| {
                                    StreamError::invalid(
                                        stream,
                                        format!("{field}.mode"),
                                        format!("{m:?} is not an octal mode"),
                                    )
                                },
                            )?,
                        };
                        list = match (&f.content, &f.from, &f.symlink) {
                            (Some(c), None, None) => {
                                list.bytes(&f.path, c.clone().into_bytes(), mode)
                            }
                            (None, Some(p), None) => list.file(&f.path, p, mode),
                            (None, None, Some(t)) => list.symlink(&f.path, t),
                            _ => {
                                return Err(StreamError::invalid(
                                    stream,
                                    field,
                                    "give exactly one of `content`, `from` and `symlink`",
                                ));
                            }
                        };
                        if f.owner.is_some() || f.group.is_some() {
                            let id = |v: &Option<String>| match v.as_deref() {
                                Some(v) => v.parse::<Owner>().unwrap_or(Owner::Id(0)),
                                None => Owner::Id(0),
                            };
                            list = list.owned_by(id(&f.owner), id(&f.group));
                        }
                    }
                    os.layer(list)
                }
                _ => {
                    return Err(StreamError::invalid(
                        stream,
                        format!("os.layers[{i}]"),
                        "give exactly one of `files`, `dir` and `tarball`",
                    ));
                }
            };
        }
        for (k, v) in &self.labels {
            os = os.label(k, v);
        }
        if let Some(m) = &self.machine_os {
            os = os.machine_os(m);
        }
        if self.canonical_modes {
            os = os.canonical_modes();
        }
        for e in &self.enable {
            os = os.enable(&e.unit, &e.target);
        }
        for path in &self.remove {
            os = os.remove(path);
        }
        if let Some(mc) = &self.machine_config {
            os = mc.apply(os, stream)?;
        }
        match (&self.containerfile, &self.context) {
            (Some(cf), context) => {
                let cf = std::path::PathBuf::from(cf);
                let context = match context {
                    Some(c) => std::path::PathBuf::from(c),
                    None => cf
                        .parent()
                        .map(std::path::Path::to_path_buf)
                        .unwrap_or_default(),
                };
                let mut build = ContainerfileBuild::new(cf, context);
                if let Some(d) = &self.storage_driver {
                    build = build.storage_driver(d);
                }
                if let Some(i) = &self.isolation {
                    build = build.isolation(i);
                }
                os = os.containerfile(build);
            }
            (None, Some(_)) => {
                return Err(StreamError::invalid(
                    stream,
                    "os.context",
                    "`context` is the build context of `containerfile`, which is not given",
                ));
            }
            (None, None) => {}
        }
        Ok(os)
    }
}

impl MachineConfigFile {
    /// `os` with this MachineConfig's pool, arguments and units.
    fn apply(&self, mut os: OsLayering, stream: &str) -> Result<OsLayering, StreamError> {
        for a in &self.kernel_arguments {
            os = os.kernel_argument(a);
        }
        for (i, u) in self.units.iter().enumerate() {
            let contents = match (&u.contents, &u.from) {
                (Some(c), None) => Some(c.clone()),
                (None, Some(p)) => Some(std::fs::read_to_string(p).map_err(|e| {
                    StreamError::invalid(
                        stream,
                        format!("os.machine_config.units[{i}].from"),
                        format!("{p}: {e}"),
                    )
                })?),
                (None, None) => None,
                (Some(_), Some(_)) => {
                    return Err(StreamError::invalid(
                        stream,
                        format!("os.machine_config.units[{i}]"),
                        "give at most one of `contents` and `from`",
                    ));
                }
            };
            os = os.node_unit(&u.name, u.enabled, contents);
        }
        if let Some(p) = &self.pool {
            os = os.pool(p);
        }
        if self.in_payload {
            os = os.machine_config_in_payload();
        }
        Ok(os)
    }
}
