//! The lint of what a CoreOS node does with an added layer.
//!
//! Two sets of rules, checked on a layer's entries (as placed, see
//! [`placement`](crate::placement)) against the tree below it:
//!
//! * the checks of `bootc container lint` that need no running system: `/usr/etc` present
//!   (`etc-usretc`), `/var/run` not a link (`var-run`), a second kernel under `/usr/lib/modules`
//!   (`kernel`), names or link targets that are not UTF-8 (`utf8`), content in `/boot`
//!   (`nonempty-boot`), empty `/etc/hostname` or `/etc/resolv.conf` left by a container build
//!   (`buildah-injected`), kernel argument files of `/usr/lib/bootc/kargs.d` that do not parse
//!   (`bootc-kargs`);
//! * what the node's import of the image keeps: only `usr/`, `etc/` and `var/` (content
//!   elsewhere is dropped, `outside-usr-etc-var`, unless the base has a transient root), never
//!   anything under `run`, `tmp`, `proc`, `sys` or `dev` (`runtime-dirs`); `/var` content
//!   reaches freshly installed nodes only (`var-content`, use `usr/lib/tmpfiles.d`); overlay
//!   whiteouts (`.wh.` names) are written by the removal API only
//!   ([`LayeredImage::remove`](crate::layering::LayeredImage::remove)), never by hand
//!   (`whiteout`); a hard link must name a file of the same layer (`hardlink`); a symbolic
//!   link, absolute targets resolved from the image root through the image's own links, should
//!   lead to something the image has (`dangling-link`, a warning: targets under `/run`, `/tmp`,
//!   `/proc`, `/sys`, `/dev` and `/var` are made at runtime and not looked for).
//!
//! [`Severity::Error`] findings refuse a build; warnings are reported and kept.
//!
//! ```
//! use okd_coreos::file_tree::{FileTree, LayerListing, ListedEntry, Node};
//! use okd_coreos::lint::{Severity, lint_layer};
//!
//! let base = FileTree::new();
//! let layer = LayerListing {
//!     entries: vec![ListedEntry {
//!         path: "srv/www/index.html".into(),
//!         utf8: true,
//!         node: Node::file(0o644),
//!         size: 5,
//!         xattrs: Default::default(),
//!     }],
//!     files: Default::default(),
//! };
//! let report = lint_layer(&layer, &base);
//! assert_eq!(report.findings[0].rule, "outside-usr-etc-var");
//! assert_eq!(report.findings[0].severity, Severity::Error);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::file_tree::{FileTree, LayerListing, ListedEntry, NodeKind};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Reported and kept; the build goes on.
    Warning,
    /// The build is refused.
    Error,
}

/// One finding: which rule, how serious, where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's name (`var-content`).
    pub rule: String,
    /// How serious it is.
    pub severity: Severity,
    /// The path in the image it is about.
    pub path: String,
    /// What the node will do, and what to do instead.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}[{}] /{}: {}", self.rule, self.path, self.message)
    }
}

/// The findings of a lint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintReport {
    /// Every finding, in entry order.
    pub findings: Vec<Finding>,
}

impl LintReport {
    /// The findings that refuse a build.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The findings that are reported only.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    /// True when a finding refuses the build.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Adds the findings of `other`.
    pub fn extend(&mut self, other: LintReport) {
        self.findings.extend(other.findings);
    }
}

/// Directories the node mounts at boot: what an image has under them is never seen.
const RUNTIME_DIRS: &[&str] = &["run", "tmp", "proc", "sys", "dev"];

/// Lints one layer's entries against the tree below it. See the [module docs](self).
pub fn lint_layer(layer: &LayerListing, below: &FileTree) -> LintReport {
    lint_layer_with_removals(layer, below, &BTreeSet::new())
}

