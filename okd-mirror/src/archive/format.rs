//! What an archive's index says: its chunks, its files and what it carries — one release, or
//! the image set of an ImageSetConfiguration.

use okd_oci::{Digest, ImageRef};
use okd_release::graph::{Graph, Node};
use serde::{Deserialize, Serialize};

use crate::imageset::GraphKey;

/// The `format` of an [`ArchiveManifest`] this version writes and reads.
pub const ARCHIVE_FORMAT: &str = "okd-streams.archive/v1";

/// Where the manifest sits in chunk 0.
pub(crate) const MANIFEST_PATH: &str = "okd-mirror/archive.json";
/// The manifest's SHA-256 (`sha256:<hex>\n`), next to it, so a flipped byte in it is found.
pub(crate) const MANIFEST_DIGEST_PATH: &str = "okd-mirror/archive.json.sha256";
/// Where the history sits in chunk 0.
pub(crate) const HISTORY_PATH: &str = "okd-mirror/history.json";
/// The file name prefix of the chunks.
pub(crate) const CHUNK_PREFIX: &str = "okd-mirror_";

/// `okd-mirror_000003.tar` for chunk 3.
pub fn chunk_file_name(index: u32) -> String {
    format!("{CHUNK_PREFIX}{index:06}.tar")
}

/// The chunk number of a file name `okd-mirror_NNNNNN.tar`, or `None` for any other name.
pub(crate) fn chunk_index(name: &str) -> Option<u32> {
    let digits = name.strip_prefix(CHUNK_PREFIX)?.strip_suffix(".tar")?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The index of an archive (`okd-mirror/archive.json` in chunk 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveManifest {
    /// [`ARCHIVE_FORMAT`].
    pub format: String,
    /// The release an archive of one release (`mirror release --to archive:`) carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ArchiveRelease>,
    /// The image set an archive of an ImageSetConfiguration (`mirror --config --to archive:`)
    /// carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_set: Option<ArchiveImageSet>,
    /// The size limit chunks were cut to.
    pub max_chunk_size: u64,
    /// Chunks 1 to N, in order (chunk 0, the index, is checked through its files' digests).
    pub chunks: Vec<ChunkInfo>,
    /// Every file of every chunk, in the order the chunks hold them.
    pub entries: Vec<ArchiveEntry>,
    /// Blobs of the release left out because an earlier archive delivered them.
    pub omitted: Vec<Digest>,
    /// Bytes of those blobs.
    pub omitted_bytes: u64,
}

/// The release an archive carries, and where it sits in the archive's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRelease {
    /// The release image as it was mirrored from (`quay.io/okd/scos-release:4.19.0-okd-scos.19`).
    pub source: String,
    /// Its manifest digest.
    pub digest: Digest,
    /// The repository of the release inside the layout.
    pub repository: String,
    /// Its tag inside the layout.
    pub tag: String,
    /// Signature files (`signatures/sha256=<hex>/signature-N`) carried with it.
    #[serde(default)]
    pub signatures: Vec<String>,
}

/// An image set as `mirror --config` resolved it, mirrored into the archive's layout under
/// [`SET_PREFIX`] in oc-mirror's layout (`openshift/release-images`, `openshift/release`, each
/// additional image at its path). A restore lays it out the same way under its destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveImageSet {
    /// The releases, in the set's order.
    pub releases: Vec<ArchiveSetRelease>,
    /// The additional images.
    pub images: Vec<ArchiveImage>,
    /// The `blockedImages` patterns. A restore applies them again: the releases'
    /// `image-references` still name the components they left out of the archive.
    #[serde(default)]
    pub blocked: Vec<String>,
    /// Whether the configuration asked for the upgrade graph (`platform.graph`).
    #[serde(default)]
    pub graph: bool,
    /// The graphs the channels were read from, cut to the mirrored releases and the edges
    /// between them: what the restore needs to write the graph for the other side.
    #[serde(default)]
    pub graphs: Vec<Graph>,
}

/// One release of an archived image set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveSetRelease {
    /// The release image as the set named it.
    pub source: ImageRef,
    /// Its manifest digest.
    pub digest: Digest,
    /// Its tag in `<SET_PREFIX>/openshift/release-images` inside the layout.
    pub tag: String,
    /// The channel that selected it (none for `platform.release`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<GraphKey>,
    /// Its node in that channel's graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Node>,
    /// Signature files (`signatures/sha256=<hex>/signature-N`) carried with it.
    #[serde(default)]
    pub signatures: Vec<String>,
}

/// One additional image of an archived image set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveImage {
    /// The name the configuration gave.
    pub name: String,
    /// Where it was mirrored from.
    pub source: ImageRef,
    /// Its path under the set's prefix (`okd/tools`), which it keeps on the other side.
    pub path: String,
    /// Its tag there.
    pub tag: String,
}

/// The repository prefix an image set takes inside the archive's layout.
pub const SET_PREFIX: &str = "set";

/// One chunk after the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkInfo {
    /// Its number, from 1.
    pub index: u32,
    /// Its file name.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of the whole file.
    pub sha256: Digest,
}

/// One file of a chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveEntry {
    /// The chunk holding it.
    pub chunk: u32,
    /// Its path in the tar (and in the extracted layout).
    pub path: String,
    /// Its size.
    pub size: u64,
    /// The digest of its bytes.
    pub digest: Digest,
    /// For a part of a blob larger than a chunk: the blob, which the parts make up in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<Digest>,
}

impl ArchiveEntry {
    /// Where the entry's bytes go in the extracted layout: the blob a part belongs to, or its
    /// own path.
    pub(crate) fn target(&self) -> String {
        match &self.part_of {
            Some(blob) => blob_path(blob),
            None => self.path.clone(),
        }
    }
}

/// `blobs/sha256/<hex>`.
pub(crate) fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

/// A path inside an archive is relative, without `..`, `.` or empty components: extracting it
/// can never write outside the staging directory.
pub(crate) fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_names_round_trip_and_others_are_refused() {
        assert_eq!(chunk_file_name(3), "okd-mirror_000003.tar");
        assert_eq!(chunk_index("okd-mirror_000003.tar"), Some(3));
        assert_eq!(chunk_index("okd-mirror_3.tar"), None);
        assert_eq!(chunk_index("okd-mirror_00000a.tar"), None);
        assert_eq!(chunk_index("mirror_000001.tar"), None);
    }

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(is_safe_path("blobs/sha256/ab"));
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a\\b"] {
            assert!(!is_safe_path(bad), "{bad}");
        }
    }
}
