//! Stores for the references users give on the command line.

use std::path::PathBuf;
use std::sync::Arc;

use okd_oci::registry::{RegistriesConf, RegistryOptions};
use okd_oci::{Access, ImageRef, ManifestRef, Resolved, Store, StoreKey, StoreMap};

use super::{CliError, GlobalArgs};

/// The command's one [`StoreMap`]: `docker://…` and `oci:…` references to shared stores, with the
/// global registry options (`--insecure-registry`, `--authfile`, `--cert-dir`,
/// `--registries-conf`) applied.
#[derive(Debug)]
pub struct Stores {
    options: RegistryOptions,
    map: StoreMap,
}

impl Stores {
    /// The stores of a command; fails when the registries.conf in use cannot be read.
    pub fn new(global: &GlobalArgs) -> Result<Stores, CliError> {
        let conf = RegistriesConf::load(global.registries_conf.as_deref())?;
        let mut options = RegistryOptions::default().registries_conf(conf);
        for host in &global.insecure_registries {
            options = options.insecure_registry(host.clone());
        }
        if let Some(path) = &global.authfile {
            options = options.auth_file(path.clone());
        }
        if let Some(dir) = &global.cert_dir {
            options = options.cert_dir(dir.clone());
        }
        Ok(Stores {
            map: StoreMap::new(options.clone()),
            options,
        })
    }

    /// A new set of stores with the same options and at most `cap` requests in flight per
    /// registry (the mirror commands follow `-j`).
    pub fn with_request_cap(&self, cap: usize) -> Stores {
        let options = self.options.clone().max_concurrent_requests(cap);
        Stores {
            map: StoreMap::new(options.clone()),
            options,
        }
    }

    /// The registry options every store of the command uses.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// The store map, for libraries that take one (one store per registry and layout for the
    /// whole command).
    pub fn map(&self) -> &StoreMap {
        &self.map
    }

    /// Parses `text` and resolves it; `access` says whether a new layout directory may be
    /// created (destinations).
    pub async fn open(&self, text: &str, access: Access) -> Result<Resolved, CliError> {
        let image: ImageRef = text.parse()?;
        Ok(self.map.resolve(&image, access).await?)
    }

    /// Opens an image to read: the reference must name a tag or a digest, and a layout must
    /// exist.
    pub async fn source(&self, text: &str) -> Result<Source, CliError> {
        let resolved = self.open(text, Access::Read).await?;
        let reference = resolved.manifest_ref()?;
        Ok(Source {
            image: resolved.image,
            store: resolved.store,
            repo: resolved.repository,
            reference,
        })
    }

    /// Opens a destination: a layout is created when missing. The tag is optional.
    pub async fn destination(&self, text: &str) -> Result<Destination, CliError> {
        let image: ImageRef = text.parse()?;
        let fresh_layout = match &image {
            ImageRef::Layout(l) if !l.path.join("oci-layout").exists() => Some(l.path.clone()),
            _ => None,
        };
        let resolved = self.map.resolve(&image, Access::Write).await?;
        if image.digest().is_some() {
            return Err(format!(
                "destination {text}: a digest cannot be written to; give a tag or none"
            )
            .into());
        }
        // A registry reference without a tag reads as `:latest`; a destination without one
        // gets the command's default instead (the release name, or no tag).
        let tag = image
            .tag()
            .filter(|_| image.tag_written())
            .map(str::to_string);
        Ok(Destination {
            tag,
            image,
            store: resolved.store,
            repo: resolved.repository,
            fresh_layout,
        })
    }

    /// The store map component images are read through: the command's own (each image from
    /// its registry or layout), or, when `all_from` is given (`docker://HOST`, `HOST` or
    /// `oci:PATH`), one whose fallback is that store, so that every registry image is read from
    /// it, in the repository its pullspec names (a mirror, or a layout holding a whole payload).
    pub async fn components(&self, all_from: Option<&str>) -> Result<StoreMap, CliError> {
        let Some(location) = all_from else {
            return Ok(self.map.clone());
        };
        let key: StoreKey = location.parse()?;
        let store = self.map.store_at(&key, Access::Read).await?;
        Ok(self.map.clone().with_fallback(store))
    }
}

/// An image to read.
#[derive(Debug, Clone)]
pub struct Source {
    pub image: ImageRef,
    pub store: Arc<dyn Store>,
    pub repo: String,
    pub reference: ManifestRef,
}

/// Where to write an image.
#[derive(Debug, Clone)]
pub struct Destination {
    pub image: ImageRef,
    pub store: Arc<dyn Store>,
    pub repo: String,
    pub tag: Option<String>,
    /// A layout directory this command created.
    fresh_layout: Option<PathBuf>,
}

impl Destination {
    /// The destination as written: its tag (if any) and `digest`.
    pub fn written_as(&self, digest: okd_oci::Digest) -> ImageRef {
        let mut image = self.image.with_digest(digest);
        match &mut image {
            ImageRef::Registry(r) => r.tag = self.tag.clone(),
            ImageRef::Layout(l) => l.tag = self.tag.clone(),
        }
        image
    }

    /// After a failure: removes the layout this command created if nothing was written to it,
    /// so a failed command leaves nothing behind.
    pub async fn discard_if_unused(&self) {
        let Some(path) = self.fresh_layout.clone() else {
            return;
        };
        let _ = tokio::task::spawn_blocking(move || {
            let index: Option<serde_json::Value> = std::fs::read(path.join("index.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let empty = index
                .as_ref()
                .and_then(|i| i["manifests"].as_array())
                .is_some_and(Vec::is_empty);
            if empty {
                let _ = std::fs::remove_dir_all(&path);
            }
        })
        .await;
    }
}
