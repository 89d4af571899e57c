//! The file tree of an image, known from its layers' tar headers alone.
//!
//! A CoreOS node imports a layer into the tree its base already has: `/usr/local` there is a
//! symbolic link to `../var/usrlocal`, `/opt` to `var/opt`, `/home` to `var/home`, and a layer
//! that writes a directory `usr/local` replaces the link instead of adding to what it points at.
//! To place files where the node will see them, okd-coreos reads the base's tree: every layer is
//! streamed once through a tar reader ([`LayerListing::read`]), only headers are kept (and the
//! bytes of the few small files placement and linting need: passwd and group files, kernel
//! argument files, the ostree root configuration), and nothing is unpacked. Listings are
//! cached by layer digest ([`TreeCache`](crate::tree_cache::TreeCache)), so a base shared by many builds is read once.
//!
//! ```
//! use okd_coreos::file_tree::{FileTree, Node};
//!
//! let mut tree = FileTree::new();
//! tree.insert("usr", Node::dir(0o755));
//! tree.insert("var/usrlocal/bin", Node::dir(0o755));
//! tree.insert("usr/local", Node::symlink("../var/usrlocal"));
//! assert_eq!(tree.resolve("usr/local/bin/hello", false).unwrap(), "var/usrlocal/bin/hello");
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Links followed while resolving one path, as Linux's `MAXSYMLINKS`.
const MAX_LINK_HOPS: u32 = 40;

/// Largest file whose bytes a listing keeps (see [`keeps_content`]).
pub const MAX_KEPT_FILE: u64 = 1024 * 1024;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link to the target.
    Symlink(String),
    /// A hard link to another entry of the same layer.
    Hardlink(String),
    /// A device, FIFO or other special file.
    Other,
}

/// One entry of a tree: kind, permission bits and owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Permission bits (with setuid, setgid, sticky).
    pub mode: u32,
    /// Owner user id.
    pub uid: u64,
    /// Owner group id.
    pub gid: u64,
}

