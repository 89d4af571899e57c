//! Where the content of an added layer comes from: a directory, a list of files, a prebuilt
//! tarball, or any [`LayerSource`] of your own.
//!
//! Every built-in source is deterministic: entries sorted, owner 0:0, one fixed modification
//! time, gzip without a timestamp. The same content therefore gives the same layer digest on
//! every machine, and a layered image built twice from the same inputs has the same digest.
//!
//! ```
//! # async fn demo() -> Result<(), okd_coreos::Error> {
//! use okd_coreos::layer_source::{FileListSource, LayerContext, LayerSource};
//!
//! let files = FileListSource::new()
//!     .bytes("etc/motd", b"OKD node\n".to_vec(), 0o644)
//!     .bytes("usr/lib/okd/release", b"4.19\n".to_vec(), 0o644);
//! let temp = tempfile::tempdir().map_err(|e| okd_coreos::Error::io("tempdir", e))?;
//! let layer = files.build(&LayerContext::new(temp.path())).await?;
//! let again = files.build(&LayerContext::new(temp.path())).await?;
//! assert_eq!(layer.info(), again.info());
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::io::BufWriter;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use okd_oci::append::{DirLayer, NewLayer};
use okd_oci::layer::{Compression, EntryMeta, LayerWriter};

use crate::Error;
use crate::owners::{Accounts, Owner};

/// Settings every source builds its layer with.
#[derive(Debug, Clone)]
pub struct LayerContext {
    /// Where layer files are written while the image is built; removed afterwards.
    pub temp_dir: PathBuf,
    /// Modification time of every entry, in seconds since the epoch.
    pub mtime: u64,
    /// How the layer is compressed.
    pub compression: Compression,
    /// Modes made canonical (0644/0755, see [`crate::placement::canonical_mode`]) so that
    /// the umask of a checkout never changes a digest.
    pub canonical_modes: bool,
    /// The base image's users and groups, for owners given by name (set by
    /// [`LayeredImage`](crate::layering::LayeredImage) from the base's tree).
    pub accounts: Option<Arc<Accounts>>,
}

impl LayerContext {
    /// Layers built in `temp_dir`, dated at the epoch, gzip-compressed.
    pub fn new(temp_dir: impl Into<PathBuf>) -> LayerContext {
        LayerContext {
            temp_dir: temp_dir.into(),
            mtime: 0,
            compression: Compression::Gzip,
            canonical_modes: false,
            accounts: None,
        }
    }
}

/// Something that produces the content of one layer.
///
/// Implement it to plug in your own producer (an RPM installer, a rendered template); the
/// returned [`NewLayer`] carries its blob, digest, size and `diff_id`, which are verified again
/// when the layer is written.
#[async_trait]
pub trait LayerSource: Send + Sync + fmt::Debug {
    /// What the layer is, for the image history and messages (`dir overlay.d`).
    fn describe(&self) -> String;

    /// Builds the layer.
    async fn build(&self, ctx: &LayerContext) -> Result<NewLayer, Error>;

    /// True for a layer made elsewhere and used as it is (a tarball): its owners come from
    /// whoever made it, and non-root ones are warned about.
    fn is_prebuilt(&self) -> bool {
        false
    }

    /// True when the layer names owners by user or group name, so that building it needs the
    /// base's accounts ([`LayerContext::accounts`]).
    fn uses_owner_names(&self) -> bool {
        false
    }
}

/// A prebuilt layer is its own source.
#[async_trait]
impl LayerSource for NewLayer {
    fn describe(&self) -> String {
        format!("layer {}", self.info().digest)
    }

    async fn build(&self, _ctx: &LayerContext) -> Result<NewLayer, Error> {
        Ok(self.clone())
    }

    fn is_prebuilt(&self) -> bool {
        true
    }
}

/// The contents of a directory tree (not the directory itself), optionally under a prefix in
/// the image. Symbolic links are kept as links: a relative target must stay inside the tree, an
/// absolute one (`/usr/lib/systemd/system/x.service`) is resolved inside the image when the
/// layer is placed (see [`lint`](crate::lint), rule `dangling-link`); file capabilities
/// (`setcap`) are kept as PAX xattr records; owners are 0:0.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
    prefix: Option<String>,
}

impl DirSource {
    /// The tree at `root`, placed at the top of the image.
    pub fn new(root: impl Into<PathBuf>) -> DirSource {
        DirSource {
            root: root.into(),
            prefix: None,
        }
    }

    /// Places the tree under `prefix` in the image (`usr/share/rpm-ostree/extensions`).
    pub fn prefix(mut self, prefix: &str) -> DirSource {
        self.prefix = Some(prefix.to_string());
        self
    }
}

