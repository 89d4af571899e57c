//! `okd-streams stream status|accept|reject` on a stream file, through the real binary.

mod common;

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
