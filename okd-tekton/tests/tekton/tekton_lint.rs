//! Exported pipelines pass tekton-lint with no error and no warning.
//!
//! The linters are the npm packages `tekton-lint` and its maintained successor
//! `@ibm/tekton-lint`, which `scripts/test` installs into `target/tekton-lint`; `TEKTON_LINT`
//! names another tekton-lint command to use instead.

use crate::tekton_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use okd_tekton::{JobSpec, StreamRun};
use tekton_support::{IMAGE, stream_spec};

/// Each linter as a program and the arguments before the options.
fn linters() -> Vec<(String, Vec<String>)> {
    if let Ok(cmd) = std::env::var("TEKTON_LINT") {
        let mut words = cmd.split_whitespace().map(str::to_string);
        let program = words.next().expect("TEKTON_LINT is empty");
        return vec![(program, words.collect())];
    }
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tekton-lint/node_modules");
    let local: Vec<PathBuf> = [
        base.join("tekton-lint/lib/lint.js"),
        base.join("@ibm/tekton-lint/dist/lint.js"),
    ]
    .into_iter()
    .filter(|p| p.exists())
    .collect();
    if !local.is_empty() {
        return local
            .into_iter()
            .map(|p| ("node".to_string(), vec![p.display().to_string()]))
            .collect();
    }
    if Command::new("tekton-lint")
        .arg("--version")
        .output()
        .is_ok()
    {
        return vec![("tekton-lint".to_string(), Vec::new())];
    }
    panic!(
        "tekton-lint is not installed: scripts/test installs it (npm install --prefix \
         target/tekton-lint tekton-lint@0.6.0 @ibm/tekton-lint@1.1.0), or set TEKTON_LINT to a \
         tekton-lint command"
    );
}

/// Every problem each linter reports on `files`, as (linter, JSON problem list).
fn lint(files: &[PathBuf]) -> Vec<(String, Vec<serde_json::Value>, bool)> {
    let cwd = tempfile::tempdir().unwrap();
    linters()
        .into_iter()
        .map(|(program, pre)| {
            let out = Command::new(&program)
                .args(&pre)
                .args([
                    "--format",
                    "json",
                    "--max-warnings",
                    "0",
                    "--color",
                    "false",
                ])
                .args(files)
                .current_dir(cwd.path())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
            let stdout = String::from_utf8_lossy(&out.stdout);
            let problems: Vec<serde_json::Value> = serde_json::from_str(stdout.trim())
                .unwrap_or_else(|e| {
                    panic!(
                        "{program} {pre:?} printed no JSON ({e}): {stdout}\n{}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                });
            (format!("{program} {pre:?}"), problems, out.status.success())
        })
        .collect()
}

fn assert_clean(files: &[PathBuf]) {
    for (linter, problems, ok) in lint(files) {
        assert!(problems.is_empty(), "{linter}: {problems:#?}");
        assert!(ok, "{linter} failed without reporting a problem");
    }
}

#[test]
fn okd_scos_stream_is_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    let files = okd_tekton::export(&stream_spec("release-okd-scos-4.19.json"), dir.path()).unwrap();
    assert_eq!(files.len(), 12);
    assert_clean(&files);
}

#[test]
fn nightly_with_aggregated_jobs_is_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    let files = okd_tekton::export(&stream_spec("release-ocp-4.19.json"), dir.path()).unwrap();
    assert!(files.len() > 80);
    assert_clean(&files);
}

#[test]
fn stream_without_mirror_or_jobs_is_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StreamRun::new("4-scos-next", IMAGE, "next.yaml")
        .without_mirror()
        .state_file(None)
        .build();
    let files = okd_tekton::export(&spec, dir.path()).unwrap();
    assert_eq!(files.len(), 4);
    assert_clean(&files);
    let spec = StreamRun::new("4-scos-stable", IMAGE, "stable.yaml")
        .job(
            JobSpec::new("upgrade", ["openshift-tests", "run-upgrade"])
                .upgrade()
                .max_retries(2),
        )
        .build();
    let dir = tempfile::tempdir().unwrap();
    assert_clean(&okd_tekton::export(&spec, dir.path()).unwrap());
}

#[test]
fn the_linter_catches_broken_pipelines() {
    // A check that cannot fail proves nothing: break an exported pipeline and see it reported.
    let dir = tempfile::tempdir().unwrap();
    let files = okd_tekton::export(&stream_spec("release-okd-scos-4.19.json"), dir.path()).unwrap();
    let pipeline = &files[0];
    let text = std::fs::read_to_string(pipeline).unwrap();
    let broken = text.replace("value: $(params.os-image)", "value: $(params.os-imag)");
    assert_ne!(text, broken);
    std::fs::write(pipeline, broken).unwrap();
    for (linter, problems, ok) in lint(&files) {
        assert!(!ok, "{linter} accepted a broken pipeline");
        assert!(
            problems
                .iter()
                .any(|p| p["rule"] == "no-undefined-param" && p["level"] == "error"),
            "{linter}: {problems:#?}"
        );
    }
}
