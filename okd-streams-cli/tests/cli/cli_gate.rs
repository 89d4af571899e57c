//! `okd-streams gate …` on real release-controller configs.

use crate::cli_common;

use std::collections::BTreeSet;
use std::path::Path;

use cli_common::okd;
use serde_json::Value;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cli")
        .join(name)
        .display()
        .to_string()
}

fn set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The release-controller's classification (`newReleasePayload`), computed here from the raw
/// JSON: disabled jobs are skipped, an aggregated job is a blocking aggregator plus an
/// informing analysis entry, an optional job informs, any other blocks.
fn classify(config: &Value) -> [BTreeSet<String>; 3] {
    let (mut blocking, mut informing, mut disabled) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (name, job) in config["verify"].as_object().unwrap() {
        let name = name.clone();
        if job["disabled"] == true {
            disabled.insert(name);
        } else if job.get("aggregatedProwJob").is_some() {
            blocking.insert(name.clone());
            informing.insert(name);
        } else if job["optional"] == true {
            informing.insert(name);
        } else {
            blocking.insert(name);
        }
    }
    [blocking, informing, disabled]
}

#[test]
fn check_classifies_real_configs() {
    for (file, counts) in [
        ("release-okd-scos-4.19.json", [1, 6, 0]),
        ("release-ocp-4.19.json", [17, 76, 0]),
    ] {
        let path = data(file);
        let raw: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let doc = okd(["gate", "check", "-o", "json", &path]).json();
        let [blocking, informing, disabled] = classify(&raw);
        assert_eq!(set(&doc["blocking"]), blocking, "{file}");
        assert_eq!(set(&doc["informing"]), informing, "{file}");
        assert_eq!(set(&doc["disabled"]), disabled, "{file}");
        assert_eq!(
            [blocking.len(), informing.len(), disabled.len()],
            counts,
            "{file}"
        );
        assert_eq!(doc["stream"], raw["name"]);
    }
    let doc = okd([
        "gate",
        "check",
        "-o",
        "json",
        "--strict",
        &data("release-okd-scos-4.19.json"),
    ])
    .json();
    assert_eq!(set(&doc["blocking"]), BTreeSet::from(["aws".to_string()]));

    let text = okd(["gate", "check", &data("release-okd-scos-4.19.json")]).ok();
    assert!(text.contains("blocking (1):"), "{text}");
    assert!(
        text.contains("  aws: periodic-ci-openshift-release-master-okd-scos-4.19-e2e-aws-ovn"),
        "{text}"
    );
}

#[test]
fn check_reports_bad_configs_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"name":"s","to":"release","verify":{"aws":{"prowJob":{"name":"j"},"maxRetry":1}}}"#,
    )
    .unwrap();
    // The controller ignores the misspelt field; the CI validation does not.
    okd(["gate", "check", &bad.display().to_string()]).ok();
    let e = okd(["gate", "check", "--strict", &bad.display().to_string()]).fails();
    assert!(e.contains("maxRetry"), "{e}");
    let e = okd([
        "gate",
        "check",
        &dir.path().join("absent.json").display().to_string(),
    ])
    .fails();
    assert!(e.contains("absent.json"), "{e}");
}

#[test]
fn simulate_is_deterministic_and_consistent() {
    let path = data("release-okd-scos-4.19.json");
    let run = || {
        okd([
            "gate", "simulate", &path, "--days", "21", "--seed", "5", "-o", "json",
        ])
        .json()
    };
    let a = run();
    assert_eq!(a, run());
    assert_eq!(a["seed"], 5);
    assert_eq!(
        a["horizonDays"].as_f64().or(a["horizon_days"].as_f64()),
        Some(21.0)
    );
    let get = |k: &str| a[k].as_u64().unwrap_or_else(|| panic!("{k} in {a}"));
    assert!(get("releases_created") > 0, "{a}");
    assert_eq!(
        get("accepted") + get("rejected") + get("failed") + get("undecided"),
        get("releases_created"),
        "{a}"
    );
    let other = okd([
        "gate", "simulate", &path, "--days", "21", "--seed", "6", "-o", "json",
    ])
    .json();
    assert_ne!(a, other, "the seed matters");

    let model = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        model.path(),
        "default_job: {flake_rate: 0.0, failure_rate: 0.0}\n",
    )
    .unwrap();
    let clean = okd([
        "gate",
        "simulate",
        &path,
        "--model",
        &model.path().display().to_string(),
        "--days",
        "14",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(clean["rejected"], 0, "{clean}");

    let text = okd(["gate", "simulate", &path, "--days", "7"]).ok();
    assert!(text.contains("accepted:"), "{text}");

    let e = okd([
        "gate",
        "simulate",
        &data("release-okd-scos-4.y-stable.json"),
    ])
    .fails();
    assert!(e.contains("Stable"), "{e}");
}
