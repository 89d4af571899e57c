//! A stream file's `mirror: { to: archive:DIR }`: every release the stream creates leaves a
//! transfer archive, which restores into a docker-registry.

use crate::common;

use okd_oci::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_release_leaves_an_archive_that_restores() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let archives = dir.join("archives");
    let text = common::plain_stream_file(
        dir,
        "4.19.0-0.okd-scos",
        &format!("oci:{}/upstream:okd/scos-release", dir.display()),
        "okd-hpc",
        "  jobs:\n    manifests: { check: manifests }\n",
        &format!(
            "mirror: {{ to: \"archive:{}\", max_archive_size: 1048576 }}\n",
            archives.display()
        ),
    );
    let file = dir.join("stream.yaml");
    std::fs::write(&file, &text).unwrap();
    common::run_ok(&["stream", "run", file.to_str().unwrap(), "--once"]);

    let archive = archives.join("4.19.0-okd-hpc.1");
    assert!(
        archive.join("okd-mirror_000000.tar").is_file(),
        "{:?}",
        std::fs::read_dir(&archives).map(|d| d.count())
    );
    // A second round writes nothing new for the same release.
    let before = std::fs::metadata(archive.join("okd-mirror_000000.tar"))
        .unwrap()
        .modified()
        .unwrap();
    common::run_ok(&["stream", "run", file.to_str().unwrap(), "--once"]);
    assert_eq!(
        std::fs::metadata(archive.join("okd-mirror_000000.tar"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );

    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    let auth = testkit::stores::empty_auth_file(registry.dir());
    let host = registry.host();
    let resources = dir.join("cluster-resources");
    let out = common::run_ok(&[
        "--insecure-registry",
        &host,
        "--authfile",
        auth.to_str().unwrap(),
        "mirror",
        "archive",
        archive.to_str().unwrap(),
        "--to",
        &format!("{host}/mirror/okd"),
        "--cluster-resources",
        resources.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Success"));
    let store = testkit::stores::plain_store(&registry);
    let tags = store.list_tags("mirror/okd").await.unwrap();
    assert!(
        tags.iter().any(|t| t == "4.19.0-okd-hpc.1-x86_64"),
        "{tags:?}"
    );
    assert!(resources.join("idms-oc-mirror.yaml").is_file());
}
