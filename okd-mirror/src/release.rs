//! Expanding a release image into the images to mirror.
//!
//! A release image lists its components in `release-manifests/image-references`, each by digest.
//! [`expand_release`] turns a release (its version, architecture and components) into one
//! [`ImageMapping`] per component kept by the [`ComponentFilter`], plus one for the release image
//! itself, named by the [`ReleaseTarget`]'s policy. It is a pure function, so it can be used (and
//! tested) without reading a payload; [`ReleaseLoader`] is the seam where the payload is read.
//!
//! ```
//! use okd_mirror::{expand_release, Component, ComponentFilter, Naming, ReleaseContent, ReleaseTarget};
//!
//! let digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
//! let release = ReleaseContent {
//!     image: "quay.io/okd/scos-release:4.19.0-okd-scos.19".parse()?,
//!     version: "4.19.0-okd-scos.19".to_string(),
//!     architecture: Some("amd64".to_string()),
//!     manifest_list: false,
//!     components: vec![
//!         Component::new("cli", format!("quay.io/okd/scos-content@{digest}").parse()?),
//!         Component::new("rhel-coreos", format!("quay.io/okd/scos-content@{digest}").parse()?),
//!     ],
//! };
//! let target = ReleaseTarget::parse("mirror.local/okd", Naming::Release)?;
//! let filter = ComponentFilter::new(&[], &["rhel-coreos*".to_string()])?;
//! let x = expand_release(&release, &target, &filter, &Default::default())?;
//! assert_eq!(x.mappings.len(), 2); // cli and the release image
//! assert_eq!(x.excluded, vec!["rhel-coreos".to_string()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use async_trait::async_trait;
use okd_oci::{ImageRef, Store};
use serde::{Deserialize, Serialize};

use crate::naming::arch_suffix;
use crate::{ComponentFilter, Error, ImageKind, ImageMapping, PlatformChoice, ReleaseTarget};

/// One component of a release: its `image-references` tag name and pullspec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// The tag name (`cli`, `machine-config-operator`).
    pub name: String,
    /// The pullspec, which must carry a digest.
    pub image: ImageRef,
}

impl Component {
    /// A component.
    pub fn new(name: impl Into<String>, image: ImageRef) -> Component {
        Component {
            name: name.into(),
            image,
        }
    }
}

/// What the mirror needs to know about a release image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseContent {
    /// The release image as given (tag or digest).
    pub image: ImageRef,
    /// The release name, `metadata.name` of `image-references` (`4.19.0-okd-scos.19`).
    pub version: String,
    /// Go architecture of the release image's config (`amd64`), when known.
    pub architecture: Option<String>,
    /// True when the release image is a manifest list.
    pub manifest_list: bool,
    /// The components, in `image-references` order.
    pub components: Vec<Component>,
}

/// The images a release expands to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expansion {
    /// Components first, in `image-references` order, then the release image.
    pub mappings: Vec<ImageMapping>,
    /// Components left out by the filter.
    pub excluded: Vec<String>,
    /// Warnings for the report.
    pub warnings: Vec<String>,
}

/// The arch part of `oc`-style tags for a release: `multi` for a list kept whole when
/// `multi_suffix` is set (oc's `--keep-manifest-list`), else the suffix of the selected
/// architecture or of the image the manifests were read from; empty when unknown.
pub fn release_arch(
    release: &ReleaseContent,
    platform: &PlatformChoice,
    multi_suffix: bool,
) -> String {
    match (release.manifest_list, platform) {
        (true, PlatformChoice::All) if multi_suffix => "multi".to_string(),
        (true, PlatformChoice::Only(p)) => arch_suffix(&p.architecture).to_string(),
        _ => release
            .architecture
            .as_deref()
            .map(|a| arch_suffix(a).to_string())
            .unwrap_or_default(),
    }
}

/// Expands `release` into mappings towards `target`, keeping the components `filter` keeps.
/// Fails when a component is not referenced by digest, as `oc adm release mirror` does.
pub fn expand_release(
    release: &ReleaseContent,
    target: &ReleaseTarget,
    filter: &ComponentFilter,
    platform: &PlatformChoice,
) -> Result<Expansion, Error> {
    let arch = release_arch(release, platform, target.multi_suffix);
    let mut x = Expansion::default();
    for c in &release.components {
        if c.image.digest().is_none() || c.image.tag().is_some() {
            return Err(Error::ComponentNotByDigest {
                release: release.image.to_string(),
                component: c.name.clone(),
                pullspec: c.image.to_string(),
            });
        }
        if !filter.keeps(&c.name) {
            x.excluded.push(c.name.clone());
            continue;
        }
        x.mappings.push(ImageMapping {
            name: c.name.clone(),
            kind: ImageKind::Component,
            source: c.image.clone(),
            destination: target.component(&release.version, &arch, &c.name)?,
        });
    }
    if !x.excluded.is_empty() {
        x.warnings.push(format!(
            "release {}: {} component(s) left out by the include/exclude patterns; installs or upgrades that need them will fail from this mirror: {}",
            release.version,
            x.excluded.len(),
            x.excluded.join(", ")
        ));
    }
    if release.components.is_empty() {
        x.warnings.push(format!(
            "release {} has no image references; is this a valid release?",
            release.image
        ));
    }
    if arch.is_empty() {
        x.warnings.push(format!(
            "release {}: architecture unknown, tags carry no architecture suffix",
            release.image
        ));
    }
    x.mappings.push(ImageMapping {
        name: "release".to_string(),
        kind: ImageKind::Release,
        source: release.image.clone(),
        destination: target.release(&release.version, &arch)?,
    });
    Ok(x)
}

