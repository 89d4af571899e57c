//! The error type of okd-oci. Every variant names the input that was wrong.

use crate::Digest;

/// Errors from references, manifests and stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image reference that does not parse.
    #[error("invalid image reference {input:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A digest that does not parse.
    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest {
        /// The digest as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A digest with an algorithm other than sha256 or sha512.
    #[error(
        "unsupported digest algorithm {algorithm:?} in {input:?} (only sha256 and sha512 are accepted)"
    )]
    UnsupportedDigestAlgorithm {
        /// The digest as given.
        input: String,
        /// Its algorithm.
        algorithm: String,
    },
    /// Content whose digest is not the one it was announced with.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was being read or written.
        what: String,
        /// The announced digest.
        expected: Digest,
        /// The digest of the bytes received.
        actual: Digest,
    },
    /// Content a store refused because it does not hash to the digest it was announced with
    /// (a registry's `DIGEST_INVALID`). The store computed the digest, so only the expected one
    /// is known.
    #[error(
        "digest mismatch for {what}: the bytes received do not hash to {expected}, so the store refused them"
    )]
    DigestRejected {
        /// What was being written.
        what: String,
        /// The announced digest.
        expected: Digest,
    },
    /// Content whose size is not the one it was announced with.
    #[error("size mismatch for {what} ({digest}): expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// What was being read or written.
        what: String,
        /// Its digest.
        digest: Digest,
        /// The announced size.
        expected: u64,
        /// The size received so far.
        actual: u64,
    },
    /// A manifest larger than [`MAX_MANIFEST_SIZE`](crate::MAX_MANIFEST_SIZE).
    #[error("manifest {what} is {size} bytes, over the {limit}-byte limit")]
    ManifestTooLarge {
        /// The manifest (reference or digest).
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Content larger than the caller allowed.
    #[error("{what} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// What was being read.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A manifest that does not parse as its media type.
    #[error("invalid manifest {digest}: {reason}")]
    InvalidManifest {
        /// The manifest's digest.
        digest: Digest,
        /// What is wrong with it.
        reason: String,
    },
    /// A media type okd-streams does not handle where a manifest was expected.
    #[error("unsupported media type {media_type:?} for {what}")]
    UnsupportedMediaType {
        /// What had the media type.
        what: String,
        /// The media type.
        media_type: String,
    },
    /// A blob the store does not have.
    #[error("blob {digest} not found in {location}/{repo}")]
    BlobNotFound {
        /// The store.
        location: String,
        /// The repository.
        repo: String,
        /// The blob.
        digest: Digest,
    },
    /// A manifest the store does not have.
    #[error("manifest {repo}{reference} not found in {location}")]
    ManifestNotFound {
        /// The store.
        location: String,
        /// The repository.
        repo: String,
        /// Tag or digest, printed as `:tag` or `@digest`.
        reference: String,
    },
    /// A manifest refused because something it references is missing.
    #[error("manifest {manifest} references {missing}, which {location}/{repo} does not have")]
    MissingReference {
        /// The store.
        location: String,
        /// The repository.
        repo: String,
        /// The manifest being written.
        manifest: Digest,
        /// The blob or child manifest it lacks.
        missing: Digest,
    },
    /// A reference no store of a [`StoreMap`](crate::StoreMap) can serve.
    #[error("no store for {reference}: {reason}")]
    NoStore {
        /// The reference or location as given (`quay.io/okd/release:4.19`, `oci:/srv/okd`).
        reference: String,
        /// Why none serves it.
        reason: String,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A registry reference where okd-oci was built without its `registry` feature, so only
    /// layouts and memory stores can be opened.
    #[error(
        "{reference}: names a registry, but okd-oci was built without its `registry` feature \
         (only OCI layouts and memory stores can be opened)"
    )]
    RegistryDisabled {
        /// The reference that named a registry.
        reference: String,
    },
    /// A registry answered with an error.
    #[error("{registry}: {operation}: {message}")]
    Registry {
        /// The registry host.
        registry: String,
        /// What was being done (`GET manifest okd/release:4.19`).
        operation: String,
        /// HTTP status, when there was one.
        status: Option<u16>,
        /// The registry's message or the transport error.
        message: String,
    },
    /// Credentials were missing or refused.
    #[error("{registry}: authentication failed: {message}")]
    Auth {
        /// The registry host.
        registry: String,
        /// Why.
        message: String,
    },
    /// Something that is not a valid OCI image layout.
    #[error("invalid OCI layout {path}: {reason}")]
    InvalidLayout {
        /// The layout directory.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A layer that cannot be built or read.
    #[error("layer {what}: {reason}")]
    Layer {
        /// The layer or its source.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// An image configuration that does not parse.
    #[error("invalid image config {digest}: {reason}")]
    InvalidConfig {
        /// The config blob.
        digest: Digest,
        /// What is wrong with it.
        reason: String,
    },
    /// A registry could not be reached, or the connection broke or timed out.
    #[error("{registry}: {operation}: {message}")]
    Transport {
        /// The registry host.
        registry: String,
        /// What was being done.
        operation: String,
        /// The transport error.
        message: String,
    },
    /// A whole-body blob upload whose connection broke before the registry answered, while
    /// the bytes were sound on this side. A proxy with a body-size limit that answers `413`
    /// and closes without reading the body looks like this to a client, which is reset while
    /// it sends; the store sends later blobs in chunks, as after a `413`.
    #[error(
        "{registry}: PUT blob {repository}@{digest}: {message}; a proxy that refuses large \
         request bodies without reading them breaks connections this way, so later uploads to \
         this registry are sent in chunks"
    )]
    UploadBroken {
        /// The registry host.
        registry: String,
        /// The repository uploaded to.
        repository: String,
        /// The blob.
        digest: Digest,
        /// How far the body got, and the transport error.
        message: String,
    },
    /// A registry's TLS certificate was not accepted.
    #[error(
        "{registry}: TLS handshake failed: {message} (add its CA certificate as a .crt file in \
         /etc/containers/certs.d/{registry}/ or a --cert-dir, or mark it insecure with \
         --insecure-registry {registry})"
    )]
    Tls {
        /// The registry host.
        registry: String,
        /// Why the handshake failed.
        message: String,
    },
    /// A transient failure that persisted through every attempt of the retry policy.
    #[error("{registry}: {operation}: gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// The registry host.
        registry: String,
        /// What was being done.
        operation: String,
        /// How many attempts were made.
        attempts: u32,
        /// The error of the last attempt.
        #[source]
        last: Box<Error>,
    },
    /// A registry refused to delete a tag.
    #[error("{registry}: cannot delete tag {repo}:{tag}: {message}")]
    TagDeleteRefused {
        /// The registry host.
        registry: String,
        /// The repository.
        repo: String,
        /// The tag.
        tag: String,
        /// HTTP status, when there was one.
        status: Option<u16>,
        /// The registry's message.
        message: String,
    },
    /// A credentials file (`auth.json`, docker `config.json`) that cannot be used.
    #[error("credentials file {path}: {reason}")]
    AuthFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it (never its secrets).
        reason: String,
    },
    /// A registry certificate directory (`certs.d/HOST[:PORT]`, `--cert-dir`) whose files
    /// cannot be used.
    #[error("certificate directory {dir}: {reason}")]
    CertDir {
        /// The directory.
        dir: std::path::PathBuf,
        /// What is wrong, naming the file (never a key's content).
        reason: String,
    },
    /// A `registries.conf` file that cannot be used.
    #[error("registries configuration {path}: {reason}")]
    RegistriesConf {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A pull or push refused because `registries.conf` blocks the reference.
    #[error("{reference}: blocked by the [[registry]] prefix {prefix:?} in {config}")]
    Blocked {
        /// The reference (`host/repository[:tag|@digest]`).
        reference: String,
        /// The prefix of the blocking entry.
        prefix: String,
        /// The registries.conf file the entry comes from.
        config: std::path::PathBuf,
    },
    /// A symbolic link in a layer's source directory whose target leaves that directory.
    #[error("symlink {path} points to {target}, outside the layer directory")]
    SymlinkEscapes {
        /// The symbolic link.
        path: std::path::PathBuf,
        /// Its target, as stored in the link.
        target: std::path::PathBuf,
    },
    /// A file in a layer's source directory that a layer cannot hold.
    #[error("{path} is a {kind}; layers hold only regular files, directories and symlinks")]
    UnsupportedFileType {
        /// The file.
        path: std::path::PathBuf,
        /// What it is (`fifo`, `socket`, `character device`, `block device`).
        kind: String,
    },
    /// A tar entry a layer must not hold: a path that leaves the image root, a link that points
    /// out of it, or a device or FIFO.
    #[error("{archive}: unsafe entry {entry:?}: {reason}")]
    UnsafeTarEntry {
        /// The tarball.
        archive: std::path::PathBuf,
        /// The entry name, as stored.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// An index or manifest list where a single image manifest was needed.
    #[error("{what} is an index ({media_type}); select a platform to pick one image")]
    NotAnImage {
        /// The manifest (reference or digest).
        what: String,
        /// Its media type.
        media_type: String,
    },
    /// An index without an image for the requested platform.
    #[error("{what} has no image for platform {platform}")]
    PlatformNotFound {
        /// The index (reference or digest).
        what: String,
        /// The requested platform (`linux/amd64`).
        platform: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for a request body a store refused as too large (HTTP 413, as a proxy with a
    /// body-size limit answers a monolithic blob upload). A registry store that got one sends
    /// later blobs in chunks, so the blob can be written again from a fresh source.
    pub fn is_body_too_large(&self) -> bool {
        match self {
            Error::Registry {
                status: Some(413), ..
            } => true,
            Error::RetriesExhausted { last, .. } => last.is_body_too_large(),
            _ => false,
        }
    }

    /// True when the blob should be written again from a fresh source because the store now
    /// sends blobs in chunks: after a body refused as too large
    /// ([`is_body_too_large`](Self::is_body_too_large)), or an [`Error::UploadBroken`].
    pub fn calls_for_chunks(&self) -> bool {
        match self {
            Error::UploadBroken { .. } => true,
            Error::RetriesExhausted { last, .. } => last.calls_for_chunks(),
            e => e.is_body_too_large(),
        }
    }

    /// True for a missing blob or manifest.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::BlobNotFound { .. } | Error::ManifestNotFound { .. }
        )
    }
}
