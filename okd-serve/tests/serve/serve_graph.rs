//! `/graph`: nodes, payloads, channel rules, formats, and what a CVO finds in it.

use crate::support::{Running, STREAM, UPSTREAM, demo};
use testkit::http_client::{Update, cincinnati_updates};

const ID: &str = "01234567-89ab-cdef-0123-456789abcdef";

#[tokio::test]
async fn nodes_are_every_release_and_the_upstream_with_pullable_payloads() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), Some("registry.example.com")).await;
    let server = Running::start(&[file]);
    let a = server.get("/graph");
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("content-type"),
        Some("application/vnd.redhat.cincinnati.graph+json; version=1.0")
    );
    let g: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    let versions: Vec<&str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["version"].as_str().unwrap())
        .collect();
    // Every phase, oldest first, then the upstream.
    assert_eq!(
        versions,
        [
            "4.19.0-okd-demo.1",
            "4.19.0-okd-demo.2",
            "4.19.0-okd-demo.3",
            "4.19.0-okd-demo.4",
            UPSTREAM
        ]
    );
    let payload = |i: usize| g["nodes"][i]["payload"].as_str().unwrap().to_string();
    assert_eq!(
        payload(0),
        format!("registry.example.com/okd-demo/release@sha256:{:064x}", 1)
    );
    assert_eq!(
        payload(4),
        format!("quay.io/okd/scos-release@sha256:{:064x}", 1000)
    );
    assert_eq!(g["nodes"][4]["metadata"]["io.okd-streams.upstream"], "true");
    assert_eq!(g["nodes"][0]["metadata"]["io.okd-streams.stream"], STREAM);
    // Default channel: successful edges only.
    assert_eq!(g["edges"], serde_json::json!([[0, 1], [4, 0]]));
}

#[tokio::test]
async fn a_layout_stream_without_a_registry_says_so_in_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let server = Running::start(&[file]);
    let g = server.json("/graph");
    let note = g["nodes"][0]["metadata"]["io.okd-streams.payload-note"]
        .as_str()
        .unwrap();
    assert!(note.contains("no registry serves"), "{note}");
    assert!(
        g["nodes"][0]["payload"]
            .as_str()
            .unwrap()
            .starts_with("oci:")
    );
}

#[tokio::test]
async fn channels_follow_the_controller_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), Some("registry.example.com")).await;
    let server = Running::start(&[file]);
    let edges = |channel: &str| server.json(&format!("/graph?channel={channel}"))["edges"].clone();
    let ok = serde_json::json!([[0, 1], [4, 0]]);
    for c in [
        "stable",
        "stable-4",
        "stable-scos",
        "stable-scos-4",
        "next",
        "next-scos-4",
        "next-4",
    ] {
        assert_eq!(edges(c), ok, "{c}");
    }
    // The failed edge demo.2 → demo.3 is offered in prerelease channels.
    assert_eq!(
        edges("prerelease"),
        serde_json::json!([[0, 1], [1, 2], [4, 0]])
    );
    assert_eq!(
        edges("prerelease-4"),
        serde_json::json!([[0, 1], [1, 2], [4, 0]])
    );
    assert_eq!(edges("nightly").as_array().unwrap().len(), 3);
    // nightly-4.19 matches 4.19.0-0.nightly-… only.
    assert_eq!(edges("nightly-4.19"), serde_json::json!([]));
    assert_eq!(edges("stable-5"), serde_json::json!([]));
    // `latest` is a promotion the controller does not know: successful edges into Accepted
    // releases of the stream.
    assert_eq!(edges("latest"), ok);
}

#[tokio::test]
async fn a_cvo_on_the_upstream_or_on_a_stream_release_finds_itself_and_its_updates() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), Some("registry.example.com")).await;
    let server = Running::start(&[file]);
    let addr = server.addr;
    let updates = tokio::task::spawn_blocking(move || {
        (
            cincinnati_updates(addr, "amd64", "stable-scos-4", ID, UPSTREAM),
            cincinnati_updates(addr, "amd64", "stable-scos-4", ID, "4.19.0-okd-demo.1"),
            cincinnati_updates(addr, "amd64", "stable-scos-4", ID, "4.19.0-okd-demo.2"),
            cincinnati_updates(addr, "amd64", "stable-scos-4", ID, "4.18.0"),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        updates.0.unwrap(),
        [Update {
            version: "4.19.0-okd-demo.1".into(),
            payload: format!("registry.example.com/okd-demo/release@sha256:{:064x}", 1)
        }]
    );
    assert_eq!(updates.1.unwrap()[0].version, "4.19.0-okd-demo.2");
    assert_eq!(updates.2.unwrap(), []);
    assert!(updates.3.unwrap_err().starts_with("VersionNotFound"));
}

#[tokio::test]
async fn dot_svg_and_unknown_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let server = Running::start(&[file]);
    let dot = server.get("/graph?format=dot");
    assert_eq!(dot.status, 200);
    assert!(
        dot.text().starts_with("digraph Upgrades {"),
        "{}",
        dot.text()
    );
    assert!(
        dot.text()
            .contains("tag1 -> tag2 [style=dashed color=red];"),
        "{}",
        dot.text()
    );
    // SVG, beyond the controller: the channel's graph drawn as the report draws it.
    let svg = server.get("/graph?format=svg&channel=prerelease");
    assert_eq!(svg.status, 200);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    let text = svg.text();
    assert!(text.starts_with("<?xml") && text.contains("<svg"), "{text}");
    assert!(text.contains("data-from=\"4.19.0-okd-demo.1\""), "{text}");
    assert!(text.contains("4.19.0-okd-demo.2"), "{text}");
    let bad = server.get("/graph?format=yaml");
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.text(),
        "Unsupported ?format, must be 'cincinnati' (default)\n"
    );
}

#[tokio::test]
async fn gzip_for_clients_that_ask_as_go_clients_do() {
    use std::io::Read as _;
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let server = Running::start(&[file]);
    let plain = server.get("/graph?channel=stable");
    let gz = testkit::http_client::get(
        server.addr,
        "/graph?channel=stable",
        &[("Accept-Encoding", "gzip")],
    )
    .unwrap();
    assert_eq!(gz.status, 200, "{}", gz.text());
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body, plain.body);
}
