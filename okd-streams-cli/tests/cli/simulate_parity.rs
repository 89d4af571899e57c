//! `gate simulate` and `stream run` decide through the same code: the results a stream's jobs
//! give, replayed as a simulation script, reach the same phases and the same upgrade edges.

use std::path::Path;

use crate::common;

const CONFIG: &str = r#"{"name":"s","to":"release","maxUnreadyReleases":1,
  "verify":{"e2e":{"maxRetries":1,"prowJob":{"name":"e2e"}},
            "upgrade":{"optional":true,"upgrade":true,"prowJob":{"name":"e2e-upgrade"}}}}"#;

/// Results each job gives, in the order its runs start: release 1 passes e2e on its retry
/// (its upgrade has no source), release 2 fails e2e twice while its upgrade from release 1
/// passes.
const RESULTS: [(&str, &[&str]); 2] = [
    ("e2e", &["Failed", "Succeeded", "Failed", "Failed"]),
    ("upgrade", &["Succeeded"]),
];

/// A runner that ends each run of job `$1` with the next result of its list.
const RUNNER: &str = r#"job=$1; dir=$(dirname "$0")
n=$(( $(cat "$dir/$job.count" 2>/dev/null || echo 0) + 1 ))
echo $n > "$dir/$job.count"
r=$(sed -n "${n}p" "$dir/$job.results")
echo "$job run $n: $r"
[ "$r" = Succeeded ]
"#;

fn write_runner(dir: &Path) -> String {
    let script = dir.join("results.sh");
    std::fs::write(&script, RUNNER).unwrap();
    for (job, results) in RESULTS {
        std::fs::write(
            dir.join(format!("{job}.results")),
            results.join("\n") + "\n",
        )
        .unwrap();
    }
    script.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_simulate_and_stream_run_reach_the_same_phases_and_edges() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = dir.join("release-s.json");
    std::fs::write(&config, CONFIG).unwrap();

    // The stream, with runners that give the scripted results.
    let runner = write_runner(dir);
    let upstream = common::upstream(dir, 1).await;
    let gating = format!(
        "  release_controller: {}\n  runners:\n    e2e: {{ shell: \"sh {runner} e2e\" }}\n    e2e-upgrade: {{ shell: \"sh {runner} upgrade\" }}\n",
        config.display()
    );
    let upstream_repo = format!("oci:{}/upstream:okd/scos-release", dir.display());
    let text = common::plain_stream_file(dir, "s", &upstream_repo, "okd-hpc", &gating, "");
    let file = dir.join("s.yaml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    common::run_ok(&["stream", "run", file, "--once"]);
    common::advance(dir, &upstream, 2).await;
    common::run_ok(&["stream", "run", file, "--once"]);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("state/gating.json")).unwrap()).unwrap();
    let mut releases: Vec<&serde_json::Value> = state["streams"]["s"]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    releases.sort_by_key(|r| r["created"].as_str().unwrap().to_string());
    let names: Vec<&str> = releases
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let stream_phases: Vec<&str> = releases
        .iter()
        .map(|r| r["phase"].as_str().unwrap())
        .collect();
    let index = |names: &[&str], n: &str| names.iter().position(|x| *x == n).unwrap();
    let stream_edges: Vec<(usize, usize, usize, usize)> = state["streams"]["s"]["graph"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let count = |s: &str| {
                e["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["state"] == s)
                    .count()
            };
            (
                index(&names, e["from"].as_str().unwrap()),
                index(&names, e["to"].as_str().unwrap()),
                count("Succeeded"),
                count("Failed"),
            )
        })
        .collect();

    // The same results as a simulation script.
    let results: Vec<String> = RESULTS
        .iter()
        .map(|(job, r)| format!("{job}: [{}]", r.join(", ")))
        .collect();
    let model = dir.join("model.yaml");
    std::fs::write(
        &model,
        format!(
            "horizon: 3d\nscript:\n  input_changes: [0s, 24h]\n  results: {{ {} }}\n",
            results.join(", ")
        ),
    )
    .unwrap();
    let out = common::run_ok(&[
        "gate",
        "simulate",
        config.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sim: Vec<(&str, &str)> = report["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap(), r[1].as_str().unwrap()))
        .collect();
    let sim_names: Vec<&str> = sim.iter().map(|(n, _)| *n).collect();
    let sim_phases: Vec<&str> = sim.iter().map(|(_, p)| *p).collect();
    let sim_edges: Vec<(usize, usize, usize, usize)> = report["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                index(&sim_names, e[0].as_str().unwrap()),
                index(&sim_names, e[1].as_str().unwrap()),
                e[2].as_u64().unwrap() as usize,
                e[3].as_u64().unwrap() as usize,
            )
        })
        .collect();

    assert_eq!(stream_phases, ["Accepted", "Rejected"]);
    assert_eq!(stream_edges, [(0, 1, 1, 0)]);
    assert_eq!(sim_phases, stream_phases);
    assert_eq!(sim_edges, stream_edges);
    // Every scripted result was used by both.
    for (job, r) in RESULTS {
        let used = std::fs::read_to_string(dir.join(format!("{job}.count"))).unwrap();
        assert_eq!(used.trim(), r.len().to_string(), "{job}");
    }
    assert_eq!(report["undecided"], 0);
}
