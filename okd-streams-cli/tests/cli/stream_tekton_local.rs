//! The exported Tekton pipeline executed on this machine, task by task in `runAfter` order,
//! with Tekton's substitutions (`$(params.*)`, `$(tasks.*.results.*)`, `$(results.*.path)`,
//! `$(workspaces.*.path)`), `when` guards and each step's script or command run for real; it
//! must reach the same releases, verdicts, publications and upgrade graph as `stream run`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common;

/// A pipeline and its tasks, as exported.
struct Exported {
    pipeline: Value,
    tasks: BTreeMap<String, Value>,
}

fn load(dir: &Path) -> Exported {
    let mut pipeline = None;
    let mut tasks = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        match doc["kind"].as_str() {
            Some("Pipeline") => pipeline = Some(doc),
            Some("Task") => {
                tasks.insert(doc["metadata"]["name"].as_str().unwrap().to_string(), doc);
            }
            other => panic!("unexpected kind {other:?}"),
        }
    }
    Exported {
        pipeline: pipeline.expect("a Pipeline"),
        tasks,
    }
}

/// Replaces every `$(key)` of `vars` in `text`; a Tekton variable left (`$(params.…`,
/// `$(tasks.…`, …; shell's `$((…))` is not one) is a substitution Tekton would make and this
/// executor does not know: the test fails on it.
fn substitute(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("$({k})"), v);
    }
    for kind in ["params.", "tasks.", "results.", "workspaces.", "context."] {
        assert!(
            !out.contains(&format!("$({kind}")),
            "unsubstituted in {out:?}"
        );
    }
    out
}

struct Executor<'a> {
    exported: &'a Exported,
    workspaces: BTreeMap<String, PathBuf>,
    bin_dir: PathBuf,
    /// Results of finished tasks: `tasks.<task>.results.<name>` → value.
    results: BTreeMap<String, String>,
    /// Tasks that ran, in order; tasks skipped by `when`.
    ran: Vec<String>,
    skipped: Vec<String>,
}

