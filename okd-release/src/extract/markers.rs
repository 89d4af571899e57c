//! The marker regions `oc adm release extract --command` writes a release into.
//!
//! `openshift-install` and `oc` are built with placeholders the release is written over when
//! they are extracted, so that an extracted installer installs exactly the release it came from:
//!
//! | marker | placeholder bytes | value written |
//! |---|---|---|
//! | [`Marker::ReleaseImage`] | NUL `_RELEASE_IMAGE_LOCATION_` NUL, 300 × `X`, NUL | the release pullspec by digest |
//! | [`Marker::ReleaseVersion`] | NUL `_RELEASE_VERSION_LOCATION_` NUL, 64 × `X`, NUL | the release name |
//! | [`Marker::ReleaseArchitecture`] | NUL `_RELEASE_ARCHITECTURE_LOCATION_` NUL, 64 × `X`, NUL | `os/arch`, or `multi (os/arch)` |
//!
//! Only the **first** occurrence of each placeholder is replaced. The value is written from the
//! placeholder's first byte (its leading NUL) and followed by one NUL; the rest of the
//! placeholder is left as it was, so the file keeps its size and a reader stops at the NUL. A
//! value may be at most one byte shorter than the placeholder. The file is streamed: a
//! placeholder that spans two reads is still found.
//!
//! ```
//! use okd_release::extract::markers::{Marker, Replacement, copy_and_replace};
//!
//! let mut binary = b"\x7fELF...".to_vec();
//! binary.extend(Marker::ReleaseVersion.placeholder());
//! binary.extend(b"...");
//! let mut out = Vec::new();
//! let done = copy_and_replace(
//!     &binary[..],
//!     &mut out,
//!     &[Replacement::new(Marker::ReleaseVersion, "4.19.0-okd-scos.1"), Replacement::new(Marker::ReleaseImage, "quay.io/okd/scos-release@sha256:…")],
//! )?;
//! assert_eq!(out.len(), binary.len());
//! assert_eq!(&out[7..25], b"4.19.0-okd-scos.1\0");
//! assert_eq!(done.missing, [Marker::ReleaseImage]);
//! # Ok::<(), okd_release::extract::markers::MarkerError>(())
//! ```

use std::io::{self, Read, Write};

/// The bytes read at a time. Larger than the longest placeholder, as it must be.
const CHUNK: usize = 64 * 1024;

/// A placeholder region of a binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Marker {
    /// Where the release pullspec goes (`openshift-install`).
    ReleaseImage,
    /// Where the release name goes (`oc`, `openshift-install`).
    ReleaseVersion,
    /// Where the release platform goes (`openshift-install`).
    ReleaseArchitecture,
}

impl Marker {
    /// What the marker holds, as the warning about a missing one names it.
    pub fn name(self) -> &'static str {
        match self {
            Marker::ReleaseImage => "release image",
            Marker::ReleaseVersion => "release version",
            Marker::ReleaseArchitecture => "release architecture",
        }
    }

    fn label_and_room(self) -> (&'static str, usize) {
        match self {
            Marker::ReleaseImage => ("_RELEASE_IMAGE_LOCATION_", 300),
            Marker::ReleaseVersion => ("_RELEASE_VERSION_LOCATION_", 64),
            Marker::ReleaseArchitecture => ("_RELEASE_ARCHITECTURE_LOCATION_", 64),
        }
    }

    /// The placeholder bytes a binary carries: NUL, the label, NUL, the `X` run, NUL.
    pub fn placeholder(self) -> Vec<u8> {
        let (label, room) = self.label_and_room();
        let mut out = Vec::with_capacity(label.len() + room + 3);
        out.push(0);
        out.extend_from_slice(label.as_bytes());
        out.push(0);
        out.extend(std::iter::repeat_n(b'X', room));
        out.push(0);
        out
    }

    /// The longest value that fits: the placeholder's length less the terminating NUL.
    pub fn max_value_len(self) -> usize {
        self.placeholder().len() - 1
    }
}

