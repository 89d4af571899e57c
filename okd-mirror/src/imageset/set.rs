//! An image set resolved: the releases the channels select, the additional images, and where
//! each goes — oc-mirror's destination layout under one prefix:
//!
//! | image | destination |
//! |---|---|
//! | release image | `PREFIX/openshift/release-images:<version>-<arch>` |
//! | release component | `PREFIX/openshift/release:<version>-<arch>-<component>` |
//! | additional image by tag | `PREFIX/<path>:<tag>` (`targetRepo`, `targetTag` override) |
//! | additional image by digest | `PREFIX/<path>:sha256-<hex>` |
//!
//! ```
//! use std::collections::BTreeMap;
//! use okd_mirror::imageset::{GraphKey, ImageSet, ImageSetConfiguration};
//!
//! let isc = ImageSetConfiguration::parse(br#"
//! apiVersion: mirror.openshift.io/v2alpha1
//! kind: ImageSetConfiguration
//! mirror:
//!   additionalImages:
//!   - name: quay.io/okd/tools:latest
//! "#, "isc.yaml")?;
//! let set = ImageSet::resolve(&isc, &BTreeMap::new(), "mirror.local:5000/okd")?;
//! assert_eq!(set.images[0].destination.to_string(), "mirror.local:5000/okd/okd/tools:latest");
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use std::collections::BTreeMap;

use okd_oci::ImageRef;
use okd_release::graph::{Graph, Node};
use serde::{Deserialize, Serialize};

use super::channels::select_releases;
use super::config::{ImageSetConfiguration, PlatformType};
use crate::{
    BlockedImages, Error, ImageKind, ImageMapping, Naming, ReleaseMirror, ReleaseTarget,
    parse_repository,
};

/// Where oc-mirror puts release images under the destination prefix.
pub const RELEASE_IMAGES_PATH: &str = "openshift/release-images";
/// Where oc-mirror puts release components under the destination prefix.
pub const RELEASE_COMPONENTS_PATH: &str = "openshift/release";

/// Which upgrade graph a channel needs: its name, type and payload architecture.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GraphKey {
    /// The channel.
    pub channel: String,
    /// Which graph service.
    pub type_: PlatformType,
    /// `amd64`, `arm64`, …, `multi`.
    pub architecture: String,
}

/// A graph and where it was read from (a URL or a file, for messages).
#[derive(Debug, Clone)]
pub struct FetchedGraph {
    /// The graph.
    pub graph: Graph,
    /// Its URL or path.
    pub origin: String,
}

/// A release an image set selected.
#[derive(Debug, Clone)]
pub struct SelectedRelease {
    /// The channel that selected it, or `None` for `platform.release`.
    pub channel: Option<GraphKey>,
    /// Its graph node, when a channel selected it.
    pub node: Option<Node>,
    /// The release image and where it goes.
    pub mirror: ReleaseMirror,
}

/// An image set, resolved against its graphs.
#[derive(Debug, Clone)]
pub struct ImageSet {
    /// Releases, channel by channel, lowest version first; each payload once.
    pub releases: Vec<SelectedRelease>,
    /// Additional images and their destinations.
    pub images: Vec<ImageMapping>,
    /// The `blockedImages` patterns.
    pub blocked: BlockedImages,
    /// The destination prefix as given.
    pub destination: String,
}

impl ImageSet {
    /// The graphs [`resolve`](Self::resolve) needs: one per channel and architecture.
    pub fn graph_keys(isc: &ImageSetConfiguration) -> Vec<GraphKey> {
        let mut keys = Vec::new();
        for architecture in isc.architectures() {
            for c in &isc.mirror.platform.channels {
                keys.push(GraphKey {
                    channel: c.name.clone(),
                    type_: c.type_,
                    architecture: architecture.clone(),
                });
            }
        }
        keys
    }

