//! `release extract`: the files of the release layer's `release-manifests/`, byte for byte.
//!
//! `oc adm release extract` re-serialises manifests as YAML; this writes the bytes the release
//! holds, as `oc image extract --path /release-manifests/:DIR` would. The layer is streamed and
//! its digest checked as it passes; the files are first written into a staging directory inside
//! DIR and moved into place (one rename each) only once the whole layer has been verified, so a
//! corrupt or truncated layer leaves nothing behind. Entries that would leave DIR (`..`),
//! links, and paths in DIR that are symbolic links are refused.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use futures::StreamExt;
use okd_oci::{BlobRef, ManifestRef, ManifestView};
use okd_release::{LoadOptions, RELEASE_MANIFESTS, Release};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::cli::CliError;
use crate::cli::store::Source;

/// What an extraction wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub release: String,
    pub digest: String,
    pub created: String,
    pub files: usize,
    pub bytes: u64,
}

/// Extracts `release-manifests/` of `source` into `dir`.
pub async fn extract(source: &Source, dir: &Path) -> Result<Extracted, CliError> {
    let store = source.store.as_ref();
    // Loading first validates that this is a release and picks the platform of a list.
    let release = Release::load_image(store, &source.image).await?;
    let manifest = store
        .read_manifest(&source.repo, &ManifestRef::Digest(release.digest.clone()))
        .await?;
    let ManifestView::Image(view) = manifest.view()? else {
        return Err(format!("{}: expected an image manifest", release.image).into());
    };
    let layer = view
        .layers()
        .last()
        .map(|d| BlobRef::from_descriptor(d, manifest.digest()))
        .transpose()?
        .ok_or_else(|| format!("{}: the image has no layers", release.image))?;
    let limits = LoadOptions::default();
    if layer.size > limits.max_layer_size {
        return Err(format!(
            "release layer {} of {} is {} bytes, over the {}-byte limit",
            layer.digest, release.image, layer.size, limits.max_layer_size
        )
        .into());
    }
    let what = format!("release layer {} of {}", layer.digest, release.image);
    let blob = store.read_blob(&source.repo, &layer.digest).await?;
    let verified =
        okd_oci::verify_stream(layer.digest.clone(), layer.size, what.clone(), blob.stream);
    let reader = SyncIoBridge::new(StreamReader::new(
        verified.map(|r| r.map_err(io::Error::other)),
    ));
    let target = dir.to_path_buf();
    let (files, bytes) = tokio::task::spawn_blocking(move || {
        let limits = Limits {
            file: limits.max_file_size,
            total: limits.max_unpacked_size,
        };
        unpack(reader, &target, &what, limits)
    })
    .await
    .map_err(|e| format!("extraction thread failed: {e}"))??;
    Ok(Extracted {
        digest: release.pull_digest().to_string(),
        created: release
            .created()
            .map(|c| c.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_else(|| "an unknown time".to_string()),
        release: release.name,
        files,
        bytes,
    })
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    file: u64,
    total: u64,
}

/// Turns an I/O error carrying a typed store error (a digest mismatch found while streaming)
/// back into that error, so the message names the layer and digests.
fn from_io(e: io::Error, what: &str) -> CliError {
    if e.get_ref().is_some_and(|i| i.is::<okd_oci::Error>()) {
        let text = e.to_string();
        return e.into_inner().unwrap_or_else(|| text.into());
    }
    format!("{what}: {e}").into()
}

/// The path below `release-manifests/` of a tar entry, `Some("")` for the directory itself,
/// `None` for entries elsewhere.
fn release_path(name: &str) -> Option<&str> {
    let mut n = name;
    while let Some(rest) = n.strip_prefix("./").or_else(|| n.strip_prefix('/')) {
        n = rest;
    }
    let rest = n.strip_prefix(RELEASE_MANIFESTS)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

/// Splits a relative entry path into safe parts: no `..`, no root, no empty names.
fn safe_parts(rel: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => match p.to_str() {
                Some(s) => parts.push(s.to_string()),
                None => return Err("the name is not UTF-8".to_string()),
            },
            Component::CurDir => {}
            Component::ParentDir => return Err("the path escapes release-manifests/".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute paths are not allowed".into());
            }
        }
    }
    Ok(parts)
}

