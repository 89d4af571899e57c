//! Stores for the references users give on the command line.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use okd_oci::registry::RegistryOptions;
use okd_oci::{ImageRef, ManifestRef, Resolved, Resolver, Store};
use okd_release::ImageSource;

use super::{CliError, GlobalArgs};

/// Resolves `docker://…` and `oci:…` references to shared stores, with the global registry
/// options (`--insecure-registry`, `--authfile`) applied.
#[derive(Debug)]
pub struct Stores {
    resolver: Arc<Resolver>,
}

impl Stores {
    pub fn new(global: &GlobalArgs) -> Stores {
        let mut options = RegistryOptions::default();
        for host in &global.insecure_registries {
            options = options.insecure_registry(host.clone());
        }
        if let Some(path) = &global.authfile {
            options = options.auth_file(path.clone());
        }
        Stores {
            resolver: Arc::new(Resolver::new(options)),
        }
    }

    /// The shared resolver.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// The shared resolver, for libraries that keep it (one store per registry and layout for
    /// the whole command).
    pub fn shared_resolver(&self) -> Arc<Resolver> {
        self.resolver.clone()
    }

    /// Parses `text` and resolves it; `create` allows a new layout directory (destinations).
    pub async fn open(&self, text: &str, create: bool) -> Result<(ImageRef, Resolved), CliError> {
        let image: ImageRef = text.parse()?;
        let resolved = self.resolver.resolve(&image, create).await?;
        Ok((image, resolved))
    }

    /// Opens an image to read: the reference must name a tag or a digest, and a layout must
    /// exist.
    pub async fn source(&self, text: &str) -> Result<Source, CliError> {
        let (image, resolved) = self.open(text, false).await?;
        let reference = resolved.manifest_ref(&image)?;
        Ok(Source {
            image,
            store: resolved.store,
            repo: resolved.repo,
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
        let resolved = self.resolver.resolve(&image, true).await?;
        if image.digest().is_some() {
            return Err(format!(
                "destination {text}: a digest cannot be written to; give a tag or none"
            )
            .into());
        }
        // A registry reference without a tag parses as `:latest`; a destination without one
        // gets the command's default instead (the release name, or no tag).
        let tag = match &image {
            ImageRef::Registry(_) if !has_explicit_tag(text) => None,
            _ => image.tag().map(str::to_string),
        };
        Ok(Destination {
            tag,
            image,
            store: resolved.store,
            repo: resolved.repo,
            fresh_layout,
        })
    }

    /// An [`ImageSource`] for `pullspecs`: each image is read from its own registry or layout,
    /// or, when `all_from` is given (`docker://HOST`, `HOST` or `oci:PATH`), every image is read
    /// from that one store, in the repository its pullspec names (a mirror, or a layout holding
    /// a whole payload).
    pub async fn image_source<'a>(
        &self,
        pullspecs: impl IntoIterator<Item = &'a str>,
        all_from: Option<&str>,
    ) -> Result<ComponentStores, CliError> {
        if let Some(location) = all_from {
            let store = self.store_at(location).await?;
            return Ok(ComponentStores {
                all: Some(store),
                by_key: BTreeMap::new(),
            });
        }
        let mut by_key = BTreeMap::new();
        for pullspec in pullspecs {
            let image: ImageRef = pullspec
                .parse()
                .map_err(|e| format!("component pullspec {pullspec:?}: {e}"))?;
            let key = StoreKey::of(&image);
            if by_key.contains_key(&key) {
                continue;
            }
            let store = self.resolver.store(&image, false).await?;
            by_key.insert(key, store);
        }
        Ok(ComponentStores { all: None, by_key })
    }

    /// The store at a location given without repository: `oci:PATH`, `docker://HOST` or `HOST`.
    async fn store_at(&self, location: &str) -> Result<Arc<dyn Store>, CliError> {
        let probe = match location.strip_prefix("oci:") {
            Some(path) => {
                if path.is_empty() {
                    return Err(format!("{location:?}: a layout path is missing").into());
                }
                ImageRef::Layout(okd_oci::LayoutRef {
                    path: PathBuf::from(path),
                    repository: String::new(),
                    tag: None,
                    digest: None,
                })
            }
            None => {
                let host = location.strip_prefix("docker://").unwrap_or(location);
                if host.is_empty() || host.contains('/') {
                    return Err(format!(
                        "{location:?} is not a registry host (HOST[:PORT]) or oci:PATH"
                    )
                    .into());
                }
                format!("{host}/probe/probe:latest")
                    .parse::<ImageRef>()
                    .map_err(|e| format!("{location:?} is not a registry host: {e}"))?
            }
        };
        Ok(self.resolver.store(&probe, false).await?)
    }
}

/// True when a registry reference names a tag (`host/repo:tag`, not `host:5000/repo`).
fn has_explicit_tag(text: &str) -> bool {
    let bare = text.strip_prefix("docker://").unwrap_or(text);
    let name = bare.split('@').next().unwrap_or(bare);
    name.rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'))
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

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum StoreKey {
    Registry(String),
    Layout(PathBuf),
}

impl StoreKey {
    fn of(image: &ImageRef) -> StoreKey {
        match image {
            ImageRef::Registry(r) => StoreKey::Registry(r.registry.clone()),
            ImageRef::Layout(l) => {
                StoreKey::Layout(std::path::absolute(&l.path).unwrap_or_else(|_| l.path.clone()))
            }
        }
    }
}

/// Component images by the registry or layout their pullspecs name (see
/// [`Stores::image_source`]).
#[derive(Debug)]
pub struct ComponentStores {
    all: Option<Arc<dyn Store>>,
    by_key: BTreeMap<StoreKey, Arc<dyn Store>>,
}

impl ImageSource for ComponentStores {
    fn locate<'a>(
        &'a self,
        image: &ImageRef,
    ) -> Result<(&'a dyn Store, String), okd_release::Error> {
        let repo = image.repository().to_string();
        if let Some(store) = &self.all {
            return Ok((store.as_ref(), repo));
        }
        match self.by_key.get(&StoreKey::of(image)) {
            Some(store) => Ok((store.as_ref(), repo)),
            None => Err(okd_release::Error::UnsupportedImage {
                image: image.to_string(),
                reason: "its registry or layout was not opened".to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::has_explicit_tag;

    #[test]
    fn explicit_tags() {
        assert!(has_explicit_tag("quay.io/okd/release:4.19"));
        assert!(has_explicit_tag(
            "docker://127.0.0.1:5000/okd/release:latest"
        ));
        assert!(!has_explicit_tag("127.0.0.1:5000/okd/release"));
        assert!(!has_explicit_tag("docker://quay.io/okd/release"));
        assert!(!has_explicit_tag("quay.io/okd/release@sha256:abc"));
    }
}
