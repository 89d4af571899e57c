//! The real release configs of `openshift/release` load, classify as the controller classifies
//! them, and survive a round trip.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use okd_gating::{
    GatingPolicy, ParseMode, PublishTarget, ReleaseConfig, StreamMode, UpgradeSource, check,
    parse_release_config,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

const FILES: [&str; 7] = [
    "release-okd-scos-4.19.json",
    "release-okd-scos-4.20.json",
    "release-okd-scos-4.y-next.json",
    "release-okd-scos-4.y-stable.json",
    "release-ocp-4.19-ci.json",
    "release-ocp-4.19.json",
    "release-ocp-4.y-stable.json",
];

#[test]
fn every_sample_loads_in_both_modes_with_the_expected_counts() {
    // (file, blocking, informing, disabled) from tests/data/SOURCES.md
    let expected = [
        ("release-okd-scos-4.19.json", 1, 6, 0),
        ("release-okd-scos-4.20.json", 1, 6, 0),
        ("release-okd-scos-4.y-next.json", 0, 0, 0),
        ("release-okd-scos-4.y-stable.json", 2, 0, 0),
        ("release-ocp-4.19-ci.json", 5, 0, 1),
        ("release-ocp-4.19.json", 17, 76, 0),
        ("release-ocp-4.y-stable.json", 2, 0, 0),
    ];
    for (file, blocking, informing, disabled) in expected {
        for mode in [ParseMode::Strict, ParseMode::Lenient] {
            let report = check(&data(file), mode).unwrap_or_else(|e| panic!("{file}: {e}"));
            let c = &report.classification;
            assert_eq!(
                (c.blocking.len(), c.informing.len(), c.disabled.len()),
                (blocking, informing, disabled),
                "{file} ({mode:?})"
            );
        }
    }
}

#[test]
fn okd_scos_classification_names() {
    for file in ["release-okd-scos-4.19.json", "release-okd-scos-4.20.json"] {
        let c = check(&data(file), ParseMode::Strict)
            .unwrap()
            .classification;
        assert_eq!(c.blocking, ["aws"], "{file}");
        assert!(c.informing.contains(&"aws-upgrade".to_string()));
        assert!(c.informing.contains(&"aws-upgrade-minor".to_string()));
        assert!(c.disabled.is_empty());
    }
    let c = check(&data("release-okd-scos-4.y-stable.json"), ParseMode::Strict)
        .unwrap()
        .classification;
    assert_eq!(c.blocking, ["upgrade", "upgrade-minor"]);
    let c = check(&data("release-ocp-4.19-ci.json"), ParseMode::Strict)
        .unwrap()
        .classification;
    assert_eq!(c.disabled, ["upgrade-minor-aws-ovn"]);
    assert_eq!(
        c.blocking,
        [
            "aws-ovn-upgrade-4.19-minor",
            "azure-ovn-upgrade-4.19-minor",
            "gcp-ovn-upgrade-4.19-micro",
            "hypershift-e2e-aks",
            "hypershift-e2e-aws"
        ]
    );
}

#[test]
fn ocp_nightly_aggregated_jobs_are_blocking_aggregators_and_informing_analysis() {
    let report = check(&data("release-ocp-4.19.json"), ParseMode::Strict).unwrap();
    let aggregated: Vec<&str> = report
        .policy
        .jobs
        .iter()
        .filter(|j| j.aggregation.is_some())
        .map(|j| j.name.as_str())
        .collect();
    assert_eq!(aggregated.len(), 5);
    for name in aggregated {
        let c = &report.classification;
        assert!(c.blocking.iter().any(|b| b == name), "{name} blocking");
        assert!(c.informing.iter().any(|b| b == name), "{name} informing");
        let job = report.policy.job(name).unwrap();
        let agg = job.aggregation.as_ref().unwrap();
        assert_eq!(agg.analysis_job_count, 10);
        assert_eq!(
            agg.aggregator_job,
            "release-openshift-release-analysis-aggregator"
        );
        assert_eq!(job.max_retries, 2);
    }
    // A multi-job analysis entry that is not optional blocks.
    let c = &report.classification;
    assert!(c.blocking.contains(&"install-analysis-all".to_string()));
    assert!(c.informing.contains(&"upgrade-analysis-all".to_string()));
    assert!(
        report
            .policy
            .job("install-analysis-all")
            .unwrap()
            .multi_job_analysis
    );
    let text = report.to_text();
    assert!(text.contains("blocking (17):"), "{text}");
    assert!(text.contains("informing (76):"), "{text}");
    assert!(
        text.contains("aggregated-aws-ovn-upgrade-4.19-micro: aggregator release-openshift-release-analysis-aggregator over 10 runs"),
        "{text}"
    );
    assert!(text.contains("publish tag: tag 4.19"), "{text}");
}

