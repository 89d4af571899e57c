//! `okd_release::lint` on real upstream manifests: no false report.

use std::path::Path;

use okd_release::lint::{LintOptions, SkipKind, lint_dir};

#[test]
fn upstream_manifests_lint_clean_and_are_applied_where_they_say() {
    for sample in ["mco-7ff337a", "mco-059d033"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/lint")
            .join(sample);
        check_sample(&dir);
    }
}

fn check_sample(dir: &Path) {
    let options = LintOptions {
        major_version: Some(4),
        ..LintOptions::default()
    };
    let report = lint_dir(dir, &options).unwrap();
    assert_eq!(report.files, 1);
    assert_eq!(report.manifests, 1);
    assert!(report.is_clean(), "{}", report.to_text());
    for profile in [
        "self-managed-high-availability",
        "single-node-developer",
        "ibm-cloud-managed",
    ] {
        let p = report.profile(profile).unwrap();
        assert_eq!(p.applied.len(), 1, "{profile}");
        assert!(p.skipped.is_empty(), "{profile}");
    }
    // Neither file opts into the hypershift profile: skipped there, with the CVO's reason.
    let h = report.profile("hypershift").unwrap();
    assert!(h.applied.is_empty());
    assert_eq!(h.skipped.len(), 1);
    for s in &h.skipped {
        assert_eq!(s.skip.kind, SkipKind::Profile);
        assert_eq!(
            s.skip.reason,
            "include.release.openshift.io/hypershift unset"
        );
        assert_eq!(
            s.resource.to_string(),
            "ConfigMap openshift-machine-config-operator/machine-config-osimageurl"
        );
    }
}
