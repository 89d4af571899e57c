//! Placement: a built layer rewritten so that a CoreOS node imports what it says.
//!
//! Every entry's path is resolved through the symbolic links of the tree below it (the base
//! image and the layers already added, see [`file_tree`](crate::file_tree)): a file listed as
//! `usr/local/bin/hello` on a base where `usr/local → ../var/usrlocal` is written as
//! `var/usrlocal/bin/hello`, a directory entry at a path that is a link in the base is merged
//! into the link's target instead of replacing the link, and a path that cannot be resolved (a
//! link leaving the image, a loop, a file where a directory is needed) is refused with the
//! reason. Directories the base already has keep the base's mode and owner, so an added file
//! never changes `/etc` to the builder's 0775 or `/var/lib/foo` to 0:0.
//!
//! A layer that needs no change is kept byte for byte (same digest); otherwise it is written
//! again with the same compression.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Read};
use std::path::PathBuf;

use okd_oci::append::NewLayer;
use okd_oci::layer::{Compression, EntryMeta, LayerWriter};

use crate::Error;
use crate::file_tree::{FileTree, LayerListing, ListedEntry, NodeKind, list_entry, open_layer};
use crate::layer_source::LayerContext;

/// An entry written somewhere else than its source said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The path the source gave.
    pub from: String,
    /// Where it was placed.
    pub to: String,
}

/// A placed layer: the layer to append, its entries as placed, and what moved.
#[derive(Debug, Clone)]
pub struct PlacedLayer {
    /// The layer (the built one when nothing changed).
    pub layer: NewLayer,
    /// Its entries, as placed.
    pub listing: LayerListing,
    /// Entries whose path changed.
    pub moved: Vec<Moved>,
}

/// The mode a file gets when modes are canonical: 0755 if its owner may execute it, else 0644
/// (directories 0755); setuid, setgid and sticky bits are kept. The umask of whoever checked
/// the files out then never changes a digest.
pub fn canonical_mode(kind: &NodeKind, mode: u32) -> u32 {
    let special = mode & 0o7000;
    match kind {
        NodeKind::Dir => special | 0o755,
        NodeKind::File | NodeKind::Hardlink(_) if mode & 0o100 != 0 => special | 0o755,
        NodeKind::File | NodeKind::Hardlink(_) => special | 0o644,
        _ => mode,
    }
}

/// Places `layer` (built by the source `describe`) on `tree`. See the [module docs](self).
/// Blocking: call it from a blocking task.
pub fn place(
    layer: NewLayer,
    tree: &FileTree,
    ctx: &LayerContext,
    describe: &str,
) -> Result<PlacedLayer, Error> {
    let what = describe.to_string();
    let compression = if layer.info().media_type.ends_with("gzip") {
        Compression::Gzip
    } else {
        Compression::None
    };
    let reader = open_layer(layer.reader()?, &what)?;
    let temp = tempfile::Builder::new()
        .prefix(".okd-placed-")
        .tempfile_in(&ctx.temp_dir)
        .map_err(|e| Error::io(&ctx.temp_dir, e))?;
    let (file, temp_path) = temp.into_parts();
    let mut w = LayerWriter::new(BufWriter::new(file), compression).with_mtime(ctx.mtime);
    let mut placer = Placer {
        base: tree,
        view: tree.clone(),
        renamed: BTreeMap::new(),
        written_dirs: BTreeSet::new(),
        canonical: ctx.canonical_modes,
        what: &what,
        changed: false,
        out: LayerListing::default(),
        moved: Vec::new(),
    };
    placer.run(reader, &mut w)?;
    if !placer.changed {
        let listing = placer.out;
        return Ok(PlacedLayer {
            layer,
            listing,
            moved: Vec::new(),
        });
    }
    let (sink, info) = w.finish()?;
    sink.into_inner()
        .map_err(|e| Error::io(&*temp_path, e.into_error()))?;
    let kept = temp_path
        .keep()
        .map_err(|e| Error::io(&ctx.temp_dir, e.error))?;
    Ok(PlacedLayer {
        layer: NewLayer::from_file(kept, info).created_by(describe),
        listing: placer.out,
        moved: placer.moved,
    })
}

struct Placer<'t> {
    base: &'t FileTree,
    /// The base with this layer's entries applied so far: later entries resolve through links
    /// and directories the same layer added earlier.
    view: FileTree,
    /// Source path → placed path, for hard links to entries that moved.
    renamed: BTreeMap<String, String>,
    written_dirs: BTreeSet<String>,
    canonical: bool,
    what: &'t str,
    changed: bool,
    out: LayerListing,
    moved: Vec<Moved>,
}

