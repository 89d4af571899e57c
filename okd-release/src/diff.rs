//! The difference between two releases: what `oc adm release info A B` reports.
//!
//! Components whose pullspec differs are *changed* when both know their source commit and the
//! commits differ, and *rebuilt* otherwise; components only in B are *added*, only in A
//! *removed*. "Upgrade from" says whether A's version is in B's `previous` list. Component
//! versions and manifest files are compared too. The text rendering follows `oc`'s layout; the
//! JSON rendering is the serde form of [`ReleaseDiff`].
//!
//! ```
//! # fn demo(a: &okd_release::Release, b: &okd_release::Release) {
//! use okd_release::ReleaseDiff;
//! let diff = ReleaseDiff::between(a, b);
//! println!("{}", diff.to_text(chrono::Utc::now(), true));
//! for c in &diff.changed {
//!     println!("{} {}", c.name, c.compare_url.as_deref().unwrap_or("-"));
//! }
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Release;
use crate::info::commit_url;
use crate::load::Component;
use crate::tabwriter::TabWriter;

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSide {
    /// Release name.
    pub name: String,
    /// Pullspec by digest.
    pub pull_spec: String,
    /// Digest users pull by.
    pub digest: String,
    /// Creation time.
    pub created: Option<DateTime<Utc>>,
    /// `os/arch` or `multi (os/arch)`.
    pub platform: String,
    /// The release-metadata version, when the release has metadata.
    pub metadata_version: Option<String>,
}

/// A component present in both releases with different pullspecs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageChange {
    /// The tag.
    pub name: String,
    /// Pullspec in the first release.
    pub from_pullspec: String,
    /// Pullspec in the second release.
    pub to_pullspec: String,
    /// Source commit in the first release.
    pub from_commit: Option<String>,
    /// Source commit in the second release.
    pub to_commit: Option<String>,
    /// Source repository in the first release.
    pub from_source: Option<String>,
    /// Source repository in the second release.
    pub to_source: Option<String>,
    /// `<source>/compare/<old>...<new>` when both commits are known, the repository is the
    /// same GitHub repository and the commits differ.
    pub compare_url: Option<String>,
}

/// A component present in only one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageOnlyIn {
    /// The tag.
    pub name: String,
    /// Its pullspec.
    pub pullspec: String,
    /// Its source commit.
    pub commit: Option<String>,
    /// Its source repository.
    pub source: Option<String>,
}

/// A component version that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionChange {
    /// The component (`kubernetes`, `machine-os`).
    pub component: String,
    /// Its display name, if any.
    pub display_name: String,
    /// Version in the first release.
    pub from: Option<String>,
    /// Version in the second release.
    pub to: Option<String>,
}

/// Manifest files that differ.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestChanges {
    /// In both, with different contents.
    pub changed: Vec<String>,
    /// Only in the second release.
    pub added: Vec<String>,
    /// Only in the first release.
    pub removed: Vec<String>,
}

/// The difference between two releases. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseDiff {
    /// The first release.
    pub from: DiffSide,
    /// The second release.
    pub to: DiffSide,
    /// True when both have the same digest.
    pub identical: bool,
    /// Whether the first release's version is in the second's `previous`; `None` when either
    /// release has no metadata.
    pub upgrade_from: Option<bool>,
    /// Components with a different source commit.
    pub changed: Vec<ImageChange>,
    /// Components with a different image but the same (or an unknown) commit.
    pub rebuilt: Vec<ImageChange>,
    /// Components only in the second release.
    pub added: Vec<ImageOnlyIn>,
    /// Components only in the first release.
    pub removed: Vec<ImageOnlyIn>,
    /// Component versions that differ.
    pub component_versions: Vec<VersionChange>,
    /// Manifest files that differ.
    pub manifests: ManifestChanges,
}

fn side(r: &Release) -> DiffSide {
    DiffSide {
        name: r.name.clone(),
        pull_spec: r.pull_spec.clone(),
        digest: r.pull_digest().to_string(),
        created: r.created(),
        platform: r.platform(),
        metadata_version: r.metadata.as_ref().map(|m| m.version.clone()),
    }
}

fn only_in(c: &Component) -> ImageOnlyIn {
    ImageOnlyIn {
        name: c.name.clone(),
        pullspec: c.pullspec.clone(),
        commit: c.commit().map(str::to_string),
        source: c.source_location().map(str::to_string),
    }
}

/// `<repo>/compare/<from>...<to>` for a GitHub repository, else `<repo> <from> <to>`.
pub fn compare_url(repo: &str, from: &str, to: &str) -> String {
    if repo.starts_with("https://github.com/") {
        format!("{}/compare/{from}...{to}", repo.trim_end_matches('/'))
    } else {
        format!("{repo} {from} {to}")
    }
}

