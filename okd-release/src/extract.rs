//! Writing a release image's `release-manifests/` into a directory, byte for byte.
//!
//! `oc adm release extract` re-serialises manifests as YAML; [`extract`] writes the bytes the
//! release holds, as `oc image extract --path /release-manifests/:DIR` would. The release is
//! loaded first (which checks that the image is a release and picks the platform of a manifest
//! list), then its layers are streamed, **top first** as `oc` reads them, and each one's digest
//! checked as it passes: a file of a higher layer wins over the same file in a lower one (a
//! release someone appended a layer to gives the appended files), and a whiteout in a higher
//! layer hides the file below it. A lower layer compressed with zstd cannot be read here and is
//! skipped with a warning ([`Extracted::warnings`]). [`extract_file`] gives one file's bytes, as
//! `oc adm release extract --file` does, from the highest layer holding it.
//!
//! The layer comes from whoever published the image, so it is treated as hostile:
//!
//! * files are written into a fresh staging directory inside the target directory and moved
//!   into place (one rename each) only once the whole layer has been verified, so a corrupt,
//!   truncated or refused layer leaves nothing behind and no half-written file is ever visible;
//! * entries that would leave the directory (`..`, absolute paths), links and anything but
//!   regular files and directories are refused ([`ExtractError::UnsafeEntry`]);
//! * directories of the target that are symbolic links are not followed, and a link in place of
//!   a file is replaced rather than written through;
//! * the compressed layer, each file, the files together and everything the layer decompresses
//!   to are bounded by the limits of [`LoadOptions`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use okd_oci::{ImageRef, MemoryStore};
//!
//! # let store = MemoryStore::new();
//! # let payload = testkit::payload::generate(&store, &testkit::payload::PayloadSpec::new()).await?;
//! // `store` holds the release image `image` names.
//! # let (repo, tag) = (&payload.release.repo, &payload.release.tag);
//! let image: ImageRef = format!("quay.io/{repo}:{tag}").parse()?;
//! let dir = tempfile::tempdir()?;
//! let done = okd_release::extract::extract(&store, &image, dir.path()).await?;
//! println!("{}: {} files, {} bytes", done.release.name, done.files, done.bytes);
//! assert!(dir.path().join("image-references").is_file());
//! # Ok(()) }
//! ```
//!
//! The binaries of a release (`--command`, `--tools`) are in [`command`], its credentials
//! requests (`--credentials-requests`) in [`credentials_requests`].

pub mod archive;
pub mod command;
pub mod credentials_requests;
pub mod markers;
pub mod targets;
pub mod tools;

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use okd_oci::{BlobRef, ImageRef, ManifestRef, ManifestView, Store};

use crate::layer_reader::{
    LayerLimits, clean_entry_name, from_io, go_entries, read_entry_data, read_layer,
};
use crate::load::release_path;
use crate::{Error, LoadOptions, Release};

/// What an extraction wrote.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// The release, as loaded before its layers were unpacked.
    pub release: Release,
    /// Files written (a file the layers hold twice counts once).
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Layers that could not be read and were skipped, each with the reason.
    pub warnings: Vec<String>,
}