/// A value to write over a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The marker.
    pub marker: Marker,
    /// What goes there.
    pub value: String,
}

impl Replacement {
    /// `value` for `marker`.
    pub fn new(marker: Marker, value: impl Into<String>) -> Replacement {
        Replacement {
            marker,
            value: value.into(),
        }
    }
}

/// What [`copy_and_replace`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replaced {
    /// Bytes copied (the size of the input; replacing never changes it).
    pub bytes: u64,
    /// The markers asked for that the input does not hold, sorted by name.
    pub missing: Vec<Marker>,
}

impl Replaced {
    /// The warning `oc` prints when markers were not found in `command`, if any were not.
    pub fn warning(&self, command: &str) -> Option<String> {
        if self.missing.is_empty() {
            return None;
        }
        let names: Vec<&str> = self.missing.iter().map(|m| m.name()).collect();
        Some(format!(
            "warning: Unable to make all expected replacements in {command}.  Remaining: {}",
            names.join(", ")
        ))
    }
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MarkerError {
    /// A value longer than its marker allows.
    #[error("the {name} value has {len} bytes, but the maximum replacement length is {max}")]
    ValueTooLong {
        /// What the marker holds (`release image`).
        name: &'static str,
        /// The value's length.
        len: usize,
        /// The longest value that fits.
        max: usize,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Copies `input` to `output`, writing each replacement over the first occurrence of its
/// marker. See the [module docs](self).
pub fn copy_and_replace<R: Read, W: Write>(
    mut input: R,
    mut output: W,
    replacements: &[Replacement],
) -> Result<Replaced, MarkerError> {
    let patterns: Vec<Vec<u8>> = replacements
        .iter()
        .map(|r| r.marker.placeholder())
        .collect();
    for (r, p) in replacements.iter().zip(&patterns) {
        if r.value.len() > p.len() - 1 {
            return Err(MarkerError::ValueTooLong {
                name: r.marker.name(),
                len: r.value.len(),
                max: p.len() - 1,
            });
        }
    }
    let Some(longest) = patterns.iter().map(Vec::len).max() else {
        let bytes = io::copy(&mut input, &mut output)?;
        return Ok(Replaced {
            bytes,
            missing: Vec::new(),
        });
    };
    // A placeholder that starts in the last `longest - 1` bytes of a read may end in the next
    // one: those bytes stay in the buffer and are searched again with what follows.
    let keep = longest - 1;
    let mut found = vec![false; replacements.len()];
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + keep);
    let mut bytes = 0u64;
    loop {
        let eof = fill(&mut input, &mut buf, CHUNK + keep)?;
        for (i, (r, p)) in replacements.iter().zip(&patterns).enumerate() {
            if found[i] {
                continue;
            }
            if let Some(at) = memchr::memmem::find(&buf, p) {
                buf[at..at + r.value.len()].copy_from_slice(r.value.as_bytes());
                buf[at + r.value.len()] = 0;
                found[i] = true;
            }
        }
        let all_found = found.iter().all(|f| *f);
        if eof || all_found {
            output.write_all(&buf)?;
            bytes += buf.len() as u64;
            if !eof {
                bytes += io::copy(&mut input, &mut output)?;
            }
            break;
        }
        let flush = buf.len().saturating_sub(keep);
        output.write_all(&buf[..flush])?;
        bytes += flush as u64;
        buf.drain(..flush);
    }
    let mut missing: Vec<Marker> = replacements
        .iter()
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(r, _)| r.marker)
        .collect();
    missing.sort_by_key(|m| m.name());
    missing.dedup();
    Ok(Replaced { bytes, missing })
}

/// Reads into `buf` until it holds `want` bytes or the input ends; true at the end.
fn fill<R: Read>(input: &mut R, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    while buf.len() < want {
        let start = buf.len();
        buf.resize(want, 0);
        match input.read(&mut buf[start..]) {
            Ok(0) => {
                buf.truncate(start);
                return Ok(true);
            }
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(start),
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests;
