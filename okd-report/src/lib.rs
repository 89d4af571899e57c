#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod convert;
mod html;
mod model;
mod svg;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use model::{
    Attempt, AttemptState, DiffSide, DiffSummary, Gate, ImageChange, ImageOnlyIn, JobEntry,
    JobResult, ManifestChanges, Phase, ReleaseEntry, ReportModel, UpgradeEdge, VersionChange,
};

/// The upgrade graph as a standalone SVG document, drawn as the report pages draw it:
/// `releases` with their phase where known (`None`: a release of another stream, or an
/// upstream), and every release `edges` name.
///
/// ```
/// use okd_report::{Phase, UpgradeEdge, graph_svg};
/// let edges = [UpgradeEdge { from: "4.19.0-okd-scos.1".into(), to: "4.19.0-okd-scos.2".into(), success: 1, failure: 0 }];
/// let svg = graph_svg(&[("4.19.0-okd-scos.2", Some(Phase::Accepted))], &edges);
/// assert!(svg.contains("<svg") && svg.contains("4.19.0-okd-scos.1"));
/// ```
pub fn graph_svg(releases: &[(&str, Option<Phase>)], edges: &[UpgradeEdge]) -> String {
    svg::document(releases, edges)
}

/// Errors of [`write()`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two releases with one name.
    #[error("release {name:?} appears twice in the report")]
    DuplicateRelease {
        /// The name.
        name: String,
    },
    /// Writing a file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The file name of a release's page: `release-<name>.html`, with characters other than
/// letters, digits, `.`, `_` and `-` replaced by `_`.
pub fn page_name(release: &str) -> String {
    let safe: String = release
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("release-{safe}.html")
}

/// Every page of the report: (file name, HTML), the index first.
pub fn render(model: &ReportModel) -> Result<Vec<(String, String)>, Error> {
    let mut seen = BTreeSet::new();
    let mut pages = html::Pages::new();
    let mut taken = BTreeSet::new();
    for r in &model.releases {
        if !seen.insert(r.name.as_str()) {
            return Err(Error::DuplicateRelease {
                name: r.name.clone(),
            });
        }
        // Names differing only in replaced characters still get pages of their own.
        let mut file = page_name(&r.name);
        let mut n = 2;
        while !taken.insert(file.clone()) {
            file = page_name(&format!("{}-{n}", r.name));
            n += 1;
        }
        pages.insert(r.name.as_str(), file);
    }
    let mut out = vec![(
        "index.html".to_string(),
        html::index(model, &pages).into_string(),
    )];
    for r in &model.releases {
        out.push((
            pages[r.name.as_str()].clone(),
            html::release_page(model, r, &pages).into_string(),
        ));
    }
    Ok(out)
}

/// Writes the report into `out_dir` (created when missing) and returns the files written: the
/// index first, then a page per release. Each file is written to a temporary file and renamed
/// into place, so a browser never shows half a page.
///
/// Blocking file I/O: call it from `spawn_blocking` in async code.
pub fn write(model: &ReportModel, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let pages = render(model)?;
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(pages.len());
    for (name, text) in pages {
        let path = out_dir.join(name);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".okd-streams-")
            .tempfile_in(out_dir)
            .map_err(io)?;
        tmp.write_all(text.as_bytes()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn release(name: &str, phase: Phase) -> ReleaseEntry {
        let t = Utc.with_ymd_and_hms(2025, 1, 30, 3, 25, 25).unwrap();
        ReleaseEntry::new(name, phase, t, format!("quay.io/okd/scos-release:{name}"))
    }

    #[test]
    fn signed_releases_are_marked() {
        let mut m = ReportModel::new("s");
        m.releases
            .push(release("4.19.0-okd-scos.1", Phase::Accepted));
        m.releases
            .push(release("4.19.0-okd-scos.2", Phase::Accepted));
        m.record_signature("4.19.0-okd-scos.2");
        let pages = render(&m).unwrap();
        let index = &pages.iter().find(|(n, _)| n == "index.html").unwrap().1;
        let row = |name: &str| {
            let at = index
                .find(&format!("<tr class=\"release\" data-release=\"{name}\""))
                .unwrap();
            let end = index[at..].find("</tr>").unwrap();
            index[at..at + end].to_string()
        };
        assert!(
            row("4.19.0-okd-scos.2").contains(">signed<"),
            "{}",
            row("4.19.0-okd-scos.2")
        );
        assert!(!row("4.19.0-okd-scos.1").contains(">signed<"));
        let page = pages
            .iter()
            .find(|(n, h)| n != "index.html" && h.contains("4.19.0-okd-scos.2"))
            .unwrap();
        assert!(page.1.contains("by the stream's key"), "{}", page.0);
    }

    #[test]
    fn escapes_everything_from_data() {
        let mut m = ReportModel::new("<script>alert('s')</script>");
        let mut r = release("4.19.0-okd-scos.1\"><img src=x>", Phase::Rejected);
        r.reason = Some("<b>bad</b>".into());
        r.jobs.push(JobEntry {
            name: "e2e<aws>".into(),
            gate: Gate::Blocking,
            result: JobResult::Failed,
            attempts: vec![Attempt {
                name: "run".into(),
                state: AttemptState::Failed,
                started: None,
                finished: None,
                log: Some("javascript:alert(1)".into()),
                skipped: false,
            }],
            upgrade_from: None,
        });
        m.releases.push(r);
        let pages = render(&m).unwrap();
        for (name, html) in &pages {
            assert!(!html.contains("<script>"), "{name}");
            assert!(!html.contains("<img"), "{name}");
            assert!(!html.contains("<b>bad"), "{name}");
            assert!(!html.contains("href=\"javascript:"), "{name}");
            assert!(html.contains("e2e&lt;aws&gt;"), "{name}");
        }
        // The page name keeps to safe characters.
        assert_eq!(pages[1].0, "release-4.19.0-okd-scos.1___img_src_x_.html");
    }

    #[test]
    fn an_empty_stream_says_so() {
        let pages = render(&ReportModel::new("4-scos-next")).unwrap();
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].1.matches("No releases yet.").count(), 2);
        assert!(!pages[0].1.contains("<svg"));
    }

    #[test]
    fn colliding_page_names_stay_distinct_and_duplicates_are_refused() {
        let mut m = ReportModel::new("s");
        m.releases.push(release("a/b", Phase::Accepted));
        m.releases.push(release("a:b", Phase::Accepted));
        let names: Vec<String> = render(&m).unwrap().into_iter().map(|p| p.0).collect();
        assert_eq!(
            names,
            ["index.html", "release-a_b.html", "release-a_b-2.html"]
        );
        m.releases.push(release("a/b", Phase::Pending));
        assert!(matches!(
            render(&m),
            Err(Error::DuplicateRelease { name }) if name == "a/b"
        ));
    }
}
