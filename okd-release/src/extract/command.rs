//! `release extract --command` and `--tools`: a release's `oc` and `openshift-install`, with
//! the release written into them, as `oc adm release extract` writes them.
//!
//! The release is loaded, the binaries to extract are chosen from [`targets`](super::targets)
//! for the command and system asked for, and each is streamed out of its component image: the
//! layers are read top first and the first regular file at the binary's path is taken, as `oc`
//! does; its bytes pass through [`markers`](super::markers), which writes the release pullspec
//! (by digest), the release name and the release platform over their placeholders, and go to
//! disk either as the binary (mode 0755) or packed into an [`archive`](super::archive). Nothing
//! is ever unpacked besides that one file, and each layer's digest is checked before anything
//! it gave is used.
//!
//! With archives (`--tools`, or `--command-os='*'`) `release.txt` (what the installer installs:
//! the release's `release info` with pullspecs) and `sha256sum.txt` (`<sha256>  <file>` lines,
//! sorted by name, for `sha256sum -c`) are written too.
//!
//! Everything is written into a staging directory inside the target directory and moved into
//! place only once every binary was found and verified: a failed extraction leaves nothing. A
//! binary without one of its placeholders gets `oc`'s warning, or fails the extraction when
//! [`CommandOptions::strict`] is set.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use okd_oci::{ImageRef, MemoryStore, StoreMap};
//! use okd_release::extract::command::{CommandOptions, extract_command};
//! use okd_release::extract::markers::Marker;
//!
//! # let mut installer = b"ELF".to_vec();
//! # installer.extend(Marker::ReleaseImage.placeholder());
//! # let spec = testkit::payload::PayloadSpec::new().components(8).layer_size(256)
//! #     .file("installer", "usr/bin/openshift-install", installer);
//! let store = Arc::new(MemoryStore::new());
//! # let payload = testkit::payload::generate(store.as_ref(), &spec).await?;
//! // `store` holds a release whose `installer` image carries `usr/bin/openshift-install`.
//! let image: ImageRef = "quay.io/okd/scos-release:4.19.0-okd-scos.1".parse()?;
//! let components = StoreMap::offline().with_fallback(store.clone());
//! let dir = tempfile::tempdir()?;
//! let options = CommandOptions::command("openshift-install", "linux/amd64".parse()?);
//! let done = extract_command(store.as_ref(), &image, &components, dir.path(), &options).await?;
//! assert_eq!(done.files[0].name, "openshift-install");
//! for w in &done.warnings {
//!     eprintln!("{w}");
//! }
//! # Ok(()) }
//! ```

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use okd_oci::{Access, BlobRef, ImageRef, ManifestRef, ManifestView, RawManifest, Store, StoreMap};

use super::archive::{Member, Packer};
use super::markers::Marker;
use super::markers::{MarkerError, Replaced, Replacement, copy_and_replace};
use super::targets::{CommandOs, Entry, Target, TargetError, select};
use super::tools::{Hashing, readme, release_txt, sha256sum_txt};
use crate::layer_reader::{LayerLimits, clean_entry_name, from_io, read_layer};
use crate::{Error, Release};

/// What to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOptions {
    /// The command (`oc`, `openshift-install`, …); `None` for every tool as archives
    /// (`--tools`).
    pub command: Option<String>,
    /// The system to extract for (`--command-os`).
    pub command_os: CommandOs,
    /// Fail when a binary lacks one of its placeholders instead of warning.
    pub strict: bool,
    /// Largest compressed layer read (default 8 GiB).
    pub max_layer_size: u64,
    /// Largest uncompressed layer read (default 32 GiB).
    pub max_unpacked_size: u64,
}

impl CommandOptions {
    /// One command for one system.
    pub fn command(command: impl Into<String>, command_os: CommandOs) -> CommandOptions {
        CommandOptions {
            command: Some(command.into()),
            ..CommandOptions::tools(command_os)
        }
    }

    /// Every tool, as archives, for `command_os` (`--tools`).
    pub fn tools(command_os: CommandOs) -> CommandOptions {
        CommandOptions {
            command: None,
            command_os,
            strict: false,
            max_layer_size: 8 << 30,
            max_unpacked_size: 32 << 30,
        }
    }
}

/// A file [`extract_command`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// Its name in the target directory.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// The SHA-256 `sha256sum.txt` lists for it, for archives and `release.txt`.
    pub sha256: Option<String>,
}

