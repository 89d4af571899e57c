//! Why a [`TektonSpec`](super::TektonSpec) cannot be exported.

use std::path::PathBuf;

/// Errors of [`render`](super::render) and [`export`](super::export). Each names the task,
/// parameter, result or file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name Tekton or Kubernetes would refuse.
    #[error(
        "invalid {what} name {name:?}: use lowercase letters, digits and '-', starting with a letter, at most 63 characters"
    )]
    InvalidName {
        /// Stage, parameter, result…
        what: &'static str,
        /// The name.
        name: String,
    },
    /// Two things with one name.
    #[error("duplicate {what} {name:?}")]
    Duplicate {
        /// Stage, parameter, result…
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A reference to a parameter the spec does not declare.
    #[error("{task}: no pipeline parameter {param:?}")]
    UnknownParam {
        /// The task (or `pipeline` for pipeline results).
        task: String,
        /// The parameter.
        param: String,
    },
    /// A declared parameter nothing uses.
    #[error("pipeline parameter {param:?} is not used by any task")]
    UnusedParam {
        /// The parameter.
        param: String,
    },
    /// A reference to a task that does not exist.
    #[error("{task}: no pipeline task {target:?}")]
    UnknownTask {
        /// The task with the reference.
        task: String,
        /// The missing task.
        target: String,
    },
    /// A reference to a result a task does not write.
    #[error("{task}: task {target:?} writes no result {result:?}")]
    UnknownResult {
        /// The task with the reference.
        task: String,
        /// The task referred to.
        target: String,
        /// The missing result.
        result: String,
    },
    /// A reference that has no meaning where it is used (a workspace path in a `when`
    /// expression, a result path outside a stage, a task reading its own result).
    #[error("{task}: {reference} cannot be used in {place}")]
    MisplacedReference {
        /// The task.
        task: String,
        /// The reference.
        reference: String,
        /// Where it was used.
        place: &'static str,
    },
    /// Literal text that Tekton would rewrite.
    #[error(
        "{task}: literal {text:?} contains the Tekton variable {variable}…; use a parameter or result reference"
    )]
    LiteralVariable {
        /// The task.
        task: String,
        /// The text.
        text: String,
        /// The variable prefix found.
        variable: &'static str,
    },
    /// Tasks that wait for each other.
    #[error("pipeline tasks wait for each other: {}", tasks.join(", "))]
    Cycle {
        /// The tasks in or behind the cycle.
        tasks: Vec<String>,
    },
    /// A job that cannot run as given.
    #[error("job {job:?}: {reason}")]
    Job {
        /// The job.
        job: String,
        /// What is wrong.
        reason: String,
    },
    /// Serialising a resource failed.
    #[error("cannot write {name} as YAML: {source}")]
    Yaml {
        /// The resource.
        name: String,
        /// Why.
        source: serde_yaml_ng::Error,
    },
    /// Writing a file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
