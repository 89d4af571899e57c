//! Release-controller configs driving a stream as they are, with a runner map; upgrade jobs
//! with nothing to upgrade from; `upgrade_from: upstream`. Through the real binary, on a layout.

use std::path::{Path, PathBuf};

use crate::common;

/// The upstream configs (copied from openshift/release's `core-services/release-controller/
/// _releases/`; see okd-gating/tests/data/SOURCES.md).
fn config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../okd-gating/tests/data")
        .join(name)
}

fn stream_file(dir: &Path, name: &str, gating: &str) -> PathBuf {
    let upstream = format!("oci:{}/upstream:okd/scos-release", dir.display());
    let promotions = "promotions:\n  - { name: next, repository: 4-scos-next }\n";
    let text = common::plain_stream_file(dir, name, &upstream, "okd-hpc", gating, promotions);
    let path = dir.join("stream.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `(job, shown state)` of every `job X: …` line of a release in `stream status`.
fn job_lines(status: &str) -> Vec<(String, String)> {
    status
        .lines()
        .filter_map(|l| l.trim().strip_prefix("job "))
        .filter_map(|l| l.split_once(": "))
        .map(|(j, s)| (j.to_string(), s.to_string()))
        .collect()
}

/// Every job shown as passed left a log of a run: nothing is shown as passed that did not run.
fn assert_passed_jobs_ran(status: &str, logs: &Path, release: &str) {
    let files: Vec<String> = std::fs::read_dir(logs.join(release))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for (job, state) in job_lines(status) {
        if state == "Success" {
            let prefix = format!("{release}-{}", job.trim_end_matches(" [analysis]"));
            assert!(
                files.iter().any(|f| f.starts_with(&prefix)),
                "job {job} is shown as passed but never ran: {files:?}\n{status}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_configs_drive_a_stream_and_nothing_unrun_shows_as_passed() {
    let cases = [
        (
            "release-okd-scos-4.19.json",
            "4.19.0-0.okd-scos",
            "Accepted",
        ),
        (
            "release-okd-scos-4.20.json",
            "4.20.0-0.okd-scos",
            "Accepted",
        ),
        // Blocking aggregated upgrade jobs with no source: Ready, as the controller leaves it.
        ("release-ocp-4.19.json", "4.19.0-0.nightly", "Ready"),
    ];
    for (file, name, phase) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let up = common::upstream(dir, 1).await;
        // The config as it is but for its 4 h / 12 h creation interval, which a test cannot
        // wait for before its second release.
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(config(file)).unwrap()).unwrap();
        json["minCreationIntervalSeconds"] = 0.into();
        let copy = dir.join(file);
        std::fs::write(&copy, serde_json::to_vec(&json).unwrap()).unwrap();
        let gating = format!(
            "  release_controller: {}\n  runners:\n    \"*\": {{ shell: \"echo $RELEASE_IMAGE_LATEST\" }}\n    \"*upgrade*\": {{ shell: \"echo $RELEASE_IMAGE_INITIAL '->' $RELEASE_IMAGE_LATEST\" }}\n",
            copy.display()
        );
        let path = stream_file(dir, name, &gating);
        let path = path.to_str().unwrap();
        // --once returns although a release may stay Ready: nothing more can start.
        common::run_ok(&["stream", "run", path, "--once"]);
        let status = common::run_ok(&["stream", "status", path]);
        let status = String::from_utf8_lossy(&status.stdout).into_owned();
        let release = "4.19.0-okd-hpc.1";
        assert!(
            status.contains(release) && status.contains(phase),
            "{file}: {status}"
        );
        assert!(
            status.contains("not run: no upgrade source"),
            "{file}: {status}"
        );
        assert_passed_jobs_ran(&status, &dir.join("state/logs"), release);
        // No upgrade job of the config can have passed: there was nothing to upgrade from.
        let upgrades: Vec<&String> = json["verify"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v["upgrade"] == true && v["disabled"] != true)
            .map(|(k, _)| k)
            .collect();
        assert!(!upgrades.is_empty());
        for (job, state) in job_lines(&status) {
            let name = job.trim_end_matches(" [analysis]");
            if upgrades.iter().any(|u| *u == name) {
                assert!(
                    state.starts_with("not run"),
                    "{file}: {job}: {state}\n{status}"
                );
            }
        }

        // The report says the same: not run, never passed.
        let site = dir.join("site");
        common::run_ok(&["stream", "report", path, "--out", site.to_str().unwrap()]);
        let page = std::fs::read_to_string(site.join(format!("release-{release}.html"))).unwrap();
        assert!(page.contains("Not run: no upgrade source"), "{file}");

        // A second release upgrades from the first where the config says Previous.
        if phase == "Accepted" {
            common::advance(dir, &up, 2).await;
            common::run_ok(&["stream", "run", path, "--once"]);
            let status = common::run_ok(&["stream", "status", path]);
            let status = String::from_utf8_lossy(&status.stdout).into_owned();
            let second = "4.19.0-okd-hpc.2";
            assert!(status.contains("job aws-upgrade: Success"), "{status}");
            assert_passed_jobs_ran(&status, &dir.join("state/logs"), second);
            let log = dir.join(format!("state/logs/{second}/{second}-aws-upgrade.stdout"));
            let log = std::fs::read_to_string(log).unwrap();
            assert!(
                log.contains("4.19.0-okd-hpc.1") && log.contains(" -> "),
                "{log}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_job_without_a_runner_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gating = format!(
        "  release_controller: {}\n  runners:\n    \"*-gcp\": {{ shell: \"true\" }}\n",
        config("release-okd-scos-4.19.json").display()
    );
    let path = stream_file(dir, "4.19.0-0.okd-scos", &gating);
    let out = common::cli()
        .args(["stream", "status", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gating.release_controller.verify.aws")
            && err.contains("periodic-ci-openshift-release-master-okd-scos-4.19-e2e-aws-ovn"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informing_jobs_without_a_runner_are_shown_as_not_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let gating = format!(
        "  release_controller: {}\n  runners:\n    aws: {{ check: images }}\n",
        config("release-okd-scos-4.19.json").display()
    );
    let path = stream_file(dir, "4.19.0-0.okd-scos", &gating);
    let path = path.to_str().unwrap();
    common::run_ok(&["stream", "run", path, "--once"]);
    let status = common::run_ok(&["stream", "status", path]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.contains("Accepted"), "{status}");
    assert!(status.contains("job aws: Success"), "{status}");
    assert!(status.contains("job gcp: not run: no runner"), "{status}");
    assert!(
        status.contains("job aws-upgrade: not run: no upgrade source"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_from_upstream_tests_the_edge_into_the_first_release() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let gating = "  jobs:\n    images: { check: images }\n    upgrade: { shell: \"echo $RELEASE_IMAGE_INITIAL '->' $RELEASE_IMAGE_LATEST\", upgrade_from: upstream }\n    minor: { check: upgrade, upgrade_from: previous_minor, gate: informing }\n";
    let path = stream_file(dir, "4.19.0-0.okd-scos", gating);
    let path = path.to_str().unwrap();
    common::run_ok(&["stream", "run", path, "--once"]);
    let status = common::run_ok(&["stream", "status", path]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.contains("Accepted"), "{status}");
    assert!(status.contains("job upgrade: Success"), "{status}");
    assert!(
        status.contains("job minor: not run: no upgrade source"),
        "{status}"
    );
    let release = "4.19.0-okd-hpc.1";
    let log = dir.join(format!("state/logs/{release}/{release}-upgrade.stdout"));
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.starts_with("oci:")
            && log.contains("/upstream:okd/scos-release:4.19.0-okd-scos.1@sha256:"),
        "{log}"
    );
    // The edge upstream → first release is on the stream's graph.
    let state = std::fs::read_to_string(dir.join("state/gating.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let graph = &state["streams"]["4.19.0-0.okd-scos"]["graph"];
    let text = graph.to_string();
    assert!(
        text.contains("\"4.19.0-okd-scos.1\"") && text.contains("\"4.19.0-okd-hpc.1\""),
        "{text}"
    );
    assert!(text.contains("Succeeded"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodics_run_against_the_accepted_release_on_their_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    // An hourly periodic with a runner, an upgrade periodic (PreviousMinus1: nothing before the
    // first release) and one whose prow job nothing runs here.
    let gating = r#"  release_controller:
    name: s
    to: release
    verify: { aws: { prowJob: { name: e2e-aws } } }
    periodic:
      soak: { interval: 1h, prowJob: { name: periodic-soak } }
      upgrade: { interval: 6h, upgrade: true, prowJob: { name: periodic-soak-upgrade } }
      fips: { cron: "0 3 * * *", prowJob: { name: periodic-fips } }
  runners:
    e2e-aws: { check: images }
    "periodic-soak*": { shell: "echo periodic $JOB_NAME $RELEASE_IMAGE_LATEST" }
"#;
    let path = stream_file(dir, "s", gating);
    let path = path.to_str().unwrap();
    common::run_ok(&["stream", "run", path, "--once"]);
    let status = common::run_ok(&["stream", "status", path]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.contains("Accepted"), "{status}");
    assert!(
        status.contains("periodic soak: Succeeded (1 runs)"),
        "{status}"
    );
    assert!(
        status.contains("periodic upgrade: not run: no upgrade source"),
        "{status}"
    );
    // The cron periodic waits for 03:00 after the acceptance; it has no runner anyway.
    assert!(!status.contains("periodic fips: Succeeded"), "{status}");
    let release = status
        .lines()
        .find(|l| l.contains("Accepted"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let log = dir.join(format!(
        "state/logs/{release}/{release}-soak-periodic.stdout"
    ));
    let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(log.starts_with("periodic periodic-soak "), "{log}");
    // Another round within the hour starts nothing new.
    common::run_ok(&["stream", "run", path, "--once"]);
    let again = common::run_ok(&["stream", "status", path]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("periodic soak: Succeeded (1 runs)"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_periodic_with_a_bad_schedule_is_refused_at_load_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gating = r#"  release_controller:
    name: s
    to: release
    verify: { aws: { optional: true, prowJob: { name: e2e-aws } } }
    periodic: { soak: { interval: 1h, cron: "0 * * * *", prowJob: { name: p } } }
"#;
    let path = stream_file(dir, "s", gating);
    let out = common::cli()
        .args(["stream", "status", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gating.release_controller.periodic.soak"),
        "{err}"
    );
}
