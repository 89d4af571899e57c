//! The text `oc adm release info` prints for one release.
//!
//! ```text
//! Name:           4.12.23
//! Digest:         sha256:2309…
//! Created:        2023-06-29T18:29:05Z
//! OS/Arch:        linux/amd64
//! Manifests:      647
//! Metadata files: 1
//!
//! Pull From: quay.io/openshift-release-dev/ocp-release@sha256:2309…
//!
//! Manifest List: sha256:41a5…          (a manifest list only)
//!   linux/amd64    sha256:2309… (shown)
//!   linux/arm64/v8 sha256:9c1e…
//!
//! Release Metadata:
//!   Version:  4.12.23
//!   Upgrades: 4.11.43, 4.12.22
//!   Metadata:
//!     url: https://access.redhat.com/errata/…
//!
//! Component Versions:
//!   kubernetes 1.25.10
//!   machine-os 412.86.202306132230-0 Red Hat Enterprise Linux CoreOS
//!
//! Images:
//!   NAME                 DIGEST
//!   agent-installer-api  sha256:…
//! ```
//!
//! [`ReleaseInfo`] is the JSON document `oc adm release info -o json` prints;
//! [`InfoDocument`] is okd-streams' own, flatter one.

mod document;
mod release_info;

pub use document::InfoDocument;
pub use release_info::ReleaseInfo;

use chrono::SecondsFormat;
use serde_json::Value;

use crate::Release;
use crate::gojson::go_sprint;
use crate::tabwriter::TabWriter;

/// What the `Images:` table of [`Release::describe`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageColumns {
    /// Tag and digest (`oc adm release info`).
    #[default]
    Digest,
    /// Tag and pullspec (`--pullspecs`).
    PullSpec,
    /// Tag, repository and commit (`--commits`).
    Commit,
    /// Tag and commit URL (`--commit-urls`).
    CommitUrl,
}

/// Sorts versions as semantic versions, or returns them as they are if one does not parse.
pub(crate) fn sort_semantic(versions: &[String]) -> Vec<String> {
    let parsed: Result<Vec<semver::Version>, _> =
        versions.iter().map(|v| semver::Version::parse(v)).collect();
    match parsed {
        Ok(mut v) => {
            v.sort();
            v.iter().map(ToString::to_string).collect()
        }
        Err(_) => versions.to_vec(),
    }
}

/// The URL of `commit` in `repo` for a GitHub repository, else `repo commit`.
pub(crate) fn commit_url(repo: &str, commit: &str) -> String {
    match repo.strip_prefix("https://github.com/") {
        Some(path) => format!(
            "https://github.com/{}/commit/{commit}",
            path.trim_end_matches('/')
        ),
        None => format!("{repo} {commit}"),
    }
}

impl Release {
    /// The text `oc adm release info` prints, with the given image table.
    pub fn describe(&self, columns: ImageColumns) -> String {
        let mut w = TabWriter::new(1);
        w.write(&format!("Name:\t{}\n", self.name));
        w.write(&format!("Digest:\t{}\n", self.pull_digest()));
        let created = self
            .created()
            .map(|c| c.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
        w.write(&format!("Created:\t{created}\n"));
        w.write(&format!("OS/Arch:\t{}\n", self.platform()));
        w.write(&format!("Manifests:\t{}\n", self.manifests.len()));
        if !self.other_files.is_empty() {
            w.write(&format!("Metadata files:\t{}\n", self.other_files.len()));
        }
        w.write("\n");
        w.write(&format!("Pull From:\t{}\n", self.pull_spec));
        w.write(&self.describe_list());

        if let Some(m) = &self.metadata {
            w.write("\nRelease Metadata:\n");
            w.write(&format!("  Version:\t{}\n", m.version));
            if m.previous().is_empty() {
                w.write("  Upgrades:\t<none>\n");
            } else {
                w.write(&format!(
                    "  Upgrades:\t{}\n",
                    sort_semantic(m.previous()).join(", ")
                ));
            }
            let mut section = TabWriter::new(1);
            section.write("  Metadata:\n");
            for (k, v) in &m.metadata {
                let empty = match v {
                    Value::String(s) => s.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                if !empty {
                    section.write(&format!("    {k}:\t{}\n", go_sprint(v)));
                }
            }
            w.write(&section.finish());
        }
        if !self.component_versions.is_empty() {
            w.write("\nComponent Versions:\n");
            for (k, v) in self.component_versions.iter() {
                w.write(&format!("  {k}\t{}\t{}\n", v.version, v.display_name));
            }
        }

        let mut images = TabWriter::new(1);
        images.write("\nImages:\n");
        let tags = self
            .references
            .tags()
            .iter()
            .filter_map(|t| t.pullspec().map(|p| (t, p)));
        match columns {
            ImageColumns::Digest => {
                images.write("  NAME\tDIGEST\n");
                for (tag, pullspec) in tags {
                    let id = self
                        .components
                        .get(&tag.name)
                        .map(|c| c.digest.to_string())
                        .unwrap_or_else(|| pullspec.to_string());
                    images.write(&format!("  {}\t{id}\n", tag.name));
                }
            }
            ImageColumns::PullSpec => {
                images.write("  NAME\tPULL SPEC\n");
                for (tag, pullspec) in tags {
                    images.write(&format!("  {}\t{pullspec}\n", tag.name));
                }
            }
            ImageColumns::Commit => {
                images.write("  NAME\tREPO\tCOMMIT\t\n");
                for (tag, _) in tags {
                    images.write(&format!(
                        "  {}\t{}\t{}\n",
                        tag.name,
                        tag.source_location().unwrap_or(""),
                        tag.commit().unwrap_or("")
                    ));
                }
            }
            ImageColumns::CommitUrl => {
                images.write("  NAME\tURL\t\n");
                for (tag, _) in tags {
                    let url = commit_url(
                        tag.source_location().unwrap_or(""),
                        tag.commit().unwrap_or(""),
                    );
                    images.write(&format!("  {}\t{url}\n", tag.name));
                }
            }
        }
        w.write(&images.finish());
        if !self.warnings.is_empty() {
            let mut section = TabWriter::new(1);
            section.write("\nWarnings:\n");
            for warning in &self.warnings {
                section.write(&format!("* {warning}\n"));
            }
            w.write(&section.finish());
        }
        w.write("\n");
        w.finish()
    }
}

impl Release {
    /// The `Manifest List:` section: the list digest and each entry's platform and digest, the
    /// one shown marked; empty for a single image.
    fn describe_list(&self) -> String {
        let Some(list) = &self.list_digest else {
            return String::new();
        };
        let mut w = TabWriter::new(1);
        w.write(&format!("\nManifest List:\t{list}\n"));
        for child in &self.list_children {
            let shown = if child.digest == self.digest {
                " (shown)"
            } else {
                ""
            };
            w.write(&format!("  {}\t{}{shown}\n", child.platform, child.digest));
        }
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantic_sort_falls_back() {
        let v = [
            "4.16.9".to_string(),
            "4.16.10".to_string(),
            "4.15.18".to_string(),
        ];
        assert_eq!(sort_semantic(&v), ["4.15.18", "4.16.9", "4.16.10"]);
        let bad = ["b".to_string(), "a".to_string()];
        assert_eq!(sort_semantic(&bad), ["b", "a"]);
    }

    #[test]
    fn commit_urls() {
        assert_eq!(
            commit_url("https://github.com/openshift/os", "abc"),
            "https://github.com/openshift/os/commit/abc"
        );
        assert_eq!(
            commit_url("https://gitlab.com/x", "abc"),
            "https://gitlab.com/x abc"
        );
    }
}