impl Node {
    /// A directory owned by root.
    pub fn dir(mode: u32) -> Node {
        Node {
            kind: NodeKind::Dir,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    /// A regular file owned by root.
    pub fn file(mode: u32) -> Node {
        Node {
            kind: NodeKind::File,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    /// A symbolic link owned by root.
    pub fn symlink(target: &str) -> Node {
        Node {
            kind: NodeKind::Symlink(target.to_string()),
            mode: 0o777,
            uid: 0,
            gid: 0,
        }
    }
}

/// One entry of a layer, as its tar header has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedEntry {
    /// The path, without a leading `./` or `/` nor a trailing `/` (lossy if not UTF-8).
    pub path: String,
    /// False when the name or link target in the archive is not valid UTF-8.
    pub utf8: bool,
    /// Kind, mode and owner.
    pub node: Node,
    /// Size of a regular file.
    pub size: u64,
    /// Extended attributes from PAX `SCHILY.xattr.*` records.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

/// The entries of one layer, in archive order, and the bytes of the files it keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerListing {
    /// Entries in archive order.
    pub entries: Vec<ListedEntry>,
    /// Bytes of the kept files (see [`keeps_content`]), by path.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// True for the files whose bytes a listing keeps: user and group databases, bootc kernel
/// argument files, the ostree root configuration and `os-release`.
pub fn keeps_content(path: &str) -> bool {
    matches!(
        path,
        "etc/passwd"
            | "etc/group"
            | "usr/lib/passwd"
            | "usr/lib/group"
            | "usr/lib/ostree/prepare-root.conf"
            | "etc/ostree/prepare-root.conf"
            | "usr/lib/os-release"
            | "etc/os-release"
    ) || (path.starts_with("usr/lib/bootc/kargs.d/") && path.ends_with(".toml"))
}

/// A tar entry name without `./` or `/` in front and without a trailing `/`.
pub fn normalize(path: &str) -> String {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix("./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix('/') {
            p = rest;
        } else {
            break;
        }
    }
    let p = p.trim_end_matches('/');
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

impl LayerListing {
    /// Lists an uncompressed tar stream (decompress first with [`open_layer`]).
    pub fn read(reader: impl Read, what: &str) -> Result<LayerListing, Error> {
        let bad = |e: std::io::Error| Error::InvalidLayerPath {
            path: PathBuf::from(what),
            layer: what.to_string(),
            reason: format!("not a readable tar archive: {e}"),
        };
        let mut out = LayerListing::default();
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let listed = list_entry(&mut entry).map_err(bad)?;
            if listed.path.is_empty() {
                continue;
            }
            if listed.node.kind == NodeKind::File
                && listed.size <= MAX_KEPT_FILE
                && keeps_content(&listed.path)
            {
                let mut data = Vec::with_capacity(listed.size as usize);
                entry.read_to_end(&mut data).map_err(bad)?;
                out.files.insert(listed.path.clone(), data);
            }
            out.entries.push(listed);
        }
        Ok(out)
    }
}

/// Turns one tar entry's header into a [`ListedEntry`].
pub(crate) fn list_entry<R: Read>(entry: &mut tar::Entry<'_, R>) -> std::io::Result<ListedEntry> {
    let raw = entry.path_bytes().into_owned();
    let mut utf8 = std::str::from_utf8(&raw).is_ok();
    let path = normalize(&String::from_utf8_lossy(&raw));
    let link = entry.link_name_bytes().map(|l| {
        utf8 &= std::str::from_utf8(&l).is_ok();
        String::from_utf8_lossy(&l).into_owned()
    });
    let h = entry.header();
    let kind = match h.entry_type() {
        tar::EntryType::Directory => NodeKind::Dir,
        tar::EntryType::Regular | tar::EntryType::Continuous => NodeKind::File,
        tar::EntryType::Symlink => NodeKind::Symlink(link.unwrap_or_default()),
        tar::EntryType::Link => NodeKind::Hardlink(normalize(&link.unwrap_or_default())),
        _ => NodeKind::Other,
    };
    // Tar writers leave numeric fields empty at times (no owner recorded): that is root, as
    // every extractor reads it.
    let node = Node {
        kind,
        mode: h.mode().unwrap_or(0o644) & 0o7777,
        uid: h.uid().unwrap_or(0),
        gid: h.gid().unwrap_or(0),
    };
    let size = entry.size();
    let mut xattrs = BTreeMap::new();
    if let Some(pax) = entry.pax_extensions()? {
        for ext in pax {
            let ext = ext?;
            if let Ok(key) = ext.key()
                && let Some(name) = key.strip_prefix("SCHILY.xattr.")
            {
                xattrs.insert(name.to_string(), ext.value_bytes().to_vec());
            }
        }
    }
    Ok(ListedEntry {
        path,
        utf8,
        node,
        size,
        xattrs,
    })
}

/// Wraps a layer blob's bytes in a decompressor chosen by its first bytes (gzip or plain tar).
pub fn open_layer(
    mut blob: impl Read + Send + 'static,
    what: &str,
) -> Result<Box<dyn Read + Send>, Error> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match blob
            .read(&mut magic[got..])
            .map_err(|e| Error::io(what, e))?
        {
            0 => break,
            n => got += n,
        }
    }
    let head = std::io::Cursor::new(magic[..got].to_vec());
    let whole = head.chain(blob);
    if magic[..got].starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(whole)))
    } else if magic[..got] == [0x28, 0xb5, 0x2f, 0xfd] {
        Err(Error::InvalidLayerPath {
            path: PathBuf::from(what),
            layer: what.to_string(),
            reason: "zstd layers cannot be listed; only gzip and plain tar".to_string(),
        })
    } else {
        Ok(Box::new(whole))
    }
}

/// Why a path cannot be placed in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaceable {
    /// The path asked for.
    pub path: String,
    /// Why (`usr/local is a link to /etc/x, which leaves the image`).
    pub reason: String,
}

/// A file tree: every path of an image with its kind, mode and owner. See the
/// [module docs](self).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTree {
    nodes: BTreeMap<String, Node>,
    files: BTreeMap<String, Vec<u8>>,
}

impl FileTree {
    /// An empty tree.
    pub fn new() -> FileTree {
        FileTree::default()
    }

    /// Adds or replaces the entry at `path`.
    pub fn insert(&mut self, path: &str, node: Node) {
        self.nodes.insert(normalize(path), node);
    }

    /// Sets the kept bytes of the file at `path` (passwd, group, kernel arguments).
    pub fn set_content(&mut self, path: &str, data: Vec<u8>) {
        self.files.insert(normalize(path), data);
    }

    /// The entry at `path` (links not followed).
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The kept bytes of the file at `path`, if the tree has them.
    pub fn content(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Every entry, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the tree has no entry.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The paths directly or indirectly under `dir`.
    pub fn under<'t>(&'t self, dir: &str) -> impl Iterator<Item = (&'t str, &'t Node)> + 't {
        let prefix = format!("{dir}/");
        self.nodes
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    fn remove_under(&mut self, dir: &str) {
        let doomed: Vec<String> = self.under(dir).map(|(k, _)| k.to_string()).collect();
        for k in doomed {
            self.nodes.remove(&k);
            self.files.remove(&k);
        }
    }