/// Why an extraction failed. Nothing was written into the target directory unless the error
/// arose while placing the verified files ([`ExtractError::LinkInTarget`],
/// [`ExtractError::NotADirectory`], [`ExtractError::IsADirectory`] or a write error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// Loading the release or reading its layer failed: not a release, unsupported image or
    /// compression, a layer over its limits, a digest mismatch, a store error.
    #[error(transparent)]
    Release(#[from] Error),
    /// A `release-manifests/` entry that would escape the directory or is not a regular file.
    #[error("{layer}: unsafe entry {entry:?}: {reason}")]
    UnsafeEntry {
        /// The release layer and image.
        layer: String,
        /// The tar entry name.
        entry: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A file over the per-file limit, or one that takes the files together over the total limit.
    #[error(
        "{layer}: release-manifests/{path} makes the extraction too large ({size} bytes, limits {file_limit} per file and {total_limit} in all)"
    )]
    TooLarge {
        /// The release layer and image.
        layer: String,
        /// The file, below `release-manifests/`.
        path: String,
        /// Its size, or the size of the files together when that is over the total limit.
        size: u64,
        /// Largest file allowed.
        file_limit: u64,
        /// Largest total allowed.
        total_limit: u64,
    },
    /// A tar entry whose data ends before the size its header announces.
    #[error("{layer}: {entry:?} is truncated")]
    Truncated {
        /// The release layer and image.
        layer: String,
        /// The tar entry name.
        entry: String,
    },
    /// A layer without `release-manifests/`.
    #[error("{layer} has no release-manifests/")]
    NoReleaseManifests {
        /// The release layer and image.
        layer: String,
    },
    /// [`extract_file`] found no such file in `release-manifests/`.
    #[error("{image} does not contain release-manifests/{file}")]
    NoSuchFile {
        /// The release image.
        image: String,
        /// The file asked for, below `release-manifests/`.
        file: String,
    },
    /// A directory on the way to a file is a symbolic link in the target directory.
    #[error("{} is a symbolic link; not following it", .path.display())]
    LinkInTarget {
        /// The link.
        path: PathBuf,
    },
    /// A directory on the way to a file exists in the target directory as something else.
    #[error("{} exists and is not a directory", .path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A file would replace a directory of the target directory.
    #[error("{} exists and is a directory", .path.display())]
    IsADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Creating, writing or moving a file or directory failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done (`creating`, `writing`, ...).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Extracts `release-manifests/` of the release image `image`, which lives in `store`, into
/// `dir` (created when missing), with the default [`LoadOptions`].
pub async fn extract(
    store: &dyn Store,
    image: &ImageRef,
    dir: &Path,
) -> Result<Extracted, ExtractError> {
    extract_image_with(store, image, dir, &LoadOptions::default()).await
}

/// [`extract`] with explicit options: the platform read from a manifest list, the limits.
pub async fn extract_image_with(
    store: &dyn Store,
    image: &ImageRef,
    dir: &Path,
    options: &LoadOptions,
) -> Result<Extracted, ExtractError> {
    let release = Release::load_image_with(store, image, options).await?;
    unpack_release(store, image.repository(), release, dir, options).await
}

/// Extracts `release-manifests/` of the release image `reference` of repository `repo` into
/// `dir`, with `options` for the platform picked from a manifest list and the limits.
pub async fn extract_with(
    store: &dyn Store,
    repo: &str,
    reference: &ManifestRef,
    dir: &Path,
    options: &LoadOptions,
) -> Result<Extracted, ExtractError> {
    let release = Release::load_with(store, repo, reference, options).await?;
    unpack_release(store, repo, release, dir, options).await
}

async fn unpack_release(
    store: &dyn Store,
    repo: &str,
    release: Release,
    dir: &Path,
    options: &LoadOptions,
) -> Result<Extracted, ExtractError> {
    let layers = release_layers(store, repo, &release).await?;
    let limits = Limits {
        file: options.max_file_size,
        total: options.max_unpacked_size,
    };
    let layer_limits = LayerLimits {
        compressed: options.max_layer_size,
        unpacked: options.max_unpacked_size,
    };
    let mut staged = Staged::new(dir)?;
    let mut warnings = Vec::new();
    for (depth, layer) in layers.iter().rev().enumerate() {
        if staged.opaque {
            break;
        }
        // The release layer must be read; a lower one this reader cannot open is said aloud.
        if depth > 0 && layer.media_type.ends_with("zstd") {
            warnings.push(format!(
                "layer {} of {} is zstd-compressed and was not read",
                layer.digest, release.image
            ));
            continue;
        }
        let what = format!("layer {} of {}", layer.digest, release.image);
        staged = read_layer(store, repo, layer, &release.image, layer_limits, {
            move |layer_tar| staged.add_layer(layer_tar, &what, limits)
        })
        .await?;
    }
    staged.check_found(&format!("release image {}", release.image))?;
    // `read_layer` returns only once each whole blob matched its digest: now the files may show.
    let target = dir.to_path_buf();
    let (files, bytes) = tokio::task::spawn_blocking(move || staged.place(&target))
        .await
        .map_err(|e| Error::Layer {
            what: format!("release-manifests/ of {}", release.image),
            reason: format!("extraction thread failed: {e}"),
        })??;
    Ok(Extracted {
        release,
        files,
        bytes,
        warnings,
    })
}