impl ReleaseDiff {
    /// Compares `from` with `to`.
    pub fn between(from: &Release, to: &Release) -> ReleaseDiff {
        let mut diff = ReleaseDiff {
            from: side(from),
            to: side(to),
            identical: from.pull_digest() == to.pull_digest(),
            upgrade_from: match (&from.metadata, &to.metadata) {
                (Some(f), Some(t)) => Some(t.upgrades_from(&f.version)),
                _ => None,
            },
            changed: Vec::new(),
            rebuilt: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
            component_versions: Vec::new(),
            manifests: ManifestChanges::default(),
        };
        let names: BTreeSet<&String> = from.components.keys().chain(to.components.keys()).collect();
        for name in names {
            match (from.components.get(name), to.components.get(name)) {
                (Some(a), Some(b)) if a.pullspec != b.pullspec => {
                    let (ca, cb) = (a.commit(), b.commit());
                    let code_changed = matches!((ca, cb), (Some(x), Some(y)) if x != y);
                    let compare = match (a.source_location(), b.source_location(), ca, cb) {
                        (Some(ra), Some(rb), Some(x), Some(y))
                            if ra == rb && x != y && ra.starts_with("https://github.com/") =>
                        {
                            Some(compare_url(rb, x, y))
                        }
                        _ => None,
                    };
                    let change = ImageChange {
                        name: name.clone(),
                        from_pullspec: a.pullspec.clone(),
                        to_pullspec: b.pullspec.clone(),
                        from_commit: ca.map(str::to_string),
                        to_commit: cb.map(str::to_string),
                        from_source: a.source_location().map(str::to_string),
                        to_source: b.source_location().map(str::to_string),
                        compare_url: compare,
                    };
                    if code_changed {
                        diff.changed.push(change);
                    } else {
                        diff.rebuilt.push(change);
                    }
                }
                (Some(_), Some(_)) => {}
                (None, Some(b)) => diff.added.push(only_in(b)),
                (Some(a), None) => diff.removed.push(only_in(a)),
                (None, None) => {}
            }
        }
        let keys: BTreeSet<&String> = from
            .component_versions
            .0
            .keys()
            .chain(to.component_versions.0.keys())
            .collect();
        for key in keys {
            let a = from.component_versions.get(key);
            let b = to.component_versions.get(key);
            let (va, vb) = (a.map(|v| v.version.clone()), b.map(|v| v.version.clone()));
            if va != vb {
                diff.component_versions.push(VersionChange {
                    component: key.clone(),
                    display_name: b.or(a).map(|v| v.display_name.clone()).unwrap_or_default(),
                    from: va,
                    to: vb,
                });
            }
        }
        let fm: BTreeMap<&String, &okd_oci::Digest> = from
            .manifests
            .iter()
            .map(|f| (&f.name, &f.digest))
            .collect();
        let tm: BTreeMap<&String, &okd_oci::Digest> =
            to.manifests.iter().map(|f| (&f.name, &f.digest)).collect();
        for (name, d) in &fm {
            match tm.get(name) {
                Some(e) if e != d => diff.manifests.changed.push((*name).clone()),
                Some(_) => {}
                None => diff.manifests.removed.push((*name).clone()),
            }
        }
        for name in tm.keys().filter(|n| !fm.contains_key(*n)) {
            diff.manifests.added.push((*name).clone());
        }
        diff
    }

    /// The JSON form, indented.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| unreachable!("diff: {e}"))
    }

    /// The text `oc adm release info A B` prints (`--commits` when `commits`), with ages
    /// relative to `now`. Component-version changes, which `oc` shows only in changelogs, are
    /// listed in their own section.
    pub fn to_text(&self, now: DateTime<Utc>, commits: bool) -> String {
        if self.identical {
            return "Releases are identical\n".to_string();
        }
        let mut w = TabWriter::new(2);
        w.write("\tFROM\tTO\n");
        w.write(&format!("Name:\t{}\t{}\n", self.from.name, self.to.name));
        w.write(&format!(
            "Created:\t{}\t{}\n",
            age(now, self.from.created),
            age(now, self.to.created)
        ));
        if self.from.platform != self.to.platform {
            w.write(&format!(
                "OS/Arch:\t{}\t{}\n",
                self.from.platform, self.to.platform
            ));
        }
        match (&self.from.metadata_version, &self.to.metadata_version) {
            (Some(a), Some(b)) => {
                w.write(&format!("\nVersion:\t{a}\t{b}\n"));
                let yes = if self.upgrade_from == Some(true) {
                    "Yes"
                } else {
                    "No"
                };
                w.write(&format!("Upgrade From:\t\t{yes}\n"));
            }
            (Some(_), None) => w.write("Has Release Metadata:\tYes\t\n"),
            (None, Some(_)) => w.write("Has Release Metadata:\t\tYes\n"),
            (None, None) => {}
        }
        if !self.component_versions.is_empty() {
            let mut s = TabWriter::new(1);
            s.write("\nComponent Versions:\n");
            for v in &self.component_versions {
                s.write(&format!(
                    "  {}\t{}\t{}\n",
                    v.component,
                    v.from.as_deref().unwrap_or("-"),
                    v.to.as_deref().unwrap_or("-")
                ));
            }
            w.write(&s.finish());
        }

        let max = self
            .changed
            .iter()
            .chain(&self.rebuilt)
            .map(|c| c.name.len())
            .chain(self.added.iter().chain(&self.removed).map(|c| c.name.len()))
            .max()
            .unwrap_or(0);
        let justify = |s: &str| format!("{s:<max$}");
        for (title, list) in [
            ("Images Changed", &self.changed),
            ("Images Rebuilt", &self.rebuilt),
        ] {
            if list.is_empty() {
                continue;
            }
            let mut s = TabWriter::new(1);
            s.write(&format!("\n{title}:\n"));
            for c in list {
                let (old, new) = (
                    digest_or_ref(&c.from_pullspec),
                    digest_or_ref(&c.to_pullspec),
                );
                if old == new {
                    continue;
                }
                if commits {
                    s.write(&format!("  {}\t{}\n", justify(&c.name), commit_text(c)));
                } else {
                    s.write(&format!("  {}\t{old}\t{new}\n", justify(&c.name)));
                }
            }
            w.write(&s.finish());
        }
        if !self.added.is_empty() {
            let mut s = TabWriter::new(1);
            s.write("\nImages Added:\n");
            for c in &self.added {
                let what = if commits {
                    match (&c.source, &c.commit) {
                        (Some(r), Some(id)) => commit_url(r, id),
                        _ => "<unknown>".to_string(),
                    }
                } else {
                    digest_or_ref(&c.pullspec).to_string()
                };
                s.write(&format!("  {}\t{what}\n", justify(&c.name)));
            }
            w.write(&s.finish());
        }
        if !self.removed.is_empty() {
            let mut s = TabWriter::new(1);
            s.write("\nImages Removed:\n");
            for c in &self.removed {
                s.write(&format!("  {}\n", justify(&c.name)));
            }
            w.write(&s.finish());
        }
        w.write("\n");
        w.finish()
    }
}

