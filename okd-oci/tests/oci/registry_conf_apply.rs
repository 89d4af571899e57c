//! registries.conf applied to a live `docker-registry`: blocked prefixes refuse pulls and
//! pushes, an insecure location is reached over plain HTTP without `--insecure-registry`,
//! pulls go to mirrors first, and a `location` that rewrites its prefix takes the pulls.
#![cfg(feature = "registry")] // Needs the registry client.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::PathBuf;

use okd_oci::registry::{RegistriesConf, RegistryOptions, RegistryStore};
use okd_oci::{Error, ManifestRef, Store, StoreExt};
use testkit::Registry;

use crate::registry_support::{Flavor, base_options, image, push};

/// Writes `text` as `registries.conf` in the registry's directory and reads it back.
fn conf(registry: &Registry, text: &str) -> (RegistriesConf, PathBuf) {
    let path = registry.dir().join("registries.conf");
    std::fs::write(&path, text).unwrap();
    (RegistriesConf::load(Some(&path)).unwrap(), path)
}

fn no_machine_credentials(registry: &Registry) -> RegistryOptions {
    base_options()
        .auth_file(testkit::stores::empty_auth_file(registry.dir()))
        .certs_d_roots(Vec::new())
}

#[tokio::test]
async fn insecure_in_registries_conf_reaches_a_plain_http_registry() {
    let registry = Registry::spawn().await.expect("docker-registry");
    let host = registry.host();

    // Without it, TLS is required, and a plain-HTTP registry is not reached.
    let store = RegistryStore::new(&host, no_machine_credentials(&registry)).unwrap();
    store
        .list_tags("okd/x")
        .await
        .expect_err("plain HTTP without insecure");

    let (conf, _) = conf(
        &registry,
        &format!("[[registry]]\nlocation = \"{host}\"\ninsecure = true\n"),
    );
    let options = no_machine_credentials(&registry).registries_conf(conf);
    assert!(options.is_insecure(&host));
    let store = RegistryStore::new(&host, options).unwrap();
    let img = image(Flavor::Docker, 81, 1);
    push(&store, "okd/plain", &img, Some("v1")).await;
    assert_eq!(store.list_tags("okd/plain").await.unwrap(), vec!["v1"]);
}

