//! OKD's two-stage flow through the binary: a nightly stream's accepted release promoted into
//! `4-scos-next`, then into `4-scos-stable`, each a Stable stream running the upstream
//! release-controller config as it is and deciding with its own gate.

use std::path::{Path, PathBuf};

use crate::common;

fn config(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../okd-gating/tests/data")
        .join(name)
        .display()
        .to_string()
}

/// A Stable stream in namespace `ns` of the nightly's store, with its own state directory.
fn stable_file(dir: &Path, name: &str, ns: &str, gating: &str) -> PathBuf {
    let text = format!(
        r#"name: {name}
store: oci:{dir}/store
namespace: {ns}
state: {dir}/{ns}-state
# Stable streams never read their upstream: releases are promoted into them.
upstream: {{ image: "oci:{dir}/store:okd-demo/release:latest" }}
gating:
{gating}promotions:
  - {{ name: channel, tag: {name} }}
"#,
        dir = dir.display()
    );
    let path = dir.join(format!("{ns}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn digest_of(state: &Path, stream: &str, release: &str) -> String {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("gating.json")).unwrap()).unwrap();
    let r = state["streams"][stream]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == release)
        .unwrap();
    let pullspec = r["pullspec"].as_str().unwrap();
    pullspec.rsplit_once('@').unwrap().1.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nightly_to_next_to_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::upstream(dir, 1).await;
    let nightly = common::stream_file(dir, &format!("oci:{}/store", dir.display()))
        .replace("label: okd-scos", "label: okd-scos-hpc");
    let nightly_file = dir.join("nightly.yaml");
    std::fs::write(&nightly_file, nightly).unwrap();
    let nightly_file = nightly_file.to_str().unwrap();
    let next = stable_file(
        dir,
        "4-scos-next",
        "okd-next",
        &format!(
            "  release_controller: {}\n",
            config("release-okd-scos-4.y-next.json")
        ),
    );
    let next = next.to_str().unwrap();
    // 4-scos-stable's blocking upgrade (PreviousPatch) and upgrade-minor (PreviousMinor), as
    // upstream; no 4.18 exists here, so upgrade-minor has no source and is skipped, said so.
    let stable = stable_file(
        dir,
        "4-scos-stable",
        "okd-stable",
        &format!(
            "  release_controller: {}\n  no_upgrade_source: skip\n  runners:\n    \"*upgrade*\": {{ shell: \"echo $RELEASE_IMAGE_INITIAL '->' $RELEASE_IMAGE_LATEST\" }}\n",
            config("release-okd-scos-4.y-stable.json")
        ),
    );
    let stable = stable.to_str().unwrap();
    let release = "4.19.0-okd-scos-hpc.1";

    // A release not accepted yet cannot be promoted; a stream that is not Stable takes none.
    let early = common::cli()
        .args(["stream", "promote", nightly_file, release, "--to", next])
        .output()
        .unwrap();
    assert!(!early.status.success());
    assert!(String::from_utf8_lossy(&early.stderr).contains(release));

    common::run_ok(&["stream", "run", nightly_file, "--once"]);
    let wrong = common::cli()
        .args(["stream", "promote", next, release, "--to", nightly_file])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("only a Stable stream"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    let out = common::run_ok(&["stream", "promote", nightly_file, release, "--to", next]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("-> 4-scos-next"));
    common::run_ok(&["stream", "run", next, "--once"]);
    let status = common::run_ok(&["stream", "status", next]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains(release) && status.contains("Accepted"),
        "{status}"
    );
    assert!(status.contains("published channel"), "{status}");

    common::run_ok(&["stream", "promote", next, release, "--to", stable]);
    common::run_ok(&["stream", "run", stable, "--once"]);
    let status = common::run_ok(&["stream", "status", stable]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("Accepted"), "{status}");
    assert!(status.contains("job upgrade: Success"), "{status}");
    assert!(
        status.contains("job upgrade-minor: Skipped (never run: no upgrade source)"),
        "{status}"
    );
    // The upgrade ran from the upstream the nightly was built from (PreviousPatch).
    let log = dir.join(format!(
        "okd-stable-state/logs/{release}/{release}-upgrade.stdout"
    ));
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.contains("/upstream:okd/scos-release:4.19.0-okd-scos.1@sha256:"),
        "{log}"
    );

    // The same image all the way, now in each stream's own repository.
    let digest = digest_of(&dir.join("state"), "4.19.0-0.okd-scos", release);
    assert_eq!(
        digest_of(&dir.join("okd-next-state"), "4-scos-next", release),
        digest
    );
    assert_eq!(
        digest_of(&dir.join("okd-stable-state"), "4-scos-stable", release),
        digest
    );

    // Promoting again changes nothing.
    let again = common::run_ok(&["stream", "promote", next, release, "--to", stable]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("(already there)"));
}

/// The upstream OCP 4.y-stable config (blocking upgrade jobs and an `upgrade` map of three
/// platforms) on a Stable stream whose upstream is the repository releases are named in.
fn sampled_stable_file(dir: &Path) -> PathBuf {
    let text = format!(
        r#"name: 4-stable
store: oci:{dir}/store
namespace: okd-stable
state: {dir}/okd-stable-state
upstream:
  repository: oci:{dir}/upstream:okd/scos-release
  tags: "4.19.0-okd-scos.*"
gating:
  release_controller: {config}
  no_upgrade_source: skip
  runners:
    "*upgrade*": {{ shell: "echo $RELEASE_IMAGE_INITIAL '->' $RELEASE_IMAGE_LATEST" }}
"#,
        dir = dir.display(),
        config = config("release-ocp-4.y-stable.json"),
    );
    let path = dir.join("stable.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stable_stream_runs_sampled_upgrades_from_its_payloads_previous_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 4.19.0-okd-scos.2 lists 4.19.0-okd-scos.1 among `previous`; the nightly built from it
    // keeps the list.
    let upstream = common::upstream(dir, 2).await;
    assert_eq!(upstream.previous, ["4.19.0-okd-scos.1"]);
    let nightly = dir.join("nightly.yaml");
    let text = common::stream_file(dir, &format!("oci:{}/store", dir.display()))
        .replace("label: okd-scos", "label: okd-scos-hpc");
    std::fs::write(&nightly, text).unwrap();
    let nightly = nightly.to_str().unwrap();
    let stable = sampled_stable_file(dir);
    let stable = stable.to_str().unwrap();
    let release = "4.19.0-okd-scos-hpc.1";
    common::run_ok(&["stream", "run", nightly, "--once"]);
    common::run_ok(&["stream", "promote", nightly, release, "--to", stable]);
    common::run_ok(&["stream", "run", stable, "--once"]);

    let status = common::run_ok(&["stream", "status", stable]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("Accepted"), "{status}");
    // One version to sample, three platforms in turn: aws runs it, the others have nothing.
    assert!(status.contains("job aws: Success"), "{status}");
    assert!(
        status.contains("job azure: not run: no upgrade source"),
        "{status}"
    );
    assert!(
        status.contains("job gcp: not run: no upgrade source"),
        "{status}"
    );
    // It upgraded from the upstream repository's tag of that version.
    let log = dir.join(format!(
        "okd-stable-state/logs/{release}/{release}-upgrade-from-4.19.0-okd-scos.1-aws.stdout"
    ));
    let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        log.contains("/upstream:okd/scos-release:4.19.0-okd-scos.1@sha256:"),
        "{log}"
    );
    // The sampled run is an edge of the graph, with its run as the result.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("okd-stable-state/gating.json")).unwrap())
            .unwrap();
    let edges = state["streams"]["4-stable"]["graph"].as_array().unwrap();
    let sampled = edges
        .iter()
        .find(|e| e["from"] == "4.19.0-okd-scos.1" && e["to"] == release)
        .unwrap_or_else(|| panic!("no sampled edge in {edges:?}"));
    assert_eq!(sampled["results"][0]["state"], "Succeeded");
}
