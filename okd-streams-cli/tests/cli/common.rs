//! Shared by the stream tests: a generated upstream in a layout, and a stream file over it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use okd_streams::oci::LayoutStore;
use testkit::payload::{NextSpec, Payload, PayloadSpec, generate};

/// A small upstream payload (fast to generate and build, still with operators and an OS image).
pub fn spec() -> PayloadSpec {
    PayloadSpec::new()
        .components(40)
        .layer_size(2048)
        .base_layer_size(4096)
}

/// Generates upstream release `round` (1, 2, 3 …) into `<dir>/upstream`, each one the `next`
/// of the one before (same seeds, so the same digests in every test run).
pub async fn upstream(dir: &Path, rounds: u32) -> Payload {
    let layout = LayoutStore::open_or_create(dir.join("upstream"))
        .await
        .unwrap();
    let mut p = generate(&layout, &spec()).await.unwrap();
    for round in 2..=rounds {
        p = p.next(&layout, &next_spec(round)).await.unwrap().0;
    }
    p
}

/// Release `4.19.0-okd-scos.{round}`: two components changed, one rebuilt, one added.
fn next_spec(round: u32) -> NextSpec {
    NextSpec {
        changed: 2,
        rebuilt: 1,
        added: 1,
        version: format!("4.19.0-okd-scos.{round}"),
        seed: u64::from(round),
        ..NextSpec::default()
    }
}

/// Moves the upstream of `dir` one release on.
pub async fn advance(dir: &Path, current: &Payload, round: u32) -> Payload {
    let layout = LayoutStore::open(dir.join("upstream")).await.unwrap();
    current.next(&layout, &next_spec(round)).await.unwrap().0
}

/// The stream file used by the tests, with its store line.
pub fn stream_file(dir: &Path, store: &str) -> String {
    format!(
        r#"# A stream over a generated upstream; only the store line differs between runs.
name: 4.19.0-0.okd-scos
store: {store}
namespace: okd-demo
state: {dir}/state
upstream:
  repository: oci:{dir}/upstream:okd/scos-release
  tags: "4.19.0-okd-scos.*"
os:
  variant: scos
  layers:
    - files:
        - {{ path: etc/okd-demo/release, content: "layered by okd-streams\n" }}
  labels: {{ io.okd-demo.layered: "true" }}
version: {{ scheme: sequence, version: 4.19.0, label: okd-scos }}
created_from: inputs
gating:
  jobs:
    images: {{ check: images }}
    manifests: {{ check: manifests }}
    os: {{ check: os }}
    upgrade: {{ check: upgrade, gate: informing, upgrade_from: previous }}
promotions:
  - {{ name: next, repository: 4-scos-next }}
  - {{ name: latest, tag: latest }}
"#,
        dir = dir.display()
    )
}

/// Writes the stream file into `dir` and returns its path.
pub fn write_stream_file(dir: &Path, store: &str) -> PathBuf {
    let path = dir.join("stream.yaml");
    std::fs::write(&path, stream_file(dir, store)).unwrap();
    path
}

/// A stream without OS layering: stream `name` over the newest `4.19.0-okd-scos.*` of
/// `upstream_repo`, releases `4.19.0-<label>.<n>`, the `gating:` lines `gating` (indented by
/// two), then `rest` (more top-level lines).
pub fn plain_stream_file(
    dir: &Path,
    name: &str,
    upstream_repo: &str,
    label: &str,
    gating: &str,
    rest: &str,
) -> String {
    format!(
        r#"name: {name}
store: oci:{dir}/store
namespace: okd-demo
state: {dir}/state
upstream:
  repository: {upstream_repo}
  tags: "4.19.0-okd-scos.*"
version: {{ scheme: sequence, version: 4.19.0, label: {label} }}
created_from: inputs
gating:
{gating}{rest}"#,
        dir = dir.display()
    )
}

/// The `okd-streams` binary.
pub fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_okd-streams"))
}

/// Runs `okd-streams ARGS`, failing the test with its output when it fails.
pub fn run_ok(args: &[&str]) -> Output {
    let out = cli().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "okd-streams {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What a stream ended with.
pub type Outcome = (
    Vec<(String, String, String)>,
    Vec<(String, String, String, String, String)>,
);

/// Releases (name, phase, pullspec) and publications (rule, release, repository, tag, digest)
/// from a stream's state directory.
pub fn outcome(dir: &Path) -> Outcome {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("state/gating.json")).unwrap()).unwrap();
    let stream = &state["streams"]["4.19.0-0.okd-scos"];
    let mut releases: Vec<(String, String, String)> = stream["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["phase"].as_str().unwrap().to_string(),
                r["pullspec"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    releases.sort();
    let published = stream["published"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(rule, p)| {
            (
                rule.clone(),
                p["release"].as_str().unwrap().to_string(),
                p["repository"].as_str().unwrap().to_string(),
                p["tag"].as_str().unwrap().to_string(),
                p["digest"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    (releases, published)
}
