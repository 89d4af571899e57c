//! The blobs of a release image that an earlier archive delivered, read back from the
//! destination into the staging layout before a restore plans.
//!
//! A restore loads each release from the extracted archive to expand it (its config and the
//! release manifests layer name the components). An archive made `--since` one that delivered
//! the same blobs does not carry them, so the restore could not even read the release; and
//! carrying them again would make the archive more than "what is new". The destination has them
//! if the earlier archive was restored there: they are copied back into the layout, and a blob
//! the destination lacks is the error that says to restore the earlier archives first — before
//! anything is pushed.

use std::path::Path;

use okd_oci::copy::copy_blob;
use okd_oci::{ManifestRef, Store};

use crate::Error;

/// A release image inside the staging layout, and the destination repository an earlier
/// restore put it in.
pub(crate) struct ReleaseAt<'a> {
    /// Its repository in the layout.
    pub repository: &'a str,
    /// Its tag there.
    pub tag: &'a str,
    /// The destination store.
    pub destination: &'a dyn Store,
    /// Its repository at the destination.
    pub destination_repository: &'a str,
    /// The destination as the user named it, for messages.
    pub destination_name: &'a str,
}

/// Copies every config and layer blob of each release (every child of a list) that the
/// staging layout `store` lacks from its destination; returns how many were copied.
pub(crate) async fn refill_releases(
    archive: &Path,
    store: &dyn Store,
    releases: &[ReleaseAt<'_>],
) -> Result<usize, Error> {
    let mut copied = 0;
    for r in releases {
        let top = store
            .read_manifest(r.repository, &ManifestRef::Tag(r.tag.to_string()))
            .await?;
        let mut manifests = vec![top];
        while let Some(m) = manifests.pop() {
            for blob in m.references()? {
                if m.is_index() {
                    let child = ManifestRef::Digest(blob.digest.clone());
                    manifests.push(store.read_manifest(r.repository, &child).await?);
                    continue;
                }
                if store.blob_size(r.repository, &blob.digest).await?.is_some() {
                    continue;
                }
                let there = r
                    .destination
                    .blob_size(r.destination_repository, &blob.digest)
                    .await?;
                if there.is_none() {
                    return Err(Error::Archive {
                        path: archive.to_path_buf(),
                        reason: format!(
                            "{} was delivered by an earlier archive but is not in {}; restore the earlier archives first",
                            blob.digest, r.destination_name
                        ),
                    });
                }
                copy_blob(
                    r.destination,
                    r.destination_repository,
                    store,
                    r.repository,
                    &blob.digest,
                    blob.size,
                )
                .await?;
                copied += 1;
            }
        }
    }
    Ok(copied)
}
