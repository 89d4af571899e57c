//! Multi-architecture images: keep manifest lists whole, or pick one platform.
//!
//! Keeping lists whole ([`PlatformChoice::All`], the default) preserves every digest, which is
//! what mirror configuration by digest (IDMS, ICSP) needs. Picking a platform mirrors only that
//! child of each list, as `oc image mirror --filter-by-os` does; images are then known at the
//! destination by the child's digest.
//!
//! ```
//! use okd_mirror::{Platform, PlatformChoice};
//!
//! let p: Platform = "linux/arm64/v8".parse()?;
//! assert_eq!((p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()), ("linux", "arm64", Some("v8")));
//! assert_eq!(PlatformChoice::default(), PlatformChoice::All);
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use okd_oci::{BlobRef, ManifestView, RawManifest};
use serde::{Deserialize, Serialize};

use crate::Error;

/// An `OS/ARCH[/VARIANT]` platform, with Go names (`linux/amd64`, `linux/arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// Operating system (`linux`).
    pub os: String,
    /// Architecture (`amd64`, `arm64`, `ppc64le`, `s390x`).
    pub architecture: String,
    /// Variant (`v8`), when one is asked for.
    pub variant: Option<String>,
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Platform, Error> {
        let parts: Vec<&str> = s.split('/').collect();
        let invalid = || Error::InvalidPlatform {
            input: s.to_string(),
        };
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(invalid());
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
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

/// What to do with manifest lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformChoice {
    /// Mirror the list with all its children (digests unchanged).
    #[default]
    All,
    /// Mirror only the child for this platform, in place of the list.
    Only(Platform),
}

/// Picks the child of `index` for `platform`: OS and architecture must match, and the variant
/// too when one was asked for. `image` names the list in errors.
pub fn select_child(
    index: &RawManifest,
    platform: &Platform,
    image: &str,
) -> Result<BlobRef, Error> {
    let source = |e: okd_oci::Error| Error::Source {
        image: image.to_string(),
        source: Box::new(e),
    };
    let ManifestView::Index(list) = index.view().map_err(source)? else {
        return Err(Error::InvalidSource {
            source_ref: image.to_string(),
            reason: "not a manifest list".to_string(),
        });
    };
    let found = list.manifests().iter().find(|d| {
        d.platform().as_ref().is_some_and(|p| {
            p.os().to_string() == platform.os
                && p.architecture().to_string() == platform.architecture
                && platform
                    .variant
                    .as_ref()
                    .is_none_or(|v| p.variant().as_deref() == Some(v.as_str()))
        })
    });
    let d = found.ok_or_else(|| Error::PlatformNotFound {
        image: image.to_string(),
        platform: platform.to_string(),
    })?;
    BlobRef::from_descriptor(d, index.digest()).map_err(source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use okd_oci::media_type;

    fn list() -> RawManifest {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let json = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[
            {{"mediaType":"{}","digest":"{}","size":10,"platform":{{"architecture":"amd64","os":"linux"}}}},
            {{"mediaType":"{}","digest":"{}","size":11,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#,
            media_type::DOCKER_MANIFEST_LIST,
            media_type::DOCKER_MANIFEST,
            d('a'),
            media_type::DOCKER_MANIFEST,
            d('b'),
        );
        RawManifest::new(media_type::DOCKER_MANIFEST_LIST, json.into_bytes()).unwrap()
    }

    #[test]
    fn selects_by_os_arch_and_variant() {
        let l = list();
        let amd = select_child(&l, &"linux/amd64".parse().unwrap(), "x").unwrap();
        assert_eq!(amd.size, 10);
        let arm = select_child(&l, &"linux/arm64/v8".parse().unwrap(), "x").unwrap();
        assert_eq!(arm.size, 11);
        let arm = select_child(&l, &"linux/arm64".parse().unwrap(), "x").unwrap();
        assert_eq!(arm.size, 11);
    }

    #[test]
    fn missing_platform_is_named() {
        let err =
            select_child(&list(), &"linux/s390x".parse().unwrap(), "quay.io/a/b:1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "quay.io/a/b:1: manifest list has no image for platform linux/s390x"
        );
    }

    #[test]
    fn bad_platform_strings() {
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }
}
