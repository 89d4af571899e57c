//! Reading while the state is written: a writer saving a new release every few milliseconds
//! through the same store `stream run` uses (it holds the lock), 32 clients polling `/graph`
//! and the API. Every answer must be complete JSON, and new releases must appear.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use okd_gating::{FileStateStore, GatingState, Phase, RunState, StateStore, StreamState};

use crate::support::{Running, STREAM, release, stream_file};

const RELEASES: u32 = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_pollers_see_whole_states_and_new_releases_while_a_writer_saves() {
    let tmp = tempfile::tempdir().unwrap();
    let file = stream_file(tmp.path(), STREAM, None);
    let state_dir = tmp.path().join(format!("state-{STREAM}"));
    std::fs::create_dir_all(&state_dir).unwrap();
    let store = FileStateStore::open(state_dir.join("gating.json")).unwrap();
    store.save(&GatingState::default()).await.unwrap();
    let server = Running::start(&[file]);
    let addr = server.addr;
    let done = Arc::new(AtomicBool::new(false));

    let mut pollers = Vec::new();
    for i in 0..32 {
        let done = done.clone();
        pollers.push(std::thread::spawn(move || {
            let mut seen = 0usize;
            let mut answers = 0u32;
            let target = if i % 2 == 0 {
                "/graph?channel=nightly".to_string()
            } else {
                format!("/api/v1/releasestream/{STREAM}/tags")
            };
            loop {
                let finished = done.load(Ordering::SeqCst);
                let a = testkit::http_client::get(addr, &target, &[]).unwrap();
                assert_eq!(a.status, 200, "{}", a.text());
                let v: serde_json::Value = serde_json::from_slice(&a.body)
                    .unwrap_or_else(|e| panic!("torn answer ({e}): {}", a.text()));
                let n = v[if i % 2 == 0 { "nodes" } else { "tags" }]
                    .as_array()
                    .map_or(0, Vec::len);
                assert!(n >= seen, "went back from {seen} to {n} releases");
                seen = n;
                answers += 1;
                if finished {
                    return (seen, answers);
                }
            }
        }));
    }

    let mut s = StreamState::default();
    for n in 1..=RELEASES {
        let name = format!("4.19.0-okd-demo.{n}");
        s.releases.push(release(&name, Phase::Accepted, n % 60));
        if n > 1 {
            let from = format!("4.19.0-okd-demo.{}", n - 1);
            s.graph
                .record(&from, &name, RunState::Succeeded, &format!("run-{n}"));
        }
        let mut all = GatingState::default();
        all.streams.insert(STREAM.to_string(), s.clone());
        store.save(&all).await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for p in pollers {
        let (seen, answers) = p.join().unwrap();
        assert_eq!(seen, RELEASES as usize, "the last poll sees every release");
        assert!(answers > 1);
    }
}
