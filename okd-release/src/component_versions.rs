//! Component versions: the `io.openshift.build.versions` and
//! `io.openshift.build.version-display-names` labels.
//!
//! A component image declares the versions of what it ships (`kubernetes=1.32.1`,
//! `machine-os=9.0.20250510-0`) and their display names (`machine-os=CentOS Stream CoreOS`). The
//! labels become annotations of the image's image-references tag; `oc adm release info` shows
//! them under "Component Versions", and `0.0.1-snapshot-<key>` in operator manifests is replaced
//! by them.
//!
//! ```
//! use okd_release::ComponentVersions;
//!
//! let v = ComponentVersions::parse(
//!     "machine-os=413.92.202305231734-0, kubernetes=1.26.3+abc",
//!     "machine-os=Red Hat Enterprise Linux CoreOS",
//! )
//! .unwrap();
//! assert_eq!(v.get("kubernetes").unwrap().version, "1.26.3");
//! assert_eq!(v.version_label(), "kubernetes=1.26.3,machine-os=413.92.202305231734-0");
//! ```

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::annotations;
use crate::image_references::ImageReferences;

/// Component names `oc adm release new` accepts in `io.openshift.build.versions` by default.
pub const ALLOWED_COMPONENTS: [&str; 6] = [
    "kubernetes",
    "machine-os",
    "kernel",
    "crio",
    "kubectl",
    "kubernetes-tests",
];

static KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]+[\-a-z0-9]*[a-z0-9]+$").unwrap_or_else(|e| unreachable!("{e}"))
});
// `\s` is spelled out: Go's `\s` is `[\t\n\f\r ]`, without the vertical tab.
static DISPLAY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9\-:\t\n\f\r ().]+$").unwrap_or_else(|e| unreachable!("{e}"))
});

/// One component's version and display name.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ComponentVersion {
    /// The semantic version, without build metadata.
    #[serde(rename = "Version")]
    pub version: String,
    /// The display name, possibly empty.
    #[serde(rename = "DisplayName")]
    pub display_name: String,
}

/// Component versions by name, sorted. Serialises as `oc adm release info -o json`'s
/// `displayVersions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ComponentVersions(pub BTreeMap<String, ComponentVersion>);

impl ComponentVersions {
    /// Parses the two labels as `oc` does: comma-separated `key=value` pairs with surrounding
    /// whitespace ignored; keys are lowercase alphanumerics with inner dashes, at least two
    /// characters; versions are semantic versions (build metadata dropped); display names are
    /// alphanumerics, spaces and `().:-`. An empty versions label gives no versions.
    pub fn parse(versions: &str, display_names: &str) -> Result<ComponentVersions, String> {
        let versions = versions.trim();
        if versions.is_empty() {
            return Ok(ComponentVersions::default());
        }
        let mut names = BTreeMap::new();
        if !display_names.is_empty() {
            for pair in display_names.split(',') {
                let pair = pair.trim();
                let (key, name) = pair.split_once('=').ok_or_else(|| {
                    format!("the display name pair {pair:?} must be NAME=DISPLAYNAME")
                })?;
                check_key(key)?;
                if !DISPLAY_NAME.is_match(name) {
                    return Err(format!(
                        "the display name {name:?} must only be alphanumerics, spaces, and symbols in [().:-]"
                    ));
                }
                names.insert(key.to_string(), name.to_string());
            }
        }
        let mut out = BTreeMap::new();
        for pair in versions.split(',') {
            let pair = pair.trim();
            let (key, version) = pair
                .split_once('=')
                .ok_or_else(|| format!("the version pair {pair:?} must be NAME=VERSION"))?;
            check_key(key)?;
            let mut v = semver::Version::parse(version).map_err(|e| {
                format!("the version pair {pair:?} must have a valid semantic version: {e}")
            })?;
            v.build = semver::BuildMetadata::EMPTY;
            out.insert(
                key.to_string(),
                ComponentVersion {
                    version: v.to_string(),
                    display_name: names.get(key).cloned().unwrap_or_default(),
                },
            );
        }
        Ok(ComponentVersions(out))
    }

    /// The version of `key`.
    pub fn get(&self, key: &str) -> Option<&ComponentVersion> {
        self.0.get(key)
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ComponentVersion)> {
        self.0.iter()
    }

    /// The `io.openshift.build.versions` label: `key=version` pairs in key order.
    pub fn version_label(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={}", v.version))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The `io.openshift.build.version-display-names` label. As `oc` writes it, a component
    /// without display name still gets its separating comma (`a=A,,c=C`).
    pub fn display_name_label(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i != 0 {
                out.push(',');
            }
            if !v.display_name.is_empty() {
                out.push_str(&format!("{k}={}", v.display_name));
            }
        }
        out
    }

