//! Merging operator manifests into `release-manifests/`, as `oc adm release new` does.
//!
//! Each operator image (label `io.openshift.release.operator` set) contributes the regular files
//! directly in its `/manifests` directory, read from its top layer. Operators are taken in tag
//! order and their files in name order; a file not named `0000_…` becomes
//! `0000_50_<tag>_<file>`, and a name already used gets `_<n>` before its extension. The
//! operator's own `image-references` is not copied: it drives the [substitutions](crate::substitute).
//! Unless disabled, every `.json`/`.yml`/`.yaml` file must be an object with non-empty `kind` and
//! `apiVersion`.
//!
//! ```
//! use okd_release::ImageReferences;
//! use okd_release::mod_time::ModTime;
//! use okd_release::merge::{ManifestFile, MergeOptions, OperatorManifests, merge_operator_manifests};
//!
//! let release = ImageReferences::new("4.19.0-okd-scos.1", chrono::Utc::now());
//! let op = OperatorManifests {
//!     tag: "cluster-dns-operator".into(),
//!     files: vec![ManifestFile {
//!         name: "deployment.yaml".into(),
//!         data: b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    v: 0.0.1-snapshot\n".to_vec(),
//!         mtime: ModTime::from_secs(1_700_000_000),
//!     }],
//! };
//! let merged = merge_operator_manifests(&release, &[op], &MergeOptions::default())?;
//! assert_eq!(merged.files[0].name, "0000_50_cluster-dns-operator_deployment.yaml");
//! assert!(String::from_utf8_lossy(&merged.files[0].data).contains("v: 4.19.0-okd-scos.1"));
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;

use crate::Error;
use crate::image_references::ImageReferences;
use crate::mod_time::ModTime;
use crate::substitute::OperatorTransform;

/// The name of an operator's image-references file inside `/manifests`.
pub const IMAGE_REFERENCES: &str = "image-references";

/// A file from an operator's `/manifests` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// File name (no directory).
    pub name: String,
    /// Contents.
    pub data: Vec<u8>,
    /// Modification time in the operator image layer, with the nanoseconds a PAX record gives.
    pub mtime: ModTime,
}

/// The manifests of one operator image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperatorManifests {
    /// The release tag of the operator image.
    pub tag: String,
    /// The regular files directly in its `/manifests`, including `image-references` if any.
    pub files: Vec<ManifestFile>,
}

impl OperatorManifests {
    /// The operator's image-references, when it has one.
    pub fn image_references(&self) -> Result<Option<ImageReferences>, Error> {
        self.files
            .iter()
            .find(|f| f.name == IMAGE_REFERENCES)
            .map(|f| {
                ImageReferences::parse_named(&f.data, &format!("{}/{IMAGE_REFERENCES}", self.tag))
            })
            .transpose()
    }
}

/// Options of [`merge_operator_manifests`].
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// Skip image-references tags the release does not have instead of failing.
    pub allow_missing_images: bool,
    /// Do not check that manifests are Kubernetes objects.
    pub skip_manifest_check: bool,
}

/// A file of `release-manifests/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFile {
    /// Name inside `release-manifests/`.
    pub name: String,
    /// Contents after substitution.
    pub data: Vec<u8>,
    /// Modification time written into the layer, seconds since the epoch: an operator file's
    /// time as `oc`'s extraction leaves it ([`ModTime::as_extracted`]), rounded to the second as
    /// Go's tar writer rounds it ([`ModTime::rounded_seconds`]).
    pub mtime: i64,
}

/// The result of [`merge_operator_manifests`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergedManifests {
    /// The operator files, in payload order.
    pub files: Vec<PayloadFile>,
    /// The tags that contributed (in order).
    pub operators: Vec<String>,
    /// The newest modification time among all operator files, truncated to the second as `oc`
    /// truncates it (0 when there are none); the `release-manifests` directory,
    /// `image-references` and `release-metadata` get it.
    pub newest: i64,
    /// Non-fatal findings.
    pub warnings: Vec<String>,
}

