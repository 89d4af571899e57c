//! `okd-streams stream serve` on the state of real `stream run`s: what a CVO finds in /graph,
//! the API and the live report pages (headless Chromium, as the report tests), pollers while
//! a `stream run` loop creates releases, and a clean stop on SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use testkit::http_client::{cincinnati_updates, get};

use crate::common;

const STREAM: &str = "4.19.0-0.okd-scos";
const ID: &str = "5a1c3f0e-2b7d-4e8a-9c61-0f3e2d1b4a57";

/// The common stream file, its releases named `4.19.0-okd-demo.N` so they differ from the
/// upstream's `4.19.0-okd-scos.N`, with an upgrade job from the upstream release (a shell job
/// standing in for a cluster upgrade: it passes, so the edge is offered in stable channels).
fn write_file(dir: &Path) -> PathBuf {
    let text = common::stream_file(dir, &format!("oci:{}/store", dir.display()))
        .replace("label: okd-scos", "label: okd-demo")
        .replace(
            "    os: { check: os }\n",
            "    os: { check: os }\n    from-upstream: { shell: \"echo $RELEASE_IMAGE_INITIAL '->' $RELEASE_IMAGE_LATEST\", gate: informing, upgrade_from: upstream }\n",
        );
    let path = dir.join("stream.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `stream serve FILE` on a free loopback port; returns once it listens.
pub(crate) fn serve(file: &Path) -> (Child, SocketAddr) {
    let mut child = common::cli()
        .args(["-v", "stream", "serve"])
        .arg(file)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("serving on http://")
        .unwrap_or_else(|| panic!("serve printed {line:?}"))
        .parse()
        .unwrap();
    (child, addr)
}

pub(crate) fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "serve exited with {s} on SIGTERM");
            return;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn chromium_dom(url: &str) -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is not installed: install it with `apt-get install -y chromium` (scripts/test does), or set CHROMIUM"
    );
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cvo_on_the_upstream_or_on_a_stream_release_follows_a_served_stream_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let p1 = common::upstream(dir, 1).await;
    let file = write_file(dir);
    let f = file.to_str().unwrap();
    common::run_ok(&["stream", "run", f, "--once"]);
    common::advance(dir, &p1, 2).await;
    common::run_ok(&["stream", "run", f, "--once"]);
    let status = common::run_ok(&["stream", "status", f]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains("4.19.0-okd-demo.2") && status.contains("published next"),
        "{status}"
    );

    // `stream graph` writes the document /graph answers, for static hosting.
    let out = common::run_ok(&["stream", "graph", f, "--channel", "next"]);
    let static_graph: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dot = common::run_ok(&["stream", "graph", f, "--channel", "next", "-o", "dot"]);
    assert!(String::from_utf8_lossy(&dot.stdout).starts_with("digraph Upgrades {"));
    let bad = common::cli()
        .args(["stream", "graph", f, "--channel", "fast"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Unsupported ?channel"));

    let (server, addr) = serve(&file);
    let served = get(addr, "/graph?channel=next", &[]).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&served.body).unwrap(),
        static_graph
    );
    let result = tokio::task::spawn_blocking(move || {
        let from_release = cincinnati_updates(addr, "amd64", "next", ID, "4.19.0-okd-demo.1");
        let from_upstream = cincinnati_updates(addr, "amd64", "stable-4", ID, "4.19.0-okd-scos.1");
        let all_edges = get(addr, "/graph?channel=prerelease", &[]).unwrap().text();
        let latest = get(
            addr,
            &format!("/api/v1/releasestream/{STREAM}/latest?format=name"),
            &[],
        );
        let dom = chromium_dom(&format!("http://{addr}/releasestream/{STREAM}/"));
        let page = get(
            addr,
            &format!("/releasestream/{STREAM}/release-4.19.0-okd-demo.2.html"),
            &[],
        )
        .unwrap()
        .text();
        let info = get(
            addr,
            &format!("/api/v1/releasestream/{STREAM}/release/4.19.0-okd-demo.2"),
            &[],
        )
        .unwrap()
        .text();
        (
            from_release,
            from_upstream,
            latest,
            dom,
            all_edges,
            page,
            info,
        )
    })
    .await
    .unwrap();
    stop(server);
    let (from_release, from_upstream, latest, dom, all_edges, page, info) = result;

    // The served release page is `stream report`'s, diff included (its navigation bar and
    // generation time aside); the API gives the same diff as `changes`.
    let site = dir.join("site");
    common::run_ok(&["stream", "report", f, "--out", site.to_str().unwrap()]);
    let written = std::fs::read_to_string(site.join("release-4.19.0-okd-demo.2.html")).unwrap();
    let comparable = |html: &str| -> String {
        let html = match (html.find("<nav class=\"okd-serve\">"), html.find("</nav>")) {
            (Some(a), Some(b)) if a < b => format!("{}{}", &html[..a], &html[b + 6..]),
            _ => html.to_string(),
        };
        html.lines()
            .filter(|l| !l.contains(" · generated "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(written.contains("Changes from "), "{written}");
    assert_eq!(comparable(&page), comparable(&written));
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(
        info["changes"]["from"]["name"], "4.19.0-okd-demo.1",
        "{info}"
    );
    assert_eq!(info["changes"]["to"]["name"], "4.19.0-okd-demo.2", "{info}");
    let from_release = from_release.unwrap();
    assert_eq!(from_release.len(), 1, "{from_release:?}");
    assert_eq!(from_release[0].version, "4.19.0-okd-demo.2");
    assert!(
        from_release[0].payload.contains("okd-demo/release"),
        "{from_release:?}"
    );
    let from_upstream = from_upstream.unwrap();
    assert_eq!(
        from_upstream.len(),
        1,
        "{from_upstream:?} in {all_edges}\n{status}"
    );
    assert_eq!(from_upstream[0].version, "4.19.0-okd-demo.1");
    assert_eq!(latest.unwrap().text(), "4.19.0-okd-demo.2\n");
    // The live page lists the releases `stream status` lists.
    for name in ["4.19.0-okd-demo.1", "4.19.0-okd-demo.2"] {
        assert!(status.contains(name));
        assert!(dom.contains(name), "{name} missing from the served page");
    }
    assert!(
        dom.contains("/api/v1/releasestream/"),
        "no API link on the page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_pollers_while_a_stream_run_loop_creates_releases() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut p = common::upstream(dir, 1).await;
    let file = write_file(dir);
    let (server, addr) = serve(&file);
    let mut run = common::cli()
        .args(["stream", "run"])
        .arg(&file)
        .args(["--interval", "1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = (0..32)
        .map(|i| {
            let done = done.clone();
            std::thread::spawn(move || {
                let target = match i % 3 {
                    0 => "/graph?channel=prerelease".to_string(),
                    1 => format!("/api/v1/releasestream/{STREAM}/tags"),
                    _ => "/api/v1/releasestreams/all".to_string(),
                };
                let mut most = 0usize;
                loop {
                    // One more poll after the last release appeared.
                    let finished = done.load(Ordering::SeqCst);
                    let a = get(addr, &target, &[]).unwrap();
                    assert_eq!(a.status, 200, "{target}: {}", a.text());
                    let v: serde_json::Value = serde_json::from_slice(&a.body)
                        .unwrap_or_else(|e| panic!("{target}: torn answer ({e}): {}", a.text()));
                    let n = match i % 3 {
                        0 => v["nodes"].as_array().map_or(0, Vec::len),
                        1 => v["tags"].as_array().map_or(0, Vec::len),
                        _ => v[STREAM].as_array().map_or(0, Vec::len),
                    };
                    most = most.max(n);
                    if finished {
                        return most;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    // Three upstream releases, each picked up by the running loop.
    for round in 2..=3 {
        wait_for_releases(addr, round as usize - 1);
        p = common::advance(dir, &p, round).await;
    }
    wait_for_releases(addr, 3);
    done.store(true, Ordering::SeqCst);
    let seen: Vec<usize> = pollers.into_iter().map(|p| p.join().unwrap()).collect();
    run.kill().unwrap();
    let _ = run.wait();
    stop(server);
    // Every poller saw the new releases arrive (graph pollers also see the upstream nodes).
    assert!(seen.iter().all(|n| *n >= 3), "{seen:?}");
}

fn wait_for_releases(addr: SocketAddr, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let a = get(addr, "/api/v1/releasestreams/all", &[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        if v[STREAM].as_array().map_or(0, Vec::len) >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {n} releases after five minutes: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
