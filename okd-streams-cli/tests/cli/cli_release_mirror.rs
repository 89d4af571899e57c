//! `release new --mirror REPO`: the content mirror `oc adm release new --mirror` writes, checked
//! with skopeo against docker-registry.

use crate::cli_common;

use std::collections::BTreeMap;

use cli_common::{RegistryPayload, registry_payload, tool};
use okd_oci::{ManifestRef, Store};
use okd_release::Release;
use testkit::payload::PayloadSpec;

const NAME: &str = "4.19.0-okd-scos.2";

/// Every file `release extract` writes, by name.
fn extracted(r: &RegistryPayload, image: &str) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    r.okd(&[
        "release",
        "extract",
        image,
        "--to",
        &dir.path().display().to_string(),
    ])
    .ok();
    std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let text = std::fs::read_to_string(e.path()).unwrap();
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect()
}

/// `skopeo inspect --format {{.Digest}}` of every image, eight at a time.
fn skopeo_digests(images: &[String]) -> Vec<String> {
    let mut out = vec![String::new(); images.len()];
    std::thread::scope(|s| {
        for (chunk, slots) in images.chunks(24).zip(out.chunks_mut(24)) {
            s.spawn(move || {
                for (image, slot) in chunk.iter().zip(slots.iter_mut()) {
                    *slot = tool(
                        "skopeo",
                        &[
                            "inspect",
                            "--tls-verify=false",
                            "--format",
                            "{{.Digest}}",
                            &format!("docker://{image}"),
                        ],
                    )
                    .trim()
                    .to_string();
                }
            });
        }
    });
    out
}

#[tokio::test]
async fn new_with_a_mirror_copies_every_component_and_names_the_mirror_everywhere() {
    let r = registry_payload(PayloadSpec::new()).await;
    let p = &r.payload;
    let mirror = r.at("okd/mirror-content");
    let upstream_content = r.at("okd/scos-content");
    let out = r
        .okd(&[
            "release",
            "new",
            "--from-release",
            &r.release_ref(),
            "--name",
            NAME,
            "--mirror",
            &mirror,
            "--to-image",
            &r.at("okd/mirror-release"),
        ])
        .ok();
    let digest = out.split_whitespace().next().unwrap().to_string();

    let built = Release::load(
        &r.store,
        "okd/mirror-release",
        &ManifestRef::Tag(NAME.into()),
    )
    .await
    .unwrap();
    assert_eq!(built.digest.to_string(), digest);
    // Every image-references entry names the mirror, by the component's own digest (tags no
    // operator refers to are pruned, as without a mirror).
    assert!(!built.references.tags().is_empty());
    for tag in built.references.tags() {
        let c = p.component(&tag.name).unwrap();
        assert_eq!(
            tag.pullspec(),
            Some(format!("{mirror}@{}", c.digest).as_str()),
            "{}",
            c.name
        );
    }

    // Every substituted pullspec in the manifests names the mirror, none the upstream content.
    let before = extracted(&r, &r.release_ref());
    let after = extracted(&r, &r.at(&format!("okd/mirror-release:{NAME}")));
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    let mut substituted = 0;
    for (name, text) in &after {
        if name == "image-references" || name == "release-metadata" {
            continue;
        }
        assert!(
            !text.contains(&upstream_content),
            "{name} still names {upstream_content}:\n{text}"
        );
        let was = before[name]
            .matches(&format!("{upstream_content}@"))
            .count();
        assert_eq!(
            text.matches(&format!("{mirror}@")).count(),
            was,
            "{name}:\n{text}"
        );
        substituted += was;
    }
    assert!(substituted > 0, "the payload's manifests name no component");

    // skopeo finds every mirrored tag, at the component's digest: as `oc` does, every
    // component of the input is mirrored, pruned or not.
    let images: Vec<String> = p
        .components
        .iter()
        .map(|c| format!("{mirror}:{NAME}-{}", c.name))
        .collect();
    let found = skopeo_digests(&images);
    for (c, got) in p.components.iter().zip(&found) {
        assert_eq!(got, &c.digest.to_string(), "{}", c.name);
    }
}

#[tokio::test]
async fn new_with_a_mirror_refuses_tag_references_and_tagged_mirrors() {
    let r = registry_payload(PayloadSpec::new()).await;
    let mirror = r.at("okd/mirror-content");
    let by_tag = r.at("okd/scos-content:stream-coreos");
    let run = r.okd(&[
        "release",
        "new",
        "--from-release",
        &r.release_ref(),
        "--name",
        NAME,
        "--mirror",
        &mirror,
        &format!("stream-coreos={by_tag}"),
        "--to-image",
        &r.at("okd/mirror-release"),
    ]);
    let err = run.fails();
    assert!(
        err.contains(&format!(
            "tag \"stream-coreos\" points to \"{by_tag}\" by tag, not by digest"
        )),
        "{err}"
    );
    // Nothing was copied or written.
    assert!(
        r.store
            .list_tags("okd/mirror-content")
            .await
            .unwrap_or_default()
            .is_empty()
    );
    assert!(
        r.store
            .list_tags("okd/mirror-release")
            .await
            .unwrap_or_default()
            .is_empty()
    );

    let err = r
        .okd(&[
            "release",
            "new",
            "--from-release",
            &r.release_ref(),
            "--mirror",
            &format!("{mirror}:latest"),
            "--to-image",
            &r.at("okd/mirror-release"),
        ])
        .fails();
    assert!(err.contains("may not contain a tag or digest"), "{err}");
}
