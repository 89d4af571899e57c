//! The two substitutions `oc adm release new` applies to an operator's manifests: placeholder
//! pullspecs named in the operator's `image-references` become the release's pullspecs, and
//! `0.0.1-snapshot[-<key>]` becomes the release name or a component version.
//!
//! Both use the regular expressions of oc's `image_mapper.go`, on bytes and ASCII classes as
//! Go's `regexp` does, so the expected release content is what `oc` would write.

use std::collections::{BTreeMap, HashMap};

use regex::bytes::{Captures, Regex};

use super::component::Component;
use super::{PayloadError, PayloadSpec};

/// Replaces placeholder pullspecs (sources) by release pullspecs (targets), dropping any tag
/// or digest that follows a source, as oc's `NewImageMapper` does.
#[derive(Debug)]
pub(crate) struct ImageMapper {
    pattern: Regex,
    targets: HashMap<String, String>,
}

impl ImageMapper {
    /// A mapper for `source → target`, or `None` when there is nothing to map.
    pub(crate) fn new(
        targets: &HashMap<String, String>,
    ) -> Result<Option<ImageMapper>, regex::Error> {
        if targets.is_empty() {
            return Ok(None);
        }
        let mut sources: Vec<&String> = targets.keys().collect();
        // Go ranges over a map, so its alternation order is random; it only matters when one
        // source is another plus a tag, which the generated operators never have.
        sources.sort();
        let alternation = sources
            .iter()
            .map(|s| regex::escape(s))
            .collect::<Vec<_>>()
            .join("|");
        let pattern = Regex::new(&format!(
            r#"(?-u)(\W|^)({alternation})(:\w[\w.-]{{0,127}}|@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{{2,}})?([\s"']|$)"#
        ))?;
        Ok(Some(ImageMapper {
            pattern,
            targets: targets.clone(),
        }))
    }

    /// Applies the mapping to `data`.
    pub(crate) fn apply(&self, data: &[u8]) -> Vec<u8> {
        self.pattern
            .replace_all(data, |c: &Captures<'_>| {
                let source = String::from_utf8_lossy(&c[2]).into_owned();
                match self.targets.get(&source) {
                    Some(target) => {
                        let mut out = c[1].to_vec();
                        out.extend_from_slice(target.as_bytes());
                        out.extend_from_slice(&c[4]);
                        out
                    }
                    None => c[0].to_vec(),
                }
            })
            .into_owned()
    }
}

/// Substitutes the manifests of one operator.
#[derive(Debug)]
pub(crate) struct Mapper {
    operator: String,
    images: Option<ImageMapper>,
    versions: Regex,
    release_name: String,
    component_versions: BTreeMap<String, String>,
    tags_by_version: BTreeMap<String, Vec<String>>,
}

fn render_err(operator: &str, file: &str, reason: impl Into<String>) -> PayloadError {
    PayloadError::Render {
        operator: operator.to_string(),
        file: file.to_string(),
        reason: reason.into(),
    }
}

