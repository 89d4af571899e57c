//! State stores: round trips, torn temporary files, a writer killed mid-write, locking.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use okd_gating::{
    CreationState, Error, FileStateStore, GatingState, JobRun, MemoryStateStore, Phase,
    Publication, ReleaseRecord, ReleaseRef, RunEnd, RunId, RunKind, RunState, StateStore,
    StreamState,
};

fn state_with(n: usize) -> GatingState {
    let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut stream = StreamState::default();
    for i in 0..n {
        let mut r = ReleaseRecord::pending(
            &format!("4.19.0-0.okd-scos-{i:06}"),
            &format!("quay.io/okd/scos-release@sha256:{i:064x}"),
            &format!("hash-{i}"),
            t,
        );
        r.creation = CreationState::Succeeded;
        r.phase = if i % 2 == 0 {
            Phase::Accepted
        } else {
            Phase::Rejected
        };
        r.runs.push(JobRun {
            job: "aws-upgrade".into(),
            kind: RunKind::Verify,
            attempt: 0,
            state: RunState::Succeeded,
            started: t,
            finished: Some(t),
            upgrade_from: Some(ReleaseRef {
                name: format!("prev-{i}"),
                pullspec: "quay.io/okd/scos-release:prev".into(),
            }),
            handle: Some(format!("h{i}")),
            log: None,
            skipped: false,
        });
        stream.graph.record(
            &format!("prev-{i}"),
            &r.name,
            RunState::Succeeded,
            &format!("run-{i}"),
        );
        stream.releases.push(r);
    }
    stream.published.insert(
        "tag".into(),
        Publication {
            release: "4.19.0-0.okd-scos-000000".into(),
            repository: "okd/scos".into(),
            tag: "scos-4.19".into(),
            digest: None,
            components: vec![],
            selected: vec![],
            at: t,
        },
    );
    let mut s = GatingState::default();
    s.streams.insert("4.19.0-0.okd-scos".into(), stream);
    s
}

fn consistent(s: &GatingState) -> Option<usize> {
    let stream = s.streams.get("4.19.0-0.okd-scos")?;
    let n = stream.releases.len();
    let ok = stream
        .releases
        .iter()
        .enumerate()
        .all(|(i, r)| r.name == format!("4.19.0-0.okd-scos-{i:06}"))
        && stream.graph.edges().count() == n;
    ok.then_some(n)
}

#[tokio::test]
async fn memory_and_file_stores_round_trip() {
    let state = state_with(20);
    let mem = MemoryStateStore::new();
    assert_eq!(mem.load().await.unwrap(), GatingState::default());
    mem.save(&state).await.unwrap();
    assert_eq!(mem.load().await.unwrap(), state);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = FileStateStore::open(&path).unwrap();
    assert_eq!(store.load().await.unwrap(), GatingState::default());
    store.save(&state).await.unwrap();
    assert_eq!(store.load().await.unwrap(), state);
    drop(store);
    let reopened = FileStateStore::open(&path).unwrap();
    assert_eq!(reopened.load().await.unwrap(), state);
}

/// A state file of format 1 as okd-gating wrote it before runs had a typed identity: every
/// optional field, both run kinds, a failed creation, an override, a pending upgrade run.
const FORMAT_1: &str = include_str!("../data/state-format-1.json");

#[tokio::test]
async fn a_format_1_state_file_loads_and_saves_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, FORMAT_1).unwrap();
    let store = FileStateStore::open(&path).unwrap();
    let mut state = store.load().await.unwrap();

    let stream = &state.streams["4.19.0-0.okd-scos"];
    let accepted = &stream.releases[0];
    assert_eq!(accepted.phase, Phase::Accepted);
    assert!(accepted.keep && accepted.override_.is_some());
    let analysis = &accepted.runs[1];
    assert_eq!(analysis.kind, RunKind::Analysis { index: 2 });
    assert_eq!(
        analysis.run_name(&accepted.name),
        "4.19.0-0.okd-scos-2025-01-01-000000-aggregated-aws-analysis-2-1"
    );
    assert!(accepted.runs[2].skipped);
    assert!(matches!(
        stream.releases[1].creation,
        CreationState::Failed { ref message } if message == "component image missing"
    ));
    assert_eq!(
        stream.published["tag"].digest.as_deref(),
        Some("sha256:1111111111111111111111111111111111111111111111111111111111111111")
    );

    // Saved unchanged: the same bytes (the file ends in a newline, serde_json writes none).
    store.save(&state).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FORMAT_1.trim_end());

    // The pending upgrade run finishes by its identity and lands on the graph.
    let stream = state.streams.get_mut("4.19.0-0.okd-scos").unwrap();
    let pending = &stream.releases[2];
    let id = pending.runs[0].id(&pending.name);
    assert_eq!(
        id,
        RunId {
            release: "4.19.0-0.okd-scos-2025-01-03-000000".into(),
            job: "aws-upgrade".into(),
            kind: RunKind::Verify,
            attempt: 0,
        }
    );
    let at = Utc.with_ymd_and_hms(2025, 1, 3, 1, 0, 0).unwrap();
    let end = RunEnd {
        state: RunState::Succeeded,
        at,
        log: None,
    };
    assert!(stream.finish_run(&id, end.clone()));
    assert!(
        !stream.finish_run(&id, end),
        "a finished run stays finished"
    );
    assert_eq!(stream.releases[2].runs[0].finished, Some(at));
    let edge = stream.graph.edge(
        "4.19.0-0.okd-scos-2025-01-01-000000",
        "4.19.0-0.okd-scos-2025-01-03-000000",
    );
    assert!(edge.is_some(), "{:?}", stream.graph);
}

