//! CoreOS variants: Fedora CoreOS, CentOS Stream CoreOS, RHEL CoreOS and variants of your own.
//!
//! A variant fixes what a release payload calls its OS images and how it shows the OS:
//!
//! | variant | base | payload tags | `machine-os` display name |
//! |---|---|---|---|
//! | FCOS | Fedora | `fedora-coreos` | `Fedora CoreOS` |
//! | SCOS | CentOS Stream | `stream-coreos`, `stream-coreos-extensions` | `CentOS Stream CoreOS` |
//! | RHCOS | RHEL | `rhel-coreos`, `rhel-coreos-extensions` | `Red Hat Enterprise Linux CoreOS` |
//!
//! Payloads before the layered node image (OpenShift ≤ 4.12, OKD/FCOS ≤ 4.11) carried the OS as
//! `machine-os-content` instead; 4.12 RHCOS used `rhel-coreos-8`, early OKD/SCOS
//! `centos-stream-coreos-9`. [`Variant::detect`] recognises all of them.
//!
//! ```
//! use okd_coreos::Variant;
//!
//! let v: Variant = "scos".parse()?;
//! assert_eq!(v.payload_tags().os, "stream-coreos");
//! assert_eq!(v.payload_tags().extensions.as_deref(), Some("stream-coreos-extensions"));
//! assert_eq!(v.display_name(), "CentOS Stream CoreOS");
//! assert_eq!(Variant::detect(["etcd", "fedora-coreos", "cli"]), Some(Variant::Fcos));
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::{Error, FcosStream, OsStream, OsVersion, RhelStream, ScosStream};

/// The payload tag old payloads carried the OS in, for every variant.
pub const MACHINE_OS_CONTENT_TAG: &str = "machine-os-content";

/// The distribution a variant is built from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseDistro {
    /// Fedora.
    Fedora,
    /// CentOS Stream.
    CentOsStream,
    /// Red Hat Enterprise Linux.
    Rhel,
    /// Anything else, by name.
    Other(String),
}

impl BaseDistro {
    /// The distribution's name (`Fedora`, `CentOS Stream`).
    pub fn name(&self) -> &str {
        match self {
            BaseDistro::Fedora => "Fedora",
            BaseDistro::CentOsStream => "CentOS Stream",
            BaseDistro::Rhel => "Red Hat Enterprise Linux",
            BaseDistro::Other(s) => s,
        }
    }

    /// The base distribution's `ID` in `os-release` (`fedora`, `centos`, `rhel`).
    pub fn os_release_id(&self) -> &str {
        match self {
            BaseDistro::Fedora => "fedora",
            BaseDistro::CentOsStream => "centos",
            BaseDistro::Rhel => "rhel",
            BaseDistro::Other(s) => s,
        }
    }
}

/// The payload tags a variant's OS images go under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayloadTags {
    /// The OS (node) image tag.
    pub os: String,
    /// The extensions image tag, for variants that ship one.
    pub extensions: Option<String>,
}

/// A variant defined by its user: a name, a display name, payload tags and streams.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomVariant {
    /// Short name (`my-os`).
    pub name: String,
    /// Shown as the `machine-os` display name (`My CoreOS`).
    pub display_name: String,
    /// What it is built from.
    pub base: BaseDistro,
    /// The payload tags its images go under.
    pub tags: PayloadTags,
    /// Its stream names.
    pub streams: Vec<String>,
}

impl CustomVariant {
    /// A variant named `name`, displayed as `display_name`, whose OS image goes under `os_tag`.
    pub fn new(name: &str, display_name: &str, base: BaseDistro, os_tag: &str) -> CustomVariant {
        CustomVariant {
            name: name.to_string(),
            display_name: display_name.to_string(),
            base,
            tags: PayloadTags {
                os: os_tag.to_string(),
                extensions: None,
            },
            streams: Vec::new(),
        }
    }

    /// Adds an extensions image tag.
    pub fn with_extensions_tag(mut self, tag: &str) -> CustomVariant {
        self.tags.extensions = Some(tag.to_string());
        self
    }

    /// Adds a stream name.
    pub fn with_stream(mut self, stream: &str) -> CustomVariant {
        self.streams.push(stream.to_string());
        self
    }
}

