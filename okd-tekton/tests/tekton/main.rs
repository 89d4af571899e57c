//! okd-tekton's integration tests: the structure of exported pipelines, their step scripts, and
//! the Tekton linters' verdict on them.

mod tekton_support;

mod tekton_lint;
mod tekton_script;
mod tekton_structure;
