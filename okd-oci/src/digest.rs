//! Content digests (`sha256:<hex>`, `sha512:<hex>`) and incremental hashing.
//!
//! ```
//! use okd_oci::Digest;
//!
//! let d = Digest::sha256_of(b"hello");
//! assert_eq!(d.algorithm(), okd_oci::DigestAlgorithm::Sha256);
//! assert_eq!(d, d.to_string().parse::<Digest>().unwrap());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use crate::Error;

/// A digest algorithm okd-streams accepts.
///
/// The OCI image spec registers `sha256` and `sha512`; anything else is refused at parse time so
/// that an unverifiable digest never enters the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    /// SHA-256, 64 lowercase hex characters.
    Sha256,
    /// SHA-512, 128 lowercase hex characters.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm's name as it appears before the `:`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// Number of hex characters in an encoded digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 64,
            DigestAlgorithm::Sha512 => 128,
        }
    }
}

/// A validated content digest such as `sha256:e3b0…`.
///
/// Parsing checks the algorithm, the length and that the encoded part is lowercase hex, so a
/// `Digest` can be used as a file name inside `blobs/<alg>/` without further checks.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    hex: String,
}

impl Digest {
    /// The digest's algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The encoded (hex) part after the `:`.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The SHA-256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Digest {
        Digest {
            algorithm: DigestAlgorithm::Sha256,
            hex: hex::encode(sha2::Sha256::digest(data)),
        }
    }

    /// The digest of `data` under `algorithm`.
    pub fn of(algorithm: DigestAlgorithm, data: &[u8]) -> Digest {
        let mut h = Hasher::new(algorithm);
        h.update(data);
        h.finish()
    }

    /// The shortened form `oc` prints (`sha256:` plus the first 12 hex characters is common); here
    /// the hex is cut to `n` characters.
    pub fn short(&self, n: usize) -> &str {
        &self.hex[..n.min(self.hex.len())]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| Error::InvalidDigest {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| invalid("expected <algorithm>:<hex>"))?;
        let algorithm = match alg {
            "sha256" => DigestAlgorithm::Sha256,
            "sha512" => DigestAlgorithm::Sha512,
            other => {
                return Err(Error::UnsupportedDigestAlgorithm {
                    input: s.to_string(),
                    algorithm: other.to_string(),
                });
            }
        };
        if hex.len() != algorithm.hex_len() {
            return Err(invalid(&format!(
                "{} digests have {} hex characters, found {}",
                algorithm.name(),
                algorithm.hex_len(),
                hex.len()
            )));
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid("the encoded part must be lowercase hex"));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl TryFrom<&str> for Digest {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Incremental hashing for streamed content.
///
/// ```
/// use okd_oci::{Digest, DigestAlgorithm, Hasher};
/// let mut h = Hasher::new(DigestAlgorithm::Sha256);
/// h.update(b"hel");
/// h.update(b"lo");
/// assert_eq!(h.finish(), Digest::sha256_of(b"hello"));
/// ```
#[derive(Clone)]
pub struct Hasher {
    inner: HasherInner,
    len: u64,
}

#[derive(Clone)]
enum HasherInner {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").field("len", &self.len).finish()
    }
}

impl Hasher {
    /// A hasher for `algorithm`.
    pub fn new(algorithm: DigestAlgorithm) -> Hasher {
        let inner = match algorithm {
            DigestAlgorithm::Sha256 => HasherInner::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha512 => HasherInner::Sha512(sha2::Sha512::new()),
        };
        Hasher { inner, len: 0 }
    }

    /// A hasher of the same algorithm as `digest`, to verify content against it.
    pub fn for_digest(digest: &Digest) -> Hasher {
        Hasher::new(digest.algorithm())
    }

    /// Feed more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        match &mut self.inner {
            HasherInner::Sha256(h) => h.update(data),
            HasherInner::Sha512(h) => h.update(data),
        }
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self.inner {
            HasherInner::Sha256(h) => (DigestAlgorithm::Sha256, hex::encode(h.finalize())),
            HasherInner::Sha512(h) => (DigestAlgorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let s = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d: Digest = s.parse().unwrap();
        assert_eq!(d.to_string(), s);
        assert_eq!(d, Digest::sha256_of(b""));
    }

    #[test]
    fn rejects_unknown_algorithm_naming_it() {
        let err = "md5:d41d8cd98f00b204e9800998ecf8427e"
            .parse::<Digest>()
            .unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedDigestAlgorithm { ref algorithm, .. } if algorithm == "md5")
        );
        assert!(err.to_string().contains("md5"));
    }

    #[test]
    fn rejects_bad_hex_and_length() {
        assert!("sha256:abc".parse::<Digest>().is_err());
        let upper = format!("sha256:{}", "A".repeat(64));
        assert!(upper.parse::<Digest>().is_err());
        assert!("sha256".parse::<Digest>().is_err());
    }

    #[test]
    fn sha512_round_trip() {
        let d = Digest::of(DigestAlgorithm::Sha512, b"x");
        assert_eq!(d.hex().len(), 128);
        assert_eq!(d, d.to_string().parse().unwrap());
    }

    proptest::proptest! {
        #[test]
        fn hashing_in_pieces_matches_whole(data: Vec<u8>, cut in 0usize..64) {
            let cut = cut.min(data.len());
            let mut h = Hasher::new(DigestAlgorithm::Sha256);
            h.update(&data[..cut]);
            h.update(&data[cut..]);
            proptest::prop_assert_eq!(h.finish(), Digest::sha256_of(&data));
        }
    }
}
