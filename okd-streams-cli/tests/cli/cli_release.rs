//! `okd-streams release …` against testkit payloads in docker-registry and in OCI layouts.

use crate::cli_common;

use std::collections::{BTreeMap, BTreeSet};

use cli_common::{RegistryPayload, Run, image_rows, layout_payload, okd, registry_payload};
use okd_oci::{ManifestRef, Store};
use okd_release::{ImageReferences, Release};
use serde_json::Value;
use testkit::payload::{NextSpec, PayloadSpec};

/// `release new --from-release FROM ARGS… --to-image TO` against the payload's registry.
fn new_from(r: &RegistryPayload, from: &str, args: &[&str], to: &str) -> Run {
    let mut all = vec!["release", "new", "--from-release", from];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--to-image", to]);
    r.okd(&all)
}

fn names(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn info_lists_every_component_with_its_digest() {
    let r = registry_payload(PayloadSpec::new()).await;
    let p = &r.payload;
    assert_eq!(p.components.len(), 190);
    let expected: BTreeMap<String, String> = p
        .components
        .iter()
        .map(|c| (c.name.clone(), c.digest.to_string()))
        .collect();

    let text = r.okd(&["release", "info", &r.release_ref()]).ok();
    let rows: BTreeMap<String, String> = image_rows(&text).into_iter().collect();
    assert_eq!(rows, expected, "{text}");
    assert!(
        text.starts_with(&format!("Name:      {}\n", p.version)),
        "{text}"
    );
    assert!(
        text.contains(&format!("Digest:    {}\n", p.release_digest())),
        "{text}"
    );
    assert!(text.contains("OS/Arch:   linux/amd64\n"), "{text}");
    assert!(
        text.contains(&format!(
            "  machine-os {} CentOS Stream CoreOS",
            p.os_version().unwrap()
        )),
        "{text}"
    );

    let doc = r
        .okd(&["release", "info", "-o", "okd-json", &r.release_ref()])
        .json();
    assert_eq!(doc["name"], p.version.as_str());
    assert_eq!(doc["digest"], p.release_digest().to_string().as_str());
    let images: BTreeMap<String, String> = doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(images, expected);
    for c in &p.components {
        let img = doc["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == c.name.as_str())
            .unwrap();
        assert_eq!(img["pullSpec"], c.pullspec.as_str());
        assert_eq!(img["commit"], c.commit.as_str());
    }
    assert_eq!(
        doc["metadata"]["version"].as_str(),
        Some(p.version.as_str())
    );
    assert_eq!(
        doc["displayVersions"]["machine-os"]["Version"].as_str(),
        p.os_version()
    );

    // --commits shows the source repository and commit of every image.
    let commits = r
        .okd(&["release", "info", "--commits", &r.release_ref()])
        .ok();
    let hyperkube = p.component("hyperkube").unwrap();
    assert!(
        commits.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols == ["hyperkube", &hyperkube.source_location, &hyperkube.commit]
        }),
        "{commits}"
    );
}

