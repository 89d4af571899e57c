//! The parts of an image configuration a release needs: creation time, platform and labels.
//!
//! Docker and OCI configurations share these fields (`created`, `os`, `architecture`,
//! `variant`, `config.Labels`); everything else is ignored here.
//!
//! ```
//! use okd_release::ImageConfig;
//!
//! let c = ImageConfig::parse(br#"{"created":"2023-05-25T08:25:20Z","os":"linux",
//!     "architecture":"amd64","config":{"Labels":{"io.openshift.release":"4.13.1"}}}"#, "config")?;
//! assert_eq!(c.platform(), "linux/amd64");
//! assert_eq!(c.label("io.openshift.release"), Some("4.13.1"));
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::Error;
use crate::gojson::null_default;

/// Largest image configuration read, in bytes.
pub const MAX_CONFIG_SIZE: u64 = 16 * 1024 * 1024;

/// Creation time, platform and labels of an image. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ImageConfig {
    /// `created`.
    pub created: Option<DateTime<Utc>>,
    /// `os` (`linux`).
    pub os: String,
    /// `architecture` (`amd64`, `arm64`, …).
    pub architecture: String,
    /// `variant` (`v8`), usually empty.
    pub variant: String,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    created: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    os: String,
    #[serde(default, deserialize_with = "null_default")]
    architecture: String,
    #[serde(default, deserialize_with = "null_default")]
    variant: String,
    #[serde(default)]
    config: Option<RawRuntime>,
}

#[derive(Deserialize)]
struct RawRuntime {
    #[serde(rename = "Labels", default, deserialize_with = "null_default")]
    labels: BTreeMap<String, String>,
}

impl ImageConfig {
    /// Parses a Docker or OCI image configuration; `what` names it in errors.
    pub fn parse(data: &[u8], what: &str) -> Result<ImageConfig, Error> {
        let raw: Raw = serde_json::from_slice(data).map_err(|e| Error::document(what, e))?;
        let created = match raw.created.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| Error::document(what, format!("created {s:?}: {e}")))?
                    .with_timezone(&Utc),
            ),
        };
        Ok(ImageConfig {
            created,
            os: raw.os,
            architecture: raw.architecture,
            variant: raw.variant,
            labels: raw.config.map(|c| c.labels).unwrap_or_default(),
        })
    }

    /// A label.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// `os/architecture[/variant]`, with `unknown` for a missing part as `oc` prints it.
    pub fn platform(&self) -> String {
        let or_unknown = |s: &str| {
            if s.is_empty() {
                "unknown".to_string()
            } else {
                s.to_string()
            }
        };
        let mut p = format!(
            "{}/{}",
            or_unknown(&self.os),
            or_unknown(&self.architecture)
        );
        if !self.variant.is_empty() {
            p.push('/');
            p.push_str(&self.variant);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_on_nulls_strict_on_syntax() {
        let c = ImageConfig::parse(br#"{"os":null,"config":{"Labels":null}}"#, "c").unwrap();
        assert_eq!(c.platform(), "unknown/unknown");
        assert!(c.labels.is_empty());
        let err = ImageConfig::parse(br#"{"os":"linux""#, "sha256:abc").unwrap_err();
        assert!(err.to_string().contains("sha256:abc"), "{err}");
        let err = ImageConfig::parse(br#"{"created":"yesterday"}"#, "c").unwrap_err();
        assert!(err.to_string().contains("yesterday"), "{err}");
    }
}
