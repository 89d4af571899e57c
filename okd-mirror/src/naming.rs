//! Where each image of a release lands at the destination.
//!
//! Three policies, chosen with [`Naming`]:
//!
//! * [`Naming::Release`], what `oc adm release mirror --to REPO` does: the release at
//!   `REPO:<version>-<arch>` and each component at `REPO:<version>-<arch>-<component>`, where
//!   `<arch>` is `x86_64` for amd64, `aarch64` for arm64, the Go name otherwise, or `multi` when a
//!   manifest list is kept whole. `REPO` may instead carry a tag template with `${component}` and
//!   `${version}` (`REPO:${version}-${component}`), to which the arch suffix is appended.
//! * [`Naming::Content`]: `REPO:<version>-<component>`, the release at `REPO:<version>`.
//! * [`Naming::DigestOnly`]: no tags; every image is pushed by digest only.
//!
//! `--to-release-image` ([`ReleaseTarget::release_image`]) puts the release image elsewhere.
//!
//! ```
//! use okd_mirror::{Naming, ReleaseTarget};
//!
//! let t = ReleaseTarget::parse("mirror.example.com/ocp4/openshift4", Naming::Release)?;
//! let cli = t.component("4.19.0-okd-scos.19", "x86_64", "cli")?;
//! assert_eq!(cli.to_string(), "mirror.example.com/ocp4/openshift4:4.19.0-okd-scos.19-x86_64-cli");
//! let rel = t.release("4.19.0-okd-scos.19", "x86_64")?;
//! assert_eq!(rel.to_string(), "mirror.example.com/ocp4/openshift4:4.19.0-okd-scos.19-x86_64");
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use std::path::PathBuf;

use okd_oci::{ImageRef, LayoutRef, is_valid_repository, is_valid_tag};
use serde::{Deserialize, Serialize};

use crate::Error;

const COMPONENT_VAR: &str = "${component}";
const VERSION_VAR: &str = "${version}";

/// How destination tags are chosen for the images of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Naming {
    /// `oc adm release mirror` style: `REPO:<version>-<arch>[-<component>]`.
    #[default]
    Release,
    /// Content style: `REPO:<version>[-<component>]`, without the architecture.
    Content,
    /// No tags at all: images are pushed by digest.
    DigestOnly,
}

/// The architecture suffix `oc adm release mirror` uses for a Go architecture name:
/// `amd64` → `x86_64`, `arm64` → `aarch64`, anything else unchanged.
pub fn arch_suffix(goarch: &str) -> &str {
    match goarch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    }
}

/// Parses a destination repository: `host[:port]/path` (also with `docker://`) or
/// `oci:DIR[:REPO]` for a layout. A tag or digest is refused, since tags are chosen by the naming
/// policy.
pub fn parse_repository(input: &str) -> Result<ImageRef, Error> {
    let invalid = |reason: &str| Error::InvalidDestination {
        destination: input.to_string(),
        reason: reason.to_string(),
    };
    if let Some(rest) = input.strip_prefix("oci:") {
        let (path, repo) = rest.split_once(':').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(invalid("missing layout directory after oci:"));
        }
        if !repo.is_empty() && !is_valid_repository(repo) {
            return Err(invalid("invalid repository name in the layout"));
        }
        return Ok(ImageRef::Layout(LayoutRef {
            path: PathBuf::from(path),
            repository: repo.to_string(),
            tag: None,
            digest: None,
        }));
    }
    let bare = input.strip_prefix("docker://").unwrap_or(input);
    let last = bare.rsplit('/').next().unwrap_or(bare);
    if bare.contains('@') || (bare.contains('/') && last.contains(':')) {
        return Err(invalid(
            "must be a repository, without a tag or digest (tags come from the naming policy)",
        ));
    }
    let parsed: ImageRef = bare
        .parse()
        .map_err(|e: okd_oci::Error| invalid(&e.to_string()))?;
    Ok(without_tag(&parsed))
}

/// The same repository with neither tag nor digest.
pub(crate) fn without_tag(r: &ImageRef) -> ImageRef {
    let mut r = r.clone();
    match &mut r {
        ImageRef::Registry(x) => {
            x.tag = None;
            x.digest = None;
        }
        ImageRef::Layout(x) => {
            x.tag = None;
            x.digest = None;
        }
    }
    r
}