/// A CoreOS variant. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Fedora CoreOS (OKD/FCOS up to 4.15).
    Fcos,
    /// CentOS Stream CoreOS (OKD/SCOS).
    Scos,
    /// RHEL CoreOS (OpenShift).
    Rhcos,
    /// A variant of your own.
    Custom(CustomVariant),
}

impl Variant {
    /// Short name: `fcos`, `scos`, `rhcos` or the custom name.
    pub fn name(&self) -> &str {
        match self {
            Variant::Fcos => "fcos",
            Variant::Scos => "scos",
            Variant::Rhcos => "rhcos",
            Variant::Custom(c) => &c.name,
        }
    }

    /// The `machine-os` display name (`io.openshift.build.version-display-names`).
    pub fn display_name(&self) -> &str {
        match self {
            Variant::Fcos => "Fedora CoreOS",
            Variant::Scos => "CentOS Stream CoreOS",
            Variant::Rhcos => "Red Hat Enterprise Linux CoreOS",
            Variant::Custom(c) => &c.display_name,
        }
    }

    /// The distribution the variant is built from.
    pub fn base_distro(&self) -> BaseDistro {
        match self {
            Variant::Fcos => BaseDistro::Fedora,
            Variant::Scos => BaseDistro::CentOsStream,
            Variant::Rhcos => BaseDistro::Rhel,
            Variant::Custom(c) => c.base.clone(),
        }
    }

    /// The `ID` the variant's own `os-release` has (`fedora`, `scos`, `rhcos`).
    pub fn os_release_id(&self) -> &str {
        match self {
            Variant::Fcos => "fedora",
            Variant::Scos => "scos",
            Variant::Rhcos => "rhcos",
            Variant::Custom(c) => &c.name,
        }
    }

    /// The payload tags of current payloads (OpenShift/OKD 4.13 and later).
    pub fn payload_tags(&self) -> PayloadTags {
        let tags = |os: &str, ext: Option<&str>| PayloadTags {
            os: os.to_string(),
            extensions: ext.map(str::to_string),
        };
        match self {
            Variant::Fcos => tags("fedora-coreos", None),
            Variant::Scos => tags("stream-coreos", Some("stream-coreos-extensions")),
            Variant::Rhcos => tags("rhel-coreos", Some("rhel-coreos-extensions")),
            Variant::Custom(c) => c.tags.clone(),
        }
    }

    /// Every payload tag that has carried this variant's OS or extensions, current first, then
    /// the older names (`rhel-coreos-8`, `centos-stream-coreos-9`, `machine-os-content`).
    pub fn known_payload_tags(&self) -> Vec<String> {
        let current = self.payload_tags();
        let mut all = vec![current.os];
        all.extend(current.extensions);
        let older: &[&str] = match self {
            Variant::Fcos => &[MACHINE_OS_CONTENT_TAG],
            Variant::Scos => &["centos-stream-coreos-9", MACHINE_OS_CONTENT_TAG],
            Variant::Rhcos => &[
                "rhel-coreos-8",
                "rhel-coreos-8-extensions",
                "rhel-coreos-10",
                "rhel-coreos-10-extensions",
                MACHINE_OS_CONTENT_TAG,
            ],
            Variant::Custom(_) => &[],
        };
        all.extend(older.iter().map(|s| s.to_string()));
        all
    }

    /// Which built-in variant a payload's component tags belong to, from the first OS tag among
    /// them. `machine-os-content` alone does not tell, so it gives `None`.
    pub fn detect<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<Variant> {
        let mut found = None;
        for tag in tags {
            let v = match tag {
                "fedora-coreos" => Variant::Fcos,
                "stream-coreos" | "stream-coreos-extensions" | "centos-stream-coreos-9" => {
                    Variant::Scos
                }
                "rhel-coreos"
                | "rhel-coreos-extensions"
                | "rhel-coreos-8"
                | "rhel-coreos-8-extensions"
                | "rhel-coreos-10"
                | "rhel-coreos-10-extensions" => Variant::Rhcos,
                _ => continue,
            };
            // A payload carries one variant's OS tags; should it carry several, the first wins.
            found.get_or_insert(v);
        }
        found
    }

