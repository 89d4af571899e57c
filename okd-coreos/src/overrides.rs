//! The `name=pullspec` overrides that put an OS image into a release payload.
//!
//! A release builder (`oc adm release new`, okd-release's builder) takes a base payload and
//! overrides some of its component tags. To give a payload another operating system, point the
//! variant's payload tags at the new images: `fedora-coreos` for FCOS, `stream-coreos` and
//! `stream-coreos-extensions` for SCOS, `rhel-coreos` and `rhel-coreos-extensions` for RHCOS.
//! [`OsOverrides::swap`] also says which OS tags of another variant a payload has that should go,
//! when the OS changes variant (FCOS → SCOS), and [`OsOverrides::apply_to`] applies both to a
//! release's `image-references`. The machine-config-operator in the payload decides
//! which tags it reads, so a variant swap also needs an MCO built for the new variant.
//!
//! ```
//! use okd_coreos::{Variant, overrides::OsOverrides};
//!
//! let o = OsOverrides::new(Variant::Scos, "quay.io/example/scos-node@sha256:aaaa")
//!     .extensions("quay.io/example/scos-node-extensions@sha256:bbbb");
//! let pairs: Vec<String> = o.overrides()?.iter().map(ToString::to_string).collect();
//! assert_eq!(pairs, [
//!     "stream-coreos=quay.io/example/scos-node@sha256:aaaa",
//!     "stream-coreos-extensions=quay.io/example/scos-node-extensions@sha256:bbbb",
//! ]);
//!
//! let swap = o.swap(["cli", "fedora-coreos", "machine-os-content"])?;
//! assert_eq!(swap.remove, ["fedora-coreos"]);
//! assert_eq!(swap.set.last().map(|o| o.name.as_str()), Some("machine-os-content"));
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::{Error, MACHINE_OS_CONTENT_TAG, Variant};

/// One component override: payload tag `name` is to point at `pullspec`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Override {
    /// The payload tag.
    pub name: String,
    /// The image it is to point at.
    pub pullspec: String,
}

impl Override {
    /// An override, checking that `name` is a valid tag and `pullspec` is not empty.
    pub fn new(name: &str, pullspec: &str) -> Result<Override, Error> {
        let bad = |reason: &str| Error::InvalidOverride {
            input: format!("{name}={pullspec}"),
            reason: reason.to_string(),
        };
        if !okd_oci::is_valid_tag(name) {
            return Err(bad("the name is not a valid payload tag"));
        }
        if pullspec.trim().is_empty() || pullspec.chars().any(char::is_whitespace) {
            return Err(bad("the pullspec is empty or contains whitespace"));
        }
        Ok(Override {
            name: name.to_string(),
            pullspec: pullspec.to_string(),
        })
    }

    /// The pair, for APIs that take `(name, pullspec)` tuples.
    pub fn to_pair(&self) -> (String, String) {
        (self.name.clone(), self.pullspec.clone())
    }
}

impl fmt::Display for Override {
    /// `name=pullspec`, the form `oc adm release new` takes on its command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.pullspec)
    }
}

impl FromStr for Override {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, pullspec) = s.split_once('=').ok_or_else(|| Error::InvalidOverride {
            input: s.to_string(),
            reason: "expected NAME=PULLSPEC".to_string(),
        })?;
        Override::new(name, pullspec)
    }
}

/// What to change in a payload's tags to put an OS in: tags to set and tags to drop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsSwap {
    /// Tags to point at the new images.
    pub set: Vec<Override>,
    /// OS tags of another variant the payload has, which no longer belong.
    pub remove: Vec<String>,
}

/// Builds the overrides for one variant's OS images. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsOverrides {
    variant: Variant,
    os_image: String,
    extensions_image: Option<String>,
    skip_extensions: bool,
    machine_os_content: bool,
}

impl OsOverrides {
    /// Overrides pointing `variant`'s OS tag at `os_image` (a pullspec; by digest for a
    /// reproducible release).
    pub fn new(variant: Variant, os_image: impl Into<String>) -> OsOverrides {
        OsOverrides {
            variant,
            os_image: os_image.into(),
            extensions_image: None,
            skip_extensions: false,
            machine_os_content: false,
        }
    }

    /// Points the variant's extensions tag at `image`.
    pub fn extensions(mut self, image: impl Into<String>) -> OsOverrides {
        self.extensions_image = Some(image.into());
        self
    }

    /// Leaves the extensions tag alone although the variant has one (the payload keeps the
    /// extensions image it has).
    pub fn without_extensions(mut self) -> OsOverrides {
        self.skip_extensions = true;
        self
    }

