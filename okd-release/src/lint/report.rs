//! The lint report: problems, and per profile what is applied and what is skipped.

use std::fmt::Write as _;

use super::document::{FileError, ResourceId};
use super::include::Skip;

/// One manifest object: its file and identity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// File name inside `release-manifests/`.
    pub file: String,
    /// The resource.
    pub resource: ResourceId,
}

impl Entry {
    pub(crate) fn new(file: &str, id: &ResourceId) -> Entry {
        Entry {
            file: file.to_string(),
            resource: id.clone(),
        }
    }
}

/// A manifest a profile skips.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// File name inside `release-manifests/`.
    pub file: String,
    /// The resource.
    pub resource: ResourceId,
    /// Why.
    #[serde(flatten)]
    pub skip: Skip,
}

impl Skipped {
    pub(crate) fn new(file: &str, id: &ResourceId, skip: &Skip) -> Skipped {
        Skipped {
            file: file.to_string(),
            resource: id.clone(),
            skip: skip.clone(),
        }
    }
}

/// What one cluster profile applies and skips.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProfileReport {
    /// The profile.
    pub profile: String,
    /// Applied manifests, in the order the CVO reads them.
    pub applied: Vec<Entry>,
    /// Skipped manifests and why.
    pub skipped: Vec<Skipped>,
}

/// The kind of a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The file does not parse as the CVO parses it: the payload is refused.
    Parse,
    /// A document without `metadata.name`: the payload is refused.
    MissingName,
    /// A resource twice in one file (the payload is refused) or applied twice under a profile.
    Duplicate,
    /// An object every cluster drops (no annotations, unknown feature set or capability,
    /// invalid major-version annotation).
    Dropped,
    /// An object no cluster profile includes.
    NotIncluded,
}

/// Something a cluster would reject or drop.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// File name inside `release-manifests/`.
    pub file: String,
    /// The resource, when the problem is one object's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceId>,
    /// The kind.
    pub kind: ProblemKind,
    /// The reason.
    pub reason: String,
}

impl Problem {
    pub(crate) fn rejected(file: &str, e: &FileError) -> Problem {
        let kind = match e {
            FileError::Parse(_) => ProblemKind::Parse,
            FileError::MissingName(_) => ProblemKind::MissingName,
            FileError::Duplicate(_) => ProblemKind::Duplicate,
        };
        Problem {
            file: file.to_string(),
            resource: match e {
                FileError::Duplicate(id) => Some(id.clone()),
                _ => None,
            },
            kind,
            reason: format!("the payload is refused: {e}"),
        }
    }

    pub(crate) fn skipped(file: &str, id: &ResourceId, skip: &Skip) -> Problem {
        Problem {
            file: file.to_string(),
            resource: Some(id.clone()),
            kind: ProblemKind::Dropped,
            reason: format!("dropped by every cluster: {}", skip.reason),
        }
    }

    pub(crate) fn not_included(file: &str, id: &ResourceId) -> Problem {
        Problem {
            file: file.to_string(),
            resource: Some(id.clone()),
            kind: ProblemKind::NotIncluded,
            reason: "no cluster profile includes it (no include.release.openshift.io/<profile>: \"true\")".to_string(),
        }
    }
}

/// What [`lint`](super::lint) found. See the [module docs](super).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LintReport {
    /// Manifest files read.
    pub files: usize,
    /// Objects in the files that parsed.
    pub manifests: usize,
    /// What a cluster would reject or drop.
    pub problems: Vec<Problem>,
    /// Per profile, what is applied and skipped.
    pub profiles: Vec<ProfileReport>,
}

impl LintReport {
    pub(crate) fn new<'a>(profiles: impl Iterator<Item = &'a str>) -> LintReport {
        LintReport {
            files: 0,
            manifests: 0,
            problems: Vec::new(),
            profiles: profiles
                .map(|p| ProfileReport {
                    profile: p.to_string(),
                    applied: Vec::new(),
                    skipped: Vec::new(),
                })
                .collect(),
        }
    }

    pub(crate) fn duplicates_per_profile(&mut self) {
        let mut found = Vec::new();
        for p in &self.profiles {
            for (id, first, again) in super::duplicates(&p.applied) {
                found.push(Problem {
                    file: again,
                    resource: Some(id.clone()),
                    kind: ProblemKind::Duplicate,
                    reason: format!(
                        "duplicate resource: {id}, also in {first}; profile {} applies both",
                        p.profile
                    ),
                });
            }
        }
        // One problem per pair of files, whichever profiles share it.
        found.sort_by(|a, b| (&a.file, &a.resource).cmp(&(&b.file, &b.resource)));
        found.dedup_by(|a, b| a.file == b.file && a.resource == b.resource);
        self.problems.extend(found);
    }

    /// True when nothing would be rejected or dropped.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report of `profile`.
    pub fn profile(&self, profile: &str) -> Option<&ProfileReport> {
        self.profiles.iter().find(|p| p.profile == profile)
    }

    /// The problems as `FILE: [RESOURCE: ]REASON` lines.
    pub fn problem_lines(&self) -> Vec<String> {
        self.problems
            .iter()
            .map(|p| match &p.resource {
                Some(r) => format!("{}: {r}: {}", p.file, p.reason),
                None => format!("{}: {}", p.file, p.reason),
            })
            .collect()
    }

    /// The text `release lint` prints: problems, then per profile the counts and the skips.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} files, {} manifests, {} problems",
            self.files,
            self.manifests,
            self.problems.len()
        );
        for line in self.problem_lines() {
            let _ = writeln!(out, "error: {line}");
        }
        for p in &self.profiles {
            let _ = writeln!(
                out,
                "\nProfile {}: {} applied, {} skipped",
                p.profile,
                p.applied.len(),
                p.skipped.len()
            );
            for s in &p.skipped {
                let _ = writeln!(out, "  skip {} {}: {}", s.file, s.resource, s.skip.reason);
            }
        }
        out
    }

    /// The JSON document of `release lint -o json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
