//! Whether a cluster applies a manifest: library-go `Manifest.Include`, the rules the
//! cluster-version operator filters a payload's manifests by, checked in the same order
//! (annotations, exclusion, feature set, major version, profile, capabilities).

use std::collections::{BTreeMap, BTreeSet};

use super::document::{Document, ResourceId};

/// The cluster profiles payload manifests opt into (`include.release.openshift.io/<profile>`).
pub const PROFILES: [&str; 4] = [
    "self-managed-high-availability",
    "single-node-developer",
    "hypershift",
    "ibm-cloud-managed",
];

/// The feature sets the `release.openshift.io/feature-set` annotation may name.
pub const FEATURE_SETS: [&str; 5] = [
    "Default",
    "TechPreviewNoUpgrade",
    "DevPreviewNoUpgrade",
    "CustomNoUpgrade",
    "OKD",
];

/// Every capability a cluster knows (openshift/api `KnownClusterVersionCapabilities`).
pub const KNOWN_CAPABILITIES: [&str; 17] = [
    "baremetal",
    "Console",
    "Insights",
    "marketplace",
    "Storage",
    "openshift-samples",
    "CSISnapshot",
    "NodeTuning",
    "MachineAPI",
    "Build",
    "DeploymentConfig",
    "ImageRegistry",
    "OperatorLifecycleManager",
    "OperatorLifecycleManagerV1",
    "CloudCredential",
    "Ingress",
    "CloudControllerManager",
];

/// The capabilities of a baseline capability set (`None`, `v4.11` … `v4.18`, `vCurrent`), as
/// openshift/api defines them: each set adds to the one before.
pub fn capability_set(name: &str) -> Option<Vec<&'static str>> {
    let steps: [(&str, &[&str]); 9] = [
        (
            "v4.11",
            &[
                "baremetal",
                "marketplace",
                "openshift-samples",
                "MachineAPI",
            ],
        ),
        ("v4.12", &["Console", "Insights", "Storage", "CSISnapshot"]),
        ("v4.13", &["NodeTuning"]),
        ("v4.14", &["Build", "DeploymentConfig", "ImageRegistry"]),
        ("v4.15", &["OperatorLifecycleManager", "CloudCredential"]),
        ("v4.16", &["Ingress", "CloudControllerManager"]),
        ("v4.17", &[]),
        ("v4.18", &["OperatorLifecycleManagerV1"]),
        ("vCurrent", &[]),
    ];
    if name == "None" {
        return Some(Vec::new());
    }
    let mut caps = Vec::new();
    for (set, added) in steps {
        caps.extend_from_slice(added);
        if set == name {
            return Some(caps);
        }
    }
    None
}

/// The cluster a manifest is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The cluster profile.
    pub profile: String,
    /// The feature set (`Default` for none).
    pub feature_set: String,
    /// The release's major version, for `release.openshift.io/major-version`.
    pub major_version: Option<u64>,
    /// The enabled capabilities; `None` checks only that capabilities are known (what the CVO
    /// does when it loads a payload).
    pub enabled_capabilities: Option<BTreeSet<String>>,
}

/// Why a cluster skips a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// No annotations at all.
    NoAnnotations,
    /// The profile is not included (annotation unset or not `"true"`).
    Profile,
    /// The manifest is for other feature sets.
    FeatureSet,
    /// The feature-set annotation names an unknown feature set.
    UnknownFeatureSet,
    /// A capability the cluster has disabled.
    Capability,
    /// A capability no cluster knows.
    UnknownCapability,
    /// The manifest is for other major versions.
    MajorVersion,
    /// The major-version annotation is invalid or on a kind it does not apply to.
    InvalidMajorVersion,
}

impl SkipKind {
    /// True when no cluster of any profile or configuration would apply the manifest for this
    /// reason: a defect of the manifest rather than a choice.
    pub fn is_defect(self) -> bool {
        matches!(
            self,
            SkipKind::NoAnnotations
                | SkipKind::UnknownFeatureSet
                | SkipKind::UnknownCapability
                | SkipKind::InvalidMajorVersion
        )
    }
}

