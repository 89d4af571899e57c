//! Which child of a manifest list a release command reads.
//!
//! Releases and their components may be manifest lists (one image per architecture). A
//! [`PlatformFilter`] picks one child, with the rules of `oc`'s `--filter-by-os`:
//!
//! * with no choice made ([`PlatformFilter::Default`]), a list with a single child gives that
//!   child whatever its platform — an arm64-only release loads without a flag — and a list with
//!   several gives its `linux/amd64` child;
//! * [`PlatformFilter::Platform`] (`--platform OS/ARCH[/VARIANT]`) wants that OS and
//!   architecture, and that variant when one is given;
//! * [`PlatformFilter::Pattern`] (`--filter-by-os REGEX`) is `oc`'s regular expression, matched
//!   anywhere in `os/arch[/variant]`, so `linux/arm64` also matches `linux/arm64/v8`.
//!
//! Exactly one child must match; otherwise the error names the platforms the list has.
//!
//! `oc` defaults to the platform of the machine it runs on; okd-streams defaults to
//! `linux/amd64` everywhere so that the same command gives the same answer on every builder.
//!
//! ```
//! use okd_release::platform::{Platform, PlatformFilter};
//!
//! let p: Platform = "linux/arm64/v8".parse()?;
//! assert_eq!(p.to_string(), "linux/arm64/v8");
//! let filter = PlatformFilter::from_arg("linux/arm64")?;
//! assert!(filter.matches(&p));
//! assert!(!PlatformFilter::Platform("linux/amd64".parse()?).matches(&p));
//! assert!(PlatformFilter::pattern("arm")?.matches(&p));
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use okd_oci::{BlobRef, Digest, ManifestView, RawManifest};

use crate::Error;

