//! Images never mirrored: oc-mirror's `blockedImages`.
//!
//! Each pattern is an unanchored regular expression (Go's `regexp.MatchString`, which the
//! `regex` crate's syntax covers for these patterns) tested against an image's source and its
//! destination, without a `docker://` prefix. A match in either drops the image — release
//! components included, as oc-mirror drops them — and the plan says so in a warning naming each
//! image and the pattern that blocked it.
//!
//! ```
//! use okd_mirror::BlockedImages;
//!
//! let blocked = BlockedImages::new(&["ubi8/ubi".to_string()])?;
//! assert_eq!(blocked.matching("registry.example/ubi8/ubi:latest", "mirror.local/ubi8/ubi:latest"), Some("ubi8/ubi"));
//! assert_eq!(blocked.matching("quay.io/okd/tools:1", "mirror.local/okd/tools:1"), None);
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use regex::Regex;

use crate::{Error, ImageMapping};

/// Compiled `blockedImages` patterns; none by default.
#[derive(Debug, Clone, Default)]
pub struct BlockedImages {
    patterns: Vec<Regex>,
}

impl BlockedImages {
    /// Compiles `patterns`; an invalid one is an error naming it.
    pub fn new(patterns: &[String]) -> Result<BlockedImages, Error> {
        let patterns = patterns
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|e| Error::InvalidBlockedPattern {
                    pattern: p.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(BlockedImages { patterns })
    }

    /// The patterns as given.
    pub fn patterns(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| p.as_str().to_string())
            .collect()
    }

    /// True when no pattern is set.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The first pattern matching `source` or `destination`.
    pub fn matching(&self, source: &str, destination: &str) -> Option<&str> {
        let strip = |s: &str| s.strip_prefix("docker://").unwrap_or(s).to_string();
        let (source, destination) = (strip(source), strip(destination));
        self.patterns
            .iter()
            .find(|p| p.is_match(&source) || p.is_match(&destination))
            .map(Regex::as_str)
    }

    /// Removes the blocked mappings from `mappings`; returns one line per image left out.
    pub fn retain(&self, mappings: &mut Vec<ImageMapping>) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut dropped = Vec::new();
        mappings.retain(|m| {
            let hit = self.matching(&m.source.to_string(), &m.destination.to_string());
            if let Some(p) = hit {
                dropped.push(format!("{} (blocked by {p:?})", m.source));
            }
            hit.is_none()
        });
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_unanchored_and_test_both_ends() {
        let b = BlockedImages::new(&["tools".into(), "^mirror\\.local/blocked/".into()]).unwrap();
        assert_eq!(
            b.matching("docker://quay.io/okd/tools:1", "x/y:1"),
            Some("tools")
        );
        assert!(
            b.matching("quay.io/a/b:1", "mirror.local/blocked/b:1")
                .is_some()
        );
        assert!(
            b.matching("quay.io/a/b:1", "other/mirror.local/blocked/b:1")
                .is_none()
        );
    }

    #[test]
    fn an_invalid_pattern_is_named() {
        let err = BlockedImages::new(&["ok".into(), "(unclosed".into()]).unwrap_err();
        assert!(err.to_string().contains("(unclosed"), "{err}");
    }
}
