//! A source that serves damaged bytes: the copy fails with an error naming the blob, and nothing
//! that references the blob reaches the destination.

use crate::common;

use std::sync::Arc;

use common::*;
use okd_mirror::progress::NoProgress;
use okd_mirror::{Error, MirrorPlan, MirrorSpec, Naming, ReleaseMirror, ReleaseTarget, execute};
use okd_oci::{ManifestRef, MemoryStore, Store, StoreMap};
use testkit::tampering::Tampering;

#[tokio::test]
async fn corrupt_blob_fails_its_images_and_nothing_references_it() {
    let src = Arc::new(Tampering::new(MemoryStore::new(), 0));
    let payload = scos_payload(src.as_ref(), "quay.io", V, NAMES).await;
    // Corrupt the own layer of "installer".
    let installer = &payload.components[1].1;
    let bad = installer.references().unwrap()[2].digest.clone();
    src.tamper_with(bad.clone());
    let dst = arc(MemoryStore::new());
    let stores = StoreMap::offline();
    stores.alias("quay.io", src.clone());
    stores.alias("mirror.local:5000", dst.clone());
    let s = MirrorSpec {
        releases: vec![ReleaseMirror {
            source: payload.release.image.clone(),
            target: ReleaseTarget::parse("mirror.local:5000/okd/release", Naming::Release).unwrap(),
        }],
        ..MirrorSpec::default()
    };
    let loader = StaticReleases::with(payload.release.clone());
    let p = MirrorPlan::build(&s, &stores, &loader, &fast_options(), &NoProgress)
        .await
        .unwrap();
    let report = execute(&p, &fast_options(), Arc::new(NoProgress)).await;

    let err = report.check().unwrap_err().to_string();
    assert!(
        err.contains(&bad.to_string()),
        "the error names the blob: {err}"
    );
    let failed: Vec<&str> = report.failures().map(|i| i.name.as_str()).collect();
    assert_eq!(failed, ["installer", "release"]);
    let failure = report
        .images
        .iter()
        .find(|i| i.name == "installer")
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(failure.to_string().contains("digest mismatch"), "{failure}");
    // The failure keeps its causes, typed: the image, then the blob, then the store's error.
    let Error::ImageIncomplete { source, .. } = failure.error() else {
        panic!("not an incomplete image: {failure}");
    };
    let Error::Blob { blob, source } = source.as_ref() else {
        panic!("not a blob failure: {source}");
    };
    assert_eq!(blob.digest, bad);
    assert_eq!(blob.destination(), "mirror.local:5000/okd/release");
    assert!(
        matches!(source.as_ref(), okd_oci::Error::DigestMismatch { .. }),
        "{source:?}"
    );
    let chain = std::iter::successors(Some(&failure as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    });
    assert!(
        chain
            .filter_map(|e| e.downcast_ref::<Arc<okd_oci::Error>>())
            .any(|e| matches!(e.as_ref(), okd_oci::Error::DigestMismatch { .. })),
        "the store's error is in the cause chain"
    );
    // The release names its failed component.
    let release = report.images.iter().find(|i| i.name == "release").unwrap();
    let Some(Error::ImageIncomplete { source, .. }) = release.error.as_ref().map(|f| f.error())
    else {
        panic!("{:?}", release.error);
    };
    assert!(
        matches!(source.as_ref(), Error::ComponentFailed { component, .. } if component == "installer"),
        "{source}"
    );
    assert_eq!(report.totals.retries, 2, "retried, then gave up");
    // Nothing that references the blob is at the destination: no manifest, no tag.
    assert!(
        dst.manifest_digest(
            "okd/release",
            &ManifestRef::Digest(installer.digest().clone())
        )
        .await
        .unwrap()
        .is_none()
    );
    let tags = dst.list_tags("okd/release").await.unwrap();
    assert!(!tags.contains(&format!("{V}-x86_64-installer")));
    assert!(
        !tags.contains(&format!("{V}-x86_64")),
        "the release is not tagged with a component missing"
    );
    assert!(dst.blob_size("okd/release", &bad).await.unwrap().is_none());
    // The other components made it.
    assert!(tags.contains(&format!("{V}-x86_64-cli")));
}
