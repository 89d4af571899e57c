//! `publish.content_repository`: a stream's releases copy their components into the stream's
//! own repository and name them there, checked with skopeo against docker-registry.

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_payloads_name_the_streams_content_repository() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is needed for this test (apt-get install docker-registry)");
    let host = registry.host().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let upstream = common::upstream(dir, 1).await;
    let mut text = common::stream_file(dir, &format!("docker://{host}/team"));
    text.push_str("publish:\n  content_repository: scos-content\n");
    let file = dir.join("stream.yaml");
    std::fs::write(&file, text).unwrap();
    common::run_ok(&[
        "--insecure-registry",
        &host,
        "stream",
        "run",
        file.to_str().unwrap(),
        "--once",
    ]);
    let (releases, _) = common::outcome(dir);
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0].1, "Accepted", "{releases:?}");
    let (name, pullspec) = (&releases[0].0, &releases[0].2);

    let out = common::run_ok(&[
        "--insecure-registry",
        &host,
        "release",
        "info",
        "-o",
        "okd-json",
        pullspec,
    ]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let content = format!("{host}/team/okd-demo/scos-content");
    let images = info["images"].as_array().unwrap();
    assert!(!images.is_empty());
    for image in images {
        let (tag, spec) = (
            image["name"].as_str().unwrap(),
            image["pullSpec"].as_str().unwrap(),
        );
        let digest = image["digest"].as_str().unwrap();
        assert_eq!(spec, format!("{content}@{digest}"), "{tag}");
        // The layered OS image and every upstream component are in the content repository.
        let inspected = testkit::tools::skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &format!("docker://{content}:{name}-{tag}"),
        ]);
        assert_eq!(String::from_utf8_lossy(&inspected).trim(), digest, "{tag}");
    }
    // No component of the upstream is named by its upstream pullspec any more.
    for c in &upstream.components {
        assert!(
            !images.iter().any(|i| i["pullSpec"] == c.pullspec.as_str()),
            "{}",
            c.name
        );
    }
}
