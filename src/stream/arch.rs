//! Which architectures a stream's releases are built for.
//!
//! By default a stream builds single-architecture releases: one release image, and the
//! `linux/amd64` image of any manifest list it reads ([`ReleaseArch::Single`]). A multi-arch
//! stream ([`ReleaseArch::Multi`], or a subset with [`ReleaseArch::Only`]) reads a multi-arch
//! upstream and writes releases the way OpenShift's multi payloads are made: the release image
//! is a manifest list whose images each carry the same release layer on the
//! `cluster-version-operator` image of their architecture, the payload names every component
//! by its manifest list, and `release-metadata` says `release.openshift.io/architecture: multi`
//! (what the cluster-version-operator reads to know a cluster can run several architectures).
//! The OS image is layered per architecture and the payload names the list of the layered
//! images (see [`super::os`]).
//!
//! ```
//! use okd_coreos::Architecture;
//! use okd_streams::stream::ReleaseArch;
//!
//! let only = ReleaseArch::only([Architecture::X86_64, Architecture::Aarch64]);
//! assert_eq!(only.to_string(), "amd64,arm64");
//! assert!(only.is_multi() && !ReleaseArch::Single.is_multi());
//! assert_eq!(ReleaseArch::Multi.to_string(), "multi");
//! ```

use std::fmt;

use okd_coreos::Architecture;
use okd_oci::RawManifest;
use okd_release::platform::{ListChild, list_children};

use super::StreamError;

/// The `release-metadata` key the cluster-version-operator reads a payload's architecture from.
pub const ARCHITECTURE_METADATA: &str = "release.openshift.io/architecture";

/// Which architectures releases are built for. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReleaseArch {
    /// One release image; lists are read through their `linux/amd64` image.
    #[default]
    Single,
    /// A manifest list of every architecture the upstream list has.
    Multi,
    /// A manifest list of these architectures, in the upstream list's order; each must be in
    /// the upstream.
    Only(Vec<Architecture>),
}

impl ReleaseArch {
    /// The subset `architectures` (duplicates dropped).
    pub fn only(architectures: impl IntoIterator<Item = Architecture>) -> ReleaseArch {
        let mut list: Vec<Architecture> = Vec::new();
        for a in architectures {
            if !list.contains(&a) {
                list.push(a);
            }
        }
        ReleaseArch::Only(list)
    }

    /// True when releases are manifest lists.
    pub fn is_multi(&self) -> bool {
        !matches!(self, ReleaseArch::Single)
    }

    /// The Go names of the architectures asked for (`None` for every one, or single-arch).
    pub fn go_names(&self) -> Option<Vec<String>> {
        match self {
            ReleaseArch::Only(list) => {
                Some(list.iter().map(|a| a.oci_name().to_string()).collect())
            }
            _ => None,
        }
    }

    /// The images of the manifest list `manifest` (named `image` in errors) a release takes,
    /// in list order. Fails when `manifest` is a single image, or lacks an architecture asked
    /// for.
    pub fn select(
        &self,
        manifest: &RawManifest,
        image: &str,
    ) -> Result<Vec<ListChild>, StreamError> {
        if !manifest.is_index() {
            return Err(self.not_multi(image));
        }
        self.select_children(list_children(manifest, image)?, image)
    }

    /// The error for `image`, a single image where a list is needed.
    pub(crate) fn not_multi(&self, image: &str) -> StreamError {
        StreamError::NotMultiArch {
            image: image.to_string(),
            wanted: self.to_string(),
        }
    }

    /// Those of `children` (the images of the list `image`) a release takes.
    pub fn select_children(
        &self,
        children: Vec<ListChild>,
        image: &str,
    ) -> Result<Vec<ListChild>, StreamError> {
        match self.go_names() {
            Some(wanted) => select_architectures(children, &wanted, image),
            None => Ok(children),
        }
    }
}

/// Those of `children` (the images of the list `image`) whose architecture (Go name) is in
/// `wanted`, in list order; every one of `wanted` must be there.
pub fn select_architectures(
    children: Vec<ListChild>,
    wanted: &[String],
    image: &str,
) -> Result<Vec<ListChild>, StreamError> {
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !children.iter().any(|c| &c.platform.architecture == *w))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(StreamError::MissingArchitecture {
            image: image.to_string(),
            missing,
            available: children.iter().map(|c| c.platform.to_string()).collect(),
        });
    }
    Ok(children
        .into_iter()
        .filter(|c| wanted.contains(&c.platform.architecture))
        .collect())
}

impl fmt::Display for ReleaseArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReleaseArch::Single => f.write_str("single"),
            ReleaseArch::Multi => f.write_str("multi"),
            ReleaseArch::Only(_) => f.write_str(&self.go_names().unwrap_or_default().join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use okd_oci::{Digest, media_type};

    fn list(archs: &[&str]) -> RawManifest {
        let manifests: Vec<serde_json::Value> = archs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                serde_json::json!({
                    "mediaType": media_type::DOCKER_MANIFEST,
                    "size": 10,
                    "digest": Digest::sha256_of(&[i as u8]).to_string(),
                    "platform": {"os": "linux", "architecture": a},
                })
            })
            .collect();
        let doc = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type::DOCKER_MANIFEST_LIST,
            "manifests": manifests,
        });
        RawManifest::new(
            media_type::DOCKER_MANIFEST_LIST,
            serde_json::to_vec(&doc).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn multi_takes_every_child_and_only_a_subset_in_list_order() {
        let l = list(&["amd64", "arm64", "s390x"]);
        let all = ReleaseArch::Multi.select(&l, "x").unwrap();
        assert_eq!(all.len(), 3);
        let sub = ReleaseArch::only([Architecture::S390x, Architecture::X86_64])
            .select(&l, "x")
            .unwrap();
        let names: Vec<&str> = sub
            .iter()
            .map(|c| c.platform.architecture.as_str())
            .collect();
        assert_eq!(names, ["amd64", "s390x"]);
    }

    #[test]
    fn a_missing_architecture_is_named() {
        let l = list(&["amd64", "arm64"]);
        let err = ReleaseArch::only([Architecture::Ppc64le, Architecture::Aarch64])
            .select(&l, "quay.io/x/release@sha256:1")
            .unwrap_err();
        match &err {
            StreamError::MissingArchitecture {
                missing, available, ..
            } => {
                assert_eq!(missing, &["ppc64le"]);
                assert_eq!(available, &["linux/amd64", "linux/arm64"]);
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("ppc64le"), "{err}");
    }

    #[test]
    fn a_single_image_is_not_a_multi_arch_upstream() {
        let m = RawManifest::new(
            media_type::DOCKER_MANIFEST,
            br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"a","size":1,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"layers":[]}"#.to_vec(),
        )
        .unwrap();
        assert!(matches!(
            ReleaseArch::Multi.select(&m, "x"),
            Err(StreamError::NotMultiArch { .. })
        ));
    }
}
