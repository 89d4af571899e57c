//! A stream file, its state written through the stores `stream run` uses, and a server on a
//! loopback port in a thread of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use okd_gating::{FileStateStore, GatingState, Phase, ReleaseRecord, StateStore, StreamState};
use okd_serve::Server;
use okd_streams::stream::{Candidate, FileLedger, Inputs, Ledger, LedgerStore};

pub const STREAM: &str = "4.19.0-0.okd-scos";
pub const UPSTREAM: &str = "4.19.0-okd-scos.1";

/// Writes a stream file in `dir` (layout store, `public_host` when given) and returns it.
pub fn stream_file(dir: &Path, name: &str, public_host: Option<&str>) -> PathBuf {
    let host = public_host
        .map(|h| format!("public_host: {h}\n"))
        .unwrap_or_default();
    let text = format!(
        "name: {name}\nstore: oci:{dir}/store\nnamespace: okd-demo\n{host}state: {dir}/state-{name}\n\
         upstream:\n  repository: docker://quay.io/okd/scos-release\n  tags: \"4.19.0-okd-scos.*\"\n\
         version: {{ scheme: sequence, version: 4.19.0, label: okd-demo }}\n\
         gating:\n  jobs:\n    images: {{ check: images }}\n    upgrade: {{ check: upgrade, gate: informing, upgrade_from: previous }}\n\
         promotions:\n  - {{ name: next, repository: 4-scos-next }}\n  - {{ name: latest, tag: latest }}\n",
        dir = dir.display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

pub fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, minute, 0).unwrap()
}

pub fn digest(n: u32) -> okd_oci::Digest {
    format!("sha256:{:064x}", n).parse().unwrap()
}

/// A release record in `phase`, created at minute `n`.
pub fn release(name: &str, phase: Phase, n: u32) -> ReleaseRecord {
    let mut r = ReleaseRecord::pending(
        name,
        &format!("oci:/x/store:okd-demo/release:{name}"),
        "h",
        at(n),
    );
    r.phase = phase;
    r.creation = okd_gating::CreationState::Succeeded;
    r
}

/// Saves `stream` as stream `name`'s gating state in `state_dir`, as `stream run` does.
pub async fn save_state(state_dir: &Path, name: &str, stream: StreamState) {
    std::fs::create_dir_all(state_dir).unwrap();
    let store = FileStateStore::open(state_dir.join("gating.json")).unwrap();
    let mut all = GatingState::default();
    all.streams.insert(name.to_string(), stream);
    store.save(&all).await.unwrap();
}

/// Saves a ledger naming, for every release, its digest and the upstream it was built from.
pub async fn save_ledger(state_dir: &Path, releases: &[(&str, u32)]) {
    let mut ledger = Ledger::default();
    for (name, n) in releases {
        let upstream: okd_oci::ImageRef = format!("quay.io/okd/scos-release@{}", digest(1000))
            .parse()
            .unwrap();
        ledger.candidates.insert(
            name.to_string(),
            Candidate {
                name: name.to_string(),
                digest: digest(*n),
                image: format!("oci:/x/store:okd-demo/release:{name}@{}", digest(*n))
                    .parse()
                    .unwrap(),
                image_created: at(*n),
                inputs: Inputs {
                    upstream,
                    upstream_tag: Some("4.19.0-okd-scos.1-tag".to_string()),
                    upstream_version: Some(UPSTREAM.to_string()),
                    os_base: None,
                    os_layers: Vec::new(),
                    os_build: None,
                    os_image: None,
                    os_lint: Vec::new(),
                    overrides: Vec::new(),
                    remove: Vec::new(),
                },
                mirrored: None,
            },
        );
    }
    FileLedger::new(state_dir.join("ledger.json"))
        .save(&ledger)
        .await
        .unwrap();
}

/// A server on 127.0.0.1:<any> in its own thread and runtime; stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn start(files: &[PathBuf]) -> Running {
        let server = Server::from_files(files).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, addr) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                server
                    .serve(listener, async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Running {
            addr: addr.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn get(&self, target: &str) -> testkit::http_client::HttpAnswer {
        testkit::http_client::get(self.addr, target, &[]).unwrap()
    }

    pub fn json(&self, target: &str) -> serde_json::Value {
        let a = self.get(target);
        assert_eq!(a.status, 200, "{target}: {}", a.text());
        serde_json::from_slice(&a.body).unwrap_or_else(|e| panic!("{target}: {e}: {}", a.text()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A stream with four releases (two accepted, one rejected, one ready) and three upgrade runs:
/// demo.1 → demo.2 succeeded, demo.2 → demo.3 failed, the upstream (scos.1) → demo.1 succeeded (the
/// edge an `upgrade_from: upstream` job records).
pub async fn demo(dir: &Path, public_host: Option<&str>) -> PathBuf {
    let file = stream_file(dir, STREAM, public_host);
    let state_dir = dir.join(format!("state-{STREAM}"));
    let mut s = StreamState::default();
    s.releases
        .push(release("4.19.0-okd-demo.1", Phase::Accepted, 1));
    s.releases
        .push(release("4.19.0-okd-demo.2", Phase::Accepted, 2));
    s.releases
        .push(release("4.19.0-okd-demo.3", Phase::Rejected, 3));
    s.releases
        .push(release("4.19.0-okd-demo.4", Phase::Ready, 4));
    use okd_gating::RunState::{Failed, Succeeded};
    s.graph
        .record("4.19.0-okd-demo.1", "4.19.0-okd-demo.2", Succeeded, "run-a");
    s.graph
        .record("4.19.0-okd-demo.2", "4.19.0-okd-demo.3", Failed, "run-b");
    s.graph
        .record(UPSTREAM, "4.19.0-okd-demo.1", Succeeded, "run-upstream");
    save_state(&state_dir, STREAM, s).await;
    save_ledger(
        &state_dir,
        &[
            ("4.19.0-okd-demo.1", 1),
            ("4.19.0-okd-demo.2", 2),
            ("4.19.0-okd-demo.3", 3),
        ],
    )
    .await;
    file
}

/// Panics so far on server threads (tokio's worker threads), counted by a panic hook installed
/// on first use: a bad request must never panic a handler, even one whose connection is gone.
pub fn server_panics() -> usize {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tokio-runtime-worker") {
                COUNT.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
    COUNT.load(Ordering::SeqCst)
}