/// What [`extract_command`] did.
#[derive(Debug, Clone)]
pub struct ExtractedTools {
    /// The release.
    pub release: Release,
    /// The files written, binaries and archives first in table order, then `release.txt` and
    /// `sha256sum.txt`.
    pub files: Vec<WrittenFile>,
    /// Warnings to show, in `oc`'s words: images the release lacks, placeholders not found,
    /// macOS arm64 binaries whose signature was not renewed.
    pub warnings: Vec<String>,
}

/// Why an extraction failed. Nothing was written into the target directory unless the error
/// says it arose while moving the finished files into it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Loading the release or reading an image failed.
    #[error(transparent)]
    Release(#[from] Error),
    /// No binary matches the command and system.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A value does not fit its placeholder.
    #[error("{command}: {source}")]
    Marker {
        /// The command.
        command: String,
        /// What did not fit.
        #[source]
        source: MarkerError,
    },
    /// One binary is not in its image.
    #[error("image did not contain {0}")]
    NotFound(String),
    /// Several binaries are not in their images.
    #[error("unable to find multiple files: {0}")]
    NotFoundMany(String),
    /// With [`CommandOptions::strict`]: a binary lacks placeholders.
    #[error("not every placeholder was replaced (--strict): {0}")]
    Strict(String),
    /// Writing or moving a file failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CommandError {
    let path = path.to_path_buf();
    move |source| CommandError::Io {
        action,
        path,
        source,
    }
}

/// Extracts the binaries `options` asks for from the release `image` in `store` into `dir`
/// (created when missing); component images are read through `components`. See the
/// [module docs](self).
pub async fn extract_command(
    store: &dyn Store,
    image: &ImageRef,
    components: &StoreMap,
    dir: &Path,
    options: &CommandOptions,
) -> Result<ExtractedTools, CommandError> {
    let release = Release::load_image(store, image).await?;
    let selection = select(
        options.command.as_deref(),
        &options.command_os,
        &release.config.architecture,
        |tag| release.components.contains_key(tag),
    )?;
    let mut warnings: Vec<String> = selection.warning().into_iter().collect();
    fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    let staging = tempfile::Builder::new()
        .prefix(".okd-extract-")
        .tempdir_in(dir)
        .map_err(io_err("creating a staging directory in", dir))?;
    let replacements = [
        (Marker::ReleaseImage, release.pull_spec.clone()),
        (Marker::ReleaseVersion, release.name.clone()),
        (Marker::ReleaseArchitecture, release.platform()),
    ];
    let limits = LayerLimits {
        compressed: options.max_layer_size,
        unpacked: options.max_unpacked_size,
    };
    let mut files = Vec::new();
    let mut not_found = Vec::new();
    let mut unreplaced = Vec::new();
    for target in &selection.targets {
        let entry = target.entry;
        let wanted: Vec<Replacement> = replacements
            .iter()
            .filter(|(m, _)| entry.markers.contains(m))
            .map(|(m, v)| Replacement::new(*m, v.clone()))
            .collect();
        let job = Job {
            target: target.clone(),
            path: staging.path().join(target.file_name(&release.name)),
            replacements: wanted,
        };
        match extract_one(&release, components, limits, job).await? {
            None => not_found.push(entry),
            Some((file, replaced)) => {
                if let Some(w) = replaced.warning(entry.binary_name()) {
                    unreplaced.push(format!("{}: {}", file.name, names(&replaced)));
                    warnings.push(w);
                }
                if entry.signed_macho && !entry.markers.is_empty() {
                    warnings.push(format!(
                        "warning: {} is a macOS arm64 binary whose code signature is not renewed after the release was written into it; re-sign it before running it",
                        file.name
                    ));
                }
                files.push(file);
            }
        }
    }
    check_found(&not_found, options.command.is_none())?;
    if options.strict && !unreplaced.is_empty() {
        return Err(CommandError::Strict(unreplaced.join("; ")));
    }
    if selection.archives {
        let text = release_txt(&release);
        files.push(write_staged(
            staging.path(),
            "release.txt",
            text.as_bytes(),
            true,
        )?);
        let sums = sha256sum_txt(&files);
        files.push(write_staged(
            staging.path(),
            "sha256sum.txt",
            sums.as_bytes(),
            false,
        )?);
    }
    for f in &files {
        let from = staging.path().join(&f.name);
        let to = dir.join(&f.name);
        fs::rename(&from, &to).map_err(io_err("moving into place", &to))?;
    }
    staging
        .close()
        .map_err(io_err("removing the staging directory in", dir))?;
    Ok(ExtractedTools {
        release,
        files,
        warnings,
    })
}