    /// Applies a layer the way an overlay does: `.wh.NAME` removes NAME and what is under it,
    /// `.wh..wh..opq` empties its directory, any other entry replaces what was at its path.
    pub fn apply(&mut self, layer: &LayerListing) {
        for e in &layer.entries {
            let (dir, name) = match e.path.rsplit_once('/') {
                Some((d, n)) => (d.to_string(), n),
                None => (String::new(), e.path.as_str()),
            };
            if name == ".wh..wh..opq" {
                self.remove_under(&dir);
                continue;
            }
            if let Some(gone) = name.strip_prefix(".wh.") {
                let gone = if dir.is_empty() {
                    gone.to_string()
                } else {
                    format!("{dir}/{gone}")
                };
                self.remove_under(&gone);
                self.nodes.remove(&gone);
                self.files.remove(&gone);
                continue;
            }
            let node = match &e.node.kind {
                // A hard link is a second name of its target: it has the target's kind.
                NodeKind::Hardlink(t) => {
                    self.nodes.get(t).cloned().unwrap_or_else(|| e.node.clone())
                }
                _ => e.node.clone(),
            };
            if node.kind != NodeKind::Dir {
                self.remove_under(&e.path);
            }
            self.files.remove(&e.path);
            self.nodes.insert(e.path.clone(), node);
        }
        for (path, data) in &layer.files {
            self.files.insert(path.clone(), data.clone());
        }
    }

    /// Where `path` really is in this tree: every directory on the way that is a symbolic link
    /// is followed (relative targets from the link's directory, absolute ones from the image
    /// root), and the last component too when `follow_last`. Fails when a link leaves the image,
    /// loops, or a component on the way is not a directory.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<String, Unplaceable> {
        let mut hops = MAX_LINK_HOPS;
        let norm = normalize(path);
        let components: Vec<&str> = norm.split('/').filter(|c| !c.is_empty()).collect();
        let mut at: Vec<String> = Vec::new();
        for (i, c) in components.iter().enumerate() {
            let last = i + 1 == components.len();
            self.step(&mut at, c, !last || follow_last, &mut hops)
                .map_err(|reason| Unplaceable {
                    path: norm.clone(),
                    reason,
                })?;
        }
        Ok(at.join("/"))
    }

    /// Where `path` finally leads: its directories resolved as [`Self::resolve`] does, then, as
    /// long as the entry there is a symbolic link, its target (absolute from the image root,
    /// relative from the link's directory). The result may name an entry the tree lacks.
    pub fn follow(&self, path: &str) -> Result<String, Unplaceable> {
        let mut at = self.resolve(path, false)?;
        for _ in 0..MAX_LINK_HOPS {
            let Some(NodeKind::Symlink(target)) = self.nodes.get(&at).map(|n| &n.kind) else {
                return Ok(at);
            };
            let next = match (target.starts_with('/'), at.rsplit_once('/')) {
                (false, Some((dir, _))) => format!("{dir}/{target}"),
                _ => target.clone(),
            };
            at = self.resolve(&next, false)?;
        }
        Err(Unplaceable {
            path: normalize(path),
            reason: "too many levels of symbolic links".to_string(),
        })
    }

    /// Moves `at` one component on, following a link there when `follow`.
    fn step(
        &self,
        at: &mut Vec<String>,
        c: &str,
        follow: bool,
        hops: &mut u32,
    ) -> Result<(), String> {
        match c {
            "." => return Ok(()),
            ".." => {
                if at.pop().is_none() {
                    return Err("leads above the image root".to_string());
                }
                return Ok(());
            }
            _ => {}
        }
        at.push(c.to_string());
        let here = at.join("/");
        match self.nodes.get(&here).map(|n| &n.kind) {
            Some(NodeKind::Symlink(target)) if follow => {
                *hops = hops
                    .checked_sub(1)
                    .ok_or_else(|| format!("{here}: too many levels of symbolic links"))?;
                at.pop();
                let mut next: Vec<String> = if target.starts_with('/') {
                    Vec::new()
                } else {
                    at.clone()
                };
                for t in target.split('/').filter(|t| !t.is_empty()) {
                    self.step(&mut next, t, true, hops)
                        .map_err(|why| format!("/{here} is a link to {target}, which {why}"))?;
                }
                *at = next;
                Ok(())
            }
            Some(NodeKind::File | NodeKind::Hardlink(_) | NodeKind::Other) if follow => {
                Err(format!("/{here} is not a directory in the base"))
            }
            _ => Ok(()),
        }
    }

    /// The kernel versions of the tree (`usr/lib/modules/<version>/vmlinuz`).
    pub fn kernels(&self) -> Vec<String> {
        self.under("usr/lib/modules")
            .filter_map(|(p, _)| p.strip_prefix("usr/lib/modules/"))
            .filter_map(|rest| rest.strip_suffix("/vmlinuz"))
            .filter(|v| !v.contains('/'))
            .map(str::to_string)
            .collect()
    }

    /// The built-in variant the tree's `os-release` describes.
    pub fn variant(&self) -> Option<crate::Variant> {
        ["usr/lib/os-release", "etc/os-release"]
            .iter()
            .filter_map(|p| self.content(p))
            .find_map(|c| crate::Variant::from_os_release(&String::from_utf8_lossy(c)))
    }

    /// True when the tree's ostree configuration makes `/` a transient overlay (content outside
    /// `usr/`, `etc/` and `var/` then lives until reboot, and is not lost at import).
    pub fn has_transient_root(&self) -> bool {
        [
            "etc/ostree/prepare-root.conf",
            "usr/lib/ostree/prepare-root.conf",
        ]
        .iter()
        .filter_map(|p| self.content(p))
        .any(|conf| prepare_root_transient(&String::from_utf8_lossy(conf)))
    }
}

