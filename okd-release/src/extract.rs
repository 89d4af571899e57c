//! Writing a release image's `release-manifests/` into a directory, byte for byte.
//!
//! `oc adm release extract` re-serialises manifests as YAML; [`extract`] writes the bytes the
//! release holds, as `oc image extract --path /release-manifests/:DIR` would. The release is
//! loaded first (which checks that the image is a release and picks the platform of a manifest
//! list), then its release layer is streamed and its digest checked as it passes.
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

use crate::layer_reader::{LayerLimits, clean_entry_name, from_io, read_layer};
use crate::load::release_path;
use crate::{Error, LoadOptions, Release};

/// What an extraction wrote.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// The release, as loaded before its layer was unpacked.
    pub release: Release,
    /// Files written (a file the layer holds twice counts once).
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
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
    let release = Release::load_image(store, image).await?;
    unpack_release(
        store,
        image.repository(),
        release,
        dir,
        &LoadOptions::default(),
    )
    .await
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
    let layer = view
        .layers()
        .last()
        .map(|d| BlobRef::from_descriptor(d, manifest.digest()))
        .transpose()
        .map_err(Error::from)?
        .ok_or_else(not_a_release)?;
    let limits = Limits {
        file: options.max_file_size,
        total: options.max_unpacked_size,
    };
    let layer_limits = LayerLimits {
        compressed: options.max_layer_size,
        unpacked: options.max_unpacked_size,
    };
    let what = format!("release layer {} of {}", layer.digest, release.image);
    let target = dir.to_path_buf();
    let staged = read_layer(store, repo, &layer, &release.image, layer_limits, {
        let what = what.clone();
        move |layer_tar| stage(layer_tar, &target, &what, limits)
    })
    .await?;
    // `read_layer` returns only once the whole blob matched its digest: now the files may show.
    let target = dir.to_path_buf();
    let (files, bytes) = tokio::task::spawn_blocking(move || staged.place(&target))
        .await
        .map_err(|e| Error::Layer {
            what,
            reason: format!("extraction thread failed: {e}"),
        })??;
    Ok(Extracted {
        release,
        files,
        bytes,
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

/// The files of a layer written into a staging directory, not yet visible in the target.
#[derive(Debug)]
struct Staged {
    /// Removed (with whatever is left in it) when dropped, also on error.
    staging: tempfile::TempDir,
    /// Files in layer order; a later entry of the same name replaced an earlier one.
    written: Vec<Vec<String>>,
}

/// Writes the `release-manifests/` files of the uncompressed tar `layer_tar` into a staging
/// directory inside `dir`. `what` names the layer in errors.
fn stage(
    layer_tar: &mut dyn Read,
    dir: &Path,
    what: &str,
    limits: Limits,
) -> Result<Staged, ExtractError> {
    fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
    let staging = tempfile::Builder::new()
        .prefix(".okd-extract-")
        .tempdir_in(dir)
        .map_err(io_error("creating a staging directory in", dir))?;
    let mut archive = tar::Archive::new(layer_tar);
    let mut written: Vec<Vec<String>> = Vec::new();
    let mut total = 0u64;
    let mut saw_release_dir = false;
    for entry in archive.entries().map_err(|e| from_io(e, what))? {
        let mut entry = entry.map_err(|e| from_io(e, what))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(rel) = release_path(clean_entry_name(&raw_name)) else {
            continue;
        };
        let refuse = |reason: &'static str| ExtractError::UnsafeEntry {
            layer: what.to_string(),
            entry: raw_name.clone(),
            reason,
        };
        let parts = safe_parts(rel).map_err(refuse)?;
        saw_release_dir = true;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(refuse("links are not allowed in release-manifests/"));
        }
        if kind.is_dir() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(refuse("only regular files and directories are allowed"));
        }
        if parts.is_empty() {
            return Err(refuse("release-manifests must be a directory"));
        }
        if parts.last().is_some_and(|p| p.starts_with(".wh.")) {
            // A whiteout marker, not content.
            continue;
        }
        let size = entry.header().size().map_err(|e| from_io(e, what))?;
        total = total.saturating_add(size);
        if size > limits.file || total > limits.total {
            return Err(ExtractError::TooLarge {
                layer: what.to_string(),
                path: parts.join("/"),
                size: size.max(total),
                file_limit: limits.file,
                total_limit: limits.total,
            });
        }
        let path = staging.path().join(parts.iter().collect::<PathBuf>());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
        }
        // The staging directory is ours and fresh: nothing in it can be a link.
        let mut file = fs::File::create(&path).map_err(io_error("writing", &path))?;
        let copied =
            io::copy(&mut (&mut entry).take(size), &mut file).map_err(|e| from_io(e, what))?;
        if copied != size {
            return Err(ExtractError::Truncated {
                layer: what.to_string(),
                entry: raw_name,
            });
        }
        written.retain(|p| p != &parts);
        written.push(parts);
    }
    if !saw_release_dir {
        return Err(ExtractError::NoReleaseManifests {
            layer: what.to_string(),
        });
    }
    Ok(Staged { staging, written })
}

impl Staged {
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