    /// Selects the releases of every channel from `graphs` (one per [`graph_keys`](Self::graph_keys)
    /// entry) and names every destination under `destination` (`HOST[:PORT]/PATH` or
    /// `oci:DIR`).
    pub fn resolve(
        isc: &ImageSetConfiguration,
        graphs: &BTreeMap<GraphKey, FetchedGraph>,
        destination: &str,
    ) -> Result<ImageSet, Error> {
        let prefix = parse_repository(destination)?;
        let target = release_target(&prefix)?;
        let mut releases: Vec<SelectedRelease> = Vec::new();
        let platform = &isc.mirror.platform;
        if !platform.release.is_empty() {
            releases.push(SelectedRelease {
                channel: None,
                node: None,
                mirror: ReleaseMirror {
                    source: platform.release.parse()?,
                    target: target.clone(),
                },
            });
        }
        for key in ImageSet::graph_keys(isc) {
            let channel = platform
                .channels
                .iter()
                .find(|c| c.name == key.channel)
                .ok_or_else(|| missing_graph(&key))?;
            let fetched = graphs.get(&key).ok_or_else(|| missing_graph(&key))?;
            for node in select_releases(channel, &fetched.graph, &fetched.origin)? {
                if releases
                    .iter()
                    .any(|r| r.node.as_ref().is_some_and(|n| n.payload == node.payload))
                {
                    continue;
                }
                let source = node.payload.parse().map_err(|e| Error::Channel {
                    channel: key.channel.clone(),
                    graph: fetched.origin.clone(),
                    reason: format!("release {}: payload {:?}: {e}", node.version, node.payload),
                })?;
                releases.push(SelectedRelease {
                    channel: Some(key.clone()),
                    node: Some(node),
                    mirror: ReleaseMirror {
                        source,
                        target: target.clone(),
                    },
                });
            }
        }
        let images = isc
            .mirror
            .additional_images
            .iter()
            .map(|a| additional_mapping(a, &prefix))
            .collect::<Result<_, _>>()?;
        let patterns: Vec<String> = isc
            .mirror
            .blocked_images
            .iter()
            .map(|b| b.name.clone())
            .collect();
        Ok(ImageSet {
            releases,
            images,
            blocked: BlockedImages::new(&patterns)?,
            destination: destination.to_string(),
        })
    }
}

