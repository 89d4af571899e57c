//! OKD release payloads: versions, image-references, release metadata, load, diff and build.
#![deny(missing_docs)]
