//! A release generated into an OCI layout loads through the layout-only API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use okd_oci::{ImageRef, LayoutStore};
use testkit::payload::{PayloadSpec, generate};

#[tokio::test]
async fn loads_a_release_from_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("oci");
    let spec = PayloadSpec::new().components(6).operators(2);
    let payload = {
        let store = LayoutStore::create(&layout).await.expect("new layout");
        generate(&store, &spec).await.expect("payload")
    };

    let image: ImageRef = format!(
        "oci:{}:{}:{}",
        layout.display(),
        payload.release.repo,
        payload.release.tag
    )
    .parse()
    .unwrap();
    let release = okd_layout_consumer::load_release(&image)
        .await
        .expect("release loads");

    assert_eq!(release.name, payload.release.tag);
    assert_eq!(release.digest, payload.release.digest);
    let components: Vec<&str> = release.components.keys().map(String::as_str).collect();
    assert_eq!(components, payload.component_names());
}

#[tokio::test]
async fn a_missing_layout_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let image: ImageRef = format!("oci:{}:okd/scos-release:4.19.0", missing.display())
        .parse()
        .unwrap();
    let err = okd_layout_consumer::load_release(&image)
        .await
        .expect_err("no layout there");
    assert!(err.to_string().contains("absent"), "{err}");
}
