//! A stream as a Tekton pipeline: its stages and jobs in [`okd_tekton`]'s plain model.
//!
//! The pipeline runs the stream's stages with the `okd-streams` binary of a container image, and
//! one task per verification job that has a local command. Jobs that run this executable (the
//! built-in payload checks) run the image's `okd-streams` instead.
//!
//! ```no_run
//! # async fn demo(stream: &okd_streams::stream::Stream) -> Result<(), Box<dyn std::error::Error>> {
//! use okd_streams::stream::export;
//! let spec = export::tekton_spec(stream, "quay.io/example/okd-streams:latest", "stream.yaml");
//! okd_tekton::export(&spec, std::path::Path::new("tekton"))?;
//! # Ok(()) }
//! ```

use std::path::Path;

use okd_tekton::{JobSpec, StreamRun, TektonSpec};

use super::Stream;

/// The Tekton model of `stream`, run from container `image` with the stream file at
/// `workspace_file` in the pipeline's workspace.
pub fn tekton_spec(stream: &Stream, image: &str, workspace_file: &str) -> TektonSpec {
    let this = std::env::current_exe().ok();
    let mut run =
        StreamRun::new(stream.name(), image, workspace_file).state_file(Some("state".to_string()));
    if !stream.has_mirror() {
        run = run.without_mirror();
    }
    for job in &stream.policy().jobs {
        let Some(command) = stream.job_commands().get(&job.name) else {
            continue;
        };
        let mut command = command.clone();
        // Built-in checks run the okd-streams of the image.
        if this.as_deref() == Some(Path::new(&command.program)) {
            command.program = "okd-streams".to_string();
        }
        if let Some(spec) = JobSpec::from_gating(job, &command) {
            run = run.job(spec);
        }
    }
    run.build()
}
