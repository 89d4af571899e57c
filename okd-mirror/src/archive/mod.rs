//! Transfer archives for air-gapped sites: a mirror written as numbered tar chunks, carried
//! across, verified whole and then pushed to the registry on the other side.
//!
//! An archive directory holds `okd-mirror_000000.tar` … `okd-mirror_NNNNNN.tar`, each at most
//! the chosen size and each a plain tar file. Extracted together, in any order, with nothing but
//! `tar`, they give an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) with the
//! release and its components — except for blobs larger than one chunk, which are stored as
//! consecutive parts (`blobs/sha256/<hex>.part-0001`, …) to be concatenated.
//!
//! Chunk 0 is the index, written last: the [`ArchiveManifest`] (`okd-mirror/archive.json`, with
//! its own SHA-256 next to it) lists every other chunk with its size and SHA-256 and every file
//! in every chunk with its digest; the [`History`] (`okd-mirror/history.json`) lists every blob
//! this archive and the earlier ones it was made [`since`](ArchiveWrite::since) delivered. An
//! archive made since an earlier one holds only the blobs the earlier ones did not deliver (all
//! manifests are always included: they are small, and a restore needs them to write the new
//! tags). A restore loads each release from the archive to expand it, so the blobs of a release
//! image that an earlier archive delivered are first read back from the destination into the
//! staging layout — which also proves the earlier archive was restored there.
//!
//! [`ArchiveRestore`] checks every chunk — present, of the listed size, hashing to the listed
//! SHA-256, holding exactly the listed files in the listed order — while it extracts the small
//! files into a staging layout, and pushes nothing unless all of them pass. Blobs larger than
//! any manifest are not extracted: the push reads them where they lie in the chunks
//! ([`ArchiveStore`]), so a restore writes no second copy of the payload to disk.

mod format;
mod history;
mod in_place;
mod pack;
pub(crate) mod refill;
mod restore;
pub(crate) mod unpack;
pub(crate) mod write;

pub use format::{
    ARCHIVE_FORMAT, ArchiveEntry, ArchiveImage, ArchiveImageSet, ArchiveManifest, ArchiveRelease,
    ArchiveSetRelease, ChunkInfo, SET_PREFIX, chunk_file_name,
};
pub use history::{DeliveredArchive, History};
pub use in_place::{ArchiveStore, InPlaceBlobs};
pub use pack::{MIN_CHUNK_SIZE, PackOptions};
pub use restore::{ArchiveRestore, IDMS_FILE, RestoreOutcome};
pub use unpack::{Unpacked, unpack};
pub use write::{ArchiveOutcome, ArchiveWrite, DEFAULT_CHUNK_SIZE};