/// Reads what the mirror needs from a release image in `store`.
#[async_trait]
pub trait ReleaseLoader: Send + Sync + std::fmt::Debug {
    /// Loads the release `image` (a tag or digest reference) from `store`.
    async fn load(&self, store: &dyn Store, image: &ImageRef) -> Result<ReleaseContent, Error>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Naming;

    const D: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn release(list: bool) -> ReleaseContent {
        let c =
            |n: &str| Component::new(n, format!("quay.io/okd/scos-content@{D}").parse().unwrap());
        ReleaseContent {
            image: "quay.io/okd/scos-release:4.19.0-okd-scos.19"
                .parse()
                .unwrap(),
            version: "4.19.0-okd-scos.19".into(),
            architecture: Some("arm64".into()),
            manifest_list: list,
            components: vec![
                c("cli"),
                c("rhel-coreos"),
                c("baremetal-installer"),
                c("installer"),
            ],
        }
    }

    #[test]
    fn expands_in_order_with_release_last() {
        let t = ReleaseTarget::parse("reg.local/okd", Naming::Release).unwrap();
        let x = expand_release(
            &release(false),
            &t,
            &ComponentFilter::all(),
            &PlatformChoice::All,
        )
        .unwrap();
        let dst: Vec<String> = x
            .mappings
            .iter()
            .map(|m| m.destination.to_string())
            .collect();
        assert_eq!(
            dst,
            [
                "reg.local/okd:4.19.0-okd-scos.19-aarch64-cli",
                "reg.local/okd:4.19.0-okd-scos.19-aarch64-rhel-coreos",
                "reg.local/okd:4.19.0-okd-scos.19-aarch64-baremetal-installer",
                "reg.local/okd:4.19.0-okd-scos.19-aarch64-installer",
                "reg.local/okd:4.19.0-okd-scos.19-aarch64",
            ]
        );
        assert_eq!(x.mappings[4].kind, ImageKind::Release);
        assert!(x.warnings.is_empty());
    }

    #[test]
    fn exclusions_are_reported() {
        let t = ReleaseTarget::parse("reg.local/okd", Naming::Release).unwrap();
        let f = ComponentFilter::new(&[], &["rhel-coreos*".into(), "*-installer".into()]).unwrap();
        let x = expand_release(&release(false), &t, &f, &PlatformChoice::All).unwrap();
        assert_eq!(x.excluded, ["rhel-coreos", "baremetal-installer"]);
        assert_eq!(x.mappings.len(), 3);
        assert!(
            x.warnings[0].contains("rhel-coreos, baremetal-installer"),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn kept_list_is_multi_and_selected_platform_names_its_arch() {
        let t = ReleaseTarget::parse("reg.local/okd", Naming::Release).unwrap();
        let all = expand_release(
            &release(true),
            &t,
            &ComponentFilter::all(),
            &PlatformChoice::All,
        )
        .unwrap();
        assert_eq!(
            all.mappings[4].destination.tag(),
            Some("4.19.0-okd-scos.19-multi")
        );
        let one = PlatformChoice::Only("linux/amd64".parse().unwrap());
        let x = expand_release(&release(true), &t, &ComponentFilter::all(), &one).unwrap();
        assert_eq!(
            x.mappings[4].destination.tag(),
            Some("4.19.0-okd-scos.19-x86_64")
        );
        // Without --keep-manifest-list, oc names a whole list after the image it read.
        let oc = ReleaseTarget {
            multi_suffix: false,
            ..t
        };
        let x = expand_release(
            &release(true),
            &oc,
            &ComponentFilter::all(),
            &PlatformChoice::All,
        )
        .unwrap();
        assert_eq!(
            x.mappings[4].destination.tag(),
            Some("4.19.0-okd-scos.19-aarch64")
        );
    }

    #[test]
    fn component_by_tag_is_refused() {
        let mut r = release(false);
        r.components[1].image = "quay.io/okd/scos-content:latest".parse().unwrap();
        let t = ReleaseTarget::parse("reg.local/okd", Naming::Release).unwrap();
        let err =
            expand_release(&r, &t, &ComponentFilter::all(), &PlatformChoice::All).unwrap_err();
        assert!(err.to_string().contains("\"rhel-coreos\""), "{err}");
    }
}
