//! What can go wrong signing or verifying, each variant naming the input that failed.

use std::path::PathBuf;

use okd_oci::Digest;

/// An error from signing, verifying, or reading and writing signatures.
///
/// No variant carries secret key material or a passphrase: a key is named by its file or its
/// fingerprint only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No signature was found for the digest at the place searched.
    #[error("no signature for {digest} in {location}")]
    NoSignature {
        /// The release digest looked for.
        digest: Digest,
        /// The signature directory or store searched.
        location: String,
    },
    /// Signatures were found, none of them valid; each one's reason is listed.
    #[error("no valid signature for {digest}: {}", list(.rejected))]
    NoValidSignature {
        /// The release digest looked for.
        digest: Digest,
        /// Each signature's location with the reason it was refused.
        rejected: Vec<(String, Error)>,
    },
    /// The signed claim is for another image digest.
    #[error("{location}: the signature is for {signed}, not {expected}")]
    WrongDigest {
        /// Where the signature came from.
        location: String,
        /// The digest the release has.
        expected: Digest,
        /// The digest the claim carries.
        signed: String,
    },
    /// The message was signed by a key that is not in the keyring.
    #[error("{location}: signed by key {issuer}, which is not in the keyring")]
    UnknownKey {
        /// Where the signature came from.
        location: String,
        /// The issuer key id or fingerprint named in the signature (hex).
        issuer: String,
    },
    /// The signing key's validity ended before now.
    #[error("{location}: key {fingerprint} expired at {expired_at}")]
    ExpiredKey {
        /// Where the signature came from.
        location: String,
        /// The fingerprint of the expired key (hex).
        fingerprint: String,
        /// When it expired (RFC 3339, UTC).
        expired_at: String,
    },
    /// The signing key has been revoked.
    #[error("{location}: key {fingerprint} is revoked")]
    RevokedKey {
        /// Where the signature came from.
        location: String,
        /// The fingerprint of the revoked key (hex).
        fingerprint: String,
    },
    /// The claim's identity is missing, empty, or not the one required.
    #[error("{location}: bad identity: {reason}")]
    BadIdentity {
        /// Where the signature came from.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The message names a key in the keyring, but the signature does not verify: the content or
    /// the signature was changed after signing.
    #[error("{location}: the signature by key {fingerprint} does not match the signed content")]
    Tampered {
        /// Where the signature came from.
        location: String,
        /// The key the signature claims to be from (hex).
        fingerprint: String,
    },
    /// The bytes are not a signed OpenPGP message carrying a simple-signing claim.
    #[error("{location}: not a valid signature: {reason}")]
    Garbage {
        /// Where the bytes came from.
        location: String,
        /// What the parser found wrong.
        reason: String,
    },
    /// A signature is larger than the limit and was not read.
    #[error("{location}: signature is {size} bytes or more, over the {limit}-byte limit")]
    TooLarge {
        /// Where the signature is.
        location: String,
        /// Its size as far as it was seen.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A key file could not be used.
    #[error("key file {path}: {reason}")]
    Key {
        /// The key or keyring file.
        path: PathBuf,
        /// What is wrong with it (never its content).
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Signing failed (a wrong passphrase shows up here, without the passphrase).
    #[error("signing with key {fingerprint} failed: {reason}")]
    Signing {
        /// The fingerprint of the key used (hex).
        fingerprint: String,
        /// What failed.
        reason: String,
    },
    /// An HTTP signature store could not be read.
    #[error("signature store {url}: {reason}")]
    Store {
        /// The URL requested.
        url: String,
        /// What failed.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

fn list(rejected: &[(String, Error)]) -> String {
    rejected
        .iter()
        .map(|(_, e)| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
