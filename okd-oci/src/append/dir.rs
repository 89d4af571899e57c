//! [`DirLayer`]: a deterministic layer built from a directory tree.
//!
//! The tree is walked depth-first with the entries of each directory sorted by name; every entry
//! gets owner 0:0 and one fixed modification time while its permission bits (including setuid,
//! setgid and sticky) are kept, so the same tree always gives the same layer digest, whoever
//! builds it and whenever. Symbolic links are stored as links. A link whose target leads out of
//! the directory, and anything that is not a regular file, directory or link (device, FIFO,
//! socket), is refused with an error naming it: a layer must not capture the builder's machine.

use std::ffi::OsString;
use std::io::{self, BufWriter, Read};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::NewLayer;
use crate::Error;
use crate::layer::{Compression, EntryMeta, LayerWriter};

/// The extended attribute holding a file's capabilities.
const FILE_CAPABILITY: &str = "security.capability";

/// Links followed while checking where one symlink leads, as Linux's `MAXSYMLINKS`.
const MAX_LINK_HOPS: u32 = 40;

/// Builds a layer from a directory tree into a temp file.
///
/// ```
/// # async fn demo() -> Result<(), okd_oci::Error> {
/// use okd_oci::append::DirLayer;
///
/// let dir = tempfile::tempdir().map_err(|e| okd_oci::Error::io("tempdir", e))?;
/// std::fs::write(dir.path().join("image-references"), b"{}")
///     .map_err(|e| okd_oci::Error::io(dir.path(), e))?;
/// let layer = DirLayer::new(dir.path()).prefix("release-manifests").build().await?;
/// let again = DirLayer::new(dir.path()).prefix("release-manifests").build().await?;
/// assert_eq!(layer.info(), again.info());
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct DirLayer {
    root: PathBuf,
    prefix: Vec<String>,
    compression: Compression,
    mtime: u64,
    temp_dir: Option<PathBuf>,
    file_capabilities: bool,
    absolute_links: bool,
}

impl DirLayer {
    /// A layer holding the contents of `root` (not `root` itself) at the top of the image,
    /// gzip-compressed, dated at the Unix epoch.
    pub fn new(root: impl Into<PathBuf>) -> DirLayer {
        DirLayer {
            root: root.into(),
            prefix: Vec::new(),
            compression: Compression::Gzip,
            mtime: 0,
            temp_dir: None,
            file_capabilities: false,
            absolute_links: false,
        }
    }

    /// Keeps the file capabilities (`security.capability`, as `setcap` writes it) of regular
    /// files, as PAX `SCHILY.xattr.security.capability` records. Other extended attributes are
    /// never captured: SELinux labels come from the target's policy, and `user.*` attributes
    /// of the builder's machine would change the digest from one checkout to the next.
    pub fn keep_file_capabilities(mut self) -> DirLayer {
        self.file_capabilities = true;
        self
    }

    /// Stores symbolic links with an absolute target (`/usr/lib/systemd/system/x.service`) as
    /// they are, for a caller that resolves them inside the image the layer goes into (their
    /// target is then not looked for in the directory). Relative targets must still stay
    /// inside the directory.
    pub fn absolute_links(mut self) -> DirLayer {
        self.absolute_links = true;
        self
    }

    /// Places the contents under `prefix` inside the image (`release-manifests`); the prefix's
    /// directories are added with mode 0755. Empty, `.` and `..` components are ignored.
    pub fn prefix(mut self, prefix: &str) -> DirLayer {
        self.prefix = prefix
            .split('/')
            .filter(|c| !c.is_empty() && *c != "." && *c != "..")
            .map(str::to_string)
            .collect();
        self
    }

    /// How the tar is compressed (default gzip).
    pub fn compression(mut self, compression: Compression) -> DirLayer {
        self.compression = compression;
        self
    }

    /// The modification time of every entry, in seconds since the epoch (default 0).
    pub fn mtime(mut self, mtime: u64) -> DirLayer {
        self.mtime = mtime;
        self
    }