    /// The component versions of a release, combined from the annotations of its tags as
    /// `oc adm release info` does. Returns the versions, which tag declared each key (the last
    /// one wins), and warnings: unparseable annotations and components declared with more than
    /// one version or display name (several `machine-os` values are allowed; `kubectl` counts
    /// only from the `cli` and `cli-artifacts` tags).
    pub fn of_release(
        references: &ImageReferences,
    ) -> (ComponentVersions, BTreeMap<String, String>, Vec<String>) {
        let mut warnings = Vec::new();
        let mut versions: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        let mut display: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        let mut tags = BTreeMap::new();
        for tag in &references.spec.tags {
            let Some(label) = tag.annotation(annotations::BUILD_VERSIONS) else {
                continue;
            };
            let names = tag
                .annotation(annotations::BUILD_VERSION_DISPLAY_NAMES)
                .unwrap_or("");
            let parsed = match ComponentVersions::parse(label, names) {
                Ok(p) => p,
                Err(e) => {
                    warnings.push(format!(
                        "the referenced image {} had an invalid version annotation: {e}",
                        tag.name
                    ));
                    continue;
                }
            };
            for (k, v) in parsed.0 {
                tags.insert(k.clone(), tag.name.clone());
                if k == "kubectl" && tag.name != "cli" && tag.name != "cli-artifacts" {
                    continue;
                }
                versions.entry(k.clone()).or_default().insert(v.version);
                display.entry(k).or_default().insert(v.display_name);
            }
        }
        let mut multiples = Vec::new();
        let mut out = BTreeMap::new();
        for (k, set) in &versions {
            let names = display.get(k);
            if k != "machine-os" && (set.len() > 1 || names.is_some_and(|n| n.len() > 1)) {
                multiples.push(k.clone());
            }
            // Like `oc`, the lexicographically first value is shown.
            out.insert(
                k.clone(),
                ComponentVersion {
                    version: set.iter().next().cloned().unwrap_or_default(),
                    display_name: names
                        .and_then(|n| n.iter().next().cloned())
                        .unwrap_or_default(),
                },
            );
        }
        if !multiples.is_empty() {
            warnings.push(format!(
                "multiple versions or display names reported for the following component(s): {}",
                multiples.join(",  ")
            ));
        }
        (ComponentVersions(out), tags, warnings)
    }
}

fn check_key(key: &str) -> Result<(), String> {
    if key.len() < 2 {
        return Err(format!(
            "the version name {key:?} must be at least 2 characters"
        ));
    }
    if !KEY.is_match(key) {
        return Err(format!(
            "the version name {key:?} must only be ASCII alphanumerics and internal hyphens"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_os_labels() {
        let data = include_str!("../tests/data/okd-os-image-labels.json");
        let labels: BTreeMap<String, serde_json::Value> = serde_json::from_str(data).unwrap();
        let mut seen = Vec::new();
        for (image, l) in labels.iter().filter(|(k, _)| !k.starts_with('_')) {
            let versions = l[annotations::BUILD_VERSIONS].as_str().unwrap();
            let names = l[annotations::BUILD_VERSION_DISPLAY_NAMES]
                .as_str()
                .unwrap();
            let parsed = ComponentVersions::parse(versions, names).unwrap();
            let os = parsed.get("machine-os").unwrap();
            seen.push((image.split(' ').next().unwrap().to_string(), os.clone()));
        }
        assert_eq!(
            seen,
            [
                (
                    "centos-stream-coreos-9".to_string(),
                    ComponentVersion {
                        version: "413.9.202302130811-0".into(),
                        display_name: "CentOS Stream CoreOS".into()
                    }
                ),
                (
                    "fedora-coreos".to_string(),
                    ComponentVersion {
                        version: "37.20230211.20".into(),
                        display_name: "Fedora CoreOS".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn rejects_bad_labels() {
        for (v, d) in [
            ("k", ""),
            ("kubernetes", ""),
            ("kubernetes=1.2", ""),
            ("Kubernetes=1.2.3", ""),
            ("kubernetes=1.2.3", "kubernetes"),
            ("kubernetes=1.2.3", "kubernetes=Kube!"),
            ("a=1.2.3", ""),
        ] {
            assert!(ComponentVersions::parse(v, d).is_err(), "{v} {d}");
        }
        assert!(
            ComponentVersions::parse("  ", "garbage")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn display_label_keeps_oc_commas() {
        let v = ComponentVersions::parse("aa=1.0.0,bb=2.0.0,cc=3.0.0", "aa=A,cc=C").unwrap();
        assert_eq!(v.display_name_label(), "aa=A,,cc=C");
    }
}
