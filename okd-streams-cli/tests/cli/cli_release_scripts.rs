//! What scripts ported from `oc adm release` rely on: `info --image-for`, `-o name|digest|pullspec`,
//! and comma-separated `--exclude`/`--include`.

use crate::cli_common;

use cli_common::registry_payload;
use okd_oci::ManifestRef;
use okd_release::Release;
use testkit::payload::PayloadSpec;

#[tokio::test]
async fn info_prints_single_images_and_one_line_per_tag() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let p = &r.payload;
    let release = r.release_ref();
    let cli = p.component("cli").unwrap();
    let out = r
        .okd(&["release", "info", "--image-for", "cli", &release])
        .ok();
    assert_eq!(out, format!("{}\n", cli.pullspec));
    let err = r
        .okd(&["release", "info", "--image-for", "no-such-tag", &release])
        .fails();
    assert!(
        err.contains(&format!(
            "no image tag \"no-such-tag\" exists in the release image {release}"
        )),
        "{err}"
    );

    let lines = |format: &str| -> Vec<String> {
        r.okd(&["release", "info", "-o", format, &release])
            .ok()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let built = Release::load(
        &r.store,
        "okd/scos-release",
        &ManifestRef::Tag(p.version.clone()),
    )
    .await
    .unwrap();
    let tags = built.references.tags();
    assert_eq!(
        lines("name"),
        tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        lines("pullspec"),
        tags.iter()
            .map(|t| t.pullspec().unwrap().to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        lines("digest"),
        tags.iter()
            .map(|t| p.component(&t.name).unwrap().digest.to_string())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn exclude_and_include_split_on_commas() {
    let r = registry_payload(PayloadSpec::new().components(40)).await;
    let p = &r.payload;
    let from = r.release_ref();
    // Two operators left out with one flag, as `oc` reads `--exclude a,b`.
    let ops: Vec<&str> = p.operator_names().into_iter().take(2).collect();
    let both = ops.join(",");
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &from,
        "--name",
        "4.19.0-okd-scos.7",
        "--exclude",
        &both,
        "--to-image",
        &r.at("okd/scripts-release"),
    ])
    .ok();
    let built = Release::load(
        &r.store,
        "okd/scripts-release",
        &ManifestRef::Tag("4.19.0-okd-scos.7".into()),
    )
    .await
    .unwrap();
    for op in &ops {
        assert!(built.references.tag(op).is_none(), "{op} was not excluded");
    }
    assert!(!built.references.tags().is_empty());

    // Tags no operator needs are pruned unless included; `--include a,b` keeps both.
    let plain = Release::load(
        &r.store,
        "okd/scos-release",
        &ManifestRef::Tag(p.version.clone()),
    )
    .await
    .unwrap();
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &from,
        "--name",
        "4.19.0-okd-scos.8",
        "--to-image",
        &r.at("okd/scripts-release"),
    ])
    .ok();
    let pruned_build = Release::load(
        &r.store,
        "okd/scripts-release",
        &ManifestRef::Tag("4.19.0-okd-scos.8".into()),
    )
    .await
    .unwrap();
    let pruned: Vec<String> = plain
        .references
        .tags()
        .iter()
        .map(|t| t.name.clone())
        .filter(|n| pruned_build.references.tag(n).is_none())
        .take(2)
        .collect();
    assert_eq!(
        pruned.len(),
        2,
        "the payload has fewer than two prunable tags"
    );
    r.okd(&[
        "release",
        "new",
        "--from-release",
        &from,
        "--name",
        "4.19.0-okd-scos.9",
        "--include",
        &pruned.join(","),
        "--to-image",
        &r.at("okd/scripts-release"),
    ])
    .ok();
    let kept = Release::load(
        &r.store,
        "okd/scripts-release",
        &ManifestRef::Tag("4.19.0-okd-scos.9".into()),
    )
    .await
    .unwrap();
    for tag in &pruned {
        assert!(kept.references.tag(tag).is_some(), "{tag} was not kept");
    }
}
