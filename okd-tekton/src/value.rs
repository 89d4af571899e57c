//! Values with references: literal text mixed with pipeline parameters, workspace paths and
//! task results, rendered to Tekton's `$(…)` variables where they are used.

use std::fmt;

/// The two workspaces every okd-streams pipeline declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workspace {
    /// Registry credentials: a containers `auth.json` / docker `config.json`, usually a
    /// `kubernetes.io/dockerconfigjson` Secret. Mounted read-only.
    Credentials,
    /// The stream's state: the state file (and the stream file), usually a PersistentVolumeClaim
    /// kept between runs.
    State,
}

impl Workspace {
    /// Its name in the Pipeline and in every Task.
    pub fn name(self) -> &'static str {
        match self {
            Workspace::Credentials => "registry-credentials",
            Workspace::State => "state",
        }
    }
}

/// One piece of a [`Value`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A pipeline parameter, by name.
    Param(String),
    /// The mount path of a workspace.
    Workspace(Workspace),
    /// The file the current stage writes its result to (a stage's own results only).
    ResultPath(String),
    /// A result another task of the pipeline wrote.
    TaskResult {
        /// The pipeline task (a stage name, or `verify-<job>`).
        task: String,
        /// The result's name.
        result: String,
    },
}

/// Text with references, concatenated. `Display` shows the pipeline-level form.
///
/// Values are typed rather than strings with `$(…)` in them so that
/// [`export`](super::export) can check every reference (the parameter is declared, the task
/// exists and writes that result) and can turn each into the right form for where it appears:
/// inside a Task, a pipeline parameter or another task's result becomes a parameter of that
/// Task, which the Pipeline then feeds from `$(params.…)` or `$(tasks.….results.…)`.
///
/// ```
/// use okd_tekton::{Value, Workspace};
/// let file = Value::workspace(Workspace::State, "/stream.yaml");
/// assert_eq!(file.to_string(), "$(workspaces.state.path)/stream.yaml");
/// let image = Value::task_result("assemble", "release-image");
/// assert_eq!(image.to_string(), "$(tasks.assemble.results.release-image)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Value {
    /// The pieces, in order.
    pub parts: Vec<Part>,
}

impl Value {
    /// Literal text.
    pub fn text(text: impl Into<String>) -> Value {
        Value {
            parts: vec![Part::Text(text.into())],
        }
    }

    /// The pipeline parameter `name`.
    pub fn param(name: impl Into<String>) -> Value {
        Value {
            parts: vec![Part::Param(name.into())],
        }
    }

    /// A path in a workspace: its mount path followed by `suffix` (e.g. `/state.json`).
    pub fn workspace(workspace: Workspace, suffix: impl Into<String>) -> Value {
        Value {
            parts: vec![Part::Workspace(workspace)],
        }
        .then_text(suffix)
    }

    /// The file the current stage writes its result `name` to.
    pub fn result_path(name: impl Into<String>) -> Value {
        Value {
            parts: vec![Part::ResultPath(name.into())],
        }
    }

    /// The result `result` of pipeline task `task`.
    pub fn task_result(task: impl Into<String>, result: impl Into<String>) -> Value {
        Value {
            parts: vec![Part::TaskResult {
                task: task.into(),
                result: result.into(),
            }],
        }
    }

    /// This value followed by literal text (nothing is added for empty text).
    pub fn then_text(mut self, text: impl Into<String>) -> Value {
        let text = text.into();
        if !text.is_empty() {
            self.parts.push(Part::Text(text));
        }
        self
    }

    /// This value followed by another.
    pub fn then(mut self, other: Value) -> Value {
        self.parts.extend(other.parts);
        self
    }

    /// The pipeline tasks whose results this value reads.
    pub fn tasks(&self) -> impl Iterator<Item = &str> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::TaskResult { task, .. } => Some(task.as_str()),
            _ => None,
        })
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::text(text)
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::text(text)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(t) => f.write_str(t)?,
                Part::Param(p) => write!(f, "$(params.{p})")?,
                Part::Workspace(w) => write!(f, "$(workspaces.{}.path)", w.name())?,
                Part::ResultPath(r) => write!(f, "$(results.{r}.path)")?,
                Part::TaskResult { task, result } => write!(f, "$(tasks.{task}.results.{result})")?,
            }
        }
        Ok(())
    }
}

/// The name of the Task parameter that carries a reference into a Task.
pub(crate) fn task_param_name(part: &Part) -> Option<String> {
    match part {
        Part::Param(p) => Some(p.clone()),
        Part::TaskResult { task, result } => Some(format!("{task}-{result}")),
        _ => None,
    }
}

/// Prefixes of the variables Tekton substitutes; literal text must not contain them, or Tekton
/// would rewrite it.
const VARIABLE_PREFIXES: [&str; 9] = [
    "$(params.",
    "$(params[",
    "$(results.",
    "$(workspaces.",
    "$(context.",
    "$(tasks.",
    "$(steps.",
    "$(step.",
    "$(inputs.",
];

/// The Tekton variable a literal contains, if any.
pub(crate) fn embedded_variable(text: &str) -> Option<&'static str> {
    VARIABLE_PREFIXES
        .into_iter()
        .find(|prefix| text.contains(prefix))
}

/// A value rendered inside a Task, with the Task parameters it needs.
#[derive(Debug, Default)]
pub(crate) struct TaskScope {
    /// (task parameter, pipeline-level value feeding it), in first-use order.
    pub params: Vec<(String, String)>,
}

impl TaskScope {
    /// Renders `value` for use inside the Task, declaring the parameters it needs.
    pub fn render(&mut self, value: &Value) -> String {
        let mut out = String::new();
        for part in &value.parts {
            match (part, task_param_name(part)) {
                (_, Some(name)) => {
                    let outer = Value {
                        parts: vec![part.clone()],
                    }
                    .to_string();
                    if !self.params.iter().any(|(n, _)| *n == name) {
                        self.params.push((name.clone(), outer));
                    }
                    out.push_str(&format!("$(params.{name})"));
                }
                (Part::Text(t), None) => out.push_str(t),
                (other, None) => out.push_str(
                    &Value {
                        parts: vec![other.clone()],
                    }
                    .to_string(),
                ),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_scope_turns_references_into_task_params() {
        let mut scope = TaskScope::default();
        let v = Value::text("--release=")
            .then(Value::task_result("assemble", "release-name"))
            .then_text("@")
            .then(Value::param("version"));
        assert_eq!(
            scope.render(&v),
            "--release=$(params.assemble-release-name)@$(params.version)"
        );
        assert_eq!(
            scope.render(&Value::workspace(Workspace::State, "/s.json")),
            "$(workspaces.state.path)/s.json"
        );
        scope.render(&Value::param("version"));
        assert_eq!(
            scope.params,
            [
                (
                    "assemble-release-name".to_string(),
                    "$(tasks.assemble.results.release-name)".to_string()
                ),
                ("version".to_string(), "$(params.version)".to_string()),
            ]
        );
    }

    #[test]
    fn finds_tekton_variables_in_literals() {
        assert_eq!(embedded_variable("a $(params.x) b"), Some("$(params."));
        assert_eq!(embedded_variable("$(date +%s)"), None);
        assert_eq!(embedded_variable("plain"), None);
    }
}
