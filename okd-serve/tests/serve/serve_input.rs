//! Bad input: unknown channels, page paths out of the report, overlong queries, connections
//! opened and dropped. The server answers the next request normally after each.

use std::io::Write as _;

use crate::support::{Running, STREAM, demo, save_state, server_panics, stream_file};

const CHANNEL_MESSAGE: &str = "Unsupported ?channel, must be '', 'prerelease', 'prerelease-*', 'nightly', 'nightly-*', 'stable', or 'stable-*\n";

#[tokio::test]
async fn unknown_channel_is_400_with_the_controller_message_even_without_upgrades() {
    let panics = server_panics();
    let tmp = tempfile::tempdir().unwrap();
    let file = stream_file(tmp.path(), STREAM, None);
    save_state(
        &tmp.path().join(format!("state-{STREAM}")),
        STREAM,
        Default::default(),
    )
    .await;
    let server = Running::start(&[file]);
    let a = server.get("/graph?channel=fast-4");
    assert_eq!(a.status, 400);
    assert_eq!(a.text(), CHANNEL_MESSAGE);
    // Nothing recorded yet: an empty graph.
    assert_eq!(
        server.json("/graph?channel=stable")["nodes"],
        serde_json::json!([])
    );
    assert_eq!(server_panics(), panics, "a handler panicked");
}

#[tokio::test]
async fn page_paths_outside_the_report_are_404() {
    let panics = server_panics();
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let server = Running::start(&[file]);
    let index = server.get(&format!("/releasestream/{STREAM}/"));
    assert_eq!(index.status, 200);
    assert!(index.text().contains("4.19.0-okd-demo.2"));
    assert!(index.text().contains("/api/v1/releasestream/"));
    let page = server.get(&format!(
        "/releasestream/{STREAM}/release-4.19.0-okd-demo.2.html"
    ));
    assert_eq!(page.status, 200);
    for bad in [
        format!("/releasestream/{STREAM}/..%2Fgating.json"),
        format!("/releasestream/{STREAM}/../state-{STREAM}/gating.json"),
        format!("/releasestream/{STREAM}/%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
        "/releasestream/..%2F..%2Fetc/passwd".to_string(),
        "/../../etc/passwd".to_string(),
    ] {
        let a = server.get(&bad);
        assert_eq!(a.status, 404, "{bad}: {}", a.text());
        assert!(!a.text().contains("root:"), "{bad}");
        assert!(!a.text().contains("\"streams\""), "{bad}");
    }
    assert_eq!(server_panics(), panics, "a handler panicked");
}

#[tokio::test]
async fn an_absurdly_long_query_is_refused_and_the_next_request_answered() {
    let panics = server_panics();
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let server = Running::start(&[file]);
    let long = format!("/graph?channel={}", "x".repeat(64 * 1024));
    let a = server.get(&long);
    assert!(
        a.status == 414 || a.status == 431 || a.status == 400,
        "{}",
        a.status
    );
    assert_eq!(server.get("/graph").status, 200);
    assert_eq!(server_panics(), panics, "a handler panicked");
}

#[tokio::test]
async fn ten_thousand_connections_opened_and_dropped_then_a_normal_answer() {
    let panics = server_panics();
    let tmp = tempfile::tempdir().unwrap();
    let file = demo(tmp.path(), None).await;
    let server = Running::start(&[file]);
    let addr = server.addr;
    tokio::task::spawn_blocking(move || {
        for i in 0..10_000 {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            // Some send half a request before going away.
            if i % 3 == 0 {
                let _ = s.write_all(b"GET /graph HTTP/1.1\r\nHost: x\r\n");
            }
            drop(s);
        }
    })
    .await
    .unwrap();
    let g = server.json("/graph");
    assert_eq!(g["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(server_panics(), panics, "a handler panicked");
}
