//! Source → destination mappings, and the mapping file `oc image mirror -f` reads.
//!
//! Every image of a mirror is an [`ImageMapping`]. Written as a file, each mapping is one
//! `SRC DST` line, the format `oc adm release mirror --to-mirror` prints and `oc image mirror -f`
//! accepts: `#` starts a comment, blank lines are skipped, and `SRC=DST` is accepted too when
//! reading. A destination without tag receives the image by digest.
//!
//! ```
//! use okd_mirror::{ImageKind, ImageMapping, mapping};
//!
//! let m = ImageMapping {
//!     name: "cli".to_string(),
//!     kind: ImageKind::Component,
//!     source: "quay.io/okd/scos-content@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".parse()?,
//!     destination: "mirror.local/okd/release:4.19.0-okd-scos.19-x86_64-cli".parse()?,
//! };
//! let text = mapping::to_text(&[m.clone()]);
//! assert_eq!(text, format!("{} {}\n", m.source, m.destination));
//! assert_eq!(mapping::parse(&text, "mapping.txt")?[0].destination, m.destination);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use okd_oci::ImageRef;
use serde::{Deserialize, Serialize};

use crate::Error;

/// What an image is to the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageKind {
    /// A release image. It is written last, after every component of its release.
    Release,
    /// A component of a release (an `image-references` tag).
    Component,
    /// An image mirrored on its own.
    Additional,
}

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageKind::Release => "release",
            ImageKind::Component => "component",
            ImageKind::Additional => "image",
        })
    }
}

/// One image to mirror: where it comes from and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMapping {
    /// The component name, `release` for a release image, or the source pullspec for an
    /// additional image.
    pub name: String,
    /// What the image is.
    pub kind: ImageKind,
    /// The source, by digest or tag.
    pub source: ImageRef,
    /// The destination: a tag to write, or a bare repository to write by digest only.
    pub destination: ImageRef,
}

impl ImageMapping {
    /// An additional image mirrored from `source` to `destination`. A destination without tag
    /// or digest takes the source's tag, or is written by digest when the source has none.
    pub fn image(source: ImageRef, destination: ImageRef) -> ImageMapping {
        let destination = match (destination.tag(), destination.digest(), source.tag()) {
            (None, None, Some(tag)) if source.digest().is_none() => destination.with_tag(tag),
            _ => destination,
        };
        ImageMapping {
            name: source.to_string(),
            kind: ImageKind::Additional,
            source,
            destination,
        }
    }
}

/// Writes mappings as `SRC DST` lines.
pub fn to_text(mappings: &[ImageMapping]) -> String {
    mappings
        .iter()
        .map(|m| format!("{} {}\n", m.source, m.destination))
        .collect()
}

/// Reads a mapping file. `file` names the input in errors. Lines with several destinations
/// (`SRC DST1 DST2`) give one mapping per destination.
pub fn parse(text: &str, file: &str) -> Result<Vec<ImageMapping>, Error> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| Error::InvalidMapping {
            file: file.to_string(),
            line: i + 1,
            reason,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let pairs: Vec<(&str, &str)> = if fields.iter().all(|f| f.contains('=')) {
            fields.iter().filter_map(|f| f.split_once('=')).collect()
        } else if fields.len() >= 2 {
            fields[1..].iter().map(|d| (fields[0], *d)).collect()
        } else {
            return Err(bad(format!("expected SRC DST or SRC=DST, got {line:?}")));
        };
        for (src, dst) in pairs {
            let source: ImageRef = src
                .parse()
                .map_err(|e: okd_oci::Error| bad(e.to_string()))?;
            if source.tag().is_none() && source.digest().is_none() {
                return Err(bad(format!("source {src} needs a tag or digest")));
            }
            let destination = parse_destination(dst).map_err(|e| bad(e.to_string()))?;
            out.push(ImageMapping::image(source, destination));
        }
    }
    Ok(out)
}

/// A destination in a mapping: a full reference, or a bare repository (the image then keeps its
/// source's tag, or is written by digest only when the source has none).
pub fn parse_destination(s: &str) -> Result<ImageRef, Error> {
    let bare = s.strip_prefix("docker://").unwrap_or(s);
    let last = bare.rsplit('/').next().unwrap_or(bare);
    let has_tag = bare.contains('@') || (bare.contains('/') && last.contains(':'));
    if s.starts_with("oci:") || !has_tag {
        match crate::naming::parse_repository(s) {
            Ok(r) => return Ok(r),
            Err(_) if s.starts_with("oci:") => {}
            Err(e) => return Err(e),
        }
    }
    s.parse().map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn parses_oc_mapping_forms() {
        let text = format!(
            "# release content\nquay.io/okd/scos-content@{D} reg.local/okd:4.19.0-cli\n\n\
             quay.io/a/b:v1=reg.local/a/b:v1   # trailing comment\n\
             quay.io/a/c:v2 reg.local/x reg.local/y:z\n"
        );
        let m = parse(&text, "m.txt").unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].destination.tag(), Some("4.19.0-cli"));
        assert_eq!(m[1].source.tag(), Some("v1"));
        // A bare destination repository keeps the source tag.
        assert_eq!(m[2].destination.to_string(), "reg.local/x:v2");
        assert_eq!(m[3].destination.to_string(), "reg.local/y:z");
    }

    #[test]
    fn digest_source_to_bare_repository_stays_untagged() {
        let m = parse(&format!("quay.io/a/b@{D} reg.local/a/b\n"), "m").unwrap();
        assert_eq!(m[0].destination.tag(), None);
        assert_eq!(m[0].destination.digest(), None);
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = parse("\nquay.io/a/b:v1\n", "mapping.txt").unwrap_err();
        assert!(err.to_string().starts_with("mapping.txt:2:"), "{err}");
    }

    #[test]
    fn round_trips() {
        let m = vec![ImageMapping {
            name: "cli".into(),
            kind: ImageKind::Component,
            source: format!("quay.io/okd/scos-content@{D}").parse().unwrap(),
            destination: "reg.local:5000/okd/release:4.19.0-x86_64-cli"
                .parse()
                .unwrap(),
        }];
        let back = parse(&to_text(&m), "m").unwrap();
        assert_eq!(back[0].source, m[0].source);
        assert_eq!(back[0].destination, m[0].destination);
    }
}