    /// Also points the legacy `machine-os-content` tag at the OS image, as OKD payloads before
    /// the layered node image expected.
    pub fn with_machine_os_content(mut self) -> OsOverrides {
        self.machine_os_content = true;
        self
    }

    /// The variant.
    pub fn variant(&self) -> &Variant {
        &self.variant
    }

    /// The overrides, OS tag first. Fails when the variant has an extensions tag and neither
    /// [`Self::extensions`] nor [`Self::without_extensions`] was chosen, so that a payload never
    /// ends up with the extensions of another OS build by accident.
    pub fn overrides(&self) -> Result<Vec<Override>, Error> {
        let tags = self.variant.payload_tags();
        let mut out = vec![Override::new(&tags.os, &self.os_image)?];
        match (&tags.extensions, &self.extensions_image) {
            (Some(tag), Some(image)) => out.push(Override::new(tag, image)?),
            (Some(tag), None) if !self.skip_extensions => {
                return Err(Error::MissingExtensionsImage {
                    variant: self.variant.to_string(),
                    tag: tag.clone(),
                });
            }
            (None, Some(image)) => {
                return Err(Error::InvalidOverride {
                    input: image.clone(),
                    reason: format!(
                        "variant {} has no extensions payload tag to point it at",
                        self.variant
                    ),
                });
            }
            _ => {}
        }
        if self.machine_os_content {
            out.push(Override::new(MACHINE_OS_CONTENT_TAG, &self.os_image)?);
        }
        Ok(out)
    }

    /// The overrides as `(name, pullspec)` pairs.
    pub fn pairs(&self) -> Result<Vec<(String, String)>, Error> {
        Ok(self.overrides()?.iter().map(Override::to_pair).collect())
    }

    /// What to change in a payload whose component tags are `existing`: the overrides, plus
    /// `machine-os-content` when the payload has it (it aliases the OS image), and the OS tags of
    /// other variants to remove.
    pub fn swap<'a>(&self, existing: impl IntoIterator<Item = &'a str>) -> Result<OsSwap, Error> {
        let existing: BTreeSet<&str> = existing.into_iter().collect();
        let mut set = self.overrides()?;
        let has_moc = set.iter().any(|o| o.name == MACHINE_OS_CONTENT_TAG);
        if existing.contains(MACHINE_OS_CONTENT_TAG) && !has_moc {
            set.push(Override::new(MACHINE_OS_CONTENT_TAG, &self.os_image)?);
        }
        let keep: BTreeSet<String> = self.variant.known_payload_tags().into_iter().collect();
        let mut remove: BTreeSet<String> = BTreeSet::new();
        for other in [Variant::Fcos, Variant::Scos, Variant::Rhcos] {
            if other == self.variant {
                continue;
            }
            for tag in other.known_payload_tags() {
                if tag != MACHINE_OS_CONTENT_TAG
                    && !keep.contains(&tag)
                    && existing.contains(tag.as_str())
                {
                    remove.insert(tag);
                }
            }
        }
        Ok(OsSwap {
            set,
            remove: remove.into_iter().collect(),
        })
    }
}

