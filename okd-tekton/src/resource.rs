//! Tekton `tekton.dev/v1` resources as written to YAML: the fields of `Pipeline` and `Task` that
//! okd-streams uses, named and shaped exactly as in Tekton's API (camelCase keys, empty lists
//! and unset options left out).
//!
//! These types also deserialize, so a written file can be read back and checked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The API version of every resource written.
pub const API_VERSION: &str = "tekton.dev/v1";

/// Object metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// Resource name (a DNS-1123 label).
    pub name: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A declared parameter (`spec.params[]` of a Pipeline or Task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Name.
    pub name: String,
    /// Always `string` here.
    #[serde(rename = "type")]
    pub type_: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Default value; a parameter without one must be given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A parameter value passed to a task (`tasks[].params[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// The task's parameter.
    pub name: String,
    /// Its value, possibly with `$(params.…)` / `$(tasks.….results.…)` references.
    pub value: String,
}

/// A workspace a Pipeline declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineWorkspaceDeclaration {
    /// Name.
    pub name: String,
    /// What it must hold.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A workspace a Task declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceDeclaration {
    /// Name.
    pub name: String,
    /// What it must hold.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Mounted read-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// Binds a pipeline workspace to a task's workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceBinding {
    /// The task's workspace.
    pub name: String,
    /// The pipeline's workspace.
    pub workspace: String,
}

/// A reference to a Task by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    /// The Task's `metadata.name`.
    pub name: String,
}

/// A `when` expression guarding a pipeline task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhenExpression {
    /// The value tested.
    pub input: String,
    /// `in` or `notin`.
    pub operator: String,
    /// The values it is tested against.
    pub values: Vec<String>,
}

/// A task of a Pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineTask {
    /// Name within the pipeline.
    pub name: String,
    /// The Task it runs.
    pub task_ref: TaskRef,
    /// Tasks that must finish first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_after: Vec<String>,
    /// Parameters passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    /// Workspaces passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workspaces: Vec<WorkspaceBinding>,
    /// Conditions under which it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<WhenExpression>,
    /// How long it may run (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// A result a Pipeline reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineResult {
    /// Name.
    pub name: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Its value, a `$(tasks.….results.…)` reference.
    pub value: String,
}

/// `spec` of a Pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PipelineSpec {
    /// What it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ParamSpec>,
    /// Workspaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workspaces: Vec<PipelineWorkspaceDeclaration>,
    /// Tasks.
    pub tasks: Vec<PipelineTask>,
    /// Results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<PipelineResult>,
}

/// A `tekton.dev/v1` Pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pipeline {
    /// [`API_VERSION`].
    pub api_version: String,
    /// `Pipeline`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: PipelineSpec,
}

/// A result a Task writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Name.
    pub name: String,
    /// Always `string` here.
    #[serde(rename = "type")]
    pub type_: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// An environment variable of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A step of a Task: one container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Name.
    pub name: String,
    /// Container image.
    pub image: String,
    /// Entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// A script run instead of `command` (starts with a `#!` line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
}

/// `spec` of a Task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskSpec {
    /// What it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ParamSpec>,
    /// Results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<TaskResult>,
    /// Workspaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workspaces: Vec<WorkspaceDeclaration>,
    /// Steps.
    pub steps: Vec<Step>,
}

/// A `tekton.dev/v1` Task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// [`API_VERSION`].
    pub api_version: String,
    /// `Task`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: TaskSpec,
}