/// The destination of a release mirror: the `--to` repository (possibly with a tag template), the
/// naming policy and an optional separate release image destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTarget {
    /// The repository components are written to.
    pub repository: ImageRef,
    /// The naming policy.
    pub naming: Naming,
    /// A tag template with `${component}` and/or `${version}`, when `--to` had one.
    pub template: Option<String>,
    /// Where the release image goes instead of the naming policy's choice (`--to-release-image`).
    pub release_image: Option<ImageRef>,
    /// The repository the release image goes to, tagged as the naming policy tags it, instead
    /// of [`repository`](Self::repository) (oc-mirror's `openshift/release-images`);
    /// [`release_image`](Self::release_image) wins over it.
    pub release_repository: Option<ImageRef>,
    /// A release kept as a whole manifest list is tagged `-multi` (oc's `--keep-manifest-list`).
    /// When false, its tags name the architecture its manifests were read from, as
    /// `oc adm release mirror` names them without that flag; the list is copied whole either way.
    pub multi_suffix: bool,
    /// The `--to` value as given, for messages and mirror instructions.
    pub to: String,
}

impl ReleaseTarget {
    /// Parses a `--to` value. With `${component}` it must sit in the tag part
    /// (`REPO:${version}-${component}`); mirroring each component to its own repository is refused,
    /// as `oc` refuses it.
    pub fn parse(to: &str, naming: Naming) -> Result<ReleaseTarget, Error> {
        if to.contains(COMPONENT_VAR) || to.contains(VERSION_VAR) {
            let invalid = |reason: &str| Error::InvalidDestination {
                destination: to.to_string(),
                reason: reason.to_string(),
            };
            let bare = to.strip_prefix("docker://").unwrap_or(to);
            let (repo, template) = bare
                .rsplit_once(':')
                .filter(|(_, t)| !t.contains('/'))
                .ok_or_else(|| invalid("${component} and ${version} may only appear in the tag"))?;
            if repo.contains(COMPONENT_VAR) || repo.contains(VERSION_VAR) {
                return Err(invalid(
                    "${component} and ${version} may only appear in the tag; mirroring to one repository per component is not supported",
                ));
            }
            if naming == Naming::DigestOnly {
                return Err(invalid(
                    "a tag template cannot be combined with digest-only naming",
                ));
            }
            let probe = template
                .replace(COMPONENT_VAR, "c")
                .replace(VERSION_VAR, "v");
            if !is_valid_tag(&probe) {
                return Err(invalid("the tag template does not make valid tags"));
            }
            return Ok(ReleaseTarget {
                repository: parse_repository(repo)?,
                naming,
                template: Some(template.to_string()),
                release_image: None,
                release_repository: None,
                multi_suffix: true,
                to: to.to_string(),
            });
        }
        Ok(ReleaseTarget {
            repository: parse_repository(to)?,
            naming,
            template: None,
            release_image: None,
            release_repository: None,
            multi_suffix: true,
            to: to.to_string(),
        })
    }

    /// Sends the release image to `image` (a reference with a tag or digest) instead.
    pub fn with_release_image(mut self, image: ImageRef) -> ReleaseTarget {
        self.release_image = Some(image);
        self
    }

    /// The destination of component `component` of release `version` built for `arch` (already
    /// an [`arch_suffix`] or `multi`). Digest-only naming gives a reference without tag or digest.
    pub fn component(&self, version: &str, arch: &str, component: &str) -> Result<ImageRef, Error> {
        self.tagged(version, arch, Some(component))
    }

    /// The destination of the release image itself.
    pub fn release(&self, version: &str, arch: &str) -> Result<ImageRef, Error> {
        if let Some(r) = &self.release_image {
            return Ok(r.clone());
        }
        let tagged = self.tagged(version, arch, None)?;
        Ok(match (&self.release_repository, tagged.tag()) {
            (Some(repo), Some(tag)) => repo.with_tag(tag),
            (Some(repo), None) => repo.clone(),
            (None, _) => tagged,
        })
    }

