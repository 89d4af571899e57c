//! What the cluster-version operator will apply: `okd-streams release lint`.
//!
//! Every `.yaml`, `.yml` and `.json` file of `release-manifests/` is parsed as the CVO parses it
//! ([`document`]); a file that fails (bad YAML, a document without `kind` or `metadata.name`, a
//! resource twice in one file) makes the CVO refuse the whole payload. Each object is then
//! checked against each cluster profile with the CVO's inclusion rules ([`include`]): applied,
//! or skipped with the reason.
//!
//! A problem is what a cluster would reject or silently drop everywhere: a rejected file, an
//! object with no annotations, an unknown feature set or capability, an invalid major-version
//! annotation, an object no profile includes, and a resource applied twice under one profile.
//! A skip that is a choice (another profile, feature set or major version) is reported, not a
//! problem.
//!
//! ```
//! use okd_release::lint::{lint, LintOptions};
//! let ok = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  annotations:\n    include.release.openshift.io/self-managed-high-availability: \"true\"\n";
//! let bare = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n";
//! let report = lint([("0000_50_a.yaml", &ok[..]), ("0000_50_b.yaml", &bare[..])], &LintOptions::default());
//! assert_eq!(report.problems.len(), 1);
//! assert_eq!(report.problems[0].file, "0000_50_b.yaml");
//! assert_eq!(report.profile("self-managed-high-availability").unwrap().applied.len(), 1);
//! ```

pub mod document;
pub mod include;
pub mod install_config;
mod report;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

pub use document::{Document, FileError, ResourceId, is_manifest_name, parse_file};
pub use include::{Cluster, PROFILES, Skip, SkipKind};
pub use install_config::InstallConfig;
pub use report::{Entry, LintReport, Problem, ProblemKind, ProfileReport, Skipped};

use crate::Error;

/// The clusters manifests are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintOptions {
    /// Cluster profiles (default: all four).
    pub profiles: Vec<String>,
    /// The feature set (default `Default`).
    pub feature_set: String,
    /// The release's major version (from its release-metadata), when known.
    pub major_version: Option<u64>,
    /// Enabled capabilities; `None` only checks that capabilities are known, as the CVO does
    /// when it loads a payload.
    pub enabled_capabilities: Option<BTreeSet<String>>,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            profiles: PROFILES.iter().map(|p| p.to_string()).collect(),
            feature_set: "Default".to_string(),
            major_version: None,
            enabled_capabilities: None,
        }
    }
}

impl LintOptions {
    fn cluster(&self, profile: &str) -> Cluster {
        Cluster {
            profile: profile.to_string(),
            feature_set: self.feature_set.clone(),
            major_version: self.major_version,
            enabled_capabilities: self.enabled_capabilities.clone(),
        }
    }
}

/// Lints `files` (name inside `release-manifests/`, contents). Names the CVO does not load are
/// ignored; files are taken in name order, as the CVO reads its directory.
pub fn lint<'a, I>(files: I, options: &LintOptions) -> LintReport
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    let mut files: Vec<(&str, &[u8])> = files
        .into_iter()
        .filter(|(n, _)| is_manifest_name(n))
        .collect();
    files.sort_by(|a, b| a.0.cmp(b.0));
    let mut report = LintReport::new(options.profiles.iter().map(String::as_str));
    let mut parsed = Vec::new();
    for (name, data) in files {
        report.files += 1;
        match parse_file(data) {
            Ok(docs) => parsed.push((name, docs)),
            Err(e) => report.problems.push(Problem::rejected(name, &e)),
        }
    }
    for (file, docs) in &parsed {
        for doc in docs {
            report.manifests += 1;
            check_document(&mut report, options, file, doc);
        }
    }
    report.duplicates_per_profile();
    report
}

fn check_document(report: &mut LintReport, options: &LintOptions, file: &str, doc: &Document) {
    let mut skips = Vec::new();
    for p in &mut report.profiles {
        match include::include(doc, &options.cluster(&p.profile)) {
            Ok(()) => p.applied.push(Entry::new(file, &doc.id)),
            Err(skip) => {
                p.skipped.push(Skipped::new(file, &doc.id, &skip));
                skips.push(skip);
            }
        }
    }
    let dropped_everywhere =
        skips.len() == report.profiles.len() && skips.iter().all(|s| s.kind == SkipKind::Profile);
    if let Some(defect) = skips.iter().find(|s| s.kind.is_defect()) {
        report
            .problems
            .push(Problem::skipped(file, &doc.id, defect));
    } else if dropped_everywhere && !skips.is_empty() {
        report.problems.push(Problem::not_included(file, &doc.id));
    }
}

