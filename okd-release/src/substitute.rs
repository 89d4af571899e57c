//! Image and version substitution in operator manifests, as `oc adm release new` does it.
//!
//! An operator image ships `/manifests/image-references` naming the images its manifests refer
//! to, usually by placeholder (`placeholder.url.oc.will.replace.this.org/placeholdernamespace:pod`).
//! When the release is assembled, each placeholder — with any tag or digest that follows it — is
//! replaced by the release's pullspec for the tag of the same name ([`ImageMapper`]), and
//! `0.0.1-snapshot` becomes the release version while `0.0.1-snapshot-<key>` becomes the
//! component version `<key>` ([`VersionMapper`]). [`OperatorTransform`] combines both for one
//! operator.
//!
//! A source pullspec only matches as a whole word: it must be preceded by a non-word character or
//! the start of the file, and followed (after an optional `:tag` or `@digest`) by whitespace, a
//! quote or the end of the file.
//!
//! ```
//! use std::collections::BTreeMap;
//! use okd_release::substitute::{ImageMapper, ImageReference};
//!
//! let mut images = BTreeMap::new();
//! images.insert("etcd".to_string(), ImageReference {
//!     source_repository: "quay.io/coreos/etcd".into(),
//!     target_pullspec: "quay.io/openshift/origin-etcd@sha256:1234".into(),
//! });
//! let mapper = ImageMapper::new(&images)?;
//! assert_eq!(
//!     mapper.apply(b"image: quay.io/coreos/etcd:latest").as_ref(),
//!     b"image: quay.io/openshift/origin-etcd@sha256:1234"
//! );
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::bytes::{Captures, Regex};

use crate::image_references::{DOCKER_IMAGE, ImageReferences};
use crate::{ComponentVersion, ComponentVersions, Error, annotations};

/// Where a placeholder in an operator's manifests points, and what replaces it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageReference {
    /// The pullspec as written in the operator's manifests and image-references.
    #[serde(rename = "SourceRepository")]
    pub source_repository: String,
    /// The release's pullspec for the same tag.
    #[serde(rename = "TargetPullSpec")]
    pub target_pullspec: String,
}

/// Replaces image pullspecs in manifest bytes. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct ImageMapper {
    regex: Option<Regex>,
    targets: HashMap<Vec<u8>, Vec<u8>>,
}

// The pullspec grammar oc matches after a source: a tag, or a digest. Word characters and
// `\s` are spelled out because Go's classes are ASCII-only (and its `\s` has no vertical tab);
// the leading class matches any single byte so that it behaves on non-ASCII text as Go's `\W`
// does on runes.
const BEFORE: &str = r"((?-u:[^0-9A-Za-z_])|^)";
const SUFFIX: &str = r"(:[0-9A-Za-z_][0-9A-Za-z_.\-]{0,127}|@[A-Za-z][A-Za-z0-9]*(?:[\-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{2,})?";
const AFTER: &str = r#"([\t\n\x0C\r "']|$)"#;

impl ImageMapper {
    /// A mapper for `images` (tag name → reference). Fails when a source is empty or two tags
    /// share a source.
    ///
    /// Where one source is a prefix of another, `oc`'s choice depends on Go's random map order;
    /// here longer sources are tried first, so the most specific one wins.
    pub fn new(images: &BTreeMap<String, ImageReference>) -> Result<ImageMapper, Error> {
        let mut by_source: HashMap<&str, &str> = HashMap::new();
        for (name, r) in images {
            if r.source_repository.is_empty() {
                return Err(Error::EmptySource { tag: name.clone() });
            }
            if let Some(first) = by_source.insert(&r.source_repository, name) {
                return Err(Error::DuplicateSource {
                    source_repository: r.source_repository.clone(),
                    first: first.to_string(),
                    second: name.clone(),
                });
            }
        }
        if images.is_empty() {
            return Ok(ImageMapper {
                regex: None,
                targets: HashMap::new(),
            });
        }
        let mut sources: Vec<&str> = images
            .values()
            .map(|r| r.source_repository.as_str())
            .collect();
        sources.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        let alternation = sources
            .iter()
            .map(|s| regex::escape(s))
            .collect::<Vec<_>>()
            .join("|");
        let pattern = format!("{BEFORE}({alternation}){SUFFIX}{AFTER}");
        let regex = Regex::new(&pattern).map_err(|e| Error::InvalidManifest {
            file: "image-references".to_string(),
            reason: format!("source pullspecs do not form a pattern: {e}"),
        })?;
        Ok(ImageMapper {
            regex: Some(regex),
            targets: images
                .values()
                .map(|r| {
                    (
                        r.source_repository.as_bytes().to_vec(),
                        r.target_pullspec.as_bytes().to_vec(),
                    )
                })
                .collect(),
        })
    }

