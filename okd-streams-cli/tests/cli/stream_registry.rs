//! The same stream file runs against a docker-registry instead of a layout: only its store line
//! changes.

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_line_is_all_that_changes() {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is needed for this test");
    let host = registry.host().to_string();

    let tmp = tempfile::tempdir().unwrap();
    let layout_dir = tmp.path().join("layout");
    let registry_dir = tmp.path().join("registry");
    let mut texts = Vec::new();
    for (dir, store) in [
        (&layout_dir, format!("oci:{}/store", layout_dir.display())),
        (&registry_dir, format!("docker://{host}/team")),
    ] {
        std::fs::create_dir_all(dir).unwrap();
        common::upstream(dir, 1).await;
        let file = common::write_stream_file(dir, &store);
        let text = std::fs::read_to_string(&file).unwrap();
        texts.push(text.replace(&dir.display().to_string(), "DIR"));
        common::run_ok(&[
            "--insecure-registry",
            &host,
            "stream",
            "run",
            file.to_str().unwrap(),
            "--once",
        ]);
        let (releases, published) = common::outcome(dir);
        assert_eq!(releases.len(), 1, "{releases:?}");
        assert_eq!(releases[0].1, "Accepted", "{releases:?}");
        assert_eq!(published.len(), 2, "{published:?}");
    }
    let changed: Vec<(&str, &str)> = texts[0]
        .lines()
        .zip(texts[1].lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].0.starts_with("store: oci:") && changed[0].1.starts_with("store: docker://")
    );

    // The promoted release is in the registry, readable by skopeo.
    let (_, published) = common::outcome(&registry_dir);
    let next = published.iter().find(|p| p.0 == "next").unwrap();
    assert_eq!(next.2, "team/okd-demo/4-scos-next");
    let out = testkit::tools::skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{host}/{}:{}", next.2, next.3),
    ]);
    let info: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(info["Digest"].as_str(), Some(next.4.as_str()));
}
