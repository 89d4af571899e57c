//! Bare SHA-256 checksums as CoreOS documents write them: 64 lowercase hex characters, no
//! `sha256:` prefix (artifact checksums, ostree commit checksums).
//!
//! ```
//! use okd_coreos::Sha256;
//!
//! let s: Sha256 = "0c5329e689dd11eb8df4e256b03bbc6b7cef282aa487c6aae53455ddd0875768".parse()?;
//! assert_eq!(s.to_digest().to_string(), format!("sha256:{s}"));
//! assert!("0C53".parse::<Sha256>().is_err());
//! # Ok::<(), okd_coreos::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use okd_oci::Digest;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A validated SHA-256 checksum in bare hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(String);

impl Sha256 {
    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same checksum as an OCI digest (`sha256:<hex>`).
    pub fn to_digest(&self) -> Digest {
        // 64 lowercase hex characters always make a valid sha256 digest.
        format!("sha256:{}", self.0)
            .parse()
            .unwrap_or_else(|e| unreachable!("validated sha256 {} rejected: {e}", self.0))
    }

    /// The checksum of an OCI SHA-256 digest; `None` for another algorithm.
    pub fn from_digest(digest: &Digest) -> Option<Sha256> {
        (digest.algorithm() == okd_oci::DigestAlgorithm::Sha256)
            .then(|| Sha256(digest.hex().to_string()))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.0)
    }
}

impl FromStr for Sha256 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| Error::InvalidSha256 {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        if s.len() != 64 {
            return Err(bad("expected 64 hex characters"));
        }
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("expected lowercase hex"));
        }
        Ok(Sha256(s.to_string()))
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