/// A skip and its reason, in library-go's words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skip {
    /// The kind of reason.
    pub kind: SkipKind,
    /// The reason.
    pub reason: String,
}

fn skip(kind: SkipKind, reason: String) -> Skip {
    Skip { kind, reason }
}

/// `Ok` when `cluster` applies `doc`, else why not.
pub fn include(doc: &Document, cluster: &Cluster) -> Result<(), Skip> {
    let Some(annotations) = &doc.annotations else {
        return Err(skip(SkipKind::NoAnnotations, "no annotations".to_string()));
    };
    feature_set(annotations, &cluster.feature_set)?;
    if let Some(major) = cluster.major_version {
        major_version(&doc.id, annotations, major)?;
    }
    let key = format!("include.release.openshift.io/{}", cluster.profile);
    match annotations.get(&key) {
        Some(v) if v == "true" => {}
        Some(v) => {
            return Err(skip(
                SkipKind::Profile,
                format!("unrecognized value {key}={v}"),
            ));
        }
        None => return Err(skip(SkipKind::Profile, format!("{key} unset"))),
    }
    capabilities(annotations, cluster.enabled_capabilities.as_ref())
}

fn feature_set(annotations: &BTreeMap<String, String>, required: &str) -> Result<(), Skip> {
    const KEY: &str = "release.openshift.io/feature-set";
    let Some(value) = annotations.get(KEY) else {
        return Ok(());
    };
    let sets: Vec<&str> = value.split(',').collect();
    if let Some(unknown) = sets.iter().find(|s| !FEATURE_SETS.contains(s)) {
        return Err(skip(
            SkipKind::UnknownFeatureSet,
            format!(
                "unrecognized value {unknown:?} in {KEY}={value}; known values are: {}",
                sorted(&FEATURE_SETS)
            ),
        ));
    }
    let required = if required.is_empty() {
        "Default"
    } else {
        required
    };
    if !sets.contains(&required) {
        let mut listed = sets.clone();
        listed.sort_unstable();
        listed.dedup();
        return Err(skip(
            SkipKind::FeatureSet,
            format!("{required:?} is required, and {KEY}={}", listed.join(",")),
        ));
    }
    Ok(())
}

fn sorted(items: &[&str]) -> String {
    let mut v = items.to_vec();
    v.sort_unstable();
    v.join(",")
}

fn major_version(
    id: &ResourceId,
    annotations: &BTreeMap<String, String>,
    major: u64,
) -> Result<(), Skip> {
    let Some(value) = annotations.get("release.openshift.io/major-version") else {
        return Ok(());
    };
    let invalid = |r: String| skip(SkipKind::InvalidMajorVersion, r);
    let applies = (id.group == "config.openshift.io" && id.kind == "FeatureGate")
        || (id.group == "apiextensions.k8s.io" && id.kind == "CustomResourceDefinition");
    if !applies {
        return Err(invalid(
            "major version filtering is only supported for feature gates and custom resources"
                .to_string(),
        ));
    }
    let (mut included, mut excluded) = (BTreeSet::new(), BTreeSet::new());
    for req in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let (set, text, what) = match req.strip_prefix('-') {
            Some(rest) => (&mut excluded, rest, "excluded"),
            None => (&mut included, req, "included"),
        };
        let v: u64 = text.parse().map_err(|e| {
            invalid(format!(
                "invalid {what} major version {text:?} in annotation: {e}"
            ))
        })?;
        set.insert(v);
    }
    if included.intersection(&excluded).next().is_some() {
        return Err(invalid(
            "inclusion and exclusion requirements overlap".to_string(),
        ));
    }
    if included.contains(&major) {
        return Ok(());
    }
    if excluded.contains(&major) {
        return Err(skip(
            SkipKind::MajorVersion,
            format!("major version {major} matches excluded version {major}"),
        ));
    }
    if !included.is_empty() {
        return Err(skip(
            SkipKind::MajorVersion,
            format!("major version {major} does not match any required versions"),
        ));
    }
    Ok(())
}