/// Lints the manifest files of directory `dir` (an extracted `release-manifests/`).
pub fn lint_dir(dir: &Path, options: &LintOptions) -> Result<LintReport, Error> {
    let files = read_dir(dir)?;
    Ok(lint(
        files.iter().map(|(n, d)| (n.as_str(), d.as_slice())),
        options,
    ))
}

/// Lints a payload's files for release `major` (what `release new` runs before it writes).
pub fn lint_payload(files: &[crate::merge::PayloadFile], major: u64) -> LintReport {
    let options = LintOptions {
        major_version: Some(major),
        ..LintOptions::default()
    };
    lint(
        files.iter().map(|f| (f.name.as_str(), f.data.as_slice())),
        &options,
    )
}

/// The manifest files of `dir`, by name.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let io = |e: std::io::Error| Error::Layer {
        what: dir.display().to_string(),
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_manifest_name(&name) || !entry.file_type().map_err(io)?.is_file() {
            continue;
        }
        out.push((name, std::fs::read(entry.path()).map_err(io)?));
    }
    out.sort();
    Ok(out)
}

/// The documents of `data` a cluster of `cluster` applies (what `release extract --included`
/// keeps), or the file's rejection.
pub fn included_documents(data: &[u8], cluster: &Cluster) -> Result<Vec<Document>, FileError> {
    Ok(parse_file(data)?
        .into_iter()
        .filter(|d| include::include(d, cluster).is_ok())
        .collect())
}

/// Resources applied more than once under one profile, with the files that hold them.
pub(crate) fn duplicates(entries: &[Entry]) -> Vec<(ResourceId, String, String)> {
    let mut first: HashMap<&ResourceId, &str> = HashMap::new();
    let mut out = Vec::new();
    for e in entries {
        match first.get(&e.resource) {
            Some(f) => out.push((e.resource.clone(), f.to_string(), e.file.clone())),
            None => {
                first.insert(&e.resource, &e.file);
            }
        }
    }
    out
}

/// What [`keep_included`] did to a directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filtered {
    /// Manifest files kept whole.
    pub kept: usize,
    /// Manifest files rewritten with only their applied documents.
    pub rewritten: usize,
    /// Files removed (nothing applied, or not a manifest).
    pub removed: usize,
}

/// Leaves in `dir` (an extracted `release-manifests/`) only what a cluster of `cluster`
/// applies, besides `image-references` and `release-metadata`. A file whose every document is
/// applied keeps its bytes; a file with some is rewritten as YAML documents, each after a
/// `---` line, as `oc adm release extract` writes them. A file the CVO would refuse fails,
/// naming it.
pub fn keep_included(dir: &Path, cluster: &Cluster) -> Result<Filtered, Error> {
    let io = |path: &Path, e: std::io::Error| Error::Layer {
        what: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut done = Filtered::default();
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name == "image-references" || name == "release-metadata" {
            continue;
        }
        if !is_manifest_name(&name) {
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            done.removed += 1;
            continue;
        }
        let data = std::fs::read(&path).map_err(|e| io(&path, e))?;
        let all = parse_file(&data).map_err(|e| Error::InvalidManifest {
            file: name.clone(),
            reason: e.to_string(),
        })?;
        let kept: Vec<&Document> = all
            .iter()
            .filter(|d| include::include(d, cluster).is_ok())
            .collect();
        if kept.len() == all.len() {
            done.kept += 1;
        } else if kept.is_empty() {
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            done.removed += 1;
        } else {
            let mut text = String::new();
            for d in kept {
                text.push_str("---\n");
                text.push_str(&serde_yaml_ng::to_string(&d.object).map_err(|e| {
                    Error::InvalidManifest {
                        file: name.clone(),
                        reason: e.to_string(),
                    }
                })?);
            }
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
            done.rewritten += 1;
        }
    }
    Ok(done)
}
