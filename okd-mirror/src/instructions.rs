//! Which source repositories a mirror serves, and the text `oc adm release mirror` prints.
//!
//! A cluster finds mirrored content through source → mirrors pairs ([`MirrorSet`]). For a release,
//! as `oc` computes them, every source repository of the release (the release image's and each
//! mirrored component's) is served by every destination repository of that release (`--to` and
//! `--to-release-image`). For an image mirrored on its own, its source repository is served by its
//! destination repository. Sets are merged by source and sorted by source name, and only registry
//! destinations count: a cluster cannot pull from a directory.
//!
//! The sets become an ImageDigestMirrorSet ([`crate::idms`]), a legacy ImageContentSourcePolicy
//! ([`crate::icsp`]) and the matching `install-config.yaml` section.
//!
//! ```
//! use okd_mirror::instructions::{dedupe_sort, MirrorSet};
//!
//! let sets = dedupe_sort(vec![
//!     MirrorSet::new("quay/ocp/test", ["registry/ocp/test"]),
//!     MirrorSet::new("quay/another/test", ["registry/ocp/test"]),
//!     MirrorSet::new("quay/ocp/test", ["registry/another/test"]),
//! ]);
//! assert_eq!(sets[0].source, "quay/another/test");
//! assert_eq!(sets[1].mirrors, ["registry/ocp/test", "registry/another/test"]);
//! ```

use okd_oci::ImageRef;
use serde::{Deserialize, Serialize};

use crate::ImageMapping;

/// One source repository and the repositories that mirror it, in preference order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorSet {
    /// The source repository (`quay.io/okd/scos-content`).
    pub source: String,
    /// The mirrors (`mirror.local:5000/okd/release`).
    pub mirrors: Vec<String>,
}

impl MirrorSet {
    /// A set.
    pub fn new<I, S>(source: impl Into<String>, mirrors: I) -> MirrorSet
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        MirrorSet {
            source: source.into(),
            mirrors: mirrors.into_iter().map(Into::into).collect(),
        }
    }
}

/// `registry/repository` of a registry reference; `None` for a layout.
pub fn registry_repository(r: &ImageRef) -> Option<String> {
    match r {
        ImageRef::Registry(x) => Some(format!("{}/{}", x.registry, x.repository)),
        ImageRef::Layout(_) => None,
    }
}

/// The sets for a group of images that serve each other, such as a release and its components:
/// every source repository of the group is mirrored by every destination repository of it.
pub fn group_sets(mappings: &[ImageMapping]) -> Vec<MirrorSet> {
    let mut mirrors: Vec<String> = Vec::new();
    for m in mappings {
        if let Some(r) = registry_repository(&m.destination)
            && !mirrors.contains(&r)
        {
            mirrors.push(r);
        }
    }
    if mirrors.is_empty() {
        return Vec::new();
    }
    let mut sources: Vec<String> = Vec::new();
    for m in mappings {
        if let Some(r) = registry_repository(&m.source)
            && !sources.contains(&r)
        {
            sources.push(r);
        }
    }
    sources
        .into_iter()
        .map(|s| MirrorSet::new(s, mirrors.clone()))
        .collect()
}

/// Merges sets with the same source (keeping the first-seen order of mirrors) and sorts them by
/// source.
pub fn dedupe_sort(sets: Vec<MirrorSet>) -> Vec<MirrorSet> {
    let mut out: Vec<MirrorSet> = Vec::new();
    for s in sets {
        match out.iter_mut().find(|o| o.source == s.source) {
            Some(o) => {
                for m in s.mirrors {
                    if !o.mirrors.contains(&m) {
                        o.mirrors.push(m);
                    }
                }
            }
            None => out.push(s),
        }
    }
    out.sort_by(|a, b| a.source.cmp(&b.source));
    out
}

/// The lines `oc adm release mirror` prints after a successful mirror: the release image's new
/// location and one `Mirror prefix:` line per destination (`--to`, then `--to-release-image`).
pub fn success_text(update_image: &str, destinations: &[String]) -> String {
    let mut s = format!("\nSuccess\nUpdate image:  {update_image}\n");
    for d in destinations {
        s.push_str(&format!("Mirror prefix: {d}\n"));
    }
    s
}

/// What `oc adm release mirror --print-mirror-instructions` prints for one kind of object: the
/// `install-config.yaml` section, then the object (`kind`) to create for upgrades.
pub(crate) fn mirror_instructions(install_config: &str, kind: &str, object: &str) -> String {
    format!(
        "\nTo use the new mirrored repository to install, add the following section to the install-config.yaml:\n\n\
         {install_config}\n\nTo use the new mirrored repository for upgrades, use the following to create an {kind}:\n\n\
         {object}"
    )
}

pub(crate) fn to_yaml<T: Serialize>(value: &T, what: &str) -> Result<String, crate::Error> {
    serde_yaml_ng::to_string(value).map_err(|e| crate::Error::Serialize {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageKind;

    // The cases of oc's own test of its de-duplication.
    #[test]
    fn merges_mirrors_per_source() {
        let sets = dedupe_sort(vec![
            MirrorSet::new("quay/ocp/test", ["registry/ocp/test"]),
            MirrorSet::new("quay/ocp/test", ["registry/another/test"]),
            MirrorSet::new("quay/another/test", ["registry/ocp/test"]),
            MirrorSet::new("quay/another/test", ["registry/another/test"]),
        ]);
        assert_eq!(
            sets,
            vec![
                MirrorSet::new(
                    "quay/another/test",
                    ["registry/ocp/test", "registry/another/test"]
                ),
                MirrorSet::new(
                    "quay/ocp/test",
                    ["registry/ocp/test", "registry/another/test"]
                ),
            ]
        );
    }

    #[test]
    fn release_group_is_a_cross_product_of_registry_repositories() {
        let m = |src: &str, dst: &str, kind| ImageMapping {
            name: "x".into(),
            kind,
            source: src.parse().unwrap(),
            destination: dst.parse().unwrap(),
        };
        let d = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let group = vec![
            m(
                &format!("quay.io/okd/scos-content@{d}"),
                "reg.local/okd/content:a",
                ImageKind::Component,
            ),
            m(
                "quay.io/okd/scos-release:4.19",
                "reg.local/okd/release:4.19",
                ImageKind::Release,
            ),
        ];
        let sets = dedupe_sort(group_sets(&group));
        let mirrors = ["reg.local/okd/content", "reg.local/okd/release"];
        assert_eq!(
            sets,
            vec![
                MirrorSet::new("quay.io/okd/scos-content", mirrors),
                MirrorSet::new("quay.io/okd/scos-release", mirrors),
            ]
        );
        let to_disk = vec![m("quay.io/a/b:1", "oci:/srv/m:1", ImageKind::Additional)];
        assert!(group_sets(&to_disk).is_empty());
    }

    #[test]
    fn success_lines_match_oc() {
        assert_eq!(
            success_text(
                "localhost:5000/ocp4/openshift4:4.5.4-x86_64",
                &["localhost:5000/ocp4/openshift4".to_string()]
            ),
            "\nSuccess\nUpdate image:  localhost:5000/ocp4/openshift4:4.5.4-x86_64\nMirror prefix: localhost:5000/ocp4/openshift4\n"
        );
    }
}