fn names(r: &Replaced) -> String {
    r.missing
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `oc`'s rule for binaries not found: newer entries may be absent, and so may the RHEL 8/9
/// builds when every tool is extracted.
fn check_found(not_found: &[&Entry], all_tools: bool) -> Result<(), CommandError> {
    let mut missing: Vec<&str> = Vec::new();
    for entry in not_found {
        let path = entry.path;
        if entry.new_arch || (all_tools && (path.contains("rhel9") || path.contains("rhel8"))) {
            continue;
        }
        missing.push(path);
    }
    missing.sort_unstable();
    missing.dedup();
    match missing.len() {
        0 => Ok(()),
        1 => Err(CommandError::NotFound(missing[0].to_string())),
        _ => Err(CommandError::NotFoundMany(missing.join(", "))),
    }
}

fn write_staged(
    staging: &Path,
    name: &str,
    data: &[u8],
    listed: bool,
) -> Result<WrittenFile, CommandError> {
    let path = staging.join(name);
    fs::write(&path, data).map_err(io_err("writing", &path))?;
    set_mode(&path, 0o644)?;
    Ok(WrittenFile {
        name: name.to_string(),
        size: data.len() as u64,
        sha256: listed.then(|| super::tools::sha256_hex(data)),
    })
}

/// One binary to extract into a staged file.
#[derive(Debug, Clone)]
struct Job {
    target: Target,
    path: PathBuf,
    replacements: Vec<Replacement>,
}

/// Streams the binary of `job` out of its image. `None` when no layer holds it.
async fn extract_one(
    release: &Release,
    components: &StoreMap,
    limits: LayerLimits,
    job: Job,
) -> Result<Option<(WrittenFile, Replaced)>, CommandError> {
    let entry = job.target.entry;
    let Some(component) = release.components.get(entry.image) else {
        return Ok(None);
    };
    let resolved = components
        .resolve(&component.image, Access::Read)
        .await
        .map_err(Error::from)?;
    let store = resolved.store.as_ref();
    let repo = resolved.repository.as_str();
    let manifest = image_manifest(store, repo, &component.image, release).await?;
    let ManifestView::Image(view) = manifest.view().map_err(Error::from)? else {
        return Err(Error::UnsupportedImage {
            image: component.image.to_string(),
            reason: "not an image manifest".to_string(),
        }
        .into());
    };
    let layers: Vec<BlobRef> = view
        .layers()
        .iter()
        .map(|d| BlobRef::from_descriptor(d, manifest.digest()))
        .collect::<Result<_, _>>()
        .map_err(Error::from)?;
    // Top layer first: the file a container would see.
    for layer in layers.iter().rev() {
        let job = job.clone();
        let what = format!("layer {} of {}", layer.digest, component.image);
        let found = read_layer(
            store,
            repo,
            layer,
            &component.pullspec,
            limits,
            move |tar| write_from_layer(tar, &job, &what),
        )
        .await?;
        if let Some(found) = found {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The image manifest of a component: the manifest itself, or from a manifest list the one for
/// the release's platform.
async fn image_manifest(
    store: &dyn Store,
    repo: &str,
    image: &ImageRef,
    release: &Release,
) -> Result<RawManifest, CommandError> {
    let reference = image
        .manifest_ref()
        .ok_or_else(|| Error::UnsupportedImage {
            image: image.to_string(),
            reason: "names neither a tag nor a digest".to_string(),
        })?;
    let top = store
        .read_manifest(repo, &reference)
        .await
        .map_err(Error::from)?;
    if !top.is_index() {
        return Ok(top);
    }
    let ManifestView::Index(list) = top.view().map_err(Error::from)? else {
        return Ok(top);
    };
    let child = list.manifests().iter().find(|d| {
        d.platform().as_ref().is_some_and(|p| {
            p.os().to_string() == or_linux(&release.config.os)
                && p.architecture().to_string() == release.config.architecture
        })
    });
    let Some(child) = child else {
        return Err(Error::UnsupportedImage {
            image: image.to_string(),
            reason: format!(
                "the manifest list has no {}/{} image",
                or_linux(&release.config.os),
                release.config.architecture
            ),
        }
        .into());
    };
    let digest = BlobRef::from_descriptor(child, top.digest())
        .map_err(Error::from)?
        .digest;
    Ok(store
        .read_manifest(repo, &ManifestRef::Digest(digest))
        .await
        .map_err(Error::from)?)
}

fn or_linux(os: &str) -> &str {
    if os.is_empty() { "linux" } else { os }
}

/// Scans one uncompressed layer for the binary of `job` and writes it, replaced and packed as
/// asked, to the staged path.
fn write_from_layer(
    tar: &mut dyn Read,
    job: &Job,
    what: &str,
) -> Result<Option<(WrittenFile, Replaced)>, CommandError> {
    let mut archive = tar::Archive::new(tar);
    for e in archive.entries().map_err(|e| from_io(e, what))? {
        let mut e = e.map_err(|e| from_io(e, what))?;
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let kind = e.header().entry_type();
        // Only regular files count, as `oc` extracts only files: a link or directory at the
        // path leaves the search to lower layers.
        if clean_entry_name(&name) != job.target.entry.path
            || !(kind.is_file() || kind == tar::EntryType::Continuous)
        {
            continue;
        }
        let size = e.header().size().map_err(|e| from_io(e, what))?;
        let mtime = e.header().mtime().map_err(|e| from_io(e, what))? as i64;
        let replaced = write_binary(&mut e, job, size, mtime, what)?;
        let written = fs::metadata(&job.path)
            .map_err(io_err("reading", &job.path))?
            .len();
        let file = WrittenFile {
            name: job
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: written,
            sha256: replaced.1,
        };
        return Ok(Some((file, replaced.0)));
    }
    Ok(None)
}

/// Writes `size` bytes of `data` to the staged path: the binary, or an archive of it. Returns
/// what was replaced and, for an archive, its SHA-256.
fn write_binary(
    data: &mut dyn Read,
    job: &Job,
    size: u64,
    mtime: i64,
    what: &str,
) -> Result<(Replaced, Option<String>), CommandError> {
    let target = &job.target;
    let command = target.entry.binary_name().to_string();
    let marker_err = |source: MarkerError| match source {
        MarkerError::Io(e) if e.get_ref().is_some() => CommandError::from(from_io(e, what)),
        source => CommandError::Marker {
            command: command.clone(),
            source,
        },
    };
    let file = fs::File::create(&job.path).map_err(io_err("writing", &job.path))?;
    let input = data.take(size);
    let (replaced, sha256) = if target.archive {
        let out = Hashing::new(BufWriter::with_capacity(1 << 16, file));
        let name = target.member_name();
        let member = Member {
            name: &name,
            size,
            mtime,
            links: if target.zip { &[] } else { target.entry.links },
        };
        let text = readme(target.entry.readme);
        let mut packer = if target.zip {
            Packer::zip(out, text, &member)
        } else {
            Packer::tar_gz(out, text, &member)
        }
        .map_err(io_err("writing", &job.path))?;
        let replaced =
            copy_and_replace(input, &mut packer, &job.replacements).map_err(marker_err)?;
        let out = packer.finish().map_err(io_err("writing", &job.path))?;
        let (out, digest) = out.finish();
        out.into_inner()
            .map_err(|e| io_err("writing", &job.path)(e.into_error()))?;
        (replaced, Some(digest))
    } else {
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let replaced = copy_and_replace(input, &mut out, &job.replacements).map_err(marker_err)?;
        out.flush().map_err(io_err("writing", &job.path))?;
        (replaced, None)
    };
    if replaced.bytes != size {
        return Err(Error::Layer {
            what: what.to_string(),
            reason: format!(
                "{} announces {size} bytes but the layer ends after {}",
                target.entry.path, replaced.bytes
            ),
        }
        .into());
    }
    set_mode(&job.path, 0o755)?;
    let file = fs::File::options()
        .write(true)
        .open(&job.path)
        .map_err(io_err("writing", &job.path))?;
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime.max(0) as u64);
    file.set_modified(when)
        .map_err(io_err("setting the modification time of", &job.path))?;
    Ok((replaced, sha256))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), CommandError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(io_err("setting the mode of", path))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}