/// The layers of the image whose release was loaded, bottom first.
async fn release_layers(
    store: &dyn Store,
    repo: &str,
    release: &Release,
) -> Result<Vec<BlobRef>, ExtractError> {
    // By digest: the image whose release was just loaded, even if its tag moved since.
    let manifest = store
        .read_manifest(repo, &ManifestRef::Digest(release.digest.clone()))
        .await
        .map_err(Error::from)?;
    let not_a_release = || Error::NotARelease {
        image: release.image.clone(),
        file: String::new(),
    };
    let ManifestView::Image(view) = manifest.view().map_err(Error::from)? else {
        return Err(not_a_release().into());
    };
    let layers = view
        .layers()
        .iter()
        .map(|d| BlobRef::from_descriptor(d, manifest.digest()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::from)?;
    if layers.is_empty() {
        return Err(not_a_release().into());
    }
    Ok(layers)
}

/// The bytes of `release-manifests/NAME` in the release image `image`, which lives in `store`:
/// what `oc adm release extract --file NAME` prints. Layers are read top first and the first
/// copy found wins; each layer read is checked against its digest before anything is returned.
/// The file is bounded by the per-file limit of the default [`LoadOptions`].
pub async fn extract_file(
    store: &dyn Store,
    image: &ImageRef,
    name: &str,
) -> Result<(Release, Vec<u8>), ExtractError> {
    let options = LoadOptions::default();
    let release = Release::load_image(store, image).await?;
    let wanted = safe_parts(name)
        .ok()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ExtractError::NoSuchFile {
            image: release.image.clone(),
            file: name.to_string(),
        })?;
    let layers = release_layers(store, image.repository(), &release).await?;
    let layer_limits = LayerLimits {
        compressed: options.max_layer_size,
        unpacked: options.max_unpacked_size,
    };
    for (depth, layer) in layers.iter().rev().enumerate() {
        if depth > 0 && layer.media_type.ends_with("zstd") {
            continue;
        }
        let what = format!("layer {} of {}", layer.digest, release.image);
        let wanted = wanted.clone();
        let max = options.max_file_size;
        let found = read_layer(
            store,
            image.repository(),
            layer,
            &release.image,
            layer_limits,
            move |layer_tar| find_file(layer_tar, &wanted, &what, max),
        )
        .await?;
        match found {
            Lookup::Found(data) => return Ok((release, data)),
            Lookup::Hidden => break,
            Lookup::Absent => {}
        }
    }
    Err(ExtractError::NoSuchFile {
        image: release.image,
        file: name.to_string(),
    })
}

/// What one layer says about a file.
enum Lookup {
    Found(Vec<u8>),
    /// A whiteout: the file is deleted for every layer below.
    Hidden,
    Absent,
}