impl OsOverrides {
    /// Applies the swap to a release's image-references: the variant's tags (and
    /// `machine-os-content` when present) point at the new images, marked as overrides the way
    /// `oc adm release new` marks them, and OS tags of other variants are dropped. Returns what
    /// was done.
    pub fn apply_to(&self, references: &mut okd_release::ImageReferences) -> Result<OsSwap, Error> {
        let names: Vec<String> = references.tags().iter().map(|t| t.name.clone()).collect();
        let swap = self.swap(names.iter().map(String::as_str))?;
        references
            .spec
            .tags
            .retain(|t| !swap.remove.contains(&t.name));
        for o in &swap.set {
            references.set_override(&o.name, &o.pullspec);
        }
        Ok(swap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BaseDistro, CustomVariant};

    #[test]
    fn fcos_has_no_extensions() {
        let o = OsOverrides::new(Variant::Fcos, "quay.io/x/fcos@sha256:1");
        assert_eq!(
            o.pairs().unwrap(),
            [(
                "fedora-coreos".to_string(),
                "quay.io/x/fcos@sha256:1".to_string()
            )]
        );
        let e = o
            .clone()
            .extensions("quay.io/x/ext")
            .overrides()
            .unwrap_err();
        assert!(e.to_string().contains("quay.io/x/ext"), "{e}");
    }

    #[test]
    fn rhcos_requires_a_choice_about_extensions() {
        let o = OsOverrides::new(Variant::Rhcos, "r/os@sha256:1");
        let e = o.overrides().unwrap_err();
        assert!(
            matches!(&e, Error::MissingExtensionsImage { tag, .. } if tag == "rhel-coreos-extensions"),
            "{e}"
        );
        let names: Vec<String> = o
            .without_extensions()
            .with_machine_os_content()
            .overrides()
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(names, ["rhel-coreos", "machine-os-content"]);
    }

    #[test]
    fn swap_scos_to_fcos_removes_the_scos_tags() {
        let swap = OsOverrides::new(Variant::Fcos, "q/fcos:1")
            .swap([
                "stream-coreos",
                "stream-coreos-extensions",
                "machine-config-operator",
            ])
            .unwrap();
        assert_eq!(swap.remove, ["stream-coreos", "stream-coreos-extensions"]);
        assert_eq!(swap.set.len(), 1);
        assert_eq!(swap.set[0].to_string(), "fedora-coreos=q/fcos:1");
    }

    #[test]
    fn swap_within_a_variant_removes_nothing() {
        let swap = OsOverrides::new(Variant::Scos, "q/os:1")
            .extensions("q/ext:1")
            .swap(["stream-coreos", "stream-coreos-extensions"])
            .unwrap();
        assert!(swap.remove.is_empty());
        assert_eq!(swap.set.len(), 2);
    }

    #[test]
    fn custom_variant_tags() {
        let v = Variant::Custom(
            CustomVariant::new("acme", "ACME CoreOS", BaseDistro::Fedora, "acme-coreos")
                .with_extensions_tag("acme-coreos-extensions"),
        );
        let pairs = OsOverrides::new(v, "q/a:1")
            .extensions("q/b:1")
            .swap(["fedora-coreos"])
            .unwrap();
        assert_eq!(pairs.remove, ["fedora-coreos"]);
        assert_eq!(pairs.set[1].to_string(), "acme-coreos-extensions=q/b:1");

        let bad = Variant::Custom(CustomVariant::new(
            "bad",
            "Bad",
            BaseDistro::Fedora,
            "not a tag",
        ));
        let e = OsOverrides::new(bad, "q/a:1").overrides().unwrap_err();
        assert!(e.to_string().contains("not a tag=q/a:1"), "{e}");
    }

    #[test]
    fn applies_to_image_references() {
        let json = br#"{"kind":"ImageStream","apiVersion":"image.openshift.io/v1",
            "metadata":{"name":"4.15.0-0.okd-2024-03-10-010116"},
            "spec":{"tags":[
              {"name":"cli","from":{"kind":"DockerImage","name":"quay.io/openshift/okd-content@sha256:01"}},
              {"name":"fedora-coreos","from":{"kind":"DockerImage","name":"quay.io/openshift/okd-content@sha256:02"}},
              {"name":"machine-os-content","from":{"kind":"DockerImage","name":"quay.io/openshift/okd-content@sha256:02"}}
            ]}}"#;
        let mut refs = okd_release::ImageReferences::parse(json).unwrap();
        let swap = OsOverrides::new(Variant::Scos, "quay.io/x/scos@sha256:03")
            .extensions("quay.io/x/scos-ext@sha256:04")
            .apply_to(&mut refs)
            .unwrap();
        assert_eq!(swap.remove, ["fedora-coreos"]);
        assert!(refs.tag("fedora-coreos").is_none());
        assert_eq!(
            refs.tag("stream-coreos").and_then(|t| t.pullspec()),
            Some("quay.io/x/scos@sha256:03")
        );
        assert_eq!(
            refs.tag("stream-coreos-extensions")
                .and_then(|t| t.pullspec()),
            Some("quay.io/x/scos-ext@sha256:04")
        );
        assert_eq!(
            refs.tag("machine-os-content").and_then(|t| t.pullspec()),
            Some("quay.io/x/scos@sha256:03")
        );
        assert_eq!(
            refs.tag("stream-coreos")
                .and_then(|t| t.annotation("io.openshift.release.override")),
            Some("true")
        );
        assert_eq!(
            refs.tag("cli").and_then(|t| t.pullspec()),
            Some("quay.io/openshift/okd-content@sha256:01")
        );
    }

    #[test]
    fn parse_and_print() {
        let o: Override = "rhel-coreos=quay.io/a/b@sha256:1".parse().unwrap();
        assert_eq!(o.name, "rhel-coreos");
        assert_eq!(o.to_string(), "rhel-coreos=quay.io/a/b@sha256:1");
        for bad in ["rhel-coreos", "=x", "rhel-coreos=", "a=b c"] {
            let e = bad.parse::<Override>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
