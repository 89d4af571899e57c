//! CoreOS variants, OS versions, stream metadata and layered OS images.
#![deny(missing_docs)]
