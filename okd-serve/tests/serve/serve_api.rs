//! The release-controller API: latest, tags, release info, stream lists; signatures.

use crate::support::{Running, STREAM, UPSTREAM, demo};

#[tokio::test]
async fn latest_with_its_query_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), Some("registry.example.com")).await;
    let server = Running::start(&[file]);
    let base = format!("/api/v1/releasestream/{STREAM}/latest");
    let tag = server.json(&base);
    assert_eq!(tag["name"], "4.19.0-okd-demo.2");
    assert_eq!(tag["phase"], "Accepted");
    assert_eq!(
        tag["pullSpec"],
        format!("registry.example.com/okd-demo/release@sha256:{:064x}", 2)
    );
    assert_eq!(tag["downloadURL"], "");
    assert_eq!(
        server.json(&format!("{base}?rel=1"))["name"],
        "4.19.0-okd-demo.1"
    );
    let name = server.get(&format!("{base}?format=name"));
    assert_eq!(name.text(), "4.19.0-okd-demo.2\n");
    assert_eq!(name.header("content-type"), Some("text/plain"));
    let pull = server.get(&format!("{base}?format=pullSpec")).text();
    assert!(pull.ends_with(&format!("{:064x}\n", 2)), "{pull}");
    let ranged = server.json(&format!("{base}?in=%3C4.19.0-okd-demo.2"));
    assert_eq!(ranged["name"], "4.19.0-okd-demo.1");
    assert_eq!(
        server.json(&format!("{base}?prefix=4.19.0-okd-demo.1"))["name"],
        "4.19.0-okd-demo.1"
    );
    let none = server.get(&format!("{base}?rel=2"));
    assert_eq!(none.status, 404);
    let err: serde_json::Value = serde_json::from_slice(&none.body).unwrap();
    assert_eq!(
        err["message"],
        "no tags exist within the release that satisfy the request"
    );
    let bad = server.get(&format!("{base}?in=%3Efour"));
    assert_eq!(bad.status, 400);
    assert!(
        bad.text()
            .contains("?in must be a valid semantic version range"),
        "{}",
        bad.text()
    );
    assert_eq!(server.get(&format!("{base}?rel=-1")).status, 400);
    assert_eq!(server.get(&format!("{base}?format=xml")).status, 400);
}

#[tokio::test]
async fn tags_release_info_and_stream_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let server = Running::start(&[file]);
    let tags = server.json(&format!("/api/v1/releasestream/{STREAM}/tags"));
    assert_eq!(tags["name"], STREAM);
    let names: Vec<&str> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "4.19.0-okd-demo.4",
            "4.19.0-okd-demo.3",
            "4.19.0-okd-demo.2",
            "4.19.0-okd-demo.1"
        ]
    );
    let rejected = server.json(&format!(
        "/api/v1/releasestream/{STREAM}/tags?phase=Rejected"
    ));
    assert_eq!(rejected["tags"].as_array().unwrap().len(), 1);

    let info = server.json(&format!(
        "/api/v1/releasestream/{STREAM}/release/4.19.0-okd-demo.1"
    ));
    assert_eq!(info["name"], "4.19.0-okd-demo.1");
    assert_eq!(info["phase"], "Accepted");
    assert_eq!(info["upgradesTo"][0]["From"], UPSTREAM);
    assert_eq!(info["upgradesTo"][0]["Success"], 1);
    assert_eq!(
        info["upgradesTo"][0]["History"]["run-upstream"]["state"],
        "Success"
    );
    assert_eq!(info["upgradesFrom"][0]["To"], "4.19.0-okd-demo.2");
    // No run recorded: both jobs are still pending.
    assert!(
        info["results"]["pendingJobs"]["images"].is_object(),
        "{info}"
    );

    let accepted = server.json("/api/v1/releasestreams/accepted");
    assert_eq!(
        accepted[STREAM],
        serde_json::json!(["4.19.0-okd-demo.2", "4.19.0-okd-demo.1"])
    );
    let rejected = server.json("/api/v1/releasestreams/rejected");
    assert_eq!(rejected[STREAM], serde_json::json!(["4.19.0-okd-demo.3"]));
    assert_eq!(
        server.json("/api/v1/releasestreams/all")[STREAM]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn unknown_streams_and_tags_are_json_404s() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let server = Running::start(&[file]);
    for target in [
        "/api/v1/releasestream/nope/latest".to_string(),
        "/api/v1/releasestream/nope/tags".to_string(),
        format!("/api/v1/releasestream/{STREAM}/release/4.19.0-okd-demo.9"),
        "/api/v1/releasestreams/pending".to_string(),
    ] {
        let a = server.get(&target);
        assert_eq!(a.status, 404, "{target}");
        assert_eq!(
            a.header("content-type"),
            Some("application/json"),
            "{target}"
        );
        let err: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(err["code"], 404, "{target}");
    }
}

#[tokio::test]
async fn signatures_are_served_from_the_state_directory_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let hex = "ab".repeat(32);
    let dir = tmp
        .path()
        .join(format!("state-{STREAM}/signatures/sha256={hex}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("signature-1"), b"first signature").unwrap();
    let server = Running::start(&[file]);
    let a = server.get(&format!("/signatures/sha256={hex}/signature-1"));
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b"first signature");
    // Past the last one: 404, where a client stops.
    assert_eq!(
        server
            .get(&format!("/signatures/sha256={hex}/signature-2"))
            .status,
        404
    );
    for bad in [
        format!("/signatures/sha256={}/signature-1", "AB".repeat(32)),
        format!("/signatures/sha256={hex}/signature-01"),
        format!("/signatures/sha256={hex}/signature-0"),
        format!("/signatures/sha256={hex}/..%2F..%2Fgating.json"),
        "/signatures/sha256=..%2F..%2F/signature-1".to_string(),
        format!("/signatures/sha512={hex}/signature-1"),
    ] {
        assert_eq!(server.get(&bad).status, 404, "{bad}");
    }
}
