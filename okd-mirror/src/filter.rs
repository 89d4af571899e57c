//! Include and exclude patterns on release component names.
//!
//! OKD mirrors often leave out components a cluster does not pull on their platform (the RHEL
//! CoreOS images in an OKD payload, installers for other clouds). Patterns are shell globs over the
//! `image-references` tag names: a component is kept when it matches an include pattern (or there
//! are none) and matches no exclude pattern. Leaving payload images out can break installs and
//! upgrades that need them, so the plan records a warning naming every component left out.
//!
//! ```
//! use okd_mirror::ComponentFilter;
//!
//! let f = ComponentFilter::new(&[], &["rhel-coreos*".to_string(), "*-installer".to_string()])?;
//! assert!(f.keeps("cli"));
//! assert!(!f.keeps("rhel-coreos-extensions"));
//! assert!(!f.keeps("baremetal-installer"));
//! # Ok::<(), okd_mirror::Error>(())
//! ```

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::Error;

/// Include/exclude glob patterns over component names.
#[derive(Debug, Clone, Default)]
pub struct ComponentFilter {
    include: Vec<String>,
    exclude: Vec<String>,
    include_set: Option<GlobSet>,
    exclude_set: Option<GlobSet>,
}

impl ComponentFilter {
    /// A filter that keeps everything.
    pub fn all() -> ComponentFilter {
        ComponentFilter::default()
    }

    /// Compiles the patterns; an empty `include` means "every component".
    pub fn new(include: &[String], exclude: &[String]) -> Result<ComponentFilter, Error> {
        Ok(ComponentFilter {
            include: include.to_vec(),
            exclude: exclude.to_vec(),
            include_set: compile(include)?,
            exclude_set: compile(exclude)?,
        })
    }

    /// True when the component `name` is mirrored.
    pub fn keeps(&self, name: &str) -> bool {
        let included = self.include_set.as_ref().is_none_or(|s| s.is_match(name));
        let excluded = self.exclude_set.as_ref().is_some_and(|s| s.is_match(name));
        included && !excluded
    }

    /// True when the filter keeps every component.
    pub fn is_all(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// The include patterns as given.
    pub fn include(&self) -> &[String] {
        &self.include
    }

    /// The exclude patterns as given.
    pub fn exclude(&self) -> &[String] {
        &self.exclude
    }
}

fn compile(patterns: &[String]) -> Result<Option<GlobSet>, Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| Error::InvalidPattern {
            pattern: p.clone(),
            reason: e.kind().to_string(),
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| Error::InvalidPattern {
            pattern: patterns.join(","),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn empty_filter_keeps_everything() {
        let f = ComponentFilter::all();
        assert!(f.keeps("anything"));
        assert!(f.is_all());
    }

    #[test]
    fn include_restricts_and_exclude_wins() {
        let f = ComponentFilter::new(&s(&["*-operator", "cli"]), &s(&["machine-*"])).unwrap();
        assert!(f.keeps("cli"));
        assert!(f.keeps("cluster-version-operator"));
        assert!(!f.keeps("machine-config-operator"));
        assert!(!f.keeps("installer"));
    }

    #[test]
    fn character_classes_and_alternatives() {
        let f = ComponentFilter::new(&[], &s(&["{rhel,fedora}-coreos*", "ovirt-csi-driver[-_]*"]))
            .unwrap();
        assert!(!f.keeps("rhel-coreos"));
        assert!(!f.keeps("fedora-coreos-extensions"));
        assert!(!f.keeps("ovirt-csi-driver-operator"));
        assert!(f.keeps("stream-coreos"));
    }

    #[test]
    fn invalid_pattern_is_named() {
        let err = ComponentFilter::new(&s(&["ok", "bad[pattern"]), &[]).unwrap_err();
        assert!(err.to_string().contains("bad[pattern"), "{err}");
    }
}
