//! `release lint` and `release extract --included` on release images in docker-registry whose
//! payloads hold manifests a cluster would reject or drop.

use crate::cli_common;

use std::sync::Arc;

use cli_common::{RegistryPayload, registry_payload};
use okd_oci::{ManifestRef, Store, StoreMap};
use okd_release::{Release, ReleaseBuilder};
use serde_json::Value;
use testkit::payload::PayloadSpec;

const INCLUDE: &str =
    "  annotations:\n    include.release.openshift.io/self-managed-high-availability: \"true\"\n";

/// Builds `okd/lint-release:<name>` from the payload's release plus `extra` files.
async fn with_extra(r: &RegistryPayload, name: &str, extra: &[(&str, String)]) -> String {
    let release = Release::load(
        &r.store,
        "okd/scos-release",
        &ManifestRef::Tag(r.payload.version.clone()),
    )
    .await
    .unwrap();
    let mut b = ReleaseBuilder::from_release(release)
        .name(name)
        .skip_manifest_check(true);
    for (file, text) in extra {
        b = b.extra_manifest(file, text.as_bytes());
    }
    let stores =
        StoreMap::offline().with_fallback(Arc::new(testkit::stores::plain_store(&r.registry)));
    b.build(&stores, &r.store, "okd/lint-release", None)
        .await
        .unwrap();
    r.at(&format!("okd/lint-release:{name}"))
}

fn bad_manifests() -> Vec<(&'static str, String)> {
    vec![
        (
            "0000_90_bare.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bare\n  namespace: x\n"
                .to_string(),
        ),
        (
            "0000_90_twice.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n  namespace: x\n{INCLUDE}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n  namespace: x\n{INCLUDE}"
            ),
        ),
        (
            "0000_90_noname.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\n{INCLUDE}"),
        ),
        ("0000_90_broken.yaml", "kind: [ConfigMap\n".to_string()),
    ]
}

#[tokio::test]
async fn lint_reports_each_rejected_or_dropped_manifest_with_file_and_reason() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let clean = r.release_ref();
    let out = r.okd(&["release", "lint", &clean]).ok();
    assert!(out.contains(", 0 problems\n"), "{out}");

    let bad = with_extra(&r, "4.19.0-okd-scos.3", &bad_manifests()).await;
    let run = r.okd(&["release", "lint", "-o", "json", &bad]);
    let err = run.fails();
    assert!(
        err.contains("4 manifests a cluster would reject or drop"),
        "{err}"
    );
    let doc: Value = serde_json::from_str(&run.stdout()).unwrap();
    let problems: Vec<(String, String, String)> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().to_string(),
                p["kind"].as_str().unwrap().to_string(),
                p["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let find = |file: &str| {
        problems
            .iter()
            .find(|p| p.0 == file)
            .unwrap_or_else(|| panic!("no problem for {file}: {problems:?}"))
    };
    assert_eq!(find("0000_90_bare.yaml").1, "dropped");
    assert_eq!(
        find("0000_90_bare.yaml").2,
        "dropped by every cluster: no annotations"
    );
    assert_eq!(find("0000_90_twice.yaml").1, "duplicate");
    assert!(
        find("0000_90_twice.yaml")
            .2
            .contains("duplicate resource: ConfigMap x/twice")
    );
    assert_eq!(find("0000_90_noname.yaml").1, "missing_name");
    assert!(find("0000_90_noname.yaml").2.contains("kind and name"));
    assert_eq!(find("0000_90_broken.yaml").1, "parse");
    assert!(
        find("0000_90_broken.yaml")
            .2
            .starts_with("the payload is refused: error parsing")
    );
    assert_eq!(problems.len(), 4, "{problems:?}");
    // The manifest without annotations is skipped by every profile, with the CVO's reason.
    for p in doc["profiles"].as_array().unwrap() {
        let skipped = p["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["file"] == "0000_90_bare.yaml")
            .unwrap_or_else(|| panic!("{}", p["profile"]));
        assert_eq!(skipped["kind"], "no_annotations");
        assert_eq!(skipped["reason"], "no annotations");
    }
    // The text names each file and reason too.
    let text = r.okd(&["release", "lint", &bad]).stdout();
    for (file, _) in bad_manifests() {
        assert!(text.contains(&format!("error: {file}: ")), "{text}");
    }
    assert!(
        text.contains("  skip 0000_90_bare.yaml ConfigMap x/bare: no annotations"),
        "{text}"
    );
}

#[tokio::test]
async fn builds_warn_strict_builds_refuse_and_extract_included_keeps_what_is_applied() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let release = Release::load(
        &r.store,
        "okd/scos-release",
        &ManifestRef::Tag(r.payload.version.clone()),
    )
    .await
    .unwrap();
    let stores =
        StoreMap::offline().with_fallback(Arc::new(testkit::stores::plain_store(&r.registry)));
    let (file, text) = bad_manifests().remove(0);
    let builder = ReleaseBuilder::from_release(release)
        .name("4.19.0-okd-scos.4")
        .extra_manifest(file, text.as_bytes());
    // What `release new` prints as warnings …
    let payload = builder.assemble(&stores).await.unwrap();
    assert!(
        payload
            .warnings
            .iter()
            .any(|w| w == "lint: 0000_90_bare.yaml: ConfigMap x/bare: dropped by every cluster: no annotations"),
        "{:?}",
        payload.warnings
    );
    // … and what `release new --strict` refuses, before anything is written.
    let e = builder
        .clone()
        .strict_lint(true)
        .build(&stores, &r.store, "okd/strict-release", None)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("release lint found 1 problems"),
        "{e}"
    );
    assert!(
        r.store
            .list_tags("okd/strict-release")
            .await
            .unwrap_or_default()
            .is_empty()
    );

    // extract --included keeps only what a self-managed cluster applies.
    let bare = with_extra(&r, "4.19.0-okd-scos.5", &bad_manifests()[..1]).await;
    let dir = tempfile::tempdir().unwrap();
    let ic = dir.path().join("install-config.yaml");
    std::fs::write(&ic, "apiVersion: v1\nplatform:\n  none: {}\n").unwrap();
    let (all, to) = (dir.path().join("all"), dir.path().join("included"));
    r.okd(&[
        "release",
        "extract",
        &bare,
        "--to",
        &all.display().to_string(),
    ])
    .ok();
    r.okd(&[
        "release",
        "extract",
        &bare,
        "--included",
        "--install-config",
        &ic.display().to_string(),
        "--to",
        &to.display().to_string(),
    ])
    .ok();
    assert!(all.join(file).exists());
    assert!(!to.join(file).exists());
    for name in ["image-references", "release-metadata"] {
        assert!(to.join(name).exists(), "{name}");
    }
    // Every testkit manifest opts into self-managed clusters: all of them are kept, byte for byte.
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != file)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&all), names(&to));
    for n in names(&to) {
        assert_eq!(
            std::fs::read(all.join(&n)).unwrap(),
            std::fs::read(to.join(&n)).unwrap(),
            "{n}"
        );
    }
    // A bad install-config writes nothing.
    std::fs::write(&ic, "apiVersion: v2\n").unwrap();
    let none = dir.path().join("none");
    let err = r
        .okd(&[
            "release",
            "extract",
            &bare,
            "--included",
            "--install-config",
            &ic.display().to_string(),
            "--to",
            &none.display().to_string(),
        ])
        .fails();
    assert!(err.contains("unrecognized API version"), "{err}");
    assert!(!none.exists());
}