/// Like [`lint_layer`], for a layer whose whiteouts at the paths of `removals` (`etc/.wh.motd`)
/// were written by the removal API: those are accepted, any other `.wh.` entry is refused.
pub fn lint_layer_with_removals(
    layer: &LayerListing,
    below: &FileTree,
    removals: &BTreeSet<String>,
) -> LintReport {
    let mut after = below.clone();
    after.apply(layer);
    let mut r = Rules {
        below,
        after: &after,
        removals,
        transient_root: below.has_transient_root(),
        seen: BTreeSet::new(),
        report: LintReport::default(),
    };
    for e in &layer.entries {
        r.entry(e);
        r.link(e);
        r.seen.insert(e.path.clone());
    }
    r.kernels(layer);
    r.kargs(layer);
    r.report
}

struct Rules<'t> {
    below: &'t FileTree,
    /// The tree with the layer applied.
    after: &'t FileTree,
    removals: &'t BTreeSet<String>,
    transient_root: bool,
    seen: BTreeSet<String>,
    report: LintReport,
}

impl Rules<'_> {
    fn add(&mut self, rule: &str, severity: Severity, path: &str, message: impl Into<String>) {
        self.report.findings.push(Finding {
            rule: rule.to_string(),
            severity,
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// A directory entry the tree below already has as a directory changes no content.
    fn is_existing_dir(&self, e: &ListedEntry) -> bool {
        e.node.kind == NodeKind::Dir
            && self
                .below
                .get(&e.path)
                .is_some_and(|n| n.kind == NodeKind::Dir)
    }

    fn entry(&mut self, e: &ListedEntry) {
        let path = e.path.as_str();
        let (top, rest) = path.split_once('/').unwrap_or((path, ""));
        let name = path.rsplit('/').next().unwrap_or(path);
        if !e.utf8 {
            self.add(
                "utf8",
                Severity::Error,
                path,
                "the name or link target is not UTF-8; ostree refuses it at import",
            );
        }
        if name.starts_with(".wh.") && self.removals.contains(path) {
            return;
        }
        if name.starts_with(".wh.") {
            self.add("whiteout", Severity::Error, path,
                "an overlay whiteout written by hand; removals are not part of this layer's sources");
            return;
        }
        if let NodeKind::Hardlink(target) = &e.node.kind
            && !self.seen.contains(target)
        {
            self.add(
                "hardlink",
                Severity::Error,
                path,
                format!(
                    "hard link to /{target}, which this layer does not contain; the node's import \
                 cannot link to a file of another layer (copy the file instead)"
                ),
            );
        }
        if path == "usr/etc" || path.starts_with("usr/etc/") {
            self.add(
                "etc-usretc",
                Severity::Error,
                path,
                "/usr/etc is where ostree keeps the default /etc; put configuration in /etc",
            );
        }
        if matches!(path, "etc/hostname" | "etc/resolv.conf")
            && e.node.kind == NodeKind::File
            && e.size == 0
        {
            self.add(
                "buildah-injected",
                Severity::Warning,
                path,
                "an empty file a container build injects; the node's own would be masked by it",
            );
        }
        if path == "var/run" && !matches!(e.node.kind, NodeKind::Symlink(_)) {
            self.add(
                "var-run",
                Severity::Error,
                path,
                "/var/run must stay a link to /run",
            );
        }
        if self.is_existing_dir(e) {
            return;
        }
        match top {
            "usr" | "etc" => {}
            // Directories on the way are not reported: their files are.
            "var" if e.node.kind == NodeKind::Dir => {}
            "var" => self.add("var-content", Severity::Warning, path,
                "/var content reaches freshly installed nodes only, never nodes upgraded by the \
                 machine-config-operator; ship it under /usr and create it with a \
                 usr/lib/tmpfiles.d entry"),
            "boot" if !rest.is_empty() => self.add("nonempty-boot", Severity::Warning, path,
                "/boot is masked at runtime; kernels belong in /usr/lib/modules"),
            t if RUNTIME_DIRS.contains(&t) && !rest.is_empty() => self.add("runtime-dirs",
                Severity::Error, path,
                format!("/{t} is mounted over on the node; what the image has there is lost")),
            _ if rest.is_empty() && e.node.kind == NodeKind::Dir => {}
            _ if self.transient_root => self.add("outside-usr-etc-var", Severity::Warning, path,
                "outside /usr, /etc and /var: kept until reboot only (the base has a transient root)"),
            _ => self.add("outside-usr-etc-var", Severity::Error, path,
                "outside /usr, /etc and /var: the node's import drops it (use /usr/lib, /usr/bin \
                 or /etc)"),
        }
    }

    /// `dangling-link`: a symbolic link's target is in the image (after this layer).
    fn link(&mut self, e: &ListedEntry) {
        let NodeKind::Symlink(target) = &e.node.kind else {
            return;
        };
        let from = if target.starts_with('/') {
            target.clone()
        } else {
            match e.path.rsplit_once('/') {
                Some((dir, _)) => format!("{dir}/{target}"),
                None => target.clone(),
            }
        };
        let found = match self.after.follow(&from) {
            Ok(p) => {
                let top = p.split('/').next().unwrap_or_default();
                if RUNTIME_DIRS.contains(&top) || top == "var" || self.after.get(&p).is_some() {
                    return;
                }
                format!("the image has no /{p}")
            }
            Err(u) => u.reason,
        };
        self.add(
            "dangling-link",
            Severity::Warning,
            &e.path,
            format!("link to {target}, which does not resolve inside the image: {found}"),
        );
    }

    /// `kernel`: one kernel per image, `usr/lib/modules/<version>/vmlinuz`.
    fn kernels(&mut self, layer: &LayerListing) {
        let kernels: Vec<String> = self
            .after
            .under("usr/lib/modules")
            .filter(|(p, _)| p.ends_with("/vmlinuz") && p.matches('/').count() == 4)
            .map(|(p, _)| p.to_string())
            .collect();
        if kernels.len() > 1 {
            let added = kernels
                .iter()
                .find(|k| layer.entries.iter().any(|e| &e.path == *k))
                .cloned()
                .unwrap_or_else(|| kernels[0].clone());
            self.add(
                "kernel",
                Severity::Error,
                &added,
                format!(
                    "a second kernel: the image would have {}; only one is supported",
                    kernels.join(", ")
                ),
            );
        }
    }

    /// `bootc-kargs`: every `usr/lib/bootc/kargs.d/*.toml` parses.
    fn kargs(&mut self, layer: &LayerListing) {
        for (path, data) in &layer.files {
            if !path.starts_with("usr/lib/bootc/kargs.d/") {
                continue;
            }
            if let Err(why) = parse_kargs(data) {
                self.add("bootc-kargs", Severity::Error, path, why);
            }
        }
    }
}

/// A `kargs.d` file: a list of kernel arguments, optionally for some architectures only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KargsFile {
    kargs: Vec<String>,
    #[serde(rename = "match-architectures", default)]
    // Read for its syntax only: the arguments apply on every architecture listed.
    #[allow(dead_code)]
    match_architectures: Option<Vec<String>>,
}

/// `tarball-owner`: the non-root owners of a layer made elsewhere. They are numbers from the
/// machine that made it, which may mean another user, or none, on the node.
pub fn prebuilt_owners(layer: &LayerListing) -> LintReport {
    let findings = layer
        .entries
        .iter()
        .filter(|e| e.node.uid != 0 || e.node.gid != 0)
        .map(|e| Finding {
            rule: "tarball-owner".to_string(),
            severity: Severity::Warning,
            path: e.path.clone(),
            message: format!(
                "owned by {}:{} in the prebuilt tarball; check these ids exist on the node (or \
                 give owners by name in a file list)",
                e.node.uid, e.node.gid
            ),
        })
        .collect();
    LintReport { findings }
}

/// Parses a kargs.d file, or says why it does not parse.
pub fn parse_kargs(data: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(data).map_err(|_| "not UTF-8".to_string())?;
    let parsed: KargsFile =
        toml::from_str(text).map_err(|e| format!("not a kargs.d file: {}", e.message()))?;
    Ok(parsed.kargs)
}

/// The findings of `report` as lines for a terminal or a log, errors first.
pub fn render(report: &LintReport) -> String {
    let mut by: BTreeMap<Severity, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by.entry(f.severity).or_default().push(f);
    }
    let mut out = String::new();
    for (_, list) in by.iter().rev() {
        for f in list {
            out.push_str(&f.to_string());
            out.push('\n');
        }
    }
    out
}
