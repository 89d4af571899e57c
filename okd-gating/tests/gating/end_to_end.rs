//! The okd-scos 4.19 policy driven end to end with real shell jobs, a simulated clock and a
//! state file reloaded between passes.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use okd_gating::{
    Channel, Clock, CommandJobRunner, CreationState, FileStateStore, GatingPolicy, History,
    JobCommand, ParseMode, Phase, ReleaseRecord, SimulatedClock, StateStore, poll_runs,
    start_launches, step,
};
use okd_release::graph::Node;

const STREAM: &str = "4.19.0-0.okd-scos";

fn runner(logs: &Path, work: &Path) -> CommandJobRunner {
    let w = work.display();
    CommandJobRunner::new(logs)
        // Fails on its first run, passes on the retry.
        .with_command(
            "aws",
            JobCommand::shell(&format!(
                "m={w}/aws-$(printf %s \"$RELEASE_IMAGE_LATEST\" | tr -c 'a-zA-Z0-9' _); \
                 if [ -e \"$m\" ]; then exit 0; fi; touch \"$m\"; exit 1"
            )),
        )
        .with_command(
            "aws-upgrade",
            JobCommand::shell(&format!(
                "echo \"$RELEASE_IMAGE_INITIAL -> $RELEASE_IMAGE_LATEST\" >> {w}/upgrades"
            )),
        )
        .with_command("gcp", JobCommand::shell("exit 1"))
        .with_default(JobCommand::shell("true").timeout(Duration::from_secs(30)))
}

async fn settle(
    policy: &GatingPolicy,
    store: &FileStateStore,
    runner: &CommandJobRunner,
    clock: &SimulatedClock,
    inputs: &str,
) {
    for _ in 0..400 {
        let mut state = store.load().await.unwrap();
        let stream = state.streams.entry(STREAM.to_string()).or_default();
        poll_runs(stream, runner, clock.now()).await.unwrap();
        for r in &mut stream.releases {
            if r.creation == CreationState::Pending {
                r.creation = CreationState::Succeeded;
            }
        }
        let out = step(
            policy,
            stream,
            &History::default(),
            Some(inputs),
            clock.now(),
        );
        if let Some(name) = &out.create {
            stream.releases.push(ReleaseRecord::pending(
                name,
                &format!("quay.io/okd/scos-release:{name}"),
                inputs,
                clock.now(),
            ));
        }
        let errors = start_launches(policy, stream, out.launches, runner, clock.now()).await;
        assert!(errors.is_empty(), "{errors:?}");
        store.save(&state).await.unwrap();
        let stream = &state.streams[STREAM];
        let busy = stream
            .releases
            .iter()
            .any(|r| !r.phase.is_terminal() || r.runs.iter().any(|run| !run.is_finished()));
        if !busy && out.create.is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        clock.advance(Duration::from_secs(60));
    }
    panic!("the stream did not settle");
}

#[tokio::test]
async fn two_releases_are_verified_accepted_and_connected_by_an_upgrade_edge() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/release-okd-scos-4.19.json");
    let policy = GatingPolicy::load(&path, ParseMode::Strict).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let runner = runner(&dir.path().join("logs"), &work);
    let store = FileStateStore::open(dir.path().join("state.json")).unwrap();
    let clock = SimulatedClock::new(Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap());

    settle(&policy, &store, &runner, &clock, "inputs-1").await;
    // New inputs: nothing happens before the 12 h interval has passed.
    clock.advance(Duration::from_secs(3600));
    settle(&policy, &store, &runner, &clock, "inputs-2").await;
    assert_eq!(
        store.load().await.unwrap().streams[STREAM].releases.len(),
        1
    );
    clock.advance(Duration::from_secs(12 * 3600));
    settle(&policy, &store, &runner, &clock, "inputs-2").await;

    let state = store.load().await.unwrap();
    let stream = &state.streams[STREAM];
    let mut releases: Vec<&ReleaseRecord> = stream.releases.iter().collect();
    releases.sort_by_key(|r| r.created);
    assert_eq!(releases.len(), 2);
    for r in &releases {
        assert_eq!(r.phase, Phase::Accepted, "{r:#?}");
        // aws failed once and passed on its retry; gcp (informing) failed without effect.
        let aws: Vec<_> = r.runs_of("aws").collect();
        assert_eq!(aws.len(), 2, "{aws:#?}");
        assert!(
            r.runs_of("gcp")
                .all(|run| run.state == okd_gating::RunState::Failed)
        );
    }
    // The first release had nothing to upgrade from: its upgrade job never ran and is recorded
    // as not run; the second upgraded from the first.
    assert_eq!(releases[0].runs_of("aws-upgrade").count(), 0);
    assert_eq!(
        releases[0].not_run.get("aws-upgrade"),
        Some(&okd_gating::NotRun::NoUpgradeSource)
    );
    assert!(!releases[1].not_run.contains_key("aws-upgrade"));
    // Nothing in this state is a 4.18 release: the candidate source never resolves.
    assert_eq!(
        releases[1].not_run.get("aws-upgrade-minor"),
        Some(&okd_gating::NotRun::NoUpgradeSource)
    );
    let upgrades = std::fs::read_to_string(work.join("upgrades")).unwrap();
    assert_eq!(
        upgrades.trim(),
        format!("{} -> {}", releases[0].pullspec, releases[1].pullspec)
    );
    let counts = stream
        .graph
        .edge(&releases[0].name, &releases[1].name)
        .unwrap();
    assert_eq!((counts.success, counts.failure), (1, 0));
    let nodes: Vec<Node> = releases
        .iter()
        .map(|r| Node::new(r.name.parse().unwrap(), r.pullspec.clone()))
        .collect();
    let graph = stream
        .graph
        .to_cincinnati(&nodes, &Channel::parse("stable-scos-4").unwrap());
    assert_eq!(graph.edges, [(0, 1)]);
}