fn capabilities(
    annotations: &BTreeMap<String, String>,
    enabled: Option<&BTreeSet<String>>,
) -> Result<(), Skip> {
    let Some(value) = annotations
        .get("capability.openshift.io/name")
        .filter(|v| !v.is_empty())
    else {
        return Ok(());
    };
    let caps: Vec<&str> = value.split('+').collect();
    let unknown: Vec<&str> = caps
        .iter()
        .copied()
        .filter(|c| !KNOWN_CAPABILITIES.contains(c))
        .collect();
    if !unknown.is_empty() {
        return Err(skip(
            SkipKind::UnknownCapability,
            format!("unrecognized capability names: {}", unknown.join(", ")),
        ));
    }
    if let Some(enabled) = enabled {
        let disabled: Vec<&str> = caps
            .iter()
            .copied()
            .filter(|c| !enabled.contains(*c))
            .collect();
        if !disabled.is_empty() {
            return Err(skip(
                SkipKind::Capability,
                format!("disabled capabilities: {}", disabled.join(", ")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::document::parse_file;

    fn cluster(profile: &str) -> Cluster {
        Cluster {
            profile: profile.to_string(),
            feature_set: "Default".to_string(),
            major_version: Some(4),
            enabled_capabilities: None,
        }
    }

    fn doc(annotations: &str) -> Document {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n{annotations}"
        );
        parse_file(text.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn profiles_feature_sets_and_capabilities() {
        let d = doc("    include.release.openshift.io/self-managed-high-availability: \"true\"\n");
        assert_eq!(
            include(&d, &cluster("self-managed-high-availability")),
            Ok(())
        );
        let e = include(&d, &cluster("hypershift")).unwrap_err();
        assert_eq!(e.kind, SkipKind::Profile);
        assert_eq!(e.reason, "include.release.openshift.io/hypershift unset");

        let d = doc(
            "    include.release.openshift.io/single-node-developer: \"true\"\n    release.openshift.io/feature-set: TechPreviewNoUpgrade\n",
        );
        let e = include(&d, &cluster("single-node-developer")).unwrap_err();
        assert_eq!(e.kind, SkipKind::FeatureSet);
        assert_eq!(
            e.reason,
            "\"Default\" is required, and release.openshift.io/feature-set=TechPreviewNoUpgrade"
        );

        let d = doc(
            "    include.release.openshift.io/single-node-developer: \"true\"\n    capability.openshift.io/name: Console+Nope\n",
        );
        let e = include(&d, &cluster("single-node-developer")).unwrap_err();
        assert_eq!(e.kind, SkipKind::UnknownCapability);
        let mut c = cluster("single-node-developer");
        c.enabled_capabilities = Some(BTreeSet::new());
        let d = doc(
            "    include.release.openshift.io/single-node-developer: \"true\"\n    capability.openshift.io/name: Console\n",
        );
        assert_eq!(
            include(&d, &c).unwrap_err().reason,
            "disabled capabilities: Console"
        );
    }

    #[test]
    fn major_version_applies_to_feature_gates_and_crds_only() {
        let d = doc(
            "    include.release.openshift.io/hypershift: \"true\"\n    release.openshift.io/major-version: \"5\"\n",
        );
        assert_eq!(
            include(&d, &cluster("hypershift")).unwrap_err().kind,
            SkipKind::InvalidMajorVersion
        );
    }

    #[test]
    fn capability_sets_grow() {
        assert_eq!(capability_set("v4.11").unwrap().len(), 4);
        assert_eq!(
            capability_set("vCurrent").unwrap().len(),
            KNOWN_CAPABILITIES.len()
        );
        assert_eq!(capability_set("v9"), None);
    }
}