fn find_file(
    layer_tar: &mut dyn Read,
    wanted: &[String],
    what: &str,
    max: u64,
) -> Result<Lookup, ExtractError> {
    // A whiteout hides the file in the layers below, not a copy in its own layer.
    let mut hidden_below = false;
    let mut found = None;
    go_entries(layer_tar, what, |entry| {
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(parts) =
            release_path(clean_entry_name(&raw_name)).and_then(|r| safe_parts(r).ok())
        else {
            return Ok(true);
        };
        let Some((last, parents)) = parts.split_last() else {
            return Ok(true);
        };
        let hides = match last.strip_prefix(".wh.") {
            Some(".wh..opq") => wanted.starts_with(parents) && wanted.len() > parents.len(),
            Some(hidden) => {
                parents == &wanted[..wanted.len() - 1] && hidden == wanted[wanted.len() - 1]
            }
            None => false,
        };
        if hides {
            hidden_below = true;
            return Ok(true);
        }
        if parts != wanted || !entry.header().entry_type().is_file() {
            return Ok(true);
        }
        let size = entry.header().size().map_err(|e| from_io(e, what))?;
        if size > max {
            return Err(ExtractError::TooLarge {
                layer: what.to_string(),
                path: parts.join("/"),
                size,
                file_limit: max,
                total_limit: max,
            });
        }
        found = Some(read_entry_data(entry, size, &raw_name, what)?);
        Ok(false)
    })?;
    if let Some(data) = found {
        return Ok(Lookup::Found(data));
    }
    Ok(if hidden_below {
        Lookup::Hidden
    } else {
        Lookup::Absent
    })
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    file: u64,
    total: u64,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ExtractError {
    let path = path.to_path_buf();
    move |source| ExtractError::Io {
        action,
        path,
        source,
    }
}

/// Splits a relative entry path into safe parts: no `..`, no root, no empty names.
fn safe_parts(rel: &str) -> Result<Vec<String>, &'static str> {
    let mut parts = Vec::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => match p.to_str() {
                Some(s) => parts.push(s.to_string()),
                None => return Err("the name is not UTF-8"),
            },
            Component::CurDir => {}
            Component::ParentDir => return Err("the path escapes release-manifests/"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute paths are not allowed");
            }
        }
    }
    Ok(parts)
}

/// The files of the layers written into a staging directory, not yet visible in the target.
#[derive(Debug)]
struct Staged {
    /// Removed (with whatever is left in it) when dropped, also on error.
    staging: tempfile::TempDir,
    /// Files in the order they were first met, top layer first.
    written: Vec<Vec<String>>,
    /// Paths a higher layer already gave or hid: the same path in a lower layer is skipped.
    taken: std::collections::HashSet<Vec<String>>,
    /// Directories a higher layer's opaque whiteout hid.
    opaque_dirs: Vec<Vec<String>>,
    /// `release-manifests/` itself was hidden: no lower layer counts.
    opaque: bool,
    total: u64,
    saw_release_dir: bool,
}

/// Writes the `release-manifests/` files of the uncompressed tar `layer_tar` into a staging
/// directory inside `dir`. `what` names the layer in errors.
#[cfg(test)]
fn stage(
    layer_tar: &mut dyn Read,
    dir: &Path,
    what: &str,
    limits: Limits,
) -> Result<Staged, ExtractError> {
    let staged = Staged::new(dir)?.add_layer(layer_tar, what, limits)?;
    staged.check_found(what)?;
    Ok(staged)
}

impl Staged {
    /// A fresh staging directory inside `dir` (created when missing).
    fn new(dir: &Path) -> Result<Staged, ExtractError> {
        fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
        let staging = tempfile::Builder::new()
            .prefix(".okd-extract-")
            .tempdir_in(dir)
            .map_err(io_error("creating a staging directory in", dir))?;
        Ok(Staged {
            staging,
            written: Vec::new(),
            taken: Default::default(),
            opaque_dirs: Vec::new(),
            opaque: false,
            total: 0,
            saw_release_dir: false,
        })
    }

    fn hidden(&self, parts: &[String]) -> bool {
        self.taken.contains(parts) || self.opaque_dirs.iter().any(|d| parts.starts_with(d))
    }

