//! Changes to an OS image that are not files of a source: systemd units enabled and paths of the
//! base removed, written as one layer on top of the added ones.
//!
//! * [`Enable`]: `usr/lib/systemd/system/<target>.wants/<unit>`, a symbolic link to the unit
//!   file wherever the image has it (`/usr/lib/systemd/system/` or `/etc/systemd/system/`, in
//!   the added layers or the base; for an instance `getty@tty1.service`, its template
//!   `getty@.service`). A unit the image does not have is refused, naming it, rather than
//!   leaving a dangling link that systemd ignores.
//! * A removal: an OCI whiteout (`<dir>/.wh.<name>`) for a path the image below has, resolved
//!   through the base's links. The lint accepts these whiteouts and keeps refusing any other.
//!
//! ```
//! use okd_coreos::changes::Enable;
//!
//! let e = Enable::new("getty@tty1.service", "multi-user.target")?;
//! assert_eq!(e.unit_file(), "getty@.service");
//! assert_eq!(e.link_path(), "usr/lib/systemd/system/multi-user.target.wants/getty@tty1.service");
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::collections::BTreeSet;
use std::io::BufWriter;

use okd_oci::append::NewLayer;
use okd_oci::layer::LayerWriter;

use crate::Error;
use crate::file_tree::{FileTree, NodeKind, normalize};
use crate::layer_source::LayerContext;

/// Where units shipped with the OS live.
const SYSTEM_UNITS: &str = "usr/lib/systemd/system";
/// Where the administrator's units live.
const ADMIN_UNITS: &str = "etc/systemd/system";

/// The history `created_by` of the layer of units and removals, by which a lint of a built
/// image knows its whiteouts were written by the removal API.
pub const CHANGES_CREATED_BY: &str = "okd-streams units and removals";

/// Top-level directories that are never removed as a whole.
const KEPT_ROOTS: &[&str] = &["usr", "etc", "var", "boot", "sysroot"];

/// A unit enabled for a target (`okd-hello.service` wanted by `multi-user.target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enable {
    unit: String,
    target: String,
}

fn is_unit_name(name: &str) -> bool {
    let suffixed = [
        ".service",
        ".socket",
        ".mount",
        ".automount",
        ".swap",
        ".target",
        ".path",
        ".timer",
        ".slice",
    ]
    .iter()
    .any(|s| name.len() > s.len() && name.ends_with(s));
    suffixed && !name.contains('/') && !name.starts_with('.') && !name.chars().any(char::is_control)
}

impl Enable {
    /// `unit` wanted by `target`; both must be unit names (`name.service`, `name.target`).
    pub fn new(unit: &str, target: &str) -> Result<Enable, Error> {
        for (what, name) in [("unit", unit), ("target", target)] {
            if !is_unit_name(name) {
                return Err(Error::InvalidLayerPath {
                    path: name.into(),
                    layer: "enabled units".to_string(),
                    reason: format!(
                        "the {what} is not a systemd unit name (`name.service`, `name.target`)"
                    ),
                });
            }
        }
        Ok(Enable {
            unit: unit.to_string(),
            target: target.to_string(),
        })
    }

    /// The unit.
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// The target.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The unit file: the unit, or the template of an instance (`getty@.service`).
    pub fn unit_file(&self) -> String {
        match self.unit.split_once('@') {
            Some((prefix, rest)) => match rest.rfind('.') {
                Some(dot) => format!("{prefix}@{}", &rest[dot..]),
                None => self.unit.clone(),
            },
            None => self.unit.clone(),
        }
    }

    /// The link written: `usr/lib/systemd/system/<target>.wants/<unit>`.
    pub fn link_path(&self) -> String {
        format!("{SYSTEM_UNITS}/{}.wants/{}", self.target, self.unit)
    }

    /// The unit file's path in `tree` (`usr/lib/systemd/system/x.service`), if it has one.
    pub fn find_in(&self, tree: &FileTree) -> Option<String> {
        let file = self.unit_file();
        [SYSTEM_UNITS, ADMIN_UNITS].iter().find_map(|dir| {
            let wanted = format!("{dir}/{file}");
            let at = tree.follow(&wanted).ok()?;
            tree.get(&at)
                .is_some_and(|n| n.kind == NodeKind::File)
                .then_some(wanted)
        })
    }
}

/// The layer of enabled units and removals, before placement.
#[derive(Debug)]
pub struct ChangesLayer {
    /// The layer.
    pub layer: NewLayer,
    /// The whiteouts it holds (`etc/.wh.motd`), which the lint accepts.
    pub whiteouts: BTreeSet<String>,
}

/// Where a removal of `path` puts its whiteout in `tree`, or why it cannot.
pub fn whiteout_for(tree: &FileTree, path: &str) -> Result<String, String> {
    let norm = normalize(path);
    if norm.is_empty()
        || norm
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        return Err("not a relative path inside the image".to_string());
    }
    let at = tree.resolve(&norm, false).map_err(|u| u.reason)?;
    if tree.get(&at).is_none() {
        return Err(format!("the image below has no /{at}"));
    }
    if KEPT_ROOTS.contains(&at.as_str()) {
        return Err(format!("/{at} cannot be removed as a whole"));
    }
    Ok(match at.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.wh.{name}"),
        None => format!(".wh.{at}"),
    })
}

/// Writes the layer: `.wants` links to `(enable, unit file path)` and the `whiteouts`.
/// Blocking.
pub fn write_changes(
    links: &[(Enable, String)],
    whiteouts: &BTreeSet<String>,
    ctx: &LayerContext,
) -> Result<ChangesLayer, Error> {
    let temp = tempfile::Builder::new()
        .prefix(".okd-changes-")
        .tempfile_in(&ctx.temp_dir)
        .map_err(|e| Error::io(&ctx.temp_dir, e))?;
    let (file, temp_path) = temp.into_parts();
    let mut w = LayerWriter::new(BufWriter::new(file), ctx.compression).with_mtime(ctx.mtime);
    let mut dirs = BTreeSet::new();
    let mut parents = |w: &mut LayerWriter<_>, path: &str| -> Result<(), Error> {
        let mut at = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(part);
            if dirs.insert(at.clone()) {
                w.add_dir(&at, 0o755)?;
            }
        }
        Ok(())
    };
    let mut entries: Vec<(String, Option<String>)> = links
        .iter()
        .map(|(e, file)| (e.link_path(), Some(format!("/{file}"))))
        .chain(whiteouts.iter().map(|p| (p.clone(), None)))
        .collect();
    entries.sort();
    entries.dedup();
    for (path, target) in entries {
        parents(&mut w, &path)?;
        match target {
            Some(t) => w.add_symlink(&path, &t)?,
            None => w.add_file(&path, 0o644, &[])?,
        }
    }
    let (sink, info) = w.finish()?;
    sink.into_inner()
        .map_err(|e| Error::io(&*temp_path, e.into_error()))?;
    let kept = temp_path
        .keep()
        .map_err(|e| Error::io(&ctx.temp_dir, e.error))?;
    Ok(ChangesLayer {
        layer: NewLayer::from_file(kept, info).created_by(CHANGES_CREATED_BY),
        whiteouts: whiteouts.clone(),
    })
}
