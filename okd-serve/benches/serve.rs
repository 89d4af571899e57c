//! Requests per second and latency of `/graph` and `/api/v1/releasestream/…/latest` for a
//! state of 1,000 releases and 5,000 upgrade runs, 64 concurrent keep-alive clients on
//! loopback. Run: `cargo bench -p okd-serve --bench serve` (add `-- --writes` to re-save the
//! state every 500 ms during the run, as a `stream run` does).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use okd_gating::{
    CreationState, FileStateStore, GatingState, Phase, ReleaseRecord, RunState, StateStore,
    StreamState,
};

const STREAM: &str = "4.19.0-0.okd-scos";
const RELEASES: u32 = 1_000;
const RUNS: u32 = 5_000;
const CLIENTS: usize = 64;
const REQUESTS_PER_CLIENT: usize = 100;

fn state() -> GatingState {
    let mut s = StreamState::default();
    for n in 1..=RELEASES {
        let name = format!("4.19.0-okd-demo.{n}");
        let created = Utc
            .timestamp_opt(1_735_689_600 + i64::from(n) * 60, 0)
            .unwrap();
        let mut r = ReleaseRecord::pending(
            &name,
            &format!("oci:/x:okd-demo/release:{name}"),
            "h",
            created,
        );
        r.creation = CreationState::Succeeded;
        r.phase = if n % 7 == 0 {
            Phase::Rejected
        } else {
            Phase::Accepted
        };
        s.releases.push(r);
    }
    // Five runs into each release, from the five before it; one in four failed.
    for i in 0..RUNS {
        let to = 2 + i / 5;
        let from = to.saturating_sub(1 + i % 5).max(1);
        let state = if i % 4 == 0 {
            RunState::Failed
        } else {
            RunState::Succeeded
        };
        s.graph.record(
            &format!("4.19.0-okd-demo.{from}"),
            &format!("4.19.0-okd-demo.{}", to.min(RELEASES)),
            state,
            &format!("run-{i}"),
        );
    }
    let mut all = GatingState::default();
    all.streams.insert(STREAM.to_string(), s);
    all
}

fn request(s: &mut BufReader<TcpStream>, target: &str) -> std::io::Result<u16> {
    s.get_mut().write_all(
        format!("GET {target} HTTP/1.1\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n").as_bytes(),
    )?;
    let mut line = String::new();
    s.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        s.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    s.read_exact(&mut body)?;
    // A JSON document ends with `}` (and the controller's newline), a gzip body (what Go's
    // client asks for) starts with the gzip magic; full parsing is left to the tests so that
    // the clients do not eat the cores being measured.
    let gzip = body.starts_with(&[0x1f, 0x8b]);
    if status == 200 && !gzip && !body.trim_ascii_end().ends_with(b"}") {
        return Ok(0);
    }
    Ok(status)
}

fn run(addr: SocketAddr, target: &str) {
    // One request first: the cold answer (state parse, render, gzip) is timed on its own.
    let cold = Instant::now();
    let mut s = BufReader::new(TcpStream::connect(addr).unwrap());
    assert_eq!(request(&mut s, target).unwrap(), 200);
    println!(
        "{target:<55} cold {:>7.2} ms",
        cold.elapsed().as_secs_f64() * 1e3
    );
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let target = target.to_string();
            std::thread::spawn(move || {
                let mut s = BufReader::new(TcpStream::connect(addr).unwrap());
                let mut times = Vec::with_capacity(REQUESTS_PER_CLIENT);
                let mut errors = 0;
                for _ in 0..REQUESTS_PER_CLIENT {
                    let t = Instant::now();
                    match request(&mut s, &target) {
                        Ok(200) => {}
                        _ => errors += 1,
                    }
                    times.push(t.elapsed());
                }
                (times, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (times, e) = t.join().unwrap();
        all.extend(times);
        errors += e;
    }
    let wall = start.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{target:<55} {:>6} req  {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors}",
        all.len(),
        all.len() as f64 / wall.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

fn main() {
    let writes = std::env::args().any(|a| a == "--writes");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("stream.yaml"),
        format!(
            "name: {STREAM}\nstore: oci:{d}/store\nnamespace: okd-demo\npublic_host: registry.example.com\nstate: {d}/state\n\
             upstream:\n  repository: docker://quay.io/okd/scos-release\n  tags: \"4.19.0-okd-scos.*\"\n\
             promotions:\n  - {{ name: next, repository: 4-scos-next }}\n",
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = FileStateStore::open(dir.join("state/gating.json")).unwrap();
    let all = state();
    rt.block_on(store.save(&all)).unwrap();
    let server = okd_serve::Server::from_files(&[dir.join("stream.yaml")]).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = rt.spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let done = Arc::new(AtomicBool::new(false));
    let writer = writes.then(|| {
        let done = done.clone();
        let handle = rt.handle().clone();
        std::thread::spawn(move || {
            let mut saves = 0u32;
            while !done.load(Ordering::SeqCst) {
                let mut all = all.clone();
                all.streams.get_mut(STREAM).unwrap().releases[0].message =
                    Some(format!("save {saves}"));
                handle.block_on(store.save(&all)).unwrap();
                saves += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
            saves
        })
    });
    println!(
        "{RELEASES} releases, {RUNS} upgrade runs, {CLIENTS} keep-alive clients x {REQUESTS_PER_CLIENT} requests{}",
        if writes {
            ", state re-saved every 500 ms"
        } else {
            ""
        }
    );
    for target in [
        "/graph".to_string(),
        "/graph?channel=prerelease".to_string(),
        format!("/api/v1/releasestream/{STREAM}/latest"),
        format!("/api/v1/releasestream/{STREAM}/latest?in=%3C4.19.0-okd-demo.500"),
    ] {
        run(addr, &target);
    }
    done.store(true, Ordering::SeqCst);
    if let Some(w) = writer {
        println!("state saves during the run: {}", w.join().unwrap());
    }
    let _ = stop.send(());
    rt.block_on(serving).unwrap().unwrap();
}