    /// Stages the `release-manifests/` files of one layer, below those of the layers above it.
    fn add_layer(
        mut self,
        layer_tar: &mut dyn Read,
        what: &str,
        limits: Limits,
    ) -> Result<Staged, ExtractError> {
        // Whiteouts act on the layers below only, so they take effect once this layer is done.
        let (mut whiteouts, mut opaque_dirs) = (Vec::new(), Vec::new());
        go_entries(layer_tar, what, |entry| {
            let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(rel) = release_path(clean_entry_name(&raw_name)) else {
                return Ok(true);
            };
            let refuse = |reason: &'static str| ExtractError::UnsafeEntry {
                layer: what.to_string(),
                entry: raw_name.clone(),
                reason,
            };
            let parts = safe_parts(rel).map_err(refuse)?;
            self.saw_release_dir = true;
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                return Err(refuse("links are not allowed in release-manifests/"));
            }
            if kind.is_dir() {
                return Ok(true);
            }
            if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                return Err(refuse("only regular files and directories are allowed"));
            }
            let Some((last, parents)) = parts.split_last() else {
                return Err(refuse("release-manifests must be a directory"));
            };
            if let Some(hidden) = last.strip_prefix(".wh.") {
                if hidden == ".wh..opq" {
                    opaque_dirs.push(parents.to_vec());
                } else {
                    let mut path = parents.to_vec();
                    path.push(hidden.to_string());
                    whiteouts.push(path);
                }
                return Ok(true);
            }
            if self.hidden(&parts) {
                return Ok(true);
            }
            let size = entry.header().size().map_err(|e| from_io(e, what))?;
            let total = self.total.saturating_add(size);
            if size > limits.file || total > limits.total {
                return Err(ExtractError::TooLarge {
                    layer: what.to_string(),
                    path: parts.join("/"),
                    size: size.max(total),
                    file_limit: limits.file,
                    total_limit: limits.total,
                });
            }
            self.total = total;
            let path = self.staging.path().join(parts.iter().collect::<PathBuf>());
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
            }
            // The staging directory is ours and fresh: nothing in it can be a link.
            let mut file = fs::File::create(&path).map_err(io_error("writing", &path))?;
            let copied =
                io::copy(&mut entry.take(size), &mut file).map_err(|e| from_io(e, what))?;
            if copied != size {
                return Err(ExtractError::Truncated {
                    layer: what.to_string(),
                    entry: raw_name,
                });
            }
            // Within one layer a later entry replaces an earlier one of the same name.
            self.written.retain(|p| p != &parts);
            self.written.push(parts);
            Ok(true)
        })?;
        for p in &self.written {
            self.taken.insert(p.clone());
        }
        self.taken.extend(whiteouts);
        self.opaque |= opaque_dirs.iter().any(Vec::is_empty);
        self.opaque_dirs.extend(opaque_dirs);
        Ok(self)
    }

    /// Fails when no layer read had `release-manifests/`.
    fn check_found(&self, what: &str) -> Result<(), ExtractError> {
        if self.saw_release_dir {
            Ok(())
        } else {
            Err(ExtractError::NoReleaseManifests {
                layer: what.to_string(),
            })
        }
    }

    /// Moves every staged file into `dir`. Returns the number of files and their bytes.
    fn place(self, dir: &Path) -> Result<(usize, u64), ExtractError> {
        let mut bytes = 0;
        for parts in &self.written {
            bytes += place(self.staging.path(), dir, parts)?;
        }
        self.staging
            .close()
            .map_err(io_error("removing the staging directory in", dir))?;
        Ok((self.written.len(), bytes))
    }
}

/// Moves the staged file `parts` into `dir`, creating real directories on the way and refusing
/// to go through a symbolic link. Returns its size.
fn place(staging: &Path, dir: &Path, parts: &[String]) -> Result<u64, ExtractError> {
    let Some((name, parents)) = parts.split_last() else {
        return Ok(0);
    };
    let mut at = dir.to_path_buf();
    for p in parents {
        at.push(p);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(ExtractError::LinkInTarget { path: at });
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(ExtractError::NotADirectory { path: at }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&at).map_err(io_error("creating", &at))?;
            }
            Err(e) => return Err(io_error("reading", &at)(e)),
        }
    }
    let target = at.join(name);
    if let Ok(m) = fs::symlink_metadata(&target)
        && m.is_dir()
    {
        return Err(ExtractError::IsADirectory { path: target });
    }
    let from = staging.join(parts.iter().collect::<PathBuf>());
    let size = fs::metadata(&from)
        .map_err(io_error("reading", &from))?
        .len();
    // rename(2) replaces a link at `target` rather than writing through it.
    fs::rename(&from, &target).map_err(io_error("writing", &target))?;
    Ok(size)
}

#[cfg(test)]
mod tests;