    /// Replaces every source pullspec (and the tag or digest after it) by its target.
    pub fn apply<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(regex) = &self.regex else {
            return Cow::Borrowed(data);
        };
        regex.replace_all(data, |c: &Captures<'_>| {
            let group = |i: usize| c.get(i).map(|m| m.as_bytes()).unwrap_or_default();
            let source = group(2);
            let mut out = group(1).to_vec();
            match self.targets.get(source) {
                Some(target) => out.extend_from_slice(target),
                None => {
                    out.extend_from_slice(source);
                    out.extend_from_slice(group(3));
                }
            }
            out.extend_from_slice(group(4));
            out
        })
    }
}

static SNAPSHOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"((?-u:[^0-9A-Za-z_])|^)0\.0\.1-snapshot([a-z0-9\-]*)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Replaces `0.0.1-snapshot` by the release version and `0.0.1-snapshot-<key>` by component
/// versions. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct VersionMapper {
    release: Option<String>,
    versions: ComponentVersions,
    tags_by_key: BTreeMap<String, Vec<String>>,
}

impl VersionMapper {
    /// Substitutes only `0.0.1-snapshot`, with `release_name` without build metadata. A release
    /// name that is not a semantic version leaves `0.0.1-snapshot` alone; any
    /// `0.0.1-snapshot-<key>` is an error.
    pub fn simple(release_name: &str) -> VersionMapper {
        VersionMapper::new(release_name, ComponentVersions::default(), BTreeMap::new())
    }

    /// Substitutes `0.0.1-snapshot` and the component versions in `versions`. A key declared by
    /// more than one tag in `tags_by_key` is ambiguous: using it is an error.
    pub fn new(
        release_name: &str,
        versions: ComponentVersions,
        tags_by_key: BTreeMap<String, Vec<String>>,
    ) -> VersionMapper {
        let release = semver::Version::parse(release_name).ok().map(|mut v| {
            v.build = semver::BuildMetadata::EMPTY;
            v.to_string()
        });
        VersionMapper {
            release,
            versions,
            tags_by_key,
        }
    }

    /// Applies the substitution to `data`; `file` names the manifest in errors.
    pub fn apply<'a>(&self, data: &'a [u8], file: &str) -> Result<Cow<'a, [u8]>, Error> {
        let mut missing = Vec::new();
        let mut conflicts = Vec::new();
        let out = SNAPSHOT.replace_all(data, |c: &Captures<'_>| {
            let whole = c.get(0).map(|m| m.as_bytes()).unwrap_or_default();
            let before = c.get(1).map(|m| m.as_bytes()).unwrap_or_default();
            let key = c.get(2).map(|m| m.as_bytes()).unwrap_or_default();
            let mut out = before.to_vec();
            if key.is_empty() {
                match &self.release {
                    Some(r) => out.extend_from_slice(r.as_bytes()),
                    None => return whole.to_vec(),
                }
                return out;
            }
            let Some(key) = key.strip_prefix(b"-") else {
                return whole.to_vec();
            };
            let key = String::from_utf8_lossy(key).into_owned();
            let Some(v) = self.versions.get(&key) else {
                missing.push(key);
                return whole.to_vec();
            };
            if self.tags_by_key.get(&key).is_some_and(|t| t.len() > 1) {
                conflicts.push(key);
                return whole.to_vec();
            }
            out.extend_from_slice(v.version.as_bytes());
            out
        });
        if !missing.is_empty() {
            return Err(Error::UnknownVersionReference {
                file: file.to_string(),
                keys: missing,
            });
        }
        if let Some(key) = conflicts.into_iter().next() {
            let mut tags = self.tags_by_key.get(&key).cloned().unwrap_or_default();
            tags.sort();
            return Err(Error::InconsistentVersion { key, tags });
        }
        Ok(out)
    }
}

