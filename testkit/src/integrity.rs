//! Whether what a store holds is whole: the checks run after every fault-injected copy or
//! build, where a tag must never lead to a manifest with a missing or damaged blob, and a layout
//! must never keep a temporary or half-written file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use okd_oci::{Digest, ManifestRef, ManifestView, RawManifest, Store, StoreExt};

/// Reads every manifest `reference` of `repo` leads to (the children of indexes included) and
/// every blob they name, so that each blob's digest is verified on the way, and checks each
/// blob's size against its descriptor. Returns how many blobs of image manifests it read.
///
/// Panics naming the repository, the manifest and the blob when anything is missing or does
/// not match.
pub async fn assert_complete(store: &dyn Store, repo: &str, reference: &ManifestRef) -> usize {
    let mut pending = vec![reference.clone()];
    let mut seen = BTreeSet::new();
    let mut blobs = 0;
    while let Some(r) = pending.pop() {
        let m: RawManifest = store
            .read_manifest(repo, &r)
            .await
            .unwrap_or_else(|e| panic!("{repo}{r}: {e}"));
        if !seen.insert(m.digest().clone()) {
            continue;
        }
        let index = matches!(m.view().unwrap(), ManifestView::Index(_));
        for b in m.references().unwrap() {
            if index {
                pending.push(ManifestRef::Digest(b.digest));
                continue;
            }
            let data = store
                .get_blob(repo, &b.digest, 64 << 20)
                .await
                .unwrap_or_else(|e| panic!("{repo}{r} references {}: {e}", b.digest));
            assert_eq!(data.len() as u64, b.size, "{}", b.digest);
            blobs += 1;
        }
    }
    blobs
}

/// Checks that no temporary file (`.okd-tmp-*`, what okd-streams writes before its rename) is
/// left anywhere under the layout at `root`.
pub fn assert_no_temp_files(root: &Path) {
    for entry in files_under(root) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".okd-tmp-"),
            "temp file left: {}",
            entry.display()
        );
    }
}

/// Checks that every file under `blobs/<alg>/` of the layout at `root` is complete: its content
/// hashes to its name.
pub fn assert_blob_files_match_their_names(root: &Path) {
    for path in files_under(&root.join("blobs")) {
        let alg = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let hex = path.file_name().unwrap().to_string_lossy();
        let named: Digest = format!("{alg}:{hex}").parse().unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(
            Digest::of(named.algorithm(), &data),
            named,
            "{}",
            path.display()
        );
    }
}

/// Every file under `root`, recursively.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