/// Checks that a manifest is a Kubernetes object, as `oc adm release new` does unless
/// `--skip-manifest-check`: only `.json`, `.yml` and `.yaml` files are checked; they must parse
/// as YAML (the first document counts), be an object, and have non-empty string `kind` and
/// `apiVersion`. `file` is `<tag>/<name>`.
pub fn check_manifest(file: &str, data: &[u8]) -> Result<(), Error> {
    if ![".json", ".yml", ".yaml"].iter().any(|s| file.ends_with(s)) {
        return Ok(());
    }
    let bad = |reason: String| Error::InvalidManifest {
        file: file.to_string(),
        reason,
    };
    crate::flow_depth::check(data).map_err(|e| bad(format!("invalid YAML/JSON: {e}")))?;
    let first = serde_yaml_ng::Deserializer::from_slice(data).next();
    let value = match first {
        Some(doc) => serde_yaml_ng::Value::deserialize(doc)
            .map_err(|e| bad(format!("invalid YAML/JSON: {e}")))?,
        None => serde_yaml_ng::Value::Null,
    };
    let text = String::from_utf8_lossy(data);
    let head: String = if text.chars().count() > 30 {
        text.chars().take(30).chain("...".chars()).collect()
    } else {
        text.into_owned()
    };
    let serde_yaml_ng::Value::Mapping(map) = value else {
        return Err(bad(format!("not a valid YAML/JSON object, got: {head}")));
    };
    for key in ["kind", "apiVersion"] {
        let ok = map
            .get(key)
            .and_then(serde_yaml_ng::Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !ok {
            return Err(bad(
                "manifests must contain Kubernetes API objects with 'kind' and 'apiVersion' set"
                    .to_string(),
            ));
        }
    }
    Ok(())
}

/// The `release-manifests/` name of operator `tag`'s file `name`, before collision handling.
pub fn payload_name(tag: &str, name: &str) -> String {
    if name.starts_with("0000_") {
        name.to_string()
    } else {
        format!("0000_50_{tag}_{name}")
    }
}

/// Go's `path.Ext`: the suffix from the last dot of the last path element.
fn extension(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.rfind('.').map(|i| &base[i..]).unwrap_or("")
}

/// Merges operator manifests into payload files. `release` is the release's image-references
/// (its name is the version substituted for `0.0.1-snapshot`); `operators` are taken in tag
/// order. See the [module docs](self).
pub fn merge_operator_manifests(
    release: &ImageReferences,
    operators: &[OperatorManifests],
    options: &MergeOptions,
) -> Result<MergedManifests, Error> {
    let mut ordered: Vec<&OperatorManifests> =
        operators.iter().filter(|o| !o.files.is_empty()).collect();
    ordered.sort_by(|a, b| a.tag.cmp(&b.tag));

    let mut out = MergedManifests {
        newest: ordered
            .iter()
            .flat_map(|o| {
                o.files
                    .iter()
                    .map(|f| f.mtime.as_extracted().whole_seconds())
            })
            .max()
            .unwrap_or(0),
        ..MergedManifests::default()
    };
    let mut used: HashMap<String, u32> = HashMap::new();
    for op in ordered {
        let transform = match op.image_references()? {
            Some(local) => {
                OperatorTransform::new(&op.tag, &local, release, options.allow_missing_images)?
            }
            None => OperatorTransform::simple(release.name()),
        };
        out.warnings.extend(transform.warnings.iter().cloned());
        let mut files: Vec<&ManifestFile> = op
            .files
            .iter()
            .filter(|f| f.name != IMAGE_REFERENCES)
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        for f in files {
            let mut name = payload_name(&op.tag, &f.name);
            if let Some(count) = used.get(&name).copied() {
                used.insert(name.clone(), count + 1);
                let ext = extension(&name);
                name = format!("{}_{}{ext}", &name[..name.len() - ext.len()], count + 1);
            }
            used.insert(name.clone(), 1);
            let source = format!("{}/{}", op.tag, f.name);
            if !options.skip_manifest_check {
                check_manifest(&source, &f.data)?;
            }
            let data = transform.apply(&f.data, &source)?;
            out.files.push(PayloadFile {
                name,
                data,
                mtime: f.mtime.as_extracted().rounded_seconds(),
            });
        }
        out.operators.push(op.tag.clone());
    }
    Ok(out)
}

/// Removes the tags of `release` that nothing needs, as `oc` does: a tag stays when it is an
/// operator (in `operators`), is named by an operator's image-references, or is in `include`
/// (`--include`, the base tag). Returns the names removed.
pub fn prune_unreferenced(
    release: &mut ImageReferences,
    operators: &[OperatorManifests],
    include: &[String],
) -> Result<Vec<String>, Error> {
    let mut keep: BTreeSet<String> = include.iter().cloned().collect();
    for op in operators {
        keep.insert(op.tag.clone());
        if let Some(local) = op.image_references()? {
            keep.extend(local.spec.tags.into_iter().map(|t| t.name));
        }
    }
    let mut removed = Vec::new();
    release.spec.tags.retain(|t| {
        let k = keep.contains(&t.name);
        if !k {
            removed.push(t.name.clone());
        }
        k
    });
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TagReference;

    fn file(name: &str, data: &str, mtime: i64) -> ManifestFile {
        ManifestFile {
            name: name.into(),
            data: data.as_bytes().to_vec(),
            mtime: ModTime::from_secs(mtime),
        }
    }

    #[test]
    fn file_times_are_rounded_and_the_newest_truncated_as_oc_does() {
        let release = ImageReferences::new("4.19.0", chrono::Utc::now());
        let at = |name: &str, pax: &str| ManifestFile {
            mtime: ModTime::parse_pax(pax).unwrap(),
            ..file(name, CM, 0)
        };
        let ops = [OperatorManifests {
            tag: "op".into(),
            files: vec![
                at("a.yaml", "1700000000.5"),
                at("b.yaml", "1700000000.499999999"),
                at("c.yaml", "1699999999.9"),
            ],
        }];
        let merged = merge_operator_manifests(&release, &ops, &MergeOptions::default()).unwrap();
        let times: Vec<i64> = merged.files.iter().map(|f| f.mtime).collect();
        assert_eq!(times, [1_700_000_001, 1_700_000_000, 1_700_000_000]);
        // `oc` truncates the newest time instead: the directory is dated before `a.yaml`.
        assert_eq!(merged.newest, 1_700_000_000);

        // Before 1970 or past 2262, `oc`'s extraction has set the file to the epoch.
        let ops = [OperatorManifests {
            tag: "op".into(),
            files: vec![at("a.yaml", "-1.5"), at("b.yaml", "9999999999999")],
        }];
        let merged = merge_operator_manifests(&release, &ops, &MergeOptions::default()).unwrap();
        let times: Vec<i64> = merged.files.iter().map(|f| f.mtime).collect();
        assert_eq!(times, [0, 0]);
        assert_eq!(merged.newest, 0);
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\n";

    #[test]
    fn renames_and_numbers_collisions() {
        let release = ImageReferences::new("4.19.0", chrono::Utc::now());
        let ops = [
            OperatorManifests {
                tag: "b-op".into(),
                files: vec![
                    file("0000_10_x_a.yaml", CM, 5),
                    file("cm.yaml", CM, 7),
                    file("README", "text", 1),
                ],
            },
            OperatorManifests {
                tag: "a-op".into(),
                files: vec![file("0000_10_x_a.yaml", CM, 3), file("notes", "", 2)],
            },
            OperatorManifests {
                tag: "c-op".into(),
                files: vec![file("0000_10_x_a.yaml", CM, 3)],
            },
            OperatorManifests {
                tag: "empty".into(),
                files: vec![],
            },
        ];
        let merged = merge_operator_manifests(&release, &ops, &MergeOptions::default()).unwrap();
        let names: Vec<&str> = merged.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "0000_10_x_a.yaml",
                "0000_50_a-op_notes",
                "0000_10_x_a_2.yaml",
                "0000_50_b-op_README",
                "0000_50_b-op_cm.yaml",
                "0000_10_x_a_3.yaml",
            ]
        );
        assert_eq!(merged.operators, ["a-op", "b-op", "c-op"]);
        assert_eq!(merged.newest, 7);
    }

    #[test]
    fn manifest_check() {
        assert!(check_manifest("op/a.yaml", CM.as_bytes()).is_ok());
        assert!(check_manifest("op/a.txt", b"::: not yaml").is_ok());
        assert!(
            check_manifest("op/multi.yaml", format!("---\n{CM}---\nfoo: [").as_bytes()).is_ok()
        );
        for (data, needle) in [
            ("kind: ConfigMap\n", "'kind' and 'apiVersion'"),
            ("apiVersion: v1\nkind: \"\"\n", "'kind' and 'apiVersion'"),
            ("apiVersion: v1\nkind: 3\n", "'kind' and 'apiVersion'"),
            ("- a\n- b\n", "not a valid YAML/JSON object, got: - a"),
            ("", "not a valid YAML/JSON object"),
            ("a: [", "invalid YAML/JSON"),
        ] {
            let err = check_manifest("op/x.json", data.as_bytes()).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("op/x.json: "), "{text}");
            assert!(text.contains(needle), "{data:?}: {text}");
        }
    }

    #[test]
    fn substitutes_from_operator_image_references() {
        let mut release = ImageReferences::new("4.19.0-okd-scos.2", chrono::Utc::now());
        let mut os = TagReference::new("stream-coreos", "quay.io/okd/scos-content@sha256:aa");
        os.set_annotation(
            crate::annotations::BUILD_VERSIONS,
            "machine-os=9.0.20250510-0",
        );
        release.spec.tags.push(os);
        release.spec.tags.push(TagReference::new(
            "machine-config-operator",
            "quay.io/okd/scos-content@sha256:bb",
        ));
        release.spec.tags.push(TagReference::new(
            "unused",
            "quay.io/okd/scos-content@sha256:cc",
        ));
        let refs = "kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n  - name: stream-coreos\n    from:\n      kind: DockerImage\n      name: placeholder.url.oc.will.replace.this.org/placeholdernamespace:stream-coreos\n";
        let manifest = "apiVersion: v1\nkind: ConfigMap\ndata:\n  releaseVersion: 0.0.1-snapshot\n  os: \"placeholder.url.oc.will.replace.this.org/placeholdernamespace:stream-coreos\"\n  osVersion: 0.0.1-snapshot-machine-os\n";
        let ops = [OperatorManifests {
            tag: "machine-config-operator".into(),
            files: vec![
                file(IMAGE_REFERENCES, refs, 9),
                file("0000_80_mco.yaml", manifest, 8),
            ],
        }];
        let merged = merge_operator_manifests(&release, &ops, &MergeOptions::default()).unwrap();
        assert_eq!(merged.files.len(), 1);
        assert_eq!(merged.newest, 9);
        assert_eq!(
            String::from_utf8(merged.files[0].data.clone()).unwrap(),
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  releaseVersion: 4.19.0-okd-scos.2\n  os: \"quay.io/okd/scos-content@sha256:aa\"\n  osVersion: 9.0.20250510-0\n"
        );
        let removed =
            prune_unreferenced(&mut release, &ops, &["cluster-version-operator".into()]).unwrap();
        assert_eq!(removed, ["unused"]);
        assert_eq!(release.spec.tags.len(), 2);
    }

    #[test]
    fn missing_release_tag_is_an_error_unless_allowed() {
        let release = ImageReferences::new("4.19.0", chrono::Utc::now());
        let refs = "kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n  - name: pod\n    from:\n      kind: DockerImage\n      name: example.org/pod\n";
        let ops = [OperatorManifests {
            tag: "op".into(),
            files: vec![file(IMAGE_REFERENCES, refs, 1), file("a.yaml", CM, 1)],
        }];
        let err = merge_operator_manifests(&release, &ops, &MergeOptions::default()).unwrap_err();
        assert!(
            matches!(&err, Error::MissingImageTag { tag, .. } if tag == "pod"),
            "{err}"
        );
        let opts = MergeOptions {
            allow_missing_images: true,
            ..MergeOptions::default()
        };
        assert!(merge_operator_manifests(&release, &ops, &opts).is_ok());
    }
}