/// The substitutions applied to one operator's manifests.
#[derive(Debug, Clone)]
pub struct OperatorTransform {
    images: ImageMapper,
    versions: VersionMapper,
    /// What the operator's image-references asked for, by tag.
    pub references: BTreeMap<String, ImageReference>,
    /// Non-fatal findings (several `kubectl` versions).
    pub warnings: Vec<String>,
}

impl OperatorTransform {
    /// The transform of an operator without image-references: only `0.0.1-snapshot`.
    pub fn simple(release_name: &str) -> OperatorTransform {
        OperatorTransform {
            images: ImageMapper {
                regex: None,
                targets: HashMap::new(),
            },
            versions: VersionMapper::simple(release_name),
            references: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    /// The transform for operator `operator` whose image-references is `local`, in the release
    /// described by `release`.
    ///
    /// Every `DockerImage` tag of `local` must exist in `release` (unless `allow_missing_images`,
    /// which skips it). Component versions come from the `io.openshift.build.versions`
    /// annotations of the release tags `local` names, then from the release's own annotations;
    /// two tags declaring different versions of a component is an error (except `machine-os`),
    /// and `kubectl` counts only from `cli` and `cli-artifacts`.
    pub fn new(
        operator: &str,
        local: &ImageReferences,
        release: &ImageReferences,
        allow_missing_images: bool,
    ) -> Result<OperatorTransform, Error> {
        let mut references = BTreeMap::new();
        for tag in &local.spec.tags {
            let Some(from) = tag.from.as_ref().filter(|f| f.kind == DOCKER_IMAGE) else {
                continue;
            };
            if from.name.is_empty() {
                return Err(Error::EmptySource {
                    tag: tag.name.clone(),
                });
            }
            let target = release
                .tag(&tag.name)
                .and_then(|t| t.from.as_ref())
                .map(|f| f.name.clone())
                .filter(|n| !n.is_empty());
            match target {
                Some(target_pullspec) => {
                    references.insert(
                        tag.name.clone(),
                        ImageReference {
                            source_repository: from.name.clone(),
                            target_pullspec,
                        },
                    );
                }
                None if allow_missing_images => continue,
                None => {
                    return Err(Error::MissingImageTag {
                        operator: operator.to_string(),
                        tag: tag.name.clone(),
                    });
                }
            }
        }

        let mut versions = BTreeMap::<String, ComponentVersion>::new();
        let mut tags_by_key = BTreeMap::<String, Vec<String>>::new();
        let mut kubectl = BTreeSet::new();
        for tag in release
            .spec
            .tags
            .iter()
            .filter(|t| references.contains_key(&t.name))
        {
            let Some(label) = tag.annotation(annotations::BUILD_VERSIONS) else {
                continue;
            };
            let names = tag
                .annotation(annotations::BUILD_VERSION_DISPLAY_NAMES)
                .unwrap_or("");
            let parsed = ComponentVersions::parse(label, names).map_err(|reason| {
                Error::InvalidComponentVersions {
                    tag: tag.name.clone(),
                    label: label.to_string(),
                    reason,
                }
            })?;
            for (k, v) in parsed.0 {
                if k == "kubectl" {
                    kubectl.insert(v.version.clone());
                    if tag.name != "cli" && tag.name != "cli-artifacts" {
                        continue;
                    }
                }
                match versions.get(&k) {
                    Some(existing) if existing.version != v.version && k != "machine-os" => {
                        let mut tags = tags_by_key.get(&k).cloned().unwrap_or_default();
                        tags.push(tag.name.clone());
                        return Err(Error::InconsistentVersion { key: k, tags });
                    }
                    Some(_) => {}
                    None => {
                        versions.insert(k.clone(), v);
                    }
                }
                tags_by_key.entry(k).or_default().push(tag.name.clone());
            }
        }
        let mut warnings = Vec::new();
        if kubectl.len() > 2 {
            warnings.push(format!(
                "input image stream has multiple versions defined for version kubectl: {}",
                kubectl.into_iter().collect::<Vec<_>>().join(",")
            ));
        }
        let release_versions = release
            .metadata
            .annotations
            .get(annotations::BUILD_VERSIONS)
            .map(String::as_str)
            .unwrap_or("");
        let release_names = release
            .metadata
            .annotations
            .get(annotations::BUILD_VERSION_DISPLAY_NAMES)
            .map(String::as_str)
            .unwrap_or("");
        let defaults =
            ComponentVersions::parse(release_versions, release_names).map_err(|reason| {
                Error::InvalidComponentVersions {
                    tag: release.name().to_string(),
                    label: release_versions.to_string(),
                    reason,
                }
            })?;
        for (k, v) in defaults.0 {
            versions.entry(k).or_insert(v);
        }

        Ok(OperatorTransform {
            images: ImageMapper::new(&references)?,
            versions: VersionMapper::new(release.name(), ComponentVersions(versions), tags_by_key),
            references,
            warnings,
        })
    }

    /// Applies image then version substitution to one manifest; `file` names it in errors.
    pub fn apply(&self, data: &[u8], file: &str) -> Result<Vec<u8>, Error> {
        let images = self.images.apply(data);
        Ok(self.versions.apply(&images, file)?.into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper(pairs: &[(&str, &str, &str)]) -> ImageMapper {
        let images = pairs
            .iter()
            .map(|(n, s, t)| {
                (
                    n.to_string(),
                    ImageReference {
                        source_repository: s.to_string(),
                        target_pullspec: t.to_string(),
                    },
                )
            })
            .collect();
        ImageMapper::new(&images).unwrap()
    }

    #[test]
    fn whole_words_only() {
        let m = mapper(&[("a", "quay.io/x/y", "T@sha256:00")]);
        for (input, output) in [
            ("quay.io/x/y", "T@sha256:00"),
            ("\"quay.io/x/y:1.0\"", "\"T@sha256:00\""),
            ("'quay.io/x/y@sha256:abcd'", "'T@sha256:00'"),
            ("quay.io/x/yz", "quay.io/x/yz"),
            ("aquay.io/x/y", "aquay.io/x/y"),
            ("quay.io/x/y/z", "quay.io/x/y/z"),
            ("quay.io/x/y:tag/", "quay.io/x/y:tag/"),
            ("=quay.io/x/y:latest\n", "=T@sha256:00\n"),
            ("quay.io/x/y\u{b}", "quay.io/x/y\u{b}"),
            ("é quay.io/x/y é", "é T@sha256:00 é"),
            ("équay.io/x/y", "éT@sha256:00"),
            ("quay.io/x/y quay.io/x/y", "T@sha256:00 quay.io/x/y"),
        ] {
            assert_eq!(
                String::from_utf8(m.apply(input.as_bytes()).into_owned()).unwrap(),
                output,
                "{input:?}"
            );
        }
    }

    #[test]
    fn versions() {
        let v = ComponentVersions::parse("kubernetes=1.32.1,machine-os=9.0.1", "").unwrap();
        let m = VersionMapper::new("4.19.0-okd-scos.1+build", v, BTreeMap::new());
        let out = m
            .apply(
                b"v: 0.0.1-snapshot\nk: 0.0.1-snapshot-kubernetes\nx0.0.1-snapshot\n",
                "f",
            )
            .unwrap();
        assert_eq!(
            out.as_ref(),
            b"v: 4.19.0-okd-scos.1\nk: 1.32.1\nx0.0.1-snapshot\n"
        );
        let err = m
            .apply(b"0.0.1-snapshot-nope 0.0.1-snapshot-", "f.yaml")
            .unwrap_err();
        assert!(
            matches!(&err, Error::UnknownVersionReference { keys, .. } if keys == &["nope", ""]),
            "{err}"
        );
        let unchanged = VersionMapper::simple("not-semver");
        assert_eq!(
            unchanged.apply(b"0.0.1-snapshot", "f").unwrap().as_ref(),
            b"0.0.1-snapshot"
        );
        assert!(unchanged.apply(b"0.0.1-snapshot-kubernetes", "f").is_err());
    }

    #[test]
    fn ambiguous_version_is_refused_when_used() {
        let v = ComponentVersions::parse("machine-os=9.0.1", "").unwrap();
        let tags = BTreeMap::from([(
            "machine-os".to_string(),
            vec!["stream-coreos".to_string(), "rhel-coreos".to_string()],
        )]);
        let m = VersionMapper::new("4.19.0", v, tags);
        assert!(m.apply(b"0.0.1-snapshot", "f").is_ok());
        let err = m.apply(b"0.0.1-snapshot-machine-os", "f").unwrap_err();
        assert!(
            matches!(&err, Error::InconsistentVersion { tags, .. } if tags == &["rhel-coreos", "stream-coreos"]),
            "{err}"
        );
    }
}