impl Placer<'_> {
    fn run<W: std::io::Write>(
        &mut self,
        reader: Box<dyn Read + Send>,
        w: &mut LayerWriter<W>,
    ) -> Result<(), Error> {
        let what = self.what;
        let bad = |e: std::io::Error| Error::InvalidLayerPath {
            path: PathBuf::from(what),
            layer: what.to_string(),
            reason: format!("not a readable tar archive: {e}"),
        };
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let source = list_entry(&mut entry).map_err(bad)?;
            if source.path.is_empty() {
                // The archive's own root (`./`): the image root is the base's.
                self.changed = true;
                continue;
            }
            let Some(placed) = self.place_entry(&source)? else {
                self.changed = true;
                continue;
            };
            if placed != source {
                self.changed = true;
            }
            if placed.path != source.path {
                self.moved.push(Moved {
                    from: source.path.clone(),
                    to: placed.path.clone(),
                });
                self.renamed
                    .insert(source.path.clone(), placed.path.clone());
            }
            let mut data = Vec::new();
            let keep = crate::file_tree::keeps_content(&placed.path)
                && placed.node.kind == NodeKind::File
                && placed.size <= crate::file_tree::MAX_KEPT_FILE;
            if keep {
                entry.read_to_end(&mut data).map_err(bad)?;
                self.out.files.insert(placed.path.clone(), data.clone());
            }
            if keep {
                write_entry(w, &placed, &mut &data[..])?;
            } else {
                write_entry(w, &placed, &mut entry)?;
            }
            let one = LayerListing {
                entries: vec![placed.clone()],
                files: BTreeMap::new(),
            };
            self.view.apply(&one);
            self.out.entries.push(placed);
        }
        Ok(())
    }

    /// Where and how an entry is written, or `None` for a directory already written.
    fn place_entry(&mut self, e: &ListedEntry) -> Result<Option<ListedEntry>, Error> {
        let refuse = |reason: String| Error::InvalidLayerPath {
            path: PathBuf::from(&e.path),
            layer: self.what.to_string(),
            reason,
        };
        let is_dir = e.node.kind == NodeKind::Dir;
        let path = self
            .view
            .resolve(&e.path, is_dir)
            .map_err(|u| refuse(format!("cannot be placed: {}", u.reason)))?;
        if path.is_empty() {
            return Ok(None);
        }
        if is_dir && !self.written_dirs.insert(path.clone()) {
            return Ok(None);
        }
        if !is_dir
            && self
                .view
                .get(&path)
                .is_some_and(|n| n.kind == NodeKind::Dir)
            && self.base.get(&path).is_some()
        {
            return Err(refuse(format!(
                "would replace the directory /{path} of the base with a {}",
                kind_name(&e.node.kind)
            )));
        }
        let mut placed = e.clone();
        placed.path = path;
        if let NodeKind::Hardlink(t) = &e.node.kind {
            let target = match self.renamed.get(t) {
                Some(to) => to.clone(),
                None => self.view.resolve(t, false).map_err(|u| {
                    refuse(format!("hard link target cannot be placed: {}", u.reason))
                })?,
            };
            placed.node.kind = NodeKind::Hardlink(target);
        }
        if self.canonical {
            placed.node.mode = canonical_mode(&placed.node.kind, placed.node.mode);
        }
        if is_dir
            && let Some(base) = self.base.get(&placed.path)
            && base.kind == NodeKind::Dir
        {
            placed.node.mode = base.mode;
            placed.node.uid = base.uid;
            placed.node.gid = base.gid;
        }
        Ok(Some(placed))
    }
}

fn kind_name(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Dir => "directory",
        NodeKind::File => "file",
        NodeKind::Symlink(_) => "symbolic link",
        NodeKind::Hardlink(_) => "hard link",
        NodeKind::Other => "special file",
    }
}

fn write_entry<W: std::io::Write>(
    w: &mut LayerWriter<W>,
    e: &ListedEntry,
    data: &mut dyn Read,
) -> Result<(), Error> {
    let meta = EntryMeta {
        uid: e.node.uid,
        gid: e.node.gid,
        xattrs: e.xattrs.clone(),
    };
    match &e.node.kind {
        NodeKind::Dir => w.add_dir_with(&e.path, e.node.mode, &meta)?,
        NodeKind::File => w.add_file_with(&e.path, e.node.mode, &meta, e.size, data)?,
        NodeKind::Symlink(t) => w.add_symlink_with(&e.path, t, &meta)?,
        NodeKind::Hardlink(t) => w.add_hardlink(&e.path, t, &meta)?,
        NodeKind::Other => {
            return Err(Error::InvalidLayerPath {
                path: PathBuf::from(&e.path),
                layer: "placed layer".to_string(),
                reason: "devices and FIFOs cannot be layered".to_string(),
            });
        }
    }
    Ok(())
}