/// An `OS/ARCH[/VARIANT]` platform with Go's names (`linux/amd64`, `linux/arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    /// Operating system (`linux`).
    pub os: String,
    /// Architecture (`amd64`, `arm64`, `ppc64le`, `s390x`).
    pub architecture: String,
    /// Variant (`v8`), when there is one.
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/amd64`, what okd-streams reads from a list unless told otherwise.
    pub fn linux_amd64() -> Platform {
        Platform {
            os: "linux".to_string(),
            architecture: "amd64".to_string(),
            variant: None,
        }
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Platform, Error> {
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(Error::InvalidPlatform {
                input: s.to_string(),
                reason: "a platform is OS/ARCH or OS/ARCH/VARIANT".to_string(),
            });
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }
}

impl serde::Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A regular expression over `os/arch[/variant]`, as `oc --filter-by-os` takes it.
#[derive(Debug, Clone)]
pub struct PlatformPattern(regex::Regex);

impl PartialEq for PlatformPattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for PlatformPattern {}

impl fmt::Display for PlatformPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// How one child of a manifest list is chosen. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PlatformFilter {
    /// No choice made: the only child of a one-child list, else `linux/amd64`.
    #[default]
    Default,
    /// This OS and architecture, and this variant when it has one.
    Platform(Platform),
    /// `oc`'s `--filter-by-os` regular expression, matched anywhere in `os/arch[/variant]`.
    Pattern(PlatformPattern),
}

impl PlatformFilter {
    /// A filter from `--platform` text (`OS/ARCH[/VARIANT]`).
    pub fn from_arg(s: &str) -> Result<PlatformFilter, Error> {
        Ok(PlatformFilter::Platform(s.parse()?))
    }

    /// A filter from `--filter-by-os` text: a regular expression, as `oc` takes it.
    pub fn pattern(s: &str) -> Result<PlatformFilter, Error> {
        regex::Regex::new(s)
            .map(|re| PlatformFilter::Pattern(PlatformPattern(re)))
            .map_err(|e| Error::InvalidPlatform {
                input: s.to_string(),
                reason: format!("not a valid regular expression: {e}"),
            })
    }

    /// True when `p` is wanted (for [`PlatformFilter::Default`]: when it is `linux/amd64`).
    pub fn matches(&self, p: &Platform) -> bool {
        match self {
            PlatformFilter::Default => {
                p.os == "linux" && p.architecture == "amd64" && p.variant.is_none()
            }
            PlatformFilter::Platform(want) => {
                p.os == want.os
                    && p.architecture == want.architecture
                    && want
                        .variant
                        .as_ref()
                        .is_none_or(|v| p.variant.as_ref() == Some(v))
            }
            PlatformFilter::Pattern(re) => re.0.is_match(&p.to_string()),
        }
    }

    /// Picks the child of the list `index` (named `image` in errors); see the
    /// [module docs](self) for the rules.
    pub fn select(&self, index: &RawManifest, image: &str) -> Result<ListChild, Error> {
        let children = list_children(index, image)?;
        if let (PlatformFilter::Default, [only]) = (self, children.as_slice()) {
            return Ok(only.clone());
        }
        let mut matching: Vec<ListChild> = children
            .iter()
            .filter(|c| self.matches(&c.platform))
            .cloned()
            .collect();
        // The default wants plain linux/amd64; a list that only has amd64 variants still gives
        // one when there is exactly one.
        if matching.is_empty() && *self == PlatformFilter::Default {
            let amd64 = PlatformFilter::Platform(Platform::linux_amd64());
            matching = children
                .iter()
                .filter(|c| amd64.matches(&c.platform))
                .cloned()
                .collect();
        }
        let available = || children.iter().map(|c| c.platform.to_string()).collect();
        match matching.len() {
            1 => Ok(matching.remove(0)),
            0 => Err(Error::PlatformNotFound {
                image: image.to_string(),
                wanted: self.to_string(),
                available: available(),
            }),
            _ => Err(Error::AmbiguousPlatform {
                image: image.to_string(),
                wanted: self.to_string(),
                matching: matching.iter().map(|c| c.platform.to_string()).collect(),
            }),
        }
    }
}

impl fmt::Display for PlatformFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformFilter::Default => f.write_str("linux/amd64"),
            PlatformFilter::Platform(p) => write!(f, "{p}"),
            PlatformFilter::Pattern(re) => write!(f, "a platform matching /{re}/"),
        }
    }
}

/// One entry of a manifest list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListChild {
    /// Its platform.
    pub platform: Platform,
    /// The child manifest's digest.
    pub digest: Digest,
    /// The child manifest's declared size.
    pub size: u64,
    /// The child manifest's declared media type.
    pub media_type: String,
}

/// The entries of the list `index`, in list order.
pub fn list_children(index: &RawManifest, image: &str) -> Result<Vec<ListChild>, Error> {
    let ManifestView::Index(list) = index.view()? else {
        return Err(Error::UnsupportedImage {
            image: image.to_string(),
            reason: "expected a manifest list".to_string(),
        });
    };
    list.manifests()
        .iter()
        .map(|d| {
            let blob = BlobRef::from_descriptor(d, index.digest())?;
            // An entry without a platform has empty names, as Go reads it.
            let platform = match d.platform() {
                Some(p) => Platform {
                    os: p.os().to_string(),
                    architecture: p.architecture().to_string(),
                    variant: p.variant().clone().filter(|v| !v.is_empty()),
                },
                None => Platform {
                    os: String::new(),
                    architecture: String::new(),
                    variant: None,
                },
            };
            Ok(ListChild {
                platform,
                digest: blob.digest,
                size: blob.size,
                media_type: blob.media_type,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use okd_oci::media_type;

    fn list(platforms: &[&str]) -> RawManifest {
        let manifests: Vec<serde_json::Value> = platforms
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p: Platform = p.parse().unwrap();
                let mut platform = serde_json::json!({"os": p.os, "architecture": p.architecture});
                if let Some(v) = &p.variant {
                    platform["variant"] = serde_json::json!(v);
                }
                serde_json::json!({
                    "mediaType": media_type::DOCKER_MANIFEST,
                    "size": 10 + i,
                    "digest": Digest::sha256_of(&[i as u8]).to_string(),
                    "platform": platform,
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

    fn pick(filter: &PlatformFilter, platforms: &[&str]) -> Result<String, Error> {
        filter
            .select(&list(platforms), "example")
            .map(|c| c.platform.to_string())
    }

    #[test]
    fn default_takes_the_only_child_whatever_its_platform() {
        let d = PlatformFilter::Default;
        assert_eq!(pick(&d, &["linux/arm64/v8"]).unwrap(), "linux/arm64/v8");
        assert_eq!(
            pick(&d, &["linux/arm64/v8", "linux/amd64"]).unwrap(),
            "linux/amd64"
        );
        assert_eq!(
            pick(&d, &["linux/arm64/v8", "linux/amd64/v2"]).unwrap(),
            "linux/amd64/v2"
        );
    }

    #[test]
    fn an_explicit_platform_is_required_even_for_one_child() {
        let amd = PlatformFilter::from_arg("linux/amd64").unwrap();
        let err = pick(&amd, &["linux/arm64/v8"]).unwrap_err();
        match &err {
            Error::PlatformNotFound {
                wanted, available, ..
            } => {
                assert_eq!(wanted, "linux/amd64");
                assert_eq!(available, &["linux/arm64/v8"]);
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("linux/arm64/v8"), "{err}");
    }

    #[test]
    fn variants_and_patterns() {
        let arm = PlatformFilter::from_arg("linux/arm64").unwrap();
        let all = ["linux/amd64", "linux/arm64/v8", "linux/s390x"];
        assert_eq!(pick(&arm, &all).unwrap(), "linux/arm64/v8");
        let v7 = PlatformFilter::from_arg("linux/arm64/v7").unwrap();
        assert!(matches!(
            pick(&v7, &all),
            Err(Error::PlatformNotFound { .. })
        ));
        let re = PlatformFilter::pattern("s390").unwrap();
        assert_eq!(pick(&re, &all).unwrap(), "linux/s390x");
        let wide = PlatformFilter::pattern("linux/.*").unwrap();
        match pick(&wide, &all).unwrap_err() {
            Error::AmbiguousPlatform { matching, .. } => assert_eq!(matching.len(), 3),
            other => panic!("unexpected {other}"),
        }
        assert!(matches!(
            PlatformFilter::pattern("("),
            Err(Error::InvalidPlatform { .. })
        ));
        for bad in ["linux", "linux/", "a/b/c/d", "/amd64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }
}
