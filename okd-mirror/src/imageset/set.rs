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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
fn release_target(prefix: &ImageRef) -> Result<ReleaseTarget, Error> {
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
        destination: prefix
            .with_repository(&join(prefix.repository(), &path))
            .with_tag(&tag),
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
