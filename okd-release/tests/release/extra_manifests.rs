//! Extra manifests (such as a verification ConfigMap) land in `release-manifests/`.

use okd_oci::ManifestRef;
use okd_release::{Error, Release};

use crate::build::{RELEASE, builder, fixture};

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-verification\n";

#[tokio::test]
async fn an_extra_manifest_is_part_of_the_payload() {
    let f = fixture().await;
    let built = builder(&f)
        .extra_manifest("0000_00_example_verification.yaml", CONFIG_MAP)
        .build(&f.components(), &*f.store, RELEASE, Some("signed"))
        .await
        .unwrap();
    let file = built
        .payload
        .files
        .iter()
        .find(|f| f.name == "0000_00_example_verification.yaml")
        .expect("the extra manifest is in the payload");
    assert_eq!(file.data, CONFIG_MAP.as_bytes());
    assert_eq!(file.mtime, built.payload.newest);
    // Read back from the written image, it is among the release's manifests.
    let release = Release::load(&*f.store, RELEASE, &ManifestRef::Tag("signed".into()))
        .await
        .unwrap();
    let names: Vec<&str> = release.manifests.iter().map(|m| m.name.as_str()).collect();
    assert!(
        names.contains(&"0000_00_example_verification.yaml"),
        "{names:?}"
    );
}

#[tokio::test]
async fn an_extra_manifest_may_not_replace_a_payload_file() {
    let f = fixture().await;
    for name in [
        "release-metadata",
        "0000_50_machine-config-operator_deployment.yaml",
        "../x",
        "",
    ] {
        let err = builder(&f)
            .extra_manifest(name, CONFIG_MAP)
            .assemble(&f.components())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Build { .. }), "{name}: {err:?}");
    }
}
