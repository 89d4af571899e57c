//! `okd-streams stream status|accept|reject` on a stream file, through the real binary.

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_verdicts_through_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    // The e2e job always fails: the release is rejected until someone accepts it.
    let text = common::stream_file(dir, &format!("oci:{}/store", dir.display())).replace(
        "    images: { check: images }\n",
        "    images: { check: images }\n    e2e: { shell: \"echo failing e2e for $RELEASE_IMAGE_LATEST; exit 1\" }\n",
    );
    let file = dir.join("stream.yaml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();

    let run = common::run_ok(&["stream", "run", file, "--once"]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        out.contains("Ready -> Rejected VerificationFailed"),
        "{out}"
    );
    let status = common::run_ok(&["stream", "status", file]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("4.19.0-okd-scos.1") && status.contains("Rejected"),
        "{status}"
    );
    assert!(status.contains("job e2e: Failure"), "{status}");
    assert!(!status.contains("published"), "{status}");
    let log = dir.join("state/logs/4.19.0-okd-scos.1/4.19.0-okd-scos.1-e2e.stdout");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.starts_with("failing e2e for oci:"), "{log}");

    common::run_ok(&[
        "stream",
        "accept",
        file,
        "4.19.0-okd-scos.1",
        "--reason",
        "known flake",
    ]);
    let run = common::run_ok(&["stream", "run", file, "--once"]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("published  4.19.0-okd-scos.1"), "{out}");
    let status = common::run_ok(&["stream", "status", file]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("Accepted") && status.contains("ReleasePayloadManuallyAccepted"),
        "{status}"
    );
    assert!(
        status.contains("published next: 4.19.0-okd-scos.1"),
        "{status}"
    );

    common::run_ok(&["stream", "reject", file, "4.19.0-okd-scos.1"]);
    let status = common::run_ok(&["stream", "status", file]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("Rejected"));

    let bad = common::cli()
        .args(["stream", "accept", file, "4.19.0-okd-scos.9"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("no release 4.19.0-okd-scos.9"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_run_one_by_one_as_the_tekton_export_runs_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let file = common::write_stream_file(dir, &format!("oci:{}/store", dir.display()));
    let file = file.to_str().unwrap();
    let state = dir.join("pipeline-state");
    let state = state.to_str().unwrap();
    let result = |name: &str| dir.join(format!("result-{name}"));
    let read = |name: &str| std::fs::read_to_string(result(name)).unwrap();

    common::run_ok(&[
        "stream",
        "run",
        file,
        "--once",
        "--stage",
        "assemble",
        "--state",
        state,
        "--result",
        &format!("release-name={}", result("name").display()),
        "--result",
        &format!("release-image={}", result("image").display()),
        "--result",
        &format!("upgrade-from-upgrade={}", result("upgrade").display()),
    ]);
    assert_eq!(read("name"), "4.19.0-okd-scos.1");
    assert!(
        read("image").contains("okd-demo/release:4.19.0-okd-scos.1@sha256:"),
        "{}",
        read("image")
    );
    assert_eq!(read("upgrade"), "", "nothing accepted yet to upgrade from");
    // No job ran: the pipeline runs them.
    assert!(!dir.join("pipeline-state/logs").exists());

    let release = read("name");
    let gate = |upgrade: &str, attempts: &str| {
        let mut args = vec![
            "stream".to_string(),
            "run".into(),
            file.into(),
            "--once".into(),
            "--stage".into(),
            "gate".into(),
            "--state".into(),
            state.into(),
            "--release".into(),
            release.clone(),
        ];
        for r in ["images=Succeeded", "manifests=Succeeded", "os=Succeeded"] {
            args.extend(["--job-result".into(), r.into()]);
        }
        args.extend(["--job-result".into(), format!("upgrade={upgrade}")]);
        args.extend(["--job-attempts".into(), format!("upgrade={attempts}")]);
        args.extend([
            "--result".into(),
            format!("phase={}", result("phase").display()),
        ]);
        args
    };
    // The upgrade task had no source (the assemble result was empty), so it cannot have
    // failed an upgrade: a Failed for it is refused and nothing is recorded.
    let args = gate("Failed", "2");
    let refused = common::cli().args(&args).output().unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("no upgrade source"), "{err}");
    assert!(!result("phase").exists(), "a refused gate writes no phase");
    // What the task writes when it has no source: NotRun after 0 attempts.
    let args = gate("NotRun", "0");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run_ok(&args);
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("job upgrade: not run: no upgrade source"),
        "{out}"
    );
    // The upgrade job is informing: not running it does not hold the release back.
    assert_eq!(read("phase"), "Accepted");
    let promote = common::run_ok(&[
        "stream", "run", file, "--once", "--stage", "promote", "--state", state,
    ]);
    let out = String::from_utf8_lossy(&promote.stdout);
    assert!(
        out.contains("published  4.19.0-okd-scos.1 -> okd-demo/4-scos-next"),
        "{out}"
    );
    // The pipeline's state, not the stream file's, was used throughout.
    assert!(dir.join("pipeline-state/gating.json").exists());
    assert!(!dir.join("state/gating.json").exists());
    let bad = common::cli()
        .args([
            "stream", "run", file, "--once", "--stage", "gate", "--state", state,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("needs --release"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_pages_and_tekton_export() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let file = common::write_stream_file(dir, &format!("oci:{}/store", dir.display()));
    let file = file.to_str().unwrap();
    common::run_ok(&["stream", "run", file, "--once"]);

    let site = dir.join("site");
    common::run_ok(&["stream", "report", file, "--out", site.to_str().unwrap()]);
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("4.19.0-okd-scos.1") && index.contains("Accepted"),
        "{index}"
    );

    let tekton = dir.join("tekton");
    let out = common::run_ok(&[
        "stream",
        "export",
        "tekton",
        file,
        "--image",
        "quay.io/example/okd-streams:test",
        "--out",
        tekton.to_str().unwrap(),
    ]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("pipeline.yaml"), "{listed}");
    let pipeline = std::fs::read_to_string(tekton.join("pipeline.yaml")).unwrap();
    for task in [
        "assemble",
        "verify-images",
        "verify-upgrade",
        "gate",
        "promote",
    ] {
        assert!(pipeline.contains(task), "{task} missing:\n{pipeline}");
    }
    let images = std::fs::read_dir(&tekton)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|t| t.contains("--check") && t.contains("images"))
        .expect("a task running the images check");
    assert!(images.contains("okd-streams"), "{images}");
    assert!(
        !images.contains(env!("CARGO_BIN_EXE_okd-streams")),
        "{images}"
    );
}