impl Executor<'_> {
    fn run(&mut self) {
        let tasks = self.exported.pipeline["spec"]["tasks"].as_array().unwrap();
        let mut done: BTreeSet<String> = BTreeSet::new();
        while done.len() < tasks.len() {
            let next = tasks
                .iter()
                .find(|t| {
                    let name = t["name"].as_str().unwrap();
                    !done.contains(name)
                        && t["runAfter"]
                            .as_array()
                            .map(|a| a.iter().all(|d| done.contains(d.as_str().unwrap())))
                            .unwrap_or(true)
                })
                .expect("runAfter has no cycle");
            let name = next["name"].as_str().unwrap().to_string();
            if self.when_allows(next) {
                self.run_task(next);
                self.ran.push(name.clone());
            } else {
                self.skipped.push(name.clone());
            }
            done.insert(name);
        }
    }

    fn pipeline_vars(&self) -> BTreeMap<String, String> {
        let mut vars = self.results.clone();
        for p in self.exported.pipeline["spec"]["params"].as_array().unwrap() {
            let value = p["default"].as_str().unwrap_or_default().to_string();
            vars.insert(format!("params.{}", p["name"].as_str().unwrap()), value);
        }
        vars
    }

    fn when_allows(&self, task: &Value) -> bool {
        let vars = self.pipeline_vars();
        task["when"].as_array().into_iter().flatten().all(|w| {
            let input = substitute(w["input"].as_str().unwrap(), &vars);
            let values: Vec<&str> = w["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            match w["operator"].as_str().unwrap() {
                "in" => values.contains(&input.as_str()),
                "notin" => !values.contains(&input.as_str()),
                other => panic!("operator {other}"),
            }
        })
    }

    fn run_task(&mut self, task: &Value) {
        let name = task["name"].as_str().unwrap();
        let pipeline_vars = self.pipeline_vars();
        let spec = &self.exported.tasks[task["taskRef"]["name"].as_str().unwrap()]["spec"];
        let mut vars = BTreeMap::new();
        for p in task["params"].as_array().into_iter().flatten() {
            let value = substitute(p["value"].as_str().unwrap(), &pipeline_vars);
            vars.insert(format!("params.{}", p["name"].as_str().unwrap()), value);
        }
        // Pipeline workspaces bound to the task's names.
        for w in task["workspaces"].as_array().into_iter().flatten() {
            let path = &self.workspaces[w["workspace"].as_str().unwrap()];
            vars.insert(
                format!("workspaces.{}.path", w["name"].as_str().unwrap()),
                path.display().to_string(),
            );
        }
        let results = tempfile::tempdir().unwrap();
        for r in spec["results"].as_array().into_iter().flatten() {
            let r = r["name"].as_str().unwrap();
            let path = results.path().join(r);
            vars.insert(format!("results.{r}.path"), path.display().to_string());
        }
        for step in spec["steps"].as_array().unwrap() {
            self.run_step(name, step, &vars, results.path());
        }
        for r in spec["results"].as_array().into_iter().flatten() {
            let r = r["name"].as_str().unwrap();
            let value = std::fs::read_to_string(results.path().join(r))
                .unwrap_or_else(|_| panic!("task {name} wrote no result {r}"));
            self.results
                .insert(format!("tasks.{name}.results.{r}"), value);
        }
    }

    fn run_step(&self, task: &str, step: &Value, vars: &BTreeMap<String, String>, dir: &Path) {
        let mut cmd = match (step["script"].as_str(), step["command"].as_array()) {
            (Some(script), None) => {
                let file = dir.join(format!("{}.sh", step["name"].as_str().unwrap()));
                std::fs::write(&file, substitute(script, vars)).unwrap();
                let mut c = Command::new("/bin/sh");
                c.arg(file);
                c
            }
            (None, Some(command)) => {
                let mut words = command
                    .iter()
                    .map(|w| substitute(w.as_str().unwrap(), vars));
                let mut c = Command::new(words.next().unwrap());
                c.args(words);
                c
            }
            other => panic!("step of {task} has {other:?}"),
        };
        for a in step["args"].as_array().into_iter().flatten() {
            cmd.arg(substitute(a.as_str().unwrap(), vars));
        }
        let path = format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap()
        );
        cmd.env_clear().env("PATH", path);
        for e in step["env"].as_array().into_iter().flatten() {
            let value = substitute(e["value"].as_str().unwrap(), vars);
            cmd.env(e["name"].as_str().unwrap(), value);
        }
        if let Some(wd) = step["workingDir"].as_str() {
            cmd.current_dir(substitute(wd, vars));
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "task {task} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The stream file of the tests with an upgrade job from the upstream and the release label
/// changed, so that the upstream and the stream's releases have different names.
fn write_file(dir: &Path) -> PathBuf {
    let text = common::stream_file(dir, &format!("oci:{}/store", dir.display()))
        .replace("label: okd-scos", "label: okd-scos-hpc")
        .replace(
            "    upgrade: {",
            "    from-upstream: { check: upgrade, upgrade_from: upstream }\n    upgrade: {",
        );
    let path = dir.join("stream.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Releases (name, phase, pullspec), publications and graph edges of `dir`'s state, with the
/// directory written as `DIR`.
fn outcome(dir: &Path) -> String {
    let (releases, published) = common::outcome(dir);
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.join("state/gating.json")).unwrap()).unwrap();
    let graph: Vec<(String, String, usize)> = state["streams"]["4.19.0-0.okd-scos"]["graph"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let ok = e["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["state"] == "Succeeded")
                .count();
            (
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
                ok,
            )
        })
        .collect();
    format!("{releases:#?}\n{published:#?}\n{graph:#?}").replace(&dir.display().to_string(), "DIR")
}

/// Runs the stream of `write` twice in `dir`, two upstream releases each time: once through
/// its exported pipeline, once with `stream run --once`; returns both outcomes.
async fn both_ways(dir: &Path, write: impl Fn(&Path) -> PathBuf) -> Vec<String> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_okd-streams"));
    let mut outcomes = Vec::new();
    for pipeline in [true, false] {
        // Both ways start from nothing in the same directory, so that paths and therefore
        // digests compare too.
        for sub in ["upstream", "store", "state", "creds", "tekton"] {
            let _ = std::fs::remove_dir_all(dir.join(sub));
        }
        let up = common::upstream(dir, 1).await;
        let file = write(dir);
        let file = file.to_str().unwrap();
        let creds = dir.join("creds");
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join(".dockerconfigjson"), r#"{"auths":{}}"#).unwrap();
        let tekton = dir.join("tekton");
        common::run_ok(&[
            "stream",
            "export",
            "tekton",
            file,
            "--image",
            "quay.io/example/okd-streams:test",
            "--out",
            tekton.to_str().unwrap(),
        ]);
        let exported = load(&tekton);
        for round in 1..=2 {
            if round == 2 {
                common::advance(dir, &up, 2).await;
            }
            if !pipeline {
                common::run_ok(&["stream", "run", file, "--once"]);
                continue;
            }
            let mut run = Executor {
                exported: &exported,
                workspaces: BTreeMap::from([
                    ("state".to_string(), dir.to_path_buf()),
                    ("registry-credentials".to_string(), creds.clone()),
                ]),
                bin_dir: bin.parent().unwrap().to_path_buf(),
                results: BTreeMap::new(),
                ran: Vec::new(),
                skipped: Vec::new(),
            };
            run.run();
            assert_eq!(run.ran.first().map(String::as_str), Some("assemble"));
            assert!(run.ran.contains(&"gate".to_string()), "{:?}", run.ran);
            assert!(
                run.skipped.is_empty(),
                "{:?} {:#?}",
                run.skipped,
                run.results
            );
            assert_eq!(run.results["tasks.gate.results.phase"], "Accepted");
        }
        outcomes.push(outcome(dir));
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exported_pipeline_run_locally_decides_as_stream_run() {
    let tmp = tempfile::tempdir().unwrap();
    let outcomes = both_ways(tmp.path(), write_file).await;
    assert_eq!(outcomes[0], outcomes[1]);
    // Both upgrade edges were tested: upstream → first release, first → second.
    for edge in [
        "\"4.19.0-okd-scos.1\",\n        \"4.19.0-okd-scos-hpc.1\"",
        "\"4.19.0-okd-scos-hpc.1\",\n        \"4.19.0-okd-scos-hpc.2\"",
    ] {
        assert!(
            outcomes[0].contains(edge),
            "{edge} missing:\n{}",
            outcomes[0]
        );
    }
}

/// A release-controller config with a blocking aggregated upgrade job from the upstream
/// (three analysis runs, of which the first of each release fails: 2 of 3 pass the 0.6
/// threshold).
fn write_aggregated(dir: &Path) -> PathBuf {
    let gating = r#"  release_controller:
    name: 4.19.0-0.okd-scos
    to: release-scos
    verify:
      images: { prowJob: { name: e2e-images } }
      aggregated-upgrade:
        upgrade: true
        upgradeFrom: Upstream
        prowJob: { name: e2e-upgrade }
        aggregatedProwJob: { analysisJobCount: 3 }
  runners:
    e2e-images: { check: images }
    e2e-upgrade:
      # Claims the next run number atomically (runs may be concurrent); every third fails.
      shell: 'i=0; while ! mkdir DIRX/ran-$i 2>/dev/null; do i=$((i+1)); done; [ $((i % 3)) -ne 0 ]'
"#
    .replace("DIRX", &dir.display().to_string());
    let upstream = format!("oci:{}/upstream:okd/scos-release", dir.display());
    let promotions = "promotions:\n  - { name: next, repository: 4-scos-next }\n";
    let text = common::plain_stream_file(
        dir,
        "4.19.0-0.okd-scos",
        &upstream,
        "okd-scos-hpc",
        &gating,
        promotions,
    );
    for f in std::fs::read_dir(dir).unwrap() {
        let f = f.unwrap().path();
        if f.file_name().unwrap().to_string_lossy().starts_with("ran-") {
            std::fs::remove_dir(f).unwrap();
        }
    }
    let path = dir.join("stream.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_jobs_decide_and_record_their_edge_the_same_way() {
    let tmp = tempfile::tempdir().unwrap();
    let outcomes = both_ways(tmp.path(), write_aggregated).await;
    assert_eq!(outcomes[0], outcomes[1]);
    for edge in [
        "\"4.19.0-okd-scos.1\",\n        \"4.19.0-okd-scos-hpc.1\",\n        1",
        "\"4.19.0-okd-scos.2\",\n        \"4.19.0-okd-scos-hpc.2\",\n        1",
    ] {
        assert!(
            outcomes[0].contains(edge),
            "{edge} missing:\n{}",
            outcomes[0]
        );
    }
}
