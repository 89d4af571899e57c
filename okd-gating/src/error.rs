//! The error type of okd-gating. Every variant names the input that was wrong: the file, the
//! field inside it, the job, the release or the handle.

use std::path::PathBuf;

/// Errors from loading policies, deciding, running jobs, storing state and publishing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A document that is not valid JSON (or YAML, for simulation models).
    #[error("{file}: not a valid document: {message}")]
    Syntax {
        /// The file (or `<memory>` for a string).
        file: String,
        /// What the parser said, with line and column.
        message: String,
    },
    /// A release config over the controller's 16 KiB annotation limit.
    #[error("{file}: release config is {size} bytes when compacted, over the {limit}-byte limit")]
    TooLarge {
        /// The file.
        file: String,
        /// Its compacted size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A field that is not part of the format (strict mode only).
    #[error("{file}: unknown field `{field}`")]
    UnknownField {
        /// The file.
        file: String,
        /// Path of the field, e.g. `verify.aws.maxRetry`.
        field: String,
    },
    /// A field whose value is wrong: bad type, bad value or a broken validation rule.
    #[error("{file}: field `{field}`: {message}")]
    InvalidField {
        /// The file.
        file: String,
        /// Path of the field, e.g. `verify.aws.upgradeFrom`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A policy built in code that breaks a rule.
    #[error("policy {policy}: {message}")]
    InvalidPolicy {
        /// The stream name of the policy.
        policy: String,
        /// What is wrong.
        message: String,
    },
    /// The same periodic job is configured by two release configs.
    #[error("periodic job {prow_job} is configured in both {first} and {second}")]
    DuplicatePeriodic {
        /// The prow job name.
        prow_job: String,
        /// The first file that configures it.
        first: String,
        /// The second file.
        second: String,
    },
    /// A job the runner has no command for.
    #[error("job {job} (prow job {prow_job:?}): no command is configured for it")]
    NoCommand {
        /// The verification job name.
        job: String,
        /// Its prow job name.
        prow_job: String,
    },
    /// A job that could not be started.
    #[error("job {job} for release {release}: cannot start: {message}")]
    StartFailed {
        /// The release.
        release: String,
        /// The verification job.
        job: String,
        /// What went wrong.
        message: String,
    },
    /// A job handle the runner does not know (for example, one started by another process).
    #[error("unknown job handle {handle}")]
    UnknownHandle {
        /// The handle.
        handle: String,
    },
    /// A release pullspec that does not parse.
    #[error("release {release}: invalid pullspec {pullspec:?}: {source}")]
    InvalidPullspec {
        /// The release.
        release: String,
        /// The pullspec.
        pullspec: String,
        /// Why.
        source: Box<okd_oci::Error>,
    },
    /// A publish step that failed in the content store.
    #[error("publish rule {rule}: release {release} to {target}: {source}")]
    Publish {
        /// The publish rule.
        rule: String,
        /// The release.
        release: String,
        /// The target repository and tag.
        target: String,
        /// The store error.
        source: Box<okd_oci::Error>,
    },
    /// A release whose component list (image-references) could not be read for a publish step.
    #[error(
        "publish rule {rule}: release {release} at {pullspec}: reading its components: {source}"
    )]
    ReleaseComponents {
        /// The publish rule.
        rule: String,
        /// The release.
        release: String,
        /// Where it was read.
        pullspec: String,
        /// Why it could not be read.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An upgrade-graph channel name that is not one the controller serves.
    #[error("unknown upgrade channel {channel:?}")]
    UnknownChannel {
        /// The channel as given.
        channel: String,
    },
    /// A state document that does not parse.
    #[error("state file {path}: {message}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A simulation model that is not usable.
    #[error("simulation model {file}: field `{field}`: {message}")]
    InvalidModel {
        /// The model file (or `<memory>`).
        file: String,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn field(file: &str, field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidField {
            file: file.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
}