#[tokio::test]
async fn a_torn_temporary_file_is_ignored_and_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = FileStateStore::open(&path).unwrap();
    let old = state_with(3);
    store.save(&old).await.unwrap();

    // What a writer killed mid-write leaves behind: half a document in a temporary file.
    let new = serde_json::to_vec(&state_with(50)).unwrap();
    let torn = dir.path().join(".okd-gating-state-torn123");
    std::fs::write(&torn, &new[..new.len() / 2]).unwrap();

    assert_eq!(store.load().await.unwrap(), old);
    store.save(&state_with(4)).await.unwrap();
    assert!(!torn.exists(), "the next save removes leftovers");
    assert_eq!(consistent(&store.load().await.unwrap()), Some(4));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".okd-gating"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, b"{\"format\": 1, \"streams\": ").unwrap();
    let store = FileStateStore::open(&path).unwrap();
    let err = store.load().await.unwrap_err();
    assert!(
        matches!(err, Error::State { ref path, .. } if path.ends_with("state.json")),
        "{err}"
    );
    std::fs::write(&path, b"{\"format\": 99}").unwrap();
    assert!(
        store
            .load()
            .await
            .unwrap_err()
            .to_string()
            .contains("format 99")
    );
}

#[test]
fn a_second_store_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let first = FileStateStore::open(&path).unwrap();
    assert!(matches!(
        FileStateStore::open(&path),
        Err(Error::State { .. })
    ));
    drop(first);
    assert!(FileStateStore::open(&path).is_ok());
}

const WRITER_ENV: &str = "OKD_GATING_STATE_WRITER_DIR";

/// In the parent: starts this test binary as a writer process that saves ever larger states,
/// kills it with SIGKILL at varying moments, and checks that the state file always holds one
/// complete state and that no save that finished was lost. In the child (the environment
/// variable set): is that writer.
#[test]
fn a_writer_killed_mid_write_loses_nothing() {
    if let Ok(dir) = std::env::var(WRITER_ENV) {
        writer(std::path::Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let exe = std::env::current_exe().unwrap();
    let mut last_seen = 0;
    for round in 0..8u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                // The test's path in the one test binary of okd-gating.
                "state_store::a_writer_killed_mid_write_loses_nothing",
                "--nocapture",
            ])
            .env(WRITER_ENV, dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + 37 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        // The writer records in `acked` every save that returned before starting the next.
        let acked: usize = std::fs::read_to_string(dir.path().join("acked"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let store = FileStateStore::open(&path).unwrap();
        let state = rt.block_on(store.load()).unwrap();
        let n = consistent(&state).unwrap_or_else(|| panic!("round {round}: inconsistent state"));
        assert!(
            n >= acked,
            "round {round}: a finished save was lost ({n} < {acked})"
        );
        assert!(n >= last_seen, "round {round}: state went back");
        last_seen = n;
    }
    assert!(last_seen > 0, "the writer never saved anything");
}

fn writer(dir: &std::path::Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = loop {
        // The parent may still hold the lock for a moment.
        match FileStateStore::open(dir.join("state.json")) {
            Ok(s) => break s,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let start = rt
        .block_on(store.load())
        .ok()
        .and_then(|s| consistent(&s))
        .unwrap_or(0)
        / 10;
    for n in start + 1.. {
        rt.block_on(store.save(&state_with(n * 10))).unwrap();
        std::fs::write(dir.join("acked"), (n * 10).to_string()).unwrap();
    }
}