/// Reads `[root] transient = true` from a prepare-root.conf (a keyfile).
fn prepare_root_transient(conf: &str) -> bool {
    let mut section = "";
    for line in conf.lines().map(str::trim) {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s;
        } else if section == "root"
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == "transient"
        {
            return v.trim() == "true";
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coreos() -> FileTree {
        let mut t = FileTree::new();
        for d in [
            "usr",
            "usr/bin",
            "var",
            "var/usrlocal",
            "var/opt",
            "var/home",
            "etc",
        ] {
            t.insert(d, Node::dir(0o755));
        }
        t.insert("usr/local", Node::symlink("../var/usrlocal"));
        t.insert("opt", Node::symlink("var/opt"));
        t.insert("home", Node::symlink("var/home"));
        t.insert("etc/motd", Node::file(0o644));
        t
    }

    #[test]
    fn resolves_through_coreos_links() {
        let t = coreos();
        assert_eq!(
            t.resolve("usr/local/bin/x", false).unwrap(),
            "var/usrlocal/bin/x"
        );
        assert_eq!(t.resolve("opt/tool/x", false).unwrap(), "var/opt/tool/x");
        assert_eq!(t.resolve("usr/local", true).unwrap(), "var/usrlocal");
        assert_eq!(t.resolve("usr/local", false).unwrap(), "usr/local");
        assert_eq!(t.resolve("./usr/bin/x", false).unwrap(), "usr/bin/x");
    }

    #[test]
    fn refuses_escaping_looping_and_file_parents() {
        let mut t = coreos();
        t.insert("usr/up", Node::symlink("../../.."));
        t.insert("a", Node::symlink("b"));
        t.insert("b", Node::symlink("a"));
        assert!(
            t.resolve("usr/up/x", false)
                .unwrap_err()
                .reason
                .contains("above the image root")
        );
        assert!(
            t.resolve("a/x", false)
                .unwrap_err()
                .reason
                .contains("too many levels")
        );
        assert!(
            t.resolve("etc/motd/x", false)
                .unwrap_err()
                .reason
                .contains("not a directory")
        );
    }

    #[test]
    fn whiteouts_remove_and_opaque_empties() {
        let mut t = coreos();
        let listing = |paths: &[&str]| LayerListing {
            entries: paths
                .iter()
                .map(|p| ListedEntry {
                    path: p.to_string(),
                    utf8: true,
                    node: Node::file(0o644),
                    size: 0,
                    xattrs: BTreeMap::new(),
                })
                .collect(),
            files: BTreeMap::new(),
        };
        t.apply(&listing(&["etc/.wh.motd", "usr/bin/a"]));
        assert!(t.get("etc/motd").is_none());
        assert!(t.get("usr/bin/a").is_some());
        t.apply(&listing(&["usr/bin/.wh..wh..opq"]));
        assert!(t.get("usr/bin/a").is_none());
        assert!(t.get("usr/bin").is_some());
    }

    #[test]
    fn transient_root_is_read_from_the_keyfile() {
        assert!(prepare_root_transient(
            "[composefs]\nenabled = yes\n[root]\ntransient = true\n"
        ));
        assert!(!prepare_root_transient("[composefs]\ntransient = true\n"));
    }
}