    /// Where the temp file holding the layer is created (default: the system temp directory).
    pub fn temp_dir(mut self, dir: impl Into<PathBuf>) -> DirLayer {
        self.temp_dir = Some(dir.into());
        self
    }

    /// Builds the layer. The temp file is removed when the returned layer (and every clone of
    /// it) is dropped.
    pub async fn build(self) -> Result<NewLayer, Error> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || self.build_blocking())
            .await
            .map_err(|e| Error::io(&root, io::Error::other(e)))?
    }

    fn build_blocking(self) -> Result<NewLayer, Error> {
        let meta = std::fs::metadata(&self.root).map_err(|e| Error::io(&self.root, e))?;
        if !meta.is_dir() {
            return Err(Error::Layer {
                what: self.root.display().to_string(),
                reason: "not a directory".to_string(),
            });
        }
        let temp_dir = self.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
        let temp = tempfile::Builder::new()
            .prefix(".okd-layer-")
            .tempfile_in(&temp_dir)
            .map_err(|e| Error::io(&temp_dir, e))?;
        let (file, temp_path) = temp.into_parts();
        let sink = BufWriter::with_capacity(256 * 1024, file);
        let mut w = LayerWriter::new(sink, self.compression).with_mtime(self.mtime);
        let mut parents = String::new();
        for component in &self.prefix {
            parents = if parents.is_empty() {
                component.clone()
            } else {
                format!("{parents}/{component}")
            };
            w.add_dir(&parents, 0o755)?;
        }
        self.walk(&mut w, &parents)?;
        let (sink, info) = w.finish()?;
        sink.into_inner()
            .map_err(|e| Error::io(&*temp_path, e.into_error()))?;
        Ok(NewLayer::from_temp(temp_path, info))
    }

    /// Depth-first, sorted, without recursion (trees can be deep).
    fn walk<W: io::Write>(&self, w: &mut LayerWriter<W>, prefix: &str) -> Result<(), Error> {
        // Each frame: the directory's path relative to root, and its remaining entries reversed.
        let mut stack: Vec<(Vec<OsString>, Vec<OsString>)> = vec![(Vec::new(), self.list(&[])?)];
        while let Some((dir, entries)) = stack.last_mut() {
            let Some(name) = entries.pop() else {
                stack.pop();
                continue;
            };
            let mut rel = dir.clone();
            rel.push(name);
            let full = join(&self.root, &rel);
            let tar_name = tar_name(prefix, &rel, &full)?;
            let meta = std::fs::symlink_metadata(&full).map_err(|e| Error::io(&full, e))?;
            let kind = meta.file_type();
            let mode = meta.permissions().mode() & 0o7777;
            if kind.is_dir() {
                w.add_dir(&tar_name, mode)?;
                let children = self.list(&rel)?;
                stack.push((rel, children));
            } else if kind.is_file() {
                let file = std::fs::File::open(&full).map_err(|e| Error::io(&full, e))?;
                let exact = ExactReader {
                    inner: file,
                    left: meta.len(),
                    path: &full,
                };
                let entry = self.entry_meta(&full)?;
                w.add_file_with(&tar_name, mode, &entry, meta.len(), exact)?;
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&full).map_err(|e| Error::io(&full, e))?;
                let parent = &rel[..rel.len() - 1];
                let mut hops = MAX_LINK_HOPS;
                let absolute_kept = self.absolute_links && target.is_absolute();
                if !absolute_kept && resolve(&self.root, parent, &target, &mut hops).is_none() {
                    return Err(Error::SymlinkEscapes { path: full, target });
                }
                let text = target.to_str().ok_or_else(|| Error::Layer {
                    what: full.display().to_string(),
                    reason: "symlink target is not UTF-8".to_string(),
                })?;
                w.add_symlink(&tar_name, text)?;
            } else {
                let kind = if kind.is_char_device() {
                    "character device"
                } else if kind.is_block_device() {
                    "block device"
                } else if kind.is_fifo() {
                    "fifo"
                } else if kind.is_socket() {
                    "socket"
                } else {
                    "special file"
                };
                return Err(Error::UnsupportedFileType {
                    path: full,
                    kind: kind.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The extended attributes kept for the file at `full`.
    fn entry_meta(&self, full: &Path) -> Result<EntryMeta, Error> {
        let mut meta = EntryMeta::default();
        #[cfg(unix)]
        if self.file_capabilities
            && let Some(value) =
                xattr::get(full, FILE_CAPABILITY).map_err(|e| Error::io(full, e))?
        {
            meta.xattrs.insert(FILE_CAPABILITY.to_string(), value);
        }
        Ok(meta)
    }

    /// The names in a directory, sorted in reverse so that popping yields them in order.
    fn list(&self, rel: &[OsString]) -> Result<Vec<OsString>, Error> {
        let dir = join(&self.root, rel);
        let mut names: Vec<OsString> = std::fs::read_dir(&dir)
            .and_then(|rd| rd.map(|e| e.map(|e| e.file_name())).collect())
            .map_err(|e| Error::io(&dir, e))?;
        names.sort_unstable_by(|a, b| b.cmp(a));
        Ok(names)
    }
}

fn join(root: &Path, rel: &[OsString]) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(rel);
    p
}

fn tar_name(prefix: &str, rel: &[OsString], full: &Path) -> Result<String, Error> {
    let mut name = prefix.to_string();
    for c in rel {
        let c = c.to_str().ok_or_else(|| Error::Layer {
            what: full.display().to_string(),
            reason: "file name is not UTF-8".to_string(),
        })?;
        if !name.is_empty() {
            name.push('/');
        }
        name.push_str(c);
    }
    Ok(name)
}

/// Where `target`, read from a link in directory `dir` (relative to `root`), leads inside the
/// tree, following links met on the way; `None` when it leaves the tree (or loops).
fn resolve(root: &Path, dir: &[OsString], target: &Path, hops: &mut u32) -> Option<Vec<OsString>> {
    let mut at = dir.to_vec();
    for component in target.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                at.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
            Component::Normal(name) => {
                at.push(name.to_os_string());
                let here = join(root, &at);
                let is_link = std::fs::symlink_metadata(&here)
                    .map(|m| m.file_type().is_symlink())
                    .unwrap_or(false);
                if is_link {
                    *hops = hops.checked_sub(1)?;
                    let next = std::fs::read_link(&here).ok()?;
                    at.pop();
                    at = resolve(root, &at, &next, hops)?;
                }
            }
        }
    }
    Some(at)
}

