//! Building blocks of small hand-made images: gzip layers written by okd-oci's deterministic
//! `LayerWriter`, raw tar headers for hostile layers, and the media types of the two image
//! formats OKD payloads mix.
//!
//! ```
//! use testkit::images::{MediaTypes, gzip_layer};
//!
//! let (bytes, info) = gzip_layer(&[("etc/okd-release", 0o644, b"4.19\n")]);
//! assert_eq!(info.size, bytes.len() as u64);
//! assert_eq!(MediaTypes::of(true).manifest, okd_oci::media_type::DOCKER_MANIFEST);
//! ```

use bytes::Bytes;
use okd_oci::layer::{Compression, LayerInfo, LayerWriter};
use okd_oci::media_type;

/// A gzip layer holding `files` as `(path, mode, content)`, with its digest, diff_id and size.
pub fn gzip_layer<C: AsRef<[u8]>>(files: &[(&str, u32, C)]) -> (Bytes, LayerInfo) {
    let mut w = LayerWriter::new(Vec::new(), Compression::Gzip);
    for (path, mode, content) in files {
        w.add_file(path, *mode, content.as_ref()).unwrap();
    }
    let (bytes, info) = w.finish().unwrap();
    (Bytes::from(bytes), info)
}

/// The manifest, config and gzip layer media types of one image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaTypes {
    /// The image manifest.
    pub manifest: &'static str,
    /// The image configuration.
    pub config: &'static str,
    /// A gzip-compressed layer.
    pub layer: &'static str,
}

impl MediaTypes {
    /// Docker image manifest schema 2, as release images and most component images use.
    pub const DOCKER: MediaTypes = MediaTypes {
        manifest: media_type::DOCKER_MANIFEST,
        config: media_type::DOCKER_CONFIG,
        layer: media_type::DOCKER_LAYER_GZIP,
    };

    /// OCI image manifest.
    pub const OCI: MediaTypes = MediaTypes {
        manifest: media_type::OCI_MANIFEST,
        config: media_type::OCI_CONFIG,
        layer: media_type::OCI_LAYER_GZIP,
    };

    /// [`MediaTypes::DOCKER`] when `docker`, else [`MediaTypes::OCI`].
    pub fn of(docker: bool) -> MediaTypes {
        if docker {
            MediaTypes::DOCKER
        } else {
            MediaTypes::OCI
        }
    }
}

/// A tar entry header written byte by byte: `name` and `link` as they are, so that hostile
/// entries (climbing paths, absolute links, devices) can be put in a layer the `tar` crate's
/// own path checks would refuse.
pub fn raw_tar_header(
    name: &str,
    kind: tar::EntryType,
    link: &str,
    size: u64,
    mode: u32,
) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
    h.as_mut_bytes()[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_cksum();
    h
}
