//! OS extensions images: the RPMs (and repodata) a node may install on top of its OS image,
//! served to the node as a repository. SCOS and RHCOS payloads carry one next to the OS image
//! (`stream-coreos-extensions`, `rhel-coreos-extensions`).
//!
//! The layout is the one the machine-config-operator reads: packages under
//! `/usr/share/rpm-ostree/extensions/`, an index `/usr/share/rpm-ostree/extensions.json`
//! (`{"<name>": "<version-release>.<arch>"}`) in the last layer, and the label
//! `io.openshift.os.extensions=true`. The base is any image (a UBI or CentOS Stream image, or the
//! previous extensions image); like [`LayeredImage`], nothing of it is copied.
//!
//! ```
//! # async fn demo(store: &okd_oci::MemoryStore) -> Result<(), okd_coreos::Error> {
//! use okd_coreos::Variant;
//! use okd_coreos::extensions::ExtensionsImage;
//! use okd_oci::ManifestRef;
//!
//! let out = ExtensionsImage::new(store, "centos/centos", &ManifestRef::Tag("stream10".into()))
//!     .rpms("build/extensions")
//!     .extension("kernel-rt-core", "6.12.0-55.el10.x86_64")
//!     .machine_os("10.0.20250628-0")
//!     .display_name_of(&Variant::Scos)
//!     .write_to(store, "okd/stream-coreos-extensions", Some("4.20"))
//!     .await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use okd_oci::{ManifestRef, Store};

use crate::layer_source::{DirSource, FileListSource};
use crate::layering::{LayeredImage, LayeredOutput};
use crate::{Architecture, Error, Variant, labels};

/// Where the extension packages go in the image.
pub const EXTENSIONS_DIR: &str = "usr/share/rpm-ostree/extensions";
/// The extensions index file in the image.
pub const EXTENSIONS_JSON: &str = "usr/share/rpm-ostree/extensions.json";

/// Builds an extensions image. See the [module docs](self).
#[derive(Debug)]
pub struct ExtensionsImage<'a> {
    inner: LayeredImage<'a>,
    rpms: Vec<PathBuf>,
    extensions: BTreeMap<String, String>,
}

impl<'a> ExtensionsImage<'a> {
    /// Starts from the image `reference` in `repo` of `store`.
    pub fn new(store: &'a dyn Store, repo: &str, reference: &ManifestRef) -> ExtensionsImage<'a> {
        ExtensionsImage {
            inner: LayeredImage::new(store, repo, reference).force_non_os_base(),
            rpms: Vec::new(),
            extensions: BTreeMap::new(),
        }
    }

    /// Adds a layer with the contents of `dir` (RPMs and `repodata/`) under [`EXTENSIONS_DIR`].
    pub fn rpms(mut self, dir: impl Into<PathBuf>) -> ExtensionsImage<'a> {
        self.rpms.push(dir.into());
        self
    }

    /// Lists an extension package in `extensions.json` (`name` → `version-release.arch`).
    pub fn extension(mut self, name: &str, evr_arch: &str) -> ExtensionsImage<'a> {
        self.extensions
            .insert(name.to_string(), evr_arch.to_string());
        self
    }

    /// Picks the image of `arch` when the base is a multi-architecture index.
    pub fn architecture(mut self, arch: Architecture) -> ExtensionsImage<'a> {
        self.inner = self.inner.architecture(arch);
        self
    }

    /// The `machine-os` version of the OS image these extensions belong to.
    pub fn machine_os(mut self, version: &str) -> ExtensionsImage<'a> {
        self.inner = self.inner.machine_os(version);
        self
    }

    /// The `machine-os` display name of the variant.
    pub fn display_name_of(mut self, variant: &Variant) -> ExtensionsImage<'a> {
        self.inner = self.inner.display_name_of(variant);
        self
    }

    /// Sets another label.
    pub fn label(mut self, key: &str, value: &str) -> ExtensionsImage<'a> {
        self.inner = self.inner.label(key, value);
        self
    }

    /// The image's creation time (default: the base's).
    pub fn created(mut self, created: DateTime<Utc>) -> ExtensionsImage<'a> {
        self.inner = self.inner.created(created);
        self
    }

    /// Builds and writes the image to `repo` of `dest`.
    pub async fn write_to(
        self,
        dest: &dyn Store,
        repo: &str,
        tag: Option<&str>,
    ) -> Result<LayeredOutput, Error> {
        let mut image = self.inner.label(labels::OS_EXTENSIONS, "true");
        for dir in self.rpms {
            image = image.layer(DirSource::new(dir).prefix(EXTENSIONS_DIR));
        }
        // `extensions.json` is last, so `oc image extract img[-1]` finds the index alone.
        let index = serde_json::to_vec_pretty(&self.extensions).map_err(|e| Error::Task {
            what: "writing extensions.json".to_string(),
            message: e.to_string(),
        })?;
        image = image.layer(FileListSource::new().bytes(EXTENSIONS_JSON, index, 0o644));
        image.write_to(dest, repo, tag).await
    }
}