/// A reader that fails once more than `limit` bytes came through it.
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
    what: String,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => Err(io::Error::other(format!(
                "{}: the layer decompresses to more than {} bytes",
                self.what, self.limit
            ))),
        }
    }
}

fn unpack(
    reader: impl Read,
    dir: &Path,
    what: &str,
    limits: Limits,
) -> Result<(usize, u64), CliError> {
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".okd-extract-")
        .tempdir_in(dir)
        .map_err(|e| format!("creating a staging directory in {}: {e}", dir.display()))?;
    let mut raw = BufReader::with_capacity(64 * 1024, reader);
    let magic = raw.fill_buf().map_err(|e| from_io(e, what))?;
    let plain: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(raw))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(format!("{what}: zstd-compressed layers are not supported").into());
    } else {
        Box::new(raw)
    };
    // Everything decompressed counts, not only release-manifests/, so that a gzip bomb in
    // another part of the layer is refused instead of costing unbounded time.
    let plain = Bounded {
        inner: plain,
        left: limits.total,
        limit: limits.total,
        what: what.to_string(),
    };
    let mut archive = tar::Archive::new(plain);
    // Files in layer order; a later entry of the same name replaces an earlier one.
    let mut written: Vec<Vec<String>> = Vec::new();
    let mut total = 0u64;
    let mut saw_release_dir = false;
    for entry in archive.entries().map_err(|e| from_io(e, what))? {
        let mut entry = entry.map_err(|e| from_io(e, what))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(rel) = release_path(&raw_name) else {
            continue;
        };
        let refuse = |reason: &str| -> CliError {
            format!("{what}: unsafe entry {raw_name:?}: {reason}").into()
        };
        let parts = safe_parts(rel).map_err(|r| refuse(&r))?;
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
            continue;
        }
        let size = entry.header().size().map_err(|e| from_io(e, what))?;
        total += size;
        if size > limits.file || total > limits.total {
            return Err(format!(
                "{what}: {RELEASE_MANIFESTS}/{} makes the extraction too large ({} bytes, limits {} per file and {} in all)",
                parts.join("/"),
                size.max(total),
                limits.file,
                limits.total
            )
            .into());
        }
        let path = staging.path().join(parts.iter().collect::<PathBuf>());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        // The staging directory is ours and fresh: nothing in it can be a link.
        let mut file =
            fs::File::create(&path).map_err(|e| format!("writing {}: {e}", path.display()))?;
        let copied =
            io::copy(&mut (&mut entry).take(size), &mut file).map_err(|e| from_io(e, what))?;
        if copied != size {
            return Err(format!("{what}: {raw_name:?} is truncated").into());
        }
        written.retain(|p| p != &parts);
        written.push(parts);
    }
    // Drain the rest so the whole layer's digest is checked before anything becomes visible.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| from_io(e, what))?;
    if !saw_release_dir {
        return Err(format!("{what} has no {RELEASE_MANIFESTS}/").into());
    }
    let mut bytes = 0;
    for parts in &written {
        bytes += place(staging.path(), dir, parts)?;
    }
    staging
        .close()
        .map_err(|e| format!("removing the staging directory in {}: {e}", dir.display()))?;
    Ok((written.len(), bytes))
}