fn parse_versions(label: &str) -> Vec<(String, String)> {
    label
        .split(',')
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

impl Mapper {
    /// The mapper for `op`, whose `image-references` tags resolve against `release` (the
    /// release's components by tag).
    pub(crate) fn for_operator(
        spec: &PayloadSpec,
        op: &Component,
        release: &HashMap<&str, &Component>,
    ) -> Result<Mapper, PayloadError> {
        let file = "image-references";
        let mut by_source: HashMap<String, String> = HashMap::new();
        let mut component_versions = BTreeMap::new();
        let mut tags_by_version: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for tag in &op.references {
            let target = release.get(tag.as_str()).ok_or_else(|| {
                render_err(&op.name, file, format!("no input image tag named {tag:?}"))
            })?;
            let source = op.recipe.placeholder.pullspec(tag);
            if by_source
                .insert(source.clone(), target.pullspec.clone())
                .is_some()
            {
                return Err(render_err(
                    &op.name,
                    file,
                    format!("the source repository {source:?} was defined more than once"),
                ));
            }
            if let Some(label) = target.labels.get("io.openshift.build.versions") {
                for (k, v) in parse_versions(label) {
                    // Newer oc tolerates differing machine-os values (the OS and its
                    // extensions image are built separately); other keys must agree.
                    if let Some(existing) = component_versions.get(&k)
                        && existing != &v
                        && k != "machine-os"
                    {
                        return Err(render_err(
                            &op.name,
                            file,
                            format!(
                                "multiple versions defined for version {k}: {existing} and {v}"
                            ),
                        ));
                    }
                    component_versions.entry(k.clone()).or_insert(v);
                    tags_by_version.entry(k).or_default().push(tag.clone());
                }
            }
        }
        let images = ImageMapper::new(&by_source)
            .map_err(|e| render_err(&op.name, file, format!("image pattern: {e}")))?;
        let versions = Regex::new(r"(?-u)(\W|^)0\.0\.1-snapshot(?:-([a-z0-9-]+)|(\W)|$)")
            .map_err(|e| render_err(&op.name, file, format!("version pattern: {e}")))?;
        let release_name = match semver::Version::parse(&spec.version) {
            Ok(mut v) => {
                v.build = semver::BuildMetadata::EMPTY;
                v.to_string()
            }
            Err(_) => String::new(),
        };
        Ok(Mapper {
            operator: op.name.clone(),
            images,
            versions,
            release_name,
            component_versions,
            tags_by_version,
        })
    }

    /// Substitutes one manifest file.
    pub(crate) fn apply(&self, file: &str, content: &str) -> Result<String, PayloadError> {
        let mut data = content.as_bytes().to_vec();
        if let Some(images) = &self.images {
            data = images.apply(&data);
        }
        let mut missing: Vec<String> = Vec::new();
        let mut conflicts: Vec<String> = Vec::new();
        let replaced = self
            .versions
            .replace_all(&data, |c: &Captures<'_>| {
                let prefix = &c[1];
                let component = c.get(2).map(|m| m.as_bytes()).unwrap_or_default();
                let suffix = c.get(3).map(|m| m.as_bytes()).unwrap_or_default();
                let with = |version: &str| {
                    let mut out = prefix.to_vec();
                    out.extend_from_slice(version.as_bytes());
                    out.extend_from_slice(suffix);
                    out
                };
                if component.is_empty() && suffix != b"-" {
                    if self.release_name.is_empty() {
                        return c[0].to_vec();
                    }
                    return with(&self.release_name);
                }
                let key = String::from_utf8_lossy(component).into_owned();
                match self.component_versions.get(&key) {
                    None => {
                        missing.push(key);
                        c[0].to_vec()
                    }
                    Some(_) if self.tags_by_version.get(&key).is_some_and(|t| t.len() > 1) => {
                        conflicts.push(key);
                        c[0].to_vec()
                    }
                    Some(v) => with(v),
                }
            })
            .into_owned();
        if !missing.is_empty() {
            let reason = if missing.len() == 1 && missing[0].is_empty() {
                "empty version references are not allowed".to_string()
            } else {
                format!("unknown version references: {}", missing.join(", "))
            };
            return Err(render_err(&self.operator, file, reason));
        }
        if let Some(key) = conflicts.first() {
            return Err(render_err(
                &self.operator,
                file,
                format!("the version for {key:?} is inconsistent across the referenced images"),
            ));
        }
        String::from_utf8(replaced).map_err(|e| {
            render_err(
                &self.operator,
                file,
                format!("not UTF-8 after substitution: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        images: HashMap<String, Reference>,
        #[serde(default)]
        input: String,
        #[serde(default)]
        output: String,
        #[serde(default)]
        error: bool,
    }

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Reference {
        source_repository: String,
        target_pull_spec: String,
    }

    #[test]
    fn image_mapper_passes_ocs_own_cases() {
        let cases: Vec<Case> = serde_json::from_str(include_str!(
            "../../tests/data/manifest-image-substitution-cases.oc-unit-test.json"
        ))
        .expect("sample parses");
        let mut ran = 0;
        for case in cases {
            let sources: Vec<&str> = case
                .images
                .values()
                .map(|r| r.source_repository.as_str())
                .collect();
            let distinct: std::collections::BTreeSet<&str> = sources.iter().copied().collect();
            if case.error {
                // oc refuses empty and duplicate sources; the generator never produces them.
                assert!(sources.iter().any(|s| s.is_empty()) || distinct.len() < sources.len());
                continue;
            }
            let targets: HashMap<String, String> = case
                .images
                .values()
                .map(|r| (r.source_repository.clone(), r.target_pull_spec.clone()))
                .collect();
            let mapper = ImageMapper::new(&targets)
                .expect("pattern compiles")
                .expect("non-empty mapping");
            let out = mapper.apply(case.input.as_bytes());
            assert_eq!(String::from_utf8_lossy(&out), case.output, "{}", case.name);
            ran += 1;
        }
        assert_eq!(ran, 5);
    }
}