    /// The built-in variant whose `machine-os` display name is `name`.
    pub fn from_display_name(name: &str) -> Option<Variant> {
        // SCOS 10 images call themselves "CentOS Stream CoreOS 10": a major version after the
        // name is the same variant.
        [Variant::Fcos, Variant::Scos, Variant::Rhcos]
            .into_iter()
            .find(|v| {
                let known = v.display_name();
                name == known
                    || name.strip_prefix(known).is_some_and(|rest| {
                        rest.strip_prefix(' ').is_some_and(|n| {
                            !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.')
                        })
                    })
            })
    }

    /// The built-in variant an `os-release` file describes: `VARIANT_ID=coreos` with `ID`
    /// `fedora`, `centos` (SCOS 9 and 10) or `rhel`.
    pub fn from_os_release(os_release: &str) -> Option<Variant> {
        let field = |key: &str| {
            os_release.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_string())
            })
        };
        if field("VARIANT_ID").as_deref() != Some("coreos") {
            return None;
        }
        match field("ID").as_deref() {
            Some("fedora") => Some(Variant::Fcos),
            Some("centos") => Some(Variant::Scos),
            Some("rhel") => Some(Variant::Rhcos),
            _ => None,
        }
    }

    /// The variant's well-known streams.
    pub fn streams(&self) -> Vec<OsStream> {
        match self {
            Variant::Fcos => FcosStream::ALL.into_iter().map(OsStream::Fcos).collect(),
            Variant::Scos => ScosStream::ALL.into_iter().map(OsStream::Scos).collect(),
            Variant::Rhcos => [(9, 6), (9, 8), (10, 1), (10, 2)]
                .into_iter()
                .map(|(a, b)| OsStream::Rhcos(RhelStream::new(a, b)))
                .collect(),
            Variant::Custom(c) => c.streams.iter().cloned().map(OsStream::Custom).collect(),
        }
    }

    /// Parses a stream name of this variant.
    pub fn stream(&self, name: &str) -> Result<OsStream, Error> {
        match self {
            Variant::Fcos => name.parse().map(OsStream::Fcos),
            Variant::Scos => name.parse().map(OsStream::Scos),
            Variant::Rhcos => name.parse().map(OsStream::Rhcos),
            Variant::Custom(c) => c
                .streams
                .iter()
                .find(|s| *s == name)
                .map(|s| OsStream::Custom(s.clone()))
                .ok_or_else(|| Error::UnknownStream {
                    variant: "custom",
                    input: name.to_string(),
                    known: c.streams.join(", "),
                }),
        }
    }

    /// True when `version` is in a scheme this variant uses: FCOS versions (and the OKD/FCOS
    /// machine-os display version) for FCOS, the cosa and base-image schemes for SCOS and RHCOS.
    /// A custom variant accepts every scheme.
    pub fn uses_version_scheme(&self, version: &OsVersion) -> bool {
        match self {
            Variant::Fcos => matches!(version, OsVersion::Fcos(_) | OsVersion::OkdMachineOs(_)),
            Variant::Scos | Variant::Rhcos => {
                matches!(version, OsVersion::Cosa(_) | OsVersion::BaseImage(_))
            }
            Variant::Custom(_) => true,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = Error;

    /// Accepts the short names and the payload/image names: `fcos`/`fedora-coreos`,
    /// `scos`/`stream-coreos`/`centos-stream-coreos`, `rhcos`/`rhel-coreos`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fcos" | "fedora-coreos" => Ok(Variant::Fcos),
            "scos" | "stream-coreos" | "centos-stream-coreos" => Ok(Variant::Scos),
            "rhcos" | "rhel-coreos" => Ok(Variant::Rhcos),
            _ => Err(Error::UnknownVariant {
                input: s.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_names() {
        let table = [
            (
                Variant::Fcos,
                "fedora-coreos",
                None,
                "Fedora CoreOS",
                "Fedora",
            ),
            (
                Variant::Scos,
                "stream-coreos",
                Some("stream-coreos-extensions"),
                "CentOS Stream CoreOS",
                "CentOS Stream",
            ),
            (
                Variant::Rhcos,
                "rhel-coreos",
                Some("rhel-coreos-extensions"),
                "Red Hat Enterprise Linux CoreOS",
                "Red Hat Enterprise Linux",
            ),
        ];
        for (v, os, ext, display, base) in table {
            let t = v.payload_tags();
            assert_eq!(t.os, os);
            assert_eq!(t.extensions.as_deref(), ext);
            assert_eq!(v.display_name(), display);
            assert_eq!(v.base_distro().name(), base);
            assert_eq!(v.name().parse::<Variant>().unwrap(), v);
            assert_eq!(os.parse::<Variant>().unwrap(), v);
            assert!(
                v.known_payload_tags()
                    .contains(&MACHINE_OS_CONTENT_TAG.to_string())
            );
        }
    }

    #[test]
    fn detects_from_payload_tags() {
        assert_eq!(
            Variant::detect(["stream-coreos-extensions", "stream-coreos"]),
            Some(Variant::Scos)
        );
        assert_eq!(
            Variant::detect(["centos-stream-coreos-9", "machine-os-content"]),
            Some(Variant::Scos)
        );
        assert_eq!(
            Variant::detect(["rhel-coreos-8", "cli"]),
            Some(Variant::Rhcos)
        );
        assert_eq!(Variant::detect(["machine-os-content", "cli"]), None);
    }

    #[test]
    fn custom_variant() {
        let v = Variant::Custom(
            CustomVariant::new(
                "acme",
                "ACME CoreOS",
                BaseDistro::Other("acme".into()),
                "acme-coreos",
            )
            .with_extensions_tag("acme-coreos-extensions")
            .with_stream("edge"),
        );
        assert_eq!(v.payload_tags().os, "acme-coreos");
        assert_eq!(v.display_name(), "ACME CoreOS");
        assert_eq!(v.stream("edge").unwrap(), OsStream::Custom("edge".into()));
        let e = v.stream("stable").unwrap_err();
        assert!(e.to_string().contains("\"stable\""), "{e}");
    }

    #[test]
    fn streams_per_variant() {
        assert_eq!(
            Variant::Fcos.stream("next-devel").unwrap(),
            OsStream::Fcos(FcosStream::NextDevel)
        );
        assert_eq!(
            Variant::Scos.stream("c9s").unwrap(),
            OsStream::Scos(ScosStream::C9s)
        );
        assert!(Variant::Scos.stream("stable").is_err());
        assert_eq!(
            Variant::Rhcos.stream("rhel-9.6").unwrap(),
            OsStream::Rhcos(RhelStream::new(9, 6))
        );
    }

    #[test]
    fn version_schemes() {
        let fcos: OsVersion = "44.20260707.3.1".parse().unwrap();
        let scos: OsVersion = "10.0.20250628-0".parse().unwrap();
        assert!(Variant::Fcos.uses_version_scheme(&fcos));
        assert!(!Variant::Fcos.uses_version_scheme(&scos));
        assert!(Variant::Scos.uses_version_scheme(&scos));
        assert!(!Variant::Rhcos.uses_version_scheme(&fcos));
    }

    #[test]
    fn from_display_name() {
        assert_eq!(
            Variant::from_display_name("CentOS Stream CoreOS"),
            Some(Variant::Scos)
        );
        assert_eq!(Variant::from_display_name("Fedora"), None);
        assert_eq!(
            Variant::from_display_name("CentOS Stream CoreOS 10"),
            Some(Variant::Scos)
        );
        assert_eq!(Variant::from_display_name("CentOS Stream CoreOSX"), None);
        assert_eq!(Variant::from_display_name("CentOS Stream CoreOS "), None);
    }

    #[test]
    fn from_os_release() {
        let scos10 =
            "NAME=\"CentOS Stream CoreOS\"\nID=\"centos\"\nVERSION_ID=\"10\"\nVARIANT_ID=coreos\n";
        assert_eq!(Variant::from_os_release(scos10), Some(Variant::Scos));
        assert_eq!(
            Variant::from_os_release("ID=fedora\nVARIANT_ID=coreos\n"),
            Some(Variant::Fcos)
        );
        assert_eq!(Variant::from_os_release("ID=centos\n"), None);
    }

    #[test]
    fn unknown_variant_is_named() {
        let e = "debian-coreos".parse::<Variant>().unwrap_err();
        assert!(e.to_string().contains("debian-coreos"), "{e}");
    }
}