#[async_trait]
impl LayerSource for DirSource {
    fn describe(&self) -> String {
        match &self.prefix {
            Some(p) => format!("dir {} → /{p}", self.root.display()),
            None => format!("dir {}", self.root.display()),
        }
    }

    async fn build(&self, ctx: &LayerContext) -> Result<NewLayer, Error> {
        let mut layer = DirLayer::new(&self.root)
            .mtime(ctx.mtime)
            .compression(ctx.compression)
            .temp_dir(&ctx.temp_dir)
            .keep_file_capabilities()
            .absolute_links();
        if let Some(p) = &self.prefix {
            layer = layer.prefix(p);
        }
        match layer.build().await {
            Ok(l) => Ok(l.created_by(self.describe())),
            Err(okd_oci::Error::SymlinkEscapes { path, target }) => Err(Error::SymlinkEscapes {
                path,
                target,
                root: self.root.clone(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// Where a listed file's content comes from.
#[derive(Clone)]
enum Content {
    Disk(PathBuf),
    Bytes(Bytes),
    Symlink(String),
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Disk(p) => write!(f, "Disk({})", p.display()),
            Content::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Content::Symlink(t) => write!(f, "Symlink({t})"),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    path: String,
    mode: u32,
    content: Content,
    owner: Option<(Owner, Owner)>,
}

/// An explicit list of files, each with its path in the image, mode and content (a file on disk
/// or bytes), and symbolic links. Parent directories are added with mode 0755; entries are
/// sorted by path.
#[derive(Debug, Clone, Default)]
pub struct FileListSource {
    entries: Vec<Entry>,
}

impl FileListSource {
    /// An empty list.
    pub fn new() -> FileListSource {
        FileListSource::default()
    }

    /// Adds the file at `from` (followed if it is a link) as `path` in the image.
    pub fn file(mut self, path: &str, from: impl Into<PathBuf>, mode: u32) -> FileListSource {
        self.entries.push(Entry {
            path: path.to_string(),
            mode,
            content: Content::Disk(from.into()),
            owner: None,
        });
        self
    }

    /// Adds `data` as `path` in the image.
    pub fn bytes(mut self, path: &str, data: impl Into<Bytes>, mode: u32) -> FileListSource {
        self.entries.push(Entry {
            path: path.to_string(),
            mode,
            content: Content::Bytes(data.into()),
            owner: None,
        });
        self
    }

    /// Adds a symbolic link at `path` to `target`. An absolute target is resolved inside the
    /// image (through the base's links) when the layer is placed; a relative one from the
    /// link's directory, and it must not climb above the image root.
    pub fn symlink(mut self, path: &str, target: &str) -> FileListSource {
        self.entries.push(Entry {
            path: path.to_string(),
            mode: 0o777,
            content: Content::Symlink(target.to_string()),
            owner: None,
        });
        self
    }

    /// Sets the owner and group of the file added last (default root). Names are resolved
    /// against the base image's passwd and group files when the layer is built.
    pub fn owned_by(mut self, user: Owner, group: Owner) -> FileListSource {
        if let Some(e) = self.entries.last_mut() {
            e.owner = Some((user, group));
        }
        self
    }

    fn owner_meta(&self, e: &Entry, ctx: &LayerContext) -> Result<EntryMeta, Error> {
        let Some((user, group)) = &e.owner else {
            return Ok(EntryMeta::default());
        };
        let bad = |reason: String| Error::InvalidLayerPath {
            path: PathBuf::from(&e.path),
            layer: self.describe(),
            reason,
        };
        let none = Accounts::default();
        let accounts = ctx.accounts.as_deref().unwrap_or(&none);
        Ok(EntryMeta {
            uid: accounts.uid(user).map_err(bad)?,
            gid: accounts.gid(group).map_err(bad)?,
            ..EntryMeta::default()
        })
    }

    fn check_path(&self, path: &str) -> Result<String, Error> {
        let bad = |reason: &str| Error::InvalidLayerPath {
            path: PathBuf::from(path),
            layer: self.describe(),
            reason: reason.to_string(),
        };
        let trimmed = path.trim_start_matches("./");
        let p = Path::new(trimmed);
        if trimmed.is_empty() || p.is_absolute() {
            return Err(bad("must be a relative path inside the image"));
        }
        if p.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(bad("must not contain `..`, `.` or empty components"));
        }
        Ok(trimmed.trim_end_matches('/').to_string())
    }

    fn build_blocking(&self, ctx: &LayerContext) -> Result<NewLayer, Error> {
        let mut entries = Vec::with_capacity(self.entries.len());
        let mut seen = BTreeSet::new();
        for e in &self.entries {
            let path = self.check_path(&e.path)?;
            if !seen.insert(path.clone()) {
                return Err(Error::InvalidLayerPath {
                    path: PathBuf::from(&e.path),
                    layer: self.describe(),
                    reason: "listed twice".to_string(),
                });
            }
            entries.push((path, e));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));

        let temp = tempfile::Builder::new()
            .prefix(".okd-layer-")
            .tempfile_in(&ctx.temp_dir)
            .map_err(|e| Error::io(&ctx.temp_dir, e))?;
        let (file, temp_path) = temp.into_parts();
        let mut w = LayerWriter::new(BufWriter::new(file), ctx.compression).with_mtime(ctx.mtime);
        let mut dirs = BTreeSet::new();
        for (path, e) in entries {
            let mut parent = String::new();
            for part in path
                .split('/')
                .rev()
                .skip(1)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                if !parent.is_empty() {
                    parent.push('/');
                }
                parent.push_str(part);
                if dirs.insert(parent.clone()) {
                    w.add_dir(&parent, 0o755)?;
                }
            }
            let meta = self.owner_meta(e, ctx)?;
            match &e.content {
                Content::Bytes(b) => {
                    w.add_file_with(&path, e.mode, &meta, b.len() as u64, &b[..])?
                }
                Content::Symlink(target) => {
                    if climbs_out(&path, target) {
                        return Err(Error::InvalidLayerPath {
                            path: PathBuf::from(&e.path),
                            layer: self.describe(),
                            reason: format!("link target {target:?} climbs above the image root"),
                        });
                    }
                    w.add_symlink_with(&path, target, &meta)?
                }
                Content::Disk(from) => {
                    let f = std::fs::File::open(from).map_err(|err| Error::io(from, err))?;
                    let owner = meta.clone();
                    let file_meta = f.metadata().map_err(|err| Error::io(from, err))?;
                    if !file_meta.is_file() {
                        return Err(Error::InvalidLayerPath {
                            path: from.clone(),
                            layer: self.describe(),
                            reason: "not a regular file".to_string(),
                        });
                    }
                    w.add_file_with(&path, e.mode, &owner, file_meta.len(), f)?;
                }
            }
        }
        let (sink, info) = w.finish()?;
        sink.into_inner()
            .map_err(|err| Error::io(&*temp_path, err.into_error()))?;
        // The layer file lives in the build's temp directory, which is removed as a whole.
        let kept = temp_path
            .keep()
            .map_err(|err| Error::io(&ctx.temp_dir, err.error))?;
        Ok(NewLayer::from_file(kept, info).created_by(self.describe()))
    }
}

/// True when the relative `target` of a link at `path` leads above the image root.
fn climbs_out(path: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth = path.matches('/').count();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

#[async_trait]
impl LayerSource for FileListSource {
    fn describe(&self) -> String {
        let names: Vec<&str> = self
            .entries
            .iter()
            .map(|e| e.path.as_str())
            .take(3)
            .collect();
        let more = self.entries.len().saturating_sub(names.len());
        if more > 0 {
            format!("files {} and {more} more", names.join(", "))
        } else {
            format!("files {}", names.join(", "))
        }
    }

    fn uses_owner_names(&self) -> bool {
        self.entries.iter().any(|e| {
            e.owner
                .as_ref()
                .is_some_and(|(u, g)| matches!(u, Owner::Name(_)) || matches!(g, Owner::Name(_)))
        })
    }

    async fn build(&self, ctx: &LayerContext) -> Result<NewLayer, Error> {
        let this = self.clone();
        let ctx = ctx.clone();
        tokio::task::spawn_blocking(move || this.build_blocking(&ctx))
            .await
            .map_err(|e| Error::Task {
                what: "building a file-list layer".to_string(),
                message: e.to_string(),
            })?
    }
}

/// A prebuilt layer tarball, plain or gzip-compressed, used as it is.
#[derive(Debug, Clone)]
pub struct TarballSource {
    path: PathBuf,
}

impl TarballSource {
    /// The tarball at `path`.
    pub fn new(path: impl Into<PathBuf>) -> TarballSource {
        TarballSource { path: path.into() }
    }
}

#[async_trait]
impl LayerSource for TarballSource {
    fn describe(&self) -> String {
        format!("tarball {}", self.path.display())
    }

    async fn build(&self, _ctx: &LayerContext) -> Result<NewLayer, Error> {
        Ok(NewLayer::from_tarball(&self.path)
            .await?
            .created_by(self.describe()))
    }

    fn is_prebuilt(&self) -> bool {
        true
    }
}