/// The digest of a pullspec, or the pullspec when it has none.
fn digest_or_ref(pullspec: &str) -> &str {
    match pullspec.rsplit_once('@') {
        Some((_, d)) if d.contains(':') => d,
        _ => pullspec,
    }
}

/// `oc`'s `gitDiffOrCommit`.
fn commit_text(c: &ImageChange) -> String {
    let (Some(new_repo), Some(new_commit)) = (&c.to_source, &c.to_commit) else {
        return "<unknown>".to_string();
    };
    let old_repo = c.from_source.as_deref().unwrap_or("");
    let old_commit = c.from_commit.as_deref().unwrap_or("");
    if old_repo == new_repo {
        if old_commit == new_commit {
            return commit_url(new_repo, new_commit);
        }
        return compare_url(new_repo, old_commit, new_commit);
    }
    if old_commit.is_empty() {
        return format!(
            "{old_repo} <unknown> -> {}",
            commit_url(new_repo, new_commit)
        );
    }
    if old_commit == new_commit {
        return format!("{old_repo} -> {}", commit_url(new_repo, new_commit));
    }
    format!(
        "{} -> {}",
        commit_url(old_repo, old_commit),
        commit_url(new_repo, new_commit)
    )
}

/// Kubernetes' `ShortHumanDuration` of `now - t`.
pub(crate) fn age(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> String {
    let Some(t) = t else {
        // Go's zero time is two thousand years ago.
        return format!("{}y", (now.timestamp() + 62_135_596_800) / 86_400 / 365);
    };
    let seconds = (now - t).num_seconds();
    if seconds < -1 {
        "<invalid>".to_string()
    } else if seconds < 0 {
        "0s".to_string()
    } else if seconds < 60 {
        format!("{seconds}s")
    } else if seconds < 3600 {
        format!("{}m", seconds / 60)
    } else if seconds < 86_400 {
        format!("{}h", seconds / 3600)
    } else if seconds < 86_400 * 365 {
        format!("{}d", seconds / 86_400)
    } else {
        format!("{}y", seconds / 86_400 / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ages() {
        let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
        let ago = |s: i64| Some(now - chrono::Duration::seconds(s));
        assert_eq!(age(now, ago(5)), "5s");
        assert_eq!(age(now, ago(125)), "2m");
        assert_eq!(age(now, ago(7200)), "2h");
        assert_eq!(age(now, ago(86_400 * 3)), "3d");
        assert_eq!(age(now, ago(86_400 * 800)), "2y");
        assert_eq!(age(now, ago(-1)), "0s");
        assert_eq!(age(now, ago(-5)), "<invalid>");
    }

    #[test]
    fn compare_links() {
        assert_eq!(
            compare_url("https://github.com/openshift/oc/", "a", "b"),
            "https://github.com/openshift/oc/compare/a...b"
        );
        assert_eq!(
            compare_url("https://example.com/x", "a", "b"),
            "https://example.com/x a b"
        );
        assert_eq!(digest_or_ref("q.io/a@sha256:12"), "sha256:12");
        assert_eq!(digest_or_ref("q.io/a:t"), "q.io/a:t");
    }
}
