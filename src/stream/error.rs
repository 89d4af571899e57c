//! The error type of stream composition. Every variant names what was wrong: the stream, the
//! file and field, the image, the release.

use std::path::PathBuf;

/// Errors from composing, ticking and inspecting a stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A stream definition that breaks a rule (builder or file).
    #[error("stream {stream}: {field}: {message}")]
    Invalid {
        /// The stream name (or the file for a file that could not be read as a stream).
        stream: String,
        /// The field, e.g. `os.layers[0].files[1].path`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The arguments of a check job (`stream verify`) could not be parsed.
    #[error("check job arguments: {message}")]
    Arguments {
        /// What is wrong with them.
        message: String,
    },
    /// A stream file that is not a valid document.
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: PathBuf,
        /// What the parser said (the field path, line and column when known).
        message: String,
    },
    /// A file or directory that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The upstream payload could not be found or read.
    #[error("upstream {upstream}: {message}")]
    Upstream {
        /// The upstream source.
        upstream: String,
        /// What went wrong.
        message: String,
    },
    /// A candidate release could not be assembled or written.
    #[error("release {release}: {stage}: {source}")]
    Candidate {
        /// The candidate's version.
        release: String,
        /// The stage that failed (`layering`, `build`, `mirror`).
        stage: &'static str,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Mirroring a candidate release failed.
    #[error("release {release}: mirror: {source}")]
    Mirror {
        /// The candidate's version.
        release: String,
        /// What the mirror reported, with its causes.
        #[source]
        source: Box<okd_mirror::Error>,
    },
    /// A release named on the command line or in a call that the stream does not have.
    #[error("stream {stream}: no release {release}")]
    UnknownRelease {
        /// The stream.
        stream: String,
        /// The release asked for.
        release: String,
    },
    /// A payload check that failed.
    #[error("check {check} of {release}: {message}")]
    Check {
        /// The check.
        check: String,
        /// The release checked.
        release: String,
        /// What failed.
        message: String,
    },
    /// A multi-arch stream whose upstream (or OS base) lacks an architecture asked for.
    #[error("{image} has no image for {}; it has {}", missing.join(", "), available.join(", "))]
    MissingArchitecture {
        /// The manifest list.
        image: String,
        /// The architectures asked for that it lacks (Go names).
        missing: Vec<String>,
        /// The platforms it has, in list order.
        available: Vec<String>,
    },
    /// A multi-arch stream whose upstream (or OS base) is a single image.
    #[error(
        "{image} is a single image, not a manifest list: a {wanted} release needs one image per architecture"
    )]
    NotMultiArch {
        /// The image.
        image: String,
        /// The architectures asked for (`multi`, `amd64,arm64`).
        wanted: String,
    },
    /// A manifest the stream cannot convert or read.
    #[error("manifest {digest}: {message}")]
    Manifest {
        /// Its digest.
        digest: String,
        /// What is wrong.
        message: String,
    },
    /// Content stores.
    #[error(transparent)]
    Oci(#[from] okd_oci::Error),
    /// Release payloads.
    #[error(transparent)]
    Release(#[from] okd_release::Error),
    /// CoreOS layering and overrides.
    #[error(transparent)]
    Coreos(#[from] okd_coreos::Error),
    /// Gating state, jobs and publication.
    #[error(transparent)]
    Gating(#[from] okd_gating::Error),
}

impl StreamError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StreamError {
        StreamError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        stream: &str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> StreamError {
        StreamError::Invalid {
            stream: stream.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn candidate(
        release: &str,
        stage: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StreamError {
        StreamError::Candidate {
            release: release.to_string(),
            stage,
            source: Box::new(source),
        }
    }
}