/// Reads exactly `left` bytes, failing if the file shrank while being archived (the tar header
/// already promised that many).
struct ExactReader<'p> {
    inner: std::fs::File,
    left: u64,
    path: &'p Path,
}

impl Read for ExactReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} shrank while it was archived", self.path.display()),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolve_follows_links_inside_the_tree() {
        let t = tempfile::tempdir().expect("must succeed");
        let r = t.path();
        std::fs::create_dir_all(r.join("x/y")).expect("must succeed");
        symlink("x/y", r.join("l1")).expect("must succeed");
        let mut budget = MAX_LINK_HOPS;
        let hops = &mut budget;
        assert_eq!(
            resolve(r, &[], Path::new("l1/.."), hops),
            Some(vec![OsString::from("x")])
        );
        // `up` is inside on its own, but `up/..` leaves the tree through it.
        symlink("..", r.join("x/up")).expect("must succeed");
        assert!(resolve(r, &[], Path::new("x/up"), hops).is_some());
        assert_eq!(resolve(r, &[], Path::new("x/up/.."), hops), None);
        assert_eq!(resolve(r, &[], Path::new("/etc"), hops), None);
        assert_eq!(resolve(r, &["x".into()], Path::new("../.."), hops), None);
    }

    #[test]
    fn resolve_refuses_loops() {
        let t = tempfile::tempdir().expect("must succeed");
        symlink("b", t.path().join("a")).expect("must succeed");
        symlink("a", t.path().join("b")).expect("must succeed");
        assert_eq!(
            resolve(t.path(), &[], Path::new("a"), &mut { MAX_LINK_HOPS }),
            None
        );
    }
}