impl ImageSet {
    /// The same set under another destination prefix (`HOST[:PORT]/PATH` or `oci:DIR[:REPO]`):
    /// releases and components go to that prefix's `openshift/…` repositories, and each
    /// additional image keeps its path and tag under it.
    pub fn retarget(&self, destination: &str) -> Result<ImageSet, Error> {
        let prefix = parse_repository(destination)?;
        let target = release_target(&prefix)?;
        let releases = self
            .releases
            .iter()
            .map(|r| SelectedRelease {
                mirror: ReleaseMirror {
                    source: r.mirror.source.clone(),
                    target: target.clone(),
                },
                ..r.clone()
            })
            .collect();
        let images = self
            .images
            .iter()
            .map(|m| {
                let (path, tag) = self.placement(m)?;
                Ok(ImageMapping {
                    destination: under(&prefix, &path, &tag),
                    ..m.clone()
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(ImageSet {
            releases,
            images,
            blocked: self.blocked.clone(),
            destination: destination.to_string(),
        })
    }

    /// Where an additional image of this set goes: its path under the prefix and its tag.
    pub fn placement(&self, image: &ImageMapping) -> Result<(String, String), Error> {
        let prefix = parse_repository(&self.destination)?;
        let repository = image.destination.repository();
        let path = match prefix.repository() {
            "" => Some(repository),
            p => repository
                .strip_prefix(p)
                .and_then(|rest| rest.strip_prefix('/')),
        };
        match (path, image.destination.tag()) {
            (Some(path), Some(tag)) => Ok((path.to_string(), tag.to_string())),
            _ => Err(Error::InvalidDestination {
                destination: image.destination.to_string(),
                reason: format!("is not a tagged image under {}", self.destination),
            }),
        }
    }
}

/// `PREFIX/<path>:<tag>`.
pub(crate) fn under(prefix: &ImageRef, path: &str, tag: &str) -> ImageRef {
    prefix
        .with_repository(&join(prefix.repository(), path))
        .with_tag(tag)
}

fn missing_graph(key: &GraphKey) -> Error {
    Error::Channel {
        channel: key.channel.clone(),
        graph: format!("{} graph for {}", type_name(key.type_), key.architecture),
        reason: "no graph was given for this channel".to_string(),
    }
}

/// `ocp` or `okd`, as the configuration writes it.
pub fn type_name(t: PlatformType) -> &'static str {
    match t {
        PlatformType::Ocp => "ocp",
        PlatformType::Okd => "okd",
    }
}

/// `PREFIX/openshift/release` for components, `PREFIX/openshift/release-images` for releases,
/// both tagged `<version>-<arch>[-<component>]`.
pub(crate) fn release_target(prefix: &ImageRef) -> Result<ReleaseTarget, Error> {
    let components = prefix.with_repository(&join(prefix.repository(), RELEASE_COMPONENTS_PATH));
    let releases = prefix.with_repository(&join(prefix.repository(), RELEASE_IMAGES_PATH));
    let mut target = ReleaseTarget::parse(&components.to_string(), Naming::Release)?;
    target.release_repository = Some(releases);
    Ok(target)
}

fn join(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_string()
    } else {
        format!("{prefix}/{path}")
    }
}

/// Where an additional image goes: its path (or `targetRepo`) under the prefix, with its tag (or
/// `targetTag`), or `sha256-<hex>` for an image by digest only.
fn additional_mapping(
    a: &super::config::AdditionalImage,
    prefix: &ImageRef,
) -> Result<ImageMapping, Error> {
    let source: ImageRef = a.name.parse()?;
    let path = if a.target_repo.is_empty() {
        source.repository().to_string()
    } else {
        a.target_repo.trim_start_matches('/').to_string()
    };
    let tag = match (
        a.target_tag.as_str(),
        source.tag().filter(|_| source.tag_written()),
        source.digest(),
    ) {
        ("", Some(t), _) => t.to_string(),
        ("", None, Some(d)) => format!("{}-{}", d.algorithm().name(), d.hex()),
        ("", None, None) => "latest".to_string(),
        (t, _, _) => t.to_string(),
    };
    Ok(ImageMapping {
        name: a.name.clone(),
        kind: ImageKind::Additional,
        source,
        destination: under(prefix, &path, &tag),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imageset::config::AdditionalImage;

    const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn dest(name: &str, repo: &str, tag: &str) -> String {
        let a = AdditionalImage {
            name: name.into(),
            target_repo: repo.into(),
            target_tag: tag.into(),
            ..Default::default()
        };
        let prefix = parse_repository("mirror.local:5000/site").unwrap();
        additional_mapping(&a, &prefix)
            .unwrap()
            .destination
            .to_string()
    }

    #[test]
    fn additional_images_keep_their_path_and_tag_or_digest() {
        assert_eq!(
            dest("quay.io/okd/tools:4.19", "", ""),
            "mirror.local:5000/site/okd/tools:4.19"
        );
        assert_eq!(
            dest(&format!("quay.io/okd/tools@sha256:{HEX}"), "", ""),
            format!("mirror.local:5000/site/okd/tools:sha256-{HEX}")
        );
        assert_eq!(
            dest(&format!("quay.io/okd/tools:4.19@sha256:{HEX}"), "", ""),
            "mirror.local:5000/site/okd/tools:4.19"
        );
        assert_eq!(
            dest("quay.io/okd/tools:4.19", "/tools", "v1"),
            "mirror.local:5000/site/tools:v1"
        );
    }

    #[test]
    fn a_retargeted_set_keeps_every_path_and_tag_under_the_new_prefix() {
        let isc = ImageSetConfiguration::parse(
            format!(
                "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  platform:\n    release: quay.io/okd/scos-release:4.19.0-okd-scos.1\n  additionalImages:\n  - name: quay.io/okd/tools:4.19\n  - name: quay.io/okd/tools@sha256:{HEX}\n    targetRepo: other/tools\n"
            )
            .as_bytes(),
            "isc.yaml",
        )
        .unwrap();
        let set = ImageSet::resolve(&isc, &BTreeMap::new(), "mirror.local:5000/site").unwrap();
        let moved = set.retarget("oci:/srv/transfer:set").unwrap();
        let places: Vec<_> = moved
            .images
            .iter()
            .map(|m| moved.placement(m).unwrap())
            .collect();
        assert_eq!(
            places,
            [
                ("okd/tools".to_string(), "4.19".to_string()),
                ("other/tools".to_string(), format!("sha256-{HEX}")),
            ]
        );
        assert_eq!(
            moved.images[0].destination.to_string(),
            "oci:/srv/transfer:set/okd/tools:4.19"
        );
        let back = moved.retarget("mirror.local:5000/site").unwrap();
        assert_eq!(back.images, set.images);
        assert_eq!(
            back.releases[0].mirror.target.release_repository,
            set.releases[0].mirror.target.release_repository
        );
    }

    #[test]
    fn releases_go_where_oc_mirror_puts_them() {
        let t = release_target(&parse_repository("mirror.local:5000/site").unwrap()).unwrap();
        assert_eq!(
            t.release("4.19.0-okd-scos.1", "x86_64")
                .unwrap()
                .to_string(),
            "mirror.local:5000/site/openshift/release-images:4.19.0-okd-scos.1-x86_64"
        );
        assert_eq!(
            t.component("4.19.0-okd-scos.1", "x86_64", "cli")
                .unwrap()
                .to_string(),
            "mirror.local:5000/site/openshift/release:4.19.0-okd-scos.1-x86_64-cli"
        );
    }
}