#[test]
fn okd_scos_policy_is_interpreted() {
    let p = GatingPolicy::load(&data("release-okd-scos-4.19.json"), ParseMode::Strict).unwrap();
    assert_eq!(p.name, "4.19.0-0.okd-scos");
    assert_eq!(p.mode, StreamMode::Integration);
    assert_eq!(p.target, "release-scos");
    assert_eq!(p.max_unready_releases, 1);
    assert_eq!(p.min_creation_interval, Duration::from_secs(43200));
    assert_eq!(p.expires, Some(Duration::from_secs(72 * 3600)));
    assert_eq!(p.job("aws").unwrap().max_retries, 2);
    assert_eq!(
        p.job("aws-upgrade").unwrap().upgrade,
        Some(UpgradeSource::Previous)
    );
    assert_eq!(
        p.job("aws-upgrade-minor").unwrap().upgrade,
        Some(UpgradeSource::Candidate {
            stream: "okd".into(),
            version: "4.18".into(),
            relative: 0
        })
    );
    assert_eq!(p.job("gcp").unwrap().upgrade, None);
    assert_eq!(
        p.publish[0].target,
        PublishTarget::Tag {
            tag: "scos-4.19".into()
        }
    );
}

#[test]
fn stable_streams_default_to_previous_patch() {
    let p = GatingPolicy::load(&data("release-ocp-4.y-stable.json"), ParseMode::Strict).unwrap();
    assert_eq!(p.mode, StreamMode::Stable);
    assert_eq!(
        p.job("upgrade").unwrap().upgrade,
        Some(UpgradeSource::PreviousPatch)
    );
    assert_eq!(
        p.job("upgrade-minor").unwrap().upgrade,
        Some(UpgradeSource::PreviousMinor)
    );
    let platforms: Vec<&str> = p
        .sampled_upgrades
        .iter()
        .map(|u| u.platform.as_str())
        .collect();
    assert_eq!(platforms, ["aws", "azure", "gcp"]);
    let text = check(&data("release-ocp-4.y-stable.json"), ParseMode::Strict)
        .unwrap()
        .to_text();
    assert!(text.contains("sampled upgrades: aws, azure, gcp"), "{text}");
}

#[test]
fn configs_and_policies_round_trip() {
    for file in FILES {
        let bytes = std::fs::read(data(file)).unwrap();
        let cfg = parse_release_config(&bytes, file, ParseMode::Strict).unwrap();
        // Config → JSON → config.
        let json = serde_json::to_vec(&cfg).unwrap();
        let again = parse_release_config(&json, file, ParseMode::Strict).unwrap();
        assert_eq!(again, cfg, "{file}");
        // Policy → JSON → policy, and back to the same config.
        let policy = GatingPolicy::from_config(cfg.clone());
        let json = serde_json::to_string(&policy).unwrap();
        let back: GatingPolicy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, policy, "{file}");
        let as_config: ReleaseConfig = policy.to_config();
        assert_eq!(
            GatingPolicy::from_config(as_config).classify(),
            policy.classify(),
            "{file}"
        );
    }
}

#[test]
fn classification_json_has_exactly_three_keys() {
    let c = check(&data("release-ocp-4.19-ci.json"), ParseMode::Strict)
        .unwrap()
        .classification;
    let v: serde_json::Value = serde_json::to_value(&c).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["blocking", "disabled", "informing"]);
}

#[test]
fn a_typo_is_refused_in_strict_mode_only() {
    let bytes = std::fs::read(data("release-okd-scos-4.19.json")).unwrap();
    let text = String::from_utf8(bytes)
        .unwrap()
        .replace("maxRetries", "maxRetry");
    let err = parse_release_config(text.as_bytes(), "typo.json", ParseMode::Strict).unwrap_err();
    assert_eq!(
        err.to_string(),
        "typo.json: unknown field `verify.aws.maxRetry`"
    );
    let lenient = parse_release_config(text.as_bytes(), "typo.json", ParseMode::Lenient).unwrap();
    assert_eq!(lenient.verify["aws"].max_retries, 0);
}

#[test]
fn missing_file_names_the_path() {
    let err = check(&data("nope.json"), ParseMode::Strict).unwrap_err();
    assert!(err.to_string().contains("nope.json"), "{err}");
}
