//! The signature store: `/signatures/sha256=<hex>/signature-<n>` served from
//! `<state dir>/signatures/sha256=<hex>/signature-<n>` (the layout the CVO and `oc` read; see
//! containers/image's "sigstore" lookaside). Only files are served, after strict checks of
//! both path segments; numbering starts at 1 and a client stops at the first 404.

use std::path::PathBuf;

use crate::ServedStream;

/// The file for the two path segments, when they are well formed.
pub fn file(stream: &ServedStream, digest: &str, name: &str) -> Option<PathBuf> {
    let hex = digest.strip_prefix("sha256=")?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let n = name.strip_prefix("signature-")?;
    if n.is_empty() || n.len() > 9 || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        stream
            .state_dir
            .join("signatures")
            .join(format!("sha256={hex}"))
            .join(format!("signature-{n}")),
    )
}
