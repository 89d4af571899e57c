//! Filling a report from okd-gating state and okd-release diffs, and writing it.

use crate::report_support;

use std::collections::BTreeSet;

use okd_report::{AttemptState, DiffSummary, Gate, JobResult, Phase, UpgradeEdge};
use report_support::{MINOR_SOURCE, fixture};

#[tokio::test]
async fn releases_jobs_and_attempts_from_gating_state() {
    let f = fixture().await;
    let m = &f.model;
    assert_eq!(m.stream, report_support::STREAM);
    let phases: Vec<Phase> = f
        .names
        .iter()
        .map(|n| m.release(n).unwrap().phase)
        .collect();
    assert_eq!(phases, f.phases);

    let rejected = m.release(&f.names[2]).unwrap();
    assert_eq!(rejected.reason.as_deref(), Some("VerificationFailed"));
    let aws = rejected.jobs.iter().find(|j| j.name == "aws").unwrap();
    assert_eq!((aws.gate, aws.result), (Gate::Blocking, JobResult::Failed));
    let states: Vec<AttemptState> = aws.attempts.iter().map(|a| a.state).collect();
    assert_eq!(states, [AttemptState::Failed; 3]);
    let run_names: Vec<&str> = aws.attempts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        run_names,
        [
            format!("{}-aws", f.names[2]),
            format!("{}-aws-1", f.names[2]),
            format!("{}-aws-2", f.names[2])
        ]
    );
    assert!(aws.attempts.iter().all(|a| {
        a.log
            .as_deref()
            .unwrap()
            .starts_with("https://prow.ci.openshift.org/view/")
    }));
    // Informing jobs that failed do not reject; a job with a retry left is still pending.
    let vsphere = rejected.jobs.iter().find(|j| j.name == "vsphere").unwrap();
    assert_eq!(
        (vsphere.gate, vsphere.result),
        (Gate::Informing, JobResult::Pending)
    );
    let upgrade = rejected
        .jobs
        .iter()
        .find(|j| j.name == "aws-upgrade")
        .unwrap();
    assert_eq!(upgrade.upgrade_from.as_deref(), Some(f.names[1].as_str()));
    // Every enabled job of the policy is listed, run or not.
    let listed: BTreeSet<&str> = rejected.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(listed.len(), 7);
    let metal = rejected
        .jobs
        .iter()
        .find(|j| j.name == "metal-ovn-assisted")
        .unwrap();
    assert_eq!(metal.result, JobResult::NotStarted);

    // The first release's upgrade job had nothing to upgrade from: shown as not run, with no
    // attempt, never as passed.
    let first = m.release(&f.names[0]).unwrap();
    let upgrade = first.jobs.iter().find(|j| j.name == "aws-upgrade").unwrap();
    assert_eq!(upgrade.result, JobResult::NotRunNoUpgradeSource);
    assert!(upgrade.attempts.is_empty());
    assert!(upgrade.result.never_ran());

    // The pending release has no runs yet.
    let pending = m.release(&f.names[5]).unwrap();
    assert!(
        pending
            .jobs
            .iter()
            .all(|j| j.result == JobResult::NotStarted)
    );
}

#[tokio::test]
async fn upgrade_edges_with_counts() {
    let f = fixture().await;
    let edge = |from: &str, to: &str| -> Option<UpgradeEdge> {
        f.model
            .edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .cloned()
    };
    let counts = |from: &str, to: &str| edge(from, to).map(|e| (e.success, e.failure));
    assert_eq!(counts(&f.names[0], &f.names[1]), Some((1, 0)));
    assert_eq!(counts(&f.names[1], &f.names[2]), Some((0, 1)));
    assert_eq!(counts(MINOR_SOURCE, &f.names[3]), Some((1, 1)));
    // Pending runs and passes without a run are not upgrades.
    assert_eq!(counts(&f.names[3], &f.names[4]), None);
    assert_eq!(f.model.edges.len(), 7);
}

#[tokio::test]
async fn diffs_in_memory_and_from_json_agree() {
    let f = fixture().await;
    for i in 1..f.names.len() {
        let diff = f.diffs[i].as_ref().unwrap();
        let in_memory = DiffSummary::from(diff);
        let from_json = DiffSummary::from_json(&diff.to_json()).unwrap();
        assert_eq!(in_memory, from_json, "release {i}");
        let names = |v: &[okd_report::ImageChange]| -> BTreeSet<String> {
            v.iter().map(|c| c.name.clone()).collect()
        };
        assert_eq!(
            names(&in_memory.changed),
            f.changes[i].changed,
            "release {i}"
        );
        assert_eq!(
            names(&in_memory.rebuilt),
            f.changes[i].rebuilt,
            "release {i}"
        );
        let added: BTreeSet<String> = in_memory.added.iter().map(|c| c.name.clone()).collect();
        assert_eq!(added, f.changes[i].added);
        let removed: BTreeSet<String> = in_memory.removed.iter().map(|c| c.name.clone()).collect();
        assert_eq!(removed, f.changes[i].removed);
        assert_eq!(in_memory.from.name, f.names[i - 1]);
    }
    assert!(DiffSummary::from_json("{\"from\": 1}").is_err());
}

#[tokio::test]
async fn writes_the_index_and_a_page_per_release() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let files = okd_report::write(&f.model, &out).unwrap();
    assert_eq!(files.len(), 7);
    assert_eq!(files[0], out.join("index.html"));
    let mut on_disk: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = f.names.iter().map(|n| okd_report::page_name(n)).collect();
    expected.push("index.html".into());
    expected.sort();
    assert_eq!(on_disk, expected, "no temporary file left behind");
    // Writing again replaces the pages.
    let again = okd_report::write(&f.model, &out).unwrap();
    assert_eq!(again, files);
    for file in &files {
        let html = std::fs::read_to_string(file).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"), "no script");
        assert!(!html.contains("<link"), "no external stylesheet");
        assert!(!html.contains("src=\"http"), "nothing fetched");
    }
}