#[tokio::test]
async fn a_blocked_prefix_refuses_pulls_and_pushes() {
    let registry = Registry::spawn().await.expect("docker-registry");
    let host = registry.host();
    let (conf, path) = conf(
        &registry,
        &format!(
            "[[registry]]\nlocation = \"{host}\"\ninsecure = true\n\n\
             [[registry]]\nprefix = \"{host}/blocked\"\nlocation = \"{host}/blocked\"\n\
             insecure = true\nblocked = true\n"
        ),
    );
    let store = RegistryStore::new(
        &host,
        no_machine_credentials(&registry).registries_conf(conf),
    )
    .unwrap();
    let img = image(Flavor::Oci, 82, 1);
    // Outside the prefix (and in a repository whose name only starts like it): allowed.
    push(&store, "okd/open", &img, Some("v1")).await;
    push(&store, "blockedx/open", &img, Some("v1")).await;

    let blocked = |err: &Error, reference: &str| {
        assert!(matches!(err, Error::Blocked { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(reference) && text.contains(&path.display().to_string()),
            "{text}"
        );
    };
    let (config_digest, config) = &img.blobs[0];
    let err = store
        .put_blob("blocked/app", config_digest, config.clone())
        .await
        .expect_err("push of a blob");
    blocked(&err, &format!("{host}/blocked/app@{config_digest}"));
    let err = store
        .write_manifest("blocked/app", &img.manifest, Some("v1"))
        .await
        .expect_err("push of a manifest");
    blocked(&err, &format!("{host}/blocked/app:v1"));
    let err = store
        .read_manifest("blocked/app", &ManifestRef::Tag("v1".into()))
        .await
        .expect_err("pull by tag");
    blocked(&err, &format!("{host}/blocked/app:v1"));
    let err = store
        .read_blob("blocked/app", config_digest)
        .await
        .expect_err("pull of a blob");
    blocked(&err, &format!("{host}/blocked/app@{config_digest}"));
    // A mount out of a blocked repository is a pull from it.
    let err = store
        .mount_blob("okd/other", "blocked/app", config_digest)
        .await
        .expect_err("mount from a blocked repository");
    blocked(&err, &format!("{host}/blocked/app@{config_digest}"));
    // Nothing reached the registry: a store without the configuration finds no such image.
    let unconfigured = testkit::stores::plain_store(&registry);
    let err = unconfigured
        .read_manifest("blocked/app", &ManifestRef::Tag("v1".into()))
        .await
        .expect_err("never pushed");
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(store.list_tags("okd/open").await.unwrap(), vec!["v1"]);
}

#[tokio::test]
async fn pulls_go_to_mirrors_first_by_the_pull_from_mirror_rules() {
    let primary = Registry::spawn().await.expect("docker-registry");
    let mirror = Registry::spawn().await.expect("docker-registry");
    let (p, m) = (primary.host(), mirror.host());
    // The image is only on the mirror, under the mirror's own namespace.
    let img = image(Flavor::Oci, 83, 2);
    let on_mirror = testkit::stores::plain_store(&mirror);
    push(&on_mirror, "copies/okd/app", &img, Some("v1")).await;
    let digest = img.manifest.digest().clone();
    let (layer_digest, layer) = &img.blobs[1];

    let options = |pull_from_mirror: &str| {
        let (conf, _) = conf(
            &primary,
            &format!(
                "[[registry]]\nprefix = \"{p}/okd\"\nlocation = \"{p}/okd\"\ninsecure = true\n\
                 [[registry.mirror]]\nlocation = \"{m}/copies/okd\"\ninsecure = true\n\
                 {pull_from_mirror}\n"
            ),
        );
        no_machine_credentials(&primary).registries_conf(conf)
    };

    // Default (`all`): by digest and by tag from the mirror; blobs too.
    let store = RegistryStore::new(&p, options("")).unwrap();
    let by_digest = store
        .read_manifest("okd/app", &ManifestRef::Digest(digest.clone()))
        .await
        .expect("by digest through the mirror");
    assert_eq!(by_digest, img.manifest);
    let by_tag = store
        .read_manifest("okd/app", &ManifestRef::Tag("v1".into()))
        .await
        .expect("by tag through the mirror");
    assert_eq!(by_tag, img.manifest);
    let blob = store
        .get_blob("okd/app", layer_digest, 1 << 20)
        .await
        .unwrap();
    assert_eq!(&blob, layer);
    // Existence checks and writes are this registry's own: it has nothing.
    assert_eq!(
        store.blob_size("okd/app", layer_digest).await.unwrap(),
        None
    );
    // Outside the prefix, no mirror.
    let err = store
        .read_manifest("other/app", &ManifestRef::Tag("v1".into()))
        .await
        .expect_err("not mirrored");
    assert!(err.is_not_found(), "{err:?}");

    // digest-only: a pull by tag goes to the primary, which lacks it.
    let store = RegistryStore::new(&p, options("pull-from-mirror = \"digest-only\"")).unwrap();
    let err = store
        .read_manifest("okd/app", &ManifestRef::Tag("v1".into()))
        .await
        .expect_err("tags are not pulled from a digest-only mirror");
    assert!(err.is_not_found(), "{err:?}");
    store
        .read_manifest("okd/app", &ManifestRef::Digest(digest))
        .await
        .expect("by digest through the digest-only mirror");

    // Once the primary has the image, a mirror that lacks a tag falls through to it.
    let on_primary = testkit::stores::plain_store(&primary);
    push(&on_primary, "okd/app", &img, Some("v2")).await;
    let store = RegistryStore::new(&p, options("")).unwrap();
    let v2 = store
        .read_manifest("okd/app", &ManifestRef::Tag("v2".into()))
        .await
        .expect("from the primary when the mirror lacks the tag");
    assert_eq!(v2, img.manifest);
}

#[tokio::test]
async fn a_location_that_rewrites_the_prefix_takes_the_pulls_of_the_registry_named() {
    let named = Registry::spawn().await.expect("docker-registry");
    let location = Registry::spawn().await.expect("docker-registry");
    let (n, l) = (named.host(), location.host());
    let img = image(Flavor::Oci, 84, 2);
    push(
        &testkit::stores::plain_store(&location),
        "local/okd/app",
        &img,
        Some("v1"),
    )
    .await;
    // The registry the references name holds another image under the same tag: a pull that
    // reached it would read that one.
    let other = image(Flavor::Oci, 85, 1);
    push(
        &testkit::stores::plain_store(&named),
        "okd/app",
        &other,
        Some("v1"),
    )
    .await;

    let (conf, _) = conf(
        &named,
        &format!(
            "[[registry]]\nprefix = \"{n}/okd\"\nlocation = \"{l}/local/okd\"\ninsecure = true\n\
             [[registry]]\nlocation = \"{n}\"\ninsecure = true\n"
        ),
    );
    let store =
        RegistryStore::new(&n, no_machine_credentials(&named).registries_conf(conf)).unwrap();
    let tag = ManifestRef::Tag("v1".into());
    let by_tag = store
        .read_manifest("okd/app", &tag)
        .await
        .expect("by tag from the location");
    assert_eq!(by_tag, img.manifest);
    let (layer_digest, layer) = &img.blobs[1];
    let blob = store
        .get_blob("okd/app", layer_digest, 1 << 20)
        .await
        .unwrap();
    assert_eq!(&blob, layer);
    // Nothing falls back to the registry named: what only it has is not found.
    let (other_layer, _) = &other.blobs[1];
    let err = store
        .get_blob("okd/app", other_layer, 1 << 20)
        .await
        .expect_err("the named registry is not asked");
    assert!(err.is_not_found(), "{err:?}");
    // Existence checks and pushes go to the registry named, as with the containers tools.
    assert!(
        store
            .blob_size("okd/app", other_layer)
            .await
            .unwrap()
            .is_some()
    );
    push(&store, "elsewhere/app", &img, Some("v1")).await;
    let direct = testkit::stores::plain_store(&named);
    assert_eq!(
        direct.read_manifest("elsewhere/app", &tag).await.unwrap(),
        img.manifest
    );
}
