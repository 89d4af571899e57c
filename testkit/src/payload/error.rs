//! The error type of the payload generator.

/// Why a payload could not be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The store refused or failed an operation.
    #[error(transparent)]
    Store(#[from] okd_oci::Error),
    /// A [`PayloadSpec`](super::PayloadSpec) or [`NextSpec`](super::NextSpec) value that cannot
    /// describe a payload.
    #[error("invalid payload spec: {field} = {value:?}: {reason}")]
    InvalidSpec {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A manifest of an operator that could not be rendered into the release.
    #[error("operator {operator}: {file}: {reason}")]
    Render {
        /// The operator's tag.
        operator: String,
        /// The file in its `manifests/` directory.
        file: String,
        /// What went wrong.
        reason: String,
    },
    /// A document that could not be encoded.
    #[error("encoding {what}: {reason}")]
    Encode {
        /// The document.
        what: String,
        /// Why.
        reason: String,
    },
    /// A background layer-building task panicked or was cancelled.
    #[error("building layer {layer}: {reason}")]
    Task {
        /// The layer being built.
        layer: String,
        /// What happened to the task.
        reason: String,
    },
}

impl PayloadError {
    pub(crate) fn spec(
        field: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        PayloadError::InvalidSpec {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
