//! The error type of okd-release. Every variant names the input that was wrong.

/// Errors from parsing, loading, comparing and building release payloads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A release or component version that is not a semantic version, or whose OKD/OCP naming
    /// family is malformed.
    #[error("invalid release version {input:?}: {reason}")]
    InvalidVersion {
        /// The version as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A document (`image-references`, `release-metadata`, a graph, an image config) that does not
    /// parse.
    #[error("invalid {file}: {reason}")]
    InvalidDocument {
        /// The file or document (`release-manifests/image-references`).
        file: String,
        /// The parser's message.
        reason: String,
    },
    /// A document that parses but is not the kind expected.
    #[error("{file} is not {expected}: {reason}")]
    WrongKind {
        /// The file or document.
        file: String,
        /// What it must be (`an image.openshift.io/v1 ImageStream`).
        expected: &'static str,
        /// What it is instead.
        reason: String,
    },
    /// An `io.openshift.build.versions` or `…version-display-names` value that does not parse.
    #[error("tag {tag:?} has an invalid component version label {label:?}: {reason}")]
    InvalidComponentVersions {
        /// The image-references tag or image carrying the label.
        tag: String,
        /// The label value.
        label: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A component pullspec that does not parse.
    #[error("tag {tag:?} has an invalid pullspec {pullspec:?}: {reason}")]
    InvalidPullspec {
        /// The image-references tag.
        tag: String,
        /// The pullspec.
        pullspec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A component referenced by tag instead of by digest: such a payload cannot be mirrored or
    /// reproduced.
    #[error("tag {tag:?} points to {pullspec:?} by tag, not by digest")]
    NotByDigest {
        /// The image-references tag.
        tag: String,
        /// The pullspec.
        pullspec: String,
    },
    /// A layer entry that would escape `release-manifests/` or is not a regular file.
    #[error("release layer of {image}: unsafe entry {entry:?}: {reason}")]
    UnsafeEntry {
        /// The release image.
        image: String,
        /// The tar entry name.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// A release image whose last layer (and, for an image labelled as a release, every layer
    /// below it) has no `release-manifests/`.
    #[error("{image} is not a release image: its last layer has no release-manifests/{file}")]
    NotARelease {
        /// The image.
        image: String,
        /// The file that is missing (empty when the directory is).
        file: String,
    },
    /// A layer or file larger than allowed.
    #[error("{what} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The layer or file.
        what: String,
        /// Its size (or the size reached when reading stopped).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A layer that cannot be read or written as gzip'd tar.
    #[error("layer {what}: {reason}")]
    Layer {
        /// The layer (digest) or the file being written.
        what: String,
        /// What went wrong.
        reason: String,
    },
    /// An image whose manifest is not usable (no layers, unsupported media type, platform missing
    /// from a manifest list).
    #[error("image {image}: {reason}")]
    UnsupportedImage {
        /// The image.
        image: String,
        /// What is wrong.
        reason: String,
    },
    /// A `--platform` or `--filter-by-os` value that does not parse.
    #[error("invalid platform {input:?}: {reason}")]
    InvalidPlatform {
        /// The value as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A manifest list without a child for the platform asked for.
    #[error("image {image} is a manifest list without a {wanted} image; it has {}", .available.join(", "))]
    PlatformNotFound {
        /// The list.
        image: String,
        /// The platform asked for.
        wanted: String,
        /// The platforms the list has, in list order.
        available: Vec<String>,
    },
    /// A manifest list with more than one child for the platform filter given.
    #[error("image {image} is a manifest list with several images for {wanted} ({}); choose one with --platform OS/ARCH[/VARIANT]", .matching.join(", "))]
    AmbiguousPlatform {
        /// The list.
        image: String,
        /// The filter given.
        wanted: String,
        /// The platforms that match it.
        matching: Vec<String>,
    },
    /// An operator's image-references names the same source pullspec for two tags.
    #[error(
        "the source repository {source_repository:?} is defined more than once (for {first:?} and {second:?})"
    )]
    DuplicateSource {
        /// The source pullspec.
        source_repository: String,
        /// One tag defining it.
        first: String,
        /// The other tag defining it.
        second: String,
    },
    /// An operator's image-references tag without a source pullspec.
    #[error("an empty source repository is not allowed for tag {tag:?}")]
    EmptySource {
        /// The tag.
        tag: String,
    },
    /// An operator's image-references names a tag the release does not have.
    #[error("operator {operator:?}: no input image tag named {tag:?}")]
    MissingImageTag {
        /// The operator whose image-references asked for it.
        operator: String,
        /// The tag.
        tag: String,
    },
    /// A manifest asks for `0.0.1-snapshot-<key>` versions nobody provides.
    #[error("{file}: unknown version reference(s) {}", keys.join(", "))]
    UnknownVersionReference {
        /// The manifest.
        file: String,
        /// The unknown keys (an empty key for `0.0.1-snapshot-`).
        keys: Vec<String>,
    },
    /// Two images declare different versions for the same component.
    #[error("the version for {key:?} is inconsistent across the referenced images: {}", tags.join(", "))]
    InconsistentVersion {
        /// The component.
        key: String,
        /// The tags declaring it.
        tags: Vec<String>,
    },
    /// An operator manifest that is not a Kubernetes object.
    #[error("{file}: {reason}")]
    InvalidManifest {
        /// The operator tag and file (`machine-config-operator/0000_80_x.yaml`).
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A line of a mapping file (`--mapping-file`) that is not `SRC=DST` pairs.
    #[error("mapping file {file}, line {line}: {reason}")]
    InvalidMapping {
        /// The file.
        file: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A `TAG=PULLSPEC` override of a tag that pruning drops: no operator refers to it and it
    /// was not included. `oc` drops such an override without a word; okd-streams refuses it.
    #[error(
        "the override {tag}={pullspec} would be dropped from release {name}: no operator refers to {tag:?} and it is not included; include it to keep it (--include {tag}) or leave the override out"
    )]
    PrunedOverride {
        /// The release name.
        name: String,
        /// The tag overridden.
        tag: String,
        /// The pullspec given for it.
        pullspec: String,
    },
    /// Writing an output file failed.
    #[error("writing {}: {source}", .path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A release that cannot be assembled from what it was given.
    #[error("cannot build release {name}: {reason}")]
    Build {
        /// The release name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A built release whose digest is not the one required for a reproduction.
    #[error(
        "release {name} could not be reproduced from its inputs: expected {expected}, got {actual}"
    )]
    NotReproduced {
        /// The release name.
        name: String,
        /// The digest of the input release.
        expected: okd_oci::Digest,
        /// The digest built.
        actual: okd_oci::Digest,
    },
    /// A Cincinnati graph that is not consistent.
    #[error("invalid graph: {reason}")]
    InvalidGraph {
        /// What is wrong.
        reason: String,
    },
    /// A store or image operation failed.
    #[error(transparent)]
    Oci(#[from] okd_oci::Error),
}

impl Error {
    pub(crate) fn document(file: impl Into<String>, reason: impl ToString) -> Error {
        Error::InvalidDocument {
            file: file.into(),
            reason: reason.to_string(),
        }
    }
}
