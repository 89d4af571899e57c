//! The error type of okd-mirror. Every variant names the input it is about: the pattern, the
//! image, the blob, the file.

use std::path::PathBuf;
use std::sync::Arc;

use okd_oci::Digest;

use crate::{BlobKey, Failure};

/// Errors from planning, copying and writing mirror outputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An include or exclude pattern that is not a valid glob.
    #[error("invalid component pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `blockedImages` entry that is not a valid regular expression.
    #[error("blocked image {pattern:?}: invalid regular expression: {reason}")]
    InvalidBlockedPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An ImageSetConfiguration that cannot be read or holds what okd-streams cannot mirror.
    #[error("image set configuration {origin}: {reason}")]
    InvalidImageSet {
        /// The file (or other origin) it was read from.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A release channel of an image set that the upgrade graph cannot satisfy.
    #[error("release channel {channel:?} ({graph}): {reason}")]
    Channel {
        /// The channel name.
        channel: String,
        /// Where its graph came from.
        graph: String,
        /// What is missing.
        reason: String,
    },
    /// A destination that cannot be used the way it was given.
    #[error("invalid destination {destination:?}: {reason}")]
    InvalidDestination {
        /// The destination as given.
        destination: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A source image that cannot be used the way it was given.
    #[error("invalid source {source_ref:?}: {reason}")]
    InvalidSource {
        /// The source as given.
        source_ref: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A component of a release that is not referenced by digest.
    #[error(
        "release {release}: component {component:?} is {pullspec}, but image-references must point to images by digest"
    )]
    ComponentNotByDigest {
        /// The release image.
        release: String,
        /// The component (image-references tag name).
        component: String,
        /// Its pullspec.
        pullspec: String,
    },
    /// Two images of one mirror would be written to the same destination tag.
    #[error("destination {destination} is the target of both {first} and {second}")]
    DuplicateDestination {
        /// The destination.
        destination: String,
        /// The first source mapped to it.
        first: String,
        /// The second source mapped to it.
        second: String,
    },
    /// A platform string that is not `OS/ARCH[/VARIANT]`.
    #[error("invalid platform {input:?}: expected OS/ARCH[/VARIANT] such as linux/amd64")]
    InvalidPlatform {
        /// The platform as given.
        input: String,
    },
    /// A manifest list without a child for the requested platform.
    #[error("{image}: manifest list has no image for platform {platform}")]
    PlatformNotFound {
        /// The image (the list's pullspec).
        image: String,
        /// The platform asked for.
        platform: String,
    },
    /// A source image that could not be found.
    #[error("source image {image} not found")]
    SourceNotFound {
        /// The image.
        image: String,
    },
    /// Reading or inspecting a source image failed.
    #[error("{image}: {source}")]
    Source {
        /// The image.
        image: String,
        /// The cause.
        #[source]
        source: Box<okd_oci::Error>,
    },
    /// Checking the destination failed.
    #[error("{image}: checking the destination: {source}")]
    Destination {
        /// The destination image.
        image: String,
        /// The cause.
        #[source]
        source: Box<okd_oci::Error>,
    },
    /// Copying or mounting a blob failed after its retries.
    #[error("blob {blob}: {source}")]
    Blob {
        /// The blob and the destination repository.
        blob: BlobKey,
        /// The last cause, shared with the blob's report.
        #[source]
        source: Arc<okd_oci::Error>,
    },
    /// An image needs a blob the plan has no copy of.
    #[error("blob {blob}: missing from the plan")]
    BlobNotPlanned {
        /// The blob and the destination repository.
        blob: BlobKey,
    },
    /// The copy of a blob ended without a result (its task was cancelled).
    #[error("blob {blob}: the copy was cancelled")]
    BlobCancelled {
        /// The blob and the destination repository.
        blob: BlobKey,
    },
    /// Writing a manifest failed after its retries.
    #[error("manifest {digest} into {destination}: {source}")]
    Manifest {
        /// The manifest.
        digest: Digest,
        /// Destination image.
        destination: String,
        /// The last cause.
        #[source]
        source: Box<okd_oci::Error>,
    },
    /// A release image that was not tagged because one of its components failed.
    #[error("component {component} failed: {source}")]
    ComponentFailed {
        /// The component (image-references tag name).
        component: String,
        /// Why the component failed.
        #[source]
        source: Arc<Error>,
    },
    /// The task of an image ended without a report (it was cancelled).
    #[error("{image}: the image task was lost")]
    ImageCancelled {
        /// The destination image.
        image: String,
    },
    /// An image that was not written because something it needs failed.
    #[error("{image} was not written: {source}")]
    ImageIncomplete {
        /// The destination image.
        image: String,
        /// What failed first: a blob, a manifest or a component.
        #[source]
        source: Arc<Error>,
    },
    /// A failure read back from a JSON report, which keeps only its message.
    #[error("{message}")]
    Reported {
        /// The message as the report recorded it.
        message: String,
    },
    /// A mirror that finished with failed images.
    #[error("{failed} of {total} images failed; first: {image}: {first}")]
    Incomplete {
        /// Images that failed.
        failed: usize,
        /// Images in the mirror.
        total: usize,
        /// The destination of the first image that failed.
        image: String,
        /// Why it failed.
        #[source]
        first: Failure,
    },
    /// Reading the release payload failed.
    #[error("release {release}: {source}")]
    Release {
        /// The release image.
        release: String,
        /// The cause.
        #[source]
        source: Box<okd_release::Error>,
    },
    /// A component of a release whose pullspec does not parse.
    #[error("release {release}: component {component:?}: {source}")]
    InvalidComponent {
        /// The release image.
        release: String,
        /// The component (image-references tag name).
        component: String,
        /// Why the pullspec does not parse.
        #[source]
        source: Box<okd_oci::Error>,
    },
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Serialising an output failed.
    #[error("serialising {what}: {reason}")]
    Serialize {
        /// What was being written.
        what: String,
        /// Why.
        reason: String,
    },
    /// A mapping file line that does not parse.
    #[error("{file}:{line}: {reason}")]
    InvalidMapping {
        /// The file (or `-`).
        file: String,
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A transfer archive, or one of its chunks, that cannot be written or used as it is:
    /// missing, truncated, corrupt, out of order, or not an archive at all.
    #[error("archive {path}: {reason}")]
    Archive {
        /// The chunk file (or the archive directory).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An error from okd-oci with no more specific context.
    #[error(transparent)]
    Oci(Box<okd_oci::Error>),
}

impl From<okd_oci::Error> for Error {
    fn from(e: okd_oci::Error) -> Error {
        Error::Oci(Box::new(e))
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