#[tokio::test]
async fn new_with_an_os_override_repoints_the_os_tag_and_substitutes_manifests() {
    let r = registry_payload(PayloadSpec::new()).await;
    let p = &r.payload;
    let old_os = p.component("stream-coreos").unwrap();

    // A new OS image: the payload's OS layered with a file, built with the CLI itself.
    let overlay = tempfile::tempdir().unwrap();
    std::fs::write(overlay.path().join("okd-release"), "4.19.0-okd-scos.2\n").unwrap();
    let layered = r
        .okd(&[
            "coreos",
            "layer",
            "--from",
            &r.at("okd/scos-content:stream-coreos"),
            "--add",
            &format!("{}:/etc", overlay.path().display()),
            "--machine-os",
            "9.0.20250601-0",
            "--to",
            &r.at("okd/scos-content:stream-coreos-custom"),
        ])
        .ok();
    let new_digest = layered.split_whitespace().next().unwrap().to_string();
    let new_os = format!("{}/okd/scos-content@{new_digest}", r.host);

    // Without a tag, the release is tagged with its name, as `oc` does.
    let to = r.at("okd/scos-release:4.19.0-okd-scos.2");
    let out = r
        .okd(&[
            "release",
            "new",
            "--from-release",
            &r.release_ref(),
            "--name",
            "4.19.0-okd-scos.2",
            "--previous",
            &p.version,
            "--include-all",
            &format!("stream-coreos={new_os}"),
            "--to-image",
            &r.at("okd/scos-release"),
        ])
        .ok();
    let summary: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(summary.len(), 3, "{out}");
    assert!(summary[0].starts_with("sha256:"), "{out}");
    assert_eq!(summary[1], "4.19.0-okd-scos.2");

    let built = Release::load(
        &r.store,
        "okd/scos-release",
        &ManifestRef::Tag("4.19.0-okd-scos.2".into()),
    )
    .await
    .unwrap();
    assert_eq!(built.digest.to_string(), summary[0]);
    assert_eq!(built.name, "4.19.0-okd-scos.2");
    assert_eq!(
        built.metadata.as_ref().unwrap().previous(),
        [p.version.as_str()]
    );
    assert_eq!(built.components["stream-coreos"].pullspec, new_os);
    // The override's annotations come from the new image's labels.
    assert_eq!(
        built
            .references
            .tag("stream-coreos")
            .unwrap()
            .annotation("io.openshift.build.versions"),
        Some("machine-os=9.0.20250601-0")
    );

    // Every other tag is exactly as it was.
    let before = ImageReferences::parse(
        p.release_file("image-references")
            .unwrap()
            .content
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(built.references.tags().len(), before.tags().len());
    for tag in before.tags() {
        let after = built.references.tag(&tag.name).unwrap();
        if tag.name == "stream-coreos" {
            assert_eq!(after.pullspec(), Some(new_os.as_str()));
            assert_eq!(
                after.annotation("io.openshift.release.override"),
                Some("true")
            );
        } else {
            assert_eq!(
                serde_json::to_value(after).unwrap(),
                serde_json::to_value(tag).unwrap(),
                "{}",
                tag.name
            );
        }
    }

    // The manifests name the new OS image wherever they named the old one.
    let dir = tempfile::tempdir().unwrap();
    r.okd(&[
        "release",
        "extract",
        &to,
        "--to",
        &dir.path().display().to_string(),
    ])
    .ok();
    let mut mentions_new = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&old_os.pullspec),
            "{} still names the old OS image",
            path.display()
        );
        if text.contains(&new_os) {
            mentions_new.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    // image-references itself, and the machine-config-operator's osimageurl ConfigMap.
    assert!(
        mentions_new.iter().any(|n| n.ends_with("osimageurl.yaml")),
        "{mentions_new:?}"
    );
    assert!(mentions_new.contains(&"image-references".to_string()));
}

#[tokio::test]
async fn new_without_include_all_prunes_like_oc_and_reads_components_from_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, store, p) = layout_payload(dir.path(), PayloadSpec::new().components(60)).await;
    let from = format!("oci:{}:okd/scos-release:{}", layout.display(), p.version);
    let to = format!("oci:{}:okd/scos-release:rebuilt", layout.display());
    let out = okd([
        "release",
        "new",
        "--from-release",
        &from,
        "--name",
        "4.19.0-okd-scos.3",
        "--components-from",
        &format!("oci:{}", layout.display()),
        "--to-image",
        &to,
    ])
    .ok();
    assert!(out.contains(" 4.19.0-okd-scos.3 "), "{out}");
    let built = Release::load(
        &store,
        "okd/scos-release",
        &ManifestRef::Tag("rebuilt".into()),
    )
    .await
    .unwrap();
    let needed: BTreeSet<&str> = p
        .operators()
        .flat_map(|c| {
            c.references
                .iter()
                .map(String::as_str)
                .chain([c.name.as_str()])
        })
        .chain(["cluster-version-operator"])
        .collect();
    let kept: BTreeSet<&str> = built.components.keys().map(String::as_str).collect();
    assert_eq!(kept, needed);
    for name in &kept {
        assert_eq!(
            built.components[*name].pullspec,
            p.component(name).unwrap().pullspec
        );
    }
}

#[tokio::test]
async fn diff_reports_exactly_the_generated_changes() {
    // In a layout: testkit removes components by deleting their tags, which docker-registry
    // refuses.
    let dir = tempfile::tempdir().unwrap();
    let (layout, store, p) = layout_payload(dir.path(), PayloadSpec::new()).await;
    let (next, changes) = p
        .next(
            &store,
            &NextSpec {
                rebuilt: 5,
                changed: 4,
                added: 3,
                removed: 2,
                version: "4.19.0-okd-scos.2".into(),
                seed: 7,
            },
        )
        .await
        .unwrap();
    let at = |v: &str| format!("oci:{}:okd/scos-release:{v}", layout.display());
    let (from, to) = (at(&p.version), at(&next.version));
    let doc = okd(["release", "diff", "-o", "json", &from, &to]).json();
    assert_eq!(names(&doc["changed"]), changes.changed);
    assert_eq!(names(&doc["rebuilt"]), changes.rebuilt);
    assert_eq!(names(&doc["added"]), changes.added);
    assert_eq!(names(&doc["removed"]), changes.removed);
    assert_eq!(doc["upgradeFrom"], true);
    assert_eq!(doc["identical"], false);

    let text = okd(["release", "diff", "--commits", &from, &to]).ok();
    assert!(text.contains("Upgrade From:"), "{text}");
    for name in changes.added.iter().chain(&changes.removed) {
        assert!(text.contains(name.as_str()), "{name} missing from {text}");
    }
    let same = okd(["release", "diff", &from, &from]).ok();
    assert_eq!(same, "Releases are identical\n");
}