/// Moves the staged file `parts` into `dir`, creating real directories on the way and refusing
/// to go through a symbolic link. Returns its size.
fn place(staging: &Path, dir: &Path, parts: &[String]) -> Result<u64, CliError> {
    let Some((name, parents)) = parts.split_last() else {
        return Ok(0);
    };
    let mut at = dir.to_path_buf();
    for p in parents {
        at.push(p);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(
                    format!("{} is a symbolic link; not following it", at.display()).into(),
                );
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("{} exists and is not a directory", at.display()).into()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&at).map_err(|e| format!("creating {}: {e}", at.display()))?;
            }
            Err(e) => return Err(format!("{}: {e}", at.display()).into()),
        }
    }
    let target = at.join(name);
    if let Ok(m) = fs::symlink_metadata(&target)
        && m.is_dir()
    {
        return Err(format!("{} exists and is a directory", target.display()).into());
    }
    let from = staging.join(parts.iter().collect::<PathBuf>());
    let size = fs::metadata(&from)
        .map_err(|e| format!("{}: {e}", from.display()))?
        .len();
    // rename(2) replaces a link at `target` rather than writing through it.
    fs::rename(&from, &target).map_err(|e| format!("writing {}: {e}", target.display()))?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(release_path("./release-manifests/a.yaml"), Some("a.yaml"));
        assert_eq!(release_path("release-manifests"), Some(""));
        assert_eq!(release_path("release-manifests/"), Some(""));
        assert_eq!(release_path("release-manifestsx/a"), None);
        assert_eq!(release_path("manifests/a"), None);
        assert_eq!(safe_parts("a/./b").unwrap(), ["a", "b"]);
        assert!(safe_parts("a/../../b").is_err());
        assert!(safe_parts("").unwrap().is_empty());
    }

    fn layer(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o444);
            if kind.is_symlink() {
                h.set_link_name("/etc/passwd").unwrap();
            }
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    const LIMITS: Limits = Limits {
        file: 1 << 20,
        total: 1 << 20,
    };

    #[test]
    fn unpacks_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), b"old").unwrap();
        let data = layer(&[
            ("release-manifests/", tar::EntryType::Directory, b""),
            (
                "release-manifests/a.yaml",
                tar::EntryType::Regular,
                b"kind: A\n",
            ),
            (
                "release-manifests/sub/b.json",
                tar::EntryType::Regular,
                b"{}",
            ),
            ("usr/bin/x", tar::EntryType::Regular, b"not ours"),
        ]);
        let (n, bytes) = unpack(&data[..], dir.path(), "t", LIMITS).unwrap();
        assert_eq!((n, bytes), (2, 10));
        assert_eq!(
            std::fs::read(dir.path().join("a.yaml")).unwrap(),
            b"kind: A\n"
        );
        assert_eq!(std::fs::read(dir.path().join("sub/b.json")).unwrap(), b"{}");
        assert!(!dir.path().join("usr").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn refuses_escapes_and_links_without_writing() {
        for entries in [
            vec![(
                "release-manifests/../evil",
                tar::EntryType::Regular,
                &b"x"[..],
            )],
            vec![("release-manifests/l", tar::EntryType::Symlink, &b""[..])],
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut all = vec![(
                "release-manifests/ok.yaml",
                tar::EntryType::Regular,
                &b"k"[..],
            )];
            all.extend(entries);
            let e = unpack(&layer(&all)[..], dir.path(), "t", LIMITS).unwrap_err();
            assert!(e.to_string().contains("unsafe entry"), "{e}");
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }

    #[cfg(unix)]
    #[test]
    fn does_not_follow_links_in_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("sub")).unwrap();
        let data = layer(&[(
            "release-manifests/sub/b.json",
            tar::EntryType::Regular,
            b"{}",
        )]);
        let e = unpack(&data[..], dir.path(), "t", LIMITS).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        // A link in place of a file is replaced, not written through.
        let target = outside.path().join("victim");
        std::fs::write(&target, b"keep").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("a.yaml")).unwrap();
        let data = layer(&[("release-manifests/a.yaml", tar::EntryType::Regular, b"new")]);
        unpack(&data[..], dir.path(), "t", LIMITS).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(std::fs::read(dir.path().join("a.yaml")).unwrap(), b"new");
    }

    #[test]
    fn refuses_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'x'; 100];
        let data = layer(&[("release-manifests/big", tar::EntryType::Regular, &big)]);
        let limits = Limits {
            file: 10,
            total: 1000,
        };
        let e = unpack(&data[..], dir.path(), "t", limits).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn refuses_a_layer_that_decompresses_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let filler = vec![0u8; 64 * 1024];
        let tarball = layer(&[
            ("release-manifests/a.yaml", tar::EntryType::Regular, b"a"),
            ("other/zeros", tar::EntryType::Regular, &filler),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &tarball).unwrap();
        let data = gz.finish().unwrap();
        assert!(data.len() < 4096, "the test layer should compress well");
        let limits = Limits {
            file: 1000,
            total: 16 * 1024,
        };
        let e = unpack(&data[..], dir.path(), "t", limits).unwrap_err();
        assert!(e.to_string().contains("decompresses to more than"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
