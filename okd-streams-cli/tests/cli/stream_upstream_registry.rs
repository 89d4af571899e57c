//! An upstream in a plain-HTTP docker-registry: reached through the stream file's
//! `insecure_registries:` alone, and a failed tick makes `stream run --once` fail.

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_registries_reach_the_upstream_and_a_failed_tick_fails_the_command() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is needed for this test");
    let host = registry.host().to_string();
    let store = testkit::stores::plain_store(&registry);
    // Components named in this registry, as in a payload mirrored there.
    let spec = common::spec().pullspec_prefix(format!("{host}/okd/scos-content"));
    testkit::payload::generate(&store, &spec).await.unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let text = common::plain_stream_file(
        dir,
        "4.19.0-0.okd-scos",
        &format!("docker://{host}/okd/scos-release"),
        "okd-hpc",
        "  jobs:\n    manifests: { check: manifests }\n    images: { check: images }\n",
        "",
    );
    let file = dir.join("stream.yaml");

    // Without the host marked insecure, TLS to a plain-HTTP registry fails: the tick reports
    // it, and the command exits non-zero naming the cause on one line.
    std::fs::write(&file, &text).unwrap();
    let out = common::cli()
        .args(["stream", "run", file.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error(s), first:") && err.contains(&host),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // Marked insecure in the stream file only (no global flag): the upstream is read.
    std::fs::write(&file, format!("{text}insecure_registries: [\"{host}\"]\n")).unwrap();
    common::run_ok(&["stream", "run", file.to_str().unwrap(), "--once"]);
    let status = common::run_ok(&["stream", "status", file.to_str().unwrap()]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("4.19.0-okd-hpc.1") && status.contains("Accepted"),
        "{status}"
    );
    assert!(status.contains("job manifests: Success"), "{status}");
    assert!(status.contains("job images: Success"), "{status}");
}