#[tokio::test]
async fn extract_writes_the_release_manifests_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _store, p) = layout_payload(dir.path(), PayloadSpec::new().components(80)).await;
    let out = dir.path().join("out");
    // A file already there is replaced.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("release-metadata"), "stale").unwrap();
    okd([
        "release",
        "extract",
        &format!("oci:{}:okd/scos-release:{}", layout.display(), p.version),
        "--to",
        &out.display().to_string(),
    ])
    .ok();
    let mut found: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut expected: Vec<String> = p.release_files.iter().map(|f| f.name.clone()).collect();
    expected.sort();
    assert_eq!(found, expected);
    for f in &p.release_files {
        assert_eq!(
            std::fs::read(out.join(&f.name)).unwrap(),
            f.content.as_bytes(),
            "{}",
            f.name
        );
    }
}

#[tokio::test]
async fn bad_input_fails_with_one_clear_line_and_writes_nothing() {
    let r = registry_payload(PayloadSpec::new().components(20)).await;

    let e = okd(["release", "info", "docker://Not A/Ref"]).fails();
    assert!(e.contains("invalid image reference"), "{e}");
    assert!(e.contains("Not A/Ref"), "{e}");

    let e = okd([
        "release",
        "info",
        "oci:/nonexistent/okd-layout:okd/release:4.19",
    ])
    .fails();
    assert!(e.contains("/nonexistent/okd-layout"), "{e}");

    let e = r
        .okd(&["release", "info", &r.at("okd/scos-content:hyperkube")])
        .fails();
    assert!(e.contains("is not a release image"), "{e}");

    let e = r
        .okd(&["release", "info", &r.at("okd/scos-release:4.99.0")])
        .fails();
    assert!(e.contains("4.99.0"), "{e}");

    // A payload without cluster-version-operator has nothing to build the release image on.
    let hyperkube = &r.payload.component("hyperkube").unwrap().pullspec;
    let to = r.at("okd/scos-release:no-cvo");
    let e = r
        .okd(&[
            "release",
            "new",
            "--name",
            "4.19.0-okd-scos.9",
            &format!("hyperkube={hyperkube}"),
            "--to-image",
            &to,
        ])
        .fails();
    assert!(e.contains("cluster-version-operator"), "{e}");

    // A release whose image-references has no cluster-version-operator can be read, but not
    // rebuilt: its base image is not among its components.
    let no_cvo = r.at("okd/scos-release:without-cvo");
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &r.release_ref(),
        "--name",
        "4.19.0-okd-scos.8",
        "--exclude",
        "cluster-version-operator",
        "--to-image",
        &no_cvo,
    ])
    .ok();
    let info = r
        .okd(&["release", "info", "-o", "okd-json", &no_cvo])
        .json();
    assert!(
        info["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["name"] != "cluster-version-operator")
    );
    let e = new_from(&r, &no_cvo, &["--name", "4.19.0-okd-scos.9"], &to).fails();
    assert!(
        e.contains("unable to find an image within the release that matches the base image"),
        "{e}"
    );

    let e = new_from(&r, &r.release_ref(), &["--metadata", "{\"url\": "], &to).fails();
    assert!(e.contains("--metadata"), "{e}");

    let e = new_from(&r, &r.release_ref(), &["--name", "not-a-version"], &to).fails();
    assert!(e.contains("not-a-version"), "{e}");

    let e = new_from(&r, &r.release_ref(), &["stream-coreos"], &to).fails();
    assert!(e.contains("TAG=PULLSPEC"), "{e}");

    assert_eq!(
        r.store
            .manifest_digest("okd/scos-release", &ManifestRef::Tag("no-cvo".into()))
            .await
            .unwrap(),
        None,
        "a failed build pushes no manifest"
    );

    let never = tempfile::tempdir().unwrap().path().join("never");
    let e = r
        .okd(&[
            "release",
            "extract",
            &r.at("okd/scos-content:cli"),
            "--to",
            &never.display().to_string(),
        ])
        .fails();
    assert!(e.contains("not a release image"), "{e}");
    assert!(!never.exists());
}
