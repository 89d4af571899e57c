//! Multi-architecture releases in a MemoryStore: `ReleaseBuilder::keep_manifest_list` on a
//! testkit payload whose release and `cluster-version-operator` are amd64 + arm64 lists.

use std::sync::Arc;

use okd_oci::{ManifestRef, ManifestView, MemoryStore, Store, StoreMap, media_type};
use okd_release::{Error, LoadOptions, PlatformFilter, Release, ReleaseBuilder};
use testkit::payload::{MultiArchPayload, PayloadSpec, generate_multi_arch};

const NAME: &str = "4.19.0-okd-scos.2";

async fn multi() -> (Arc<MemoryStore>, MultiArchPayload) {
    let store = Arc::new(MemoryStore::new());
    let spec = PayloadSpec::new().components(16).layer_size(512);
    let multi = generate_multi_arch(store.as_ref(), &spec).await.unwrap();
    (store, multi)
}

async fn load(store: &MemoryStore, repo: &str, tag: &str, platform: PlatformFilter) -> Release {
    let options = LoadOptions {
        platform,
        ..LoadOptions::default()
    };
    Release::load_with(store, repo, &ManifestRef::Tag(tag.into()), &options)
        .await
        .unwrap()
}

#[tokio::test]
async fn keep_manifest_list_writes_a_list_of_children_with_one_release_layer() {
    let (store, multi) = multi().await;
    let repo = &multi.payload.release.repo;
    let from = load(
        &store,
        repo,
        &multi.payload.version,
        PlatformFilter::Default,
    )
    .await;
    assert_eq!(from.list_digest.as_ref(), Some(&multi.list_digest));
    let components = StoreMap::offline().with_fallback(store.clone());
    let built = ReleaseBuilder::from_release(from)
        .name(NAME)
        .keep_manifest_list(true)
        .build(&components, store.as_ref(), "okd/multi", None)
        .await
        .unwrap();
    assert_eq!(
        built.manifest.media_type(),
        media_type::DOCKER_MANIFEST_LIST
    );
    let top = store
        .read_manifest("okd/multi", &ManifestRef::Tag(NAME.into()))
        .await
        .unwrap();
    assert_eq!(top.digest(), &built.digest);
    let platforms: Vec<String> = built
        .children
        .iter()
        .map(|c| c.platform.to_string())
        .collect();
    assert_eq!(platforms, multi.platforms);
    // Written as distribution writes lists (three-space indent, descriptor field order); each
    // entry keeps the base entry's platform, only its media type, digest and size change.
    let text = std::str::from_utf8(built.manifest.bytes()).unwrap();
    let head = format!(
        "{{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"{}\",\n   \"manifests\": [\n      {{\n         \"mediaType\": \"{}\",\n         \"digest\": \"{}\",\n         \"size\": {},\n         \"platform\": {{\n",
        media_type::DOCKER_MANIFEST_LIST,
        media_type::DOCKER_MANIFEST,
        built.children[0].digest,
        built.children[0].size
    );
    assert!(text.starts_with(&head), "{text}");
    let base_list = store
        .read_manifest(
            &multi.payload.content_repo,
            &ManifestRef::Tag("cluster-version-operator".into()),
        )
        .await
        .unwrap();
    let platforms_of = |bytes: &[u8]| -> Vec<serde_json::Value> {
        let doc: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        doc["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["platform"].clone())
            .collect()
    };
    assert_eq!(
        platforms_of(built.manifest.bytes()),
        platforms_of(base_list.bytes())
    );

    let cvo = multi.payload.component("cluster-version-operator").unwrap();
    for (child, base) in built.children.iter().zip(&cvo.platforms) {
        let m = store
            .read_manifest("okd/multi", &ManifestRef::Digest(child.digest.clone()))
            .await
            .unwrap();
        let ManifestView::Image(view) = m.view().unwrap() else {
            panic!("{} is not an image", child.digest);
        };
        let layers: Vec<String> = view
            .layers()
            .iter()
            .map(|l| l.digest().to_string())
            .collect();
        assert_eq!(layers.last().unwrap(), &built.layer_digest.to_string());
        let base_layers: Vec<String> = base.layers.iter().map(|l| l.digest.to_string()).collect();
        assert_eq!(&layers[..layers.len() - 1], base_layers.as_slice());
    }

    // Each child loads as a release of its own architecture, with the same payload.
    let arm = load(
        &store,
        "okd/multi",
        NAME,
        PlatformFilter::from_arg("linux/arm64").unwrap(),
    )
    .await;
    let amd = load(&store, "okd/multi", NAME, PlatformFilter::Default).await;
    assert_eq!(arm.platform(), "multi (linux/arm64)");
    assert_eq!(amd.platform(), "multi (linux/amd64)");
    assert_eq!(arm.layer_digest, amd.layer_digest);
    assert_eq!(arm.components, amd.components);
    assert_eq!(arm.list_children, amd.list_children);
    assert!(
        arm.describe(okd_release::ImageColumns::Digest)
            .contains(&format!(
                "linux/arm64/v8 {} (shown)",
                built.children[1].digest
            ))
    );

    // Rebuilding the new list unchanged reproduces it.
    let again = ReleaseBuilder::from_release(amd)
        .keep_manifest_list(true)
        .verify_reproduction(true)
        .build(&components, store.as_ref(), "okd/multi-again", None)
        .await
        .unwrap();
    assert_eq!(again.digest, built.digest);
}

#[tokio::test]
async fn without_keep_manifest_list_one_image_of_the_platform_is_built() {
    let (store, multi) = multi().await;
    let repo = &multi.payload.release.repo;
    let arm64 = PlatformFilter::from_arg("linux/arm64").unwrap();
    let from = load(&store, repo, &multi.payload.version, arm64.clone()).await;
    let components = StoreMap::offline().with_fallback(store.clone());
    let built = ReleaseBuilder::from_release(from)
        .name(NAME)
        .platform(arm64)
        .build(&components, store.as_ref(), "okd/arm", None)
        .await
        .unwrap();
    assert!(built.children.is_empty());
    assert_eq!(built.manifest.media_type(), media_type::DOCKER_MANIFEST);
    let r = load(&store, "okd/arm", NAME, PlatformFilter::Default).await;
    assert_eq!(r.platform(), "linux/arm64");
    let cvo = multi.payload.component("cluster-version-operator").unwrap();
    assert_eq!(
        r.config
            .label(okd_release::annotations::RELEASE_BASE_IMAGE_DIGEST),
        Some(cvo.platforms[1].digest.to_string().as_str())
    );

    let s390x = PlatformFilter::from_arg("linux/s390x").unwrap();
    let err = Release::load_with(
        store.as_ref(),
        repo,
        &ManifestRef::Tag(multi.payload.version.clone()),
        &LoadOptions {
            platform: s390x,
            ..LoadOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::PlatformNotFound { available, .. } if available == &multi.platforms),
        "{err}"
    );
}

#[tokio::test]
async fn keep_architectures_cuts_the_list_and_refuses_a_missing_one_before_writing() {
    let (store, multi) = multi().await;
    let repo = &multi.payload.release.repo;
    let from = load(
        &store,
        repo,
        &multi.payload.version,
        PlatformFilter::Default,
    )
    .await;
    let components = StoreMap::offline().with_fallback(store.clone());
    let built = ReleaseBuilder::from_release(from.clone())
        .name(NAME)
        .keep_manifest_list(true)
        .keep_architectures(["arm64"])
        .build(&components, store.as_ref(), "okd/arm-only", None)
        .await
        .unwrap();
    let platforms: Vec<String> = built
        .children
        .iter()
        .map(|c| c.platform.to_string())
        .collect();
    assert_eq!(platforms, ["linux/arm64/v8"]);
    let top = store
        .read_manifest("okd/arm-only", &ManifestRef::Tag(NAME.into()))
        .await
        .unwrap();
    let ManifestView::Index(list) = top.view().unwrap() else {
        panic!("not a list");
    };
    assert_eq!(list.manifests().len(), 1);

    let err = ReleaseBuilder::from_release(from)
        .name(NAME)
        .keep_manifest_list(true)
        .keep_architectures(["amd64", "s390x"])
        .build(&components, store.as_ref(), "okd/s390x", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::PlatformNotFound { wanted, .. } if wanted == "linux/s390x"),
        "{err}"
    );
    assert!(
        store
            .list_tags("okd/s390x")
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
