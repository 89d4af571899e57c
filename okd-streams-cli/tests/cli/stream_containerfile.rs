//! A stream whose OS image is built from a Containerfile with Debian's buildah (vfs storage,
//! chroot isolation) on the upstream payload's OS image: the round builds it, labels it,
//! lints it and accepts the release.

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_builds_the_os_from_a_containerfile() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let os = dir.join("os");
    std::fs::create_dir_all(&os).unwrap();
    std::fs::write(os.join("okd-release"), "built by buildah\n").unwrap();
    std::fs::write(
        os.join("Containerfile"),
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY okd-release /usr/lib/okd/release\nLABEL io.okd-demo.built=true\n",
    )
    .unwrap();
    let text = common::stream_file(dir, &format!("oci:{}/store", dir.display())).replace(
        "  layers:\n    - files:\n        - { path: etc/okd-demo/release, content: \"layered by okd-streams\\n\" }\n",
        &format!(
            "  containerfile: {}\n  storage_driver: vfs\n  isolation: chroot\n",
            os.join("Containerfile").display()
        ),
    );
    assert!(text.contains("containerfile:"), "{text}");
    let file = dir.join("stream.yaml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();

    let run = common::run_ok(&["stream", "run", file, "--once"]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("Accepted"), "{out}");
    // A COPY under /usr is what a node keeps: nothing to warn about.
    assert!(!out.contains("os lint"), "{out}");
    assert!(out.contains("os image   "), "{out}");
    // The layered image is tagged with the release's version in the stream's OS repository.
    let image = format!(
        "oci:{}/store:okd-demo/stream-coreos:4.19.0-okd-scos.1",
        dir.display()
    );
    let doc = crate::cli_common::okd(["coreos", "inspect", "-o", "json", &image]).json();
    let labels = &doc["labels"];
    assert_eq!(labels["io.okd-demo.built"], "true", "{doc}");
    assert_eq!(labels["io.okd-demo.layered"], "true", "{doc}");
    assert!(labels["ostree.bootable"].is_string(), "{doc}");
    assert_eq!(doc["derived"], true);
}
