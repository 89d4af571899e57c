//! Specs the Tekton tests share: the real OKD/SCOS 4.19 and OCP 4.19 nightly gating configs of
//! `openshift/release`, exported as streams.
#![allow(dead_code)]

use okd_gating::{GatingPolicy, JobCommand, ParseMode};
use okd_tekton::{JobSpec, PipelineParam, StreamRun, TektonSpec};

pub const IMAGE: &str = "quay.io/okd/okd-streams:v0.1.0";
pub const TESTS_IMAGE: &str = "quay.io/openshift/origin-tests:4.19";

pub fn policy(file: &str) -> GatingPolicy {
    let path = format!("{}/tests/data/tekton/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    GatingPolicy::from_json(&bytes, file, ParseMode::Strict).unwrap()
}

/// The stream of a release-controller config, its jobs run by `openshift-tests`.
pub fn stream_spec(file: &str) -> TektonSpec {
    let policy = policy(file);
    let mut run = StreamRun::new(policy.name.clone(), IMAGE, "stream.yaml")
        .input(
            PipelineParam::new("upstream-release", "Upstream release image to start from.")
                .default_value("quay.io/okd/scos-release:4.19.0-okd-scos.1"),
            "--upstream",
        )
        .input(
            PipelineParam::new("os-image", "CoreOS image to put in the release."),
            "--os-image",
        )
        .input(
            PipelineParam::new("target-repo", "Repository the release is pushed to.")
                .default_value("registry.example.com/okd/scos-release"),
            "--target",
        )
        .input(
            PipelineParam::new("version", "Version of the release; empty for the next one.")
                .default_value(""),
            "--version",
        );
    for job in &policy.jobs {
        let command = JobCommand::new(
            "openshift-tests",
            &["run", "--junit-dir", "/tmp/junit", &job.prow_job],
        )
        .env("TEST_SUITE", "openshift/conformance/parallel");
        if let Some(spec) = JobSpec::from_gating(job, &command) {
            run = run.job(spec.image(TESTS_IMAGE));
        }
    }
    run.build()
}