    fn tagged(
        &self,
        version: &str,
        arch: &str,
        component: Option<&str>,
    ) -> Result<ImageRef, Error> {
        let tag = match (&self.template, self.naming) {
            (_, Naming::DigestOnly) => return Ok(self.repository.clone()),
            (Some(template), _) => {
                let mut t = template
                    .replace(COMPONENT_VAR, component.unwrap_or("release"))
                    .replace(VERSION_VAR, version);
                if self.naming == Naming::Release && !arch.is_empty() {
                    t = format!("{t}-{arch}");
                }
                t
            }
            (None, Naming::Release) => {
                let base = if arch.is_empty() {
                    version.to_string()
                } else {
                    format!("{version}-{arch}")
                };
                match component {
                    Some(c) => format!("{base}-{c}"),
                    None => base,
                }
            }
            (None, Naming::Content) => match component {
                Some(c) => format!("{version}-{c}"),
                None => version.to_string(),
            },
        };
        if !is_valid_tag(&tag) {
            return Err(Error::InvalidDestination {
                destination: format!("{}:{tag}", self.repository),
                reason: "not a valid tag (at most 128 characters of [A-Za-z0-9_.-])".to_string(),
            });
        }
        Ok(self.repository.with_tag(&tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "4.14.0-0.okd-scos-2024-01-30-032525";

    #[test]
    fn oc_release_style_tags() {
        let t = ReleaseTarget::parse("localhost:5000/ocp4/openshift4", Naming::Release).unwrap();
        assert_eq!(
            t.component(V, "x86_64", "cli").unwrap().to_string(),
            "localhost:5000/ocp4/openshift4:4.14.0-0.okd-scos-2024-01-30-032525-x86_64-cli"
        );
        assert_eq!(
            t.release(V, "multi").unwrap().to_string(),
            "localhost:5000/ocp4/openshift4:4.14.0-0.okd-scos-2024-01-30-032525-multi"
        );
    }

    #[test]
    fn arch_suffixes_follow_oc() {
        assert_eq!(arch_suffix("amd64"), "x86_64");
        assert_eq!(arch_suffix("arm64"), "aarch64");
        assert_eq!(arch_suffix("ppc64le"), "ppc64le");
        assert_eq!(arch_suffix("s390x"), "s390x");
    }

    #[test]
    fn content_style_and_digest_only() {
        let t = ReleaseTarget::parse("quay.io/me/okd-content", Naming::Content).unwrap();
        assert_eq!(
            t.component("4.19.0-okd-scos.19", "x86_64", "cli")
                .unwrap()
                .to_string(),
            "quay.io/me/okd-content:4.19.0-okd-scos.19-cli"
        );
        let d = ReleaseTarget::parse("quay.io/me/okd", Naming::DigestOnly).unwrap();
        let c = d.component("4.19.0", "x86_64", "cli").unwrap();
        assert_eq!((c.tag(), c.digest()), (None, None));
        assert_eq!(c.repository(), "me/okd");
    }

    #[test]
    fn template_in_tag_gets_arch_appended() {
        let t =
            ReleaseTarget::parse("reg.local/okd:${version}-${component}", Naming::Release).unwrap();
        assert_eq!(
            t.component("4.19.0", "x86_64", "cli").unwrap().to_string(),
            "reg.local/okd:4.19.0-cli-x86_64"
        );
        assert_eq!(
            t.release("4.19.0", "x86_64").unwrap().to_string(),
            "reg.local/okd:4.19.0-release-x86_64"
        );
    }

    #[test]
    fn template_in_repository_is_refused() {
        let err =
            ReleaseTarget::parse("reg.local/${component}:latest", Naming::Release).unwrap_err();
        assert!(err.to_string().contains("reg.local/${component}"), "{err}");
    }

    #[test]
    fn release_image_override() {
        let t = ReleaseTarget::parse("reg.local/okd/content", Naming::Release)
            .unwrap()
            .with_release_image("reg.local/okd/release:4.19.0".parse().unwrap());
        assert_eq!(
            t.release("4.19.0", "x86_64").unwrap().to_string(),
            "reg.local/okd/release:4.19.0"
        );
    }

    #[test]
    fn repository_parsing() {
        assert!(parse_repository("reg.local:5000/okd/release:4.19").is_err());
        assert!(parse_repository("reg.local/okd/release@sha256:abc").is_err());
        let r = parse_repository("reg.local:5000/okd/release").unwrap();
        assert_eq!(r.to_string(), "reg.local:5000/okd/release");
        let l = parse_repository("oci:/srv/mirror:okd/release").unwrap();
        assert_eq!(l.repository(), "okd/release");
        let l = parse_repository("oci:/srv/mirror").unwrap();
        assert_eq!(l.repository(), "");
        assert!(parse_repository("oci::x").is_err());
    }

    #[test]
    fn overlong_tag_is_refused() {
        let t = ReleaseTarget::parse("reg.local/okd", Naming::Release).unwrap();
        let long = "c".repeat(130);
        let err = t.component("4.19.0", "x86_64", &long).unwrap_err();
        assert!(err.to_string().contains("not a valid tag"), "{err}");
    }
}
