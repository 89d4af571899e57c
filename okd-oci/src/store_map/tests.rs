use std::sync::Arc;

use super::*;
use crate::MemoryStore;
use crate::registry::RegistryOptions;

fn image(s: &str) -> ImageRef {
    s.parse().unwrap()
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

#[tokio::test]
async fn layout_spellings_are_one_store() {
    // Inside the working directory, so that a relative spelling exists too.
    let dir = tempfile::tempdir_in(".").unwrap();
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let abs = std::env::current_dir().unwrap().join(&name);
    let map = StoreMap::offline();
    let first = map
        .store(&image(&format!("oci:{name}:a:1")), Access::Write)
        .await
        .unwrap();
    for spelling in [
        format!("oci:./{name}:b:2"),
        format!("oci:{}:c:3", abs.display()),
        format!("oci:{}/./x/..:d:4", abs.display()),
        format!("oci:{name}/"),
    ] {
        let other = map.store(&image(&spelling), Access::Read).await.unwrap();
        assert!(Arc::ptr_eq(&first, &other), "{spelling}");
    }
    assert_eq!(first.location(), format!("oci:{}", abs.display()));
}

#[tokio::test]
async fn a_registry_host_is_one_store_with_or_without_transport() {
    let map = StoreMap::new(RegistryOptions::default());
    let a = map
        .store(&image("host:5000/okd/a:1"), Access::Read)
        .await
        .unwrap();
    let b = map
        .store(&image("docker://host:5000/okd/b@sha256:0000000000000000000000000000000000000000000000000000000000000000"), Access::Write)
        .await
        .unwrap();
    let at = map
        .store_at(&"docker://host:5000".parse().unwrap(), Access::Read)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&a, &b) && Arc::ptr_eq(&a, &at));
    let other_port = map
        .store(&image("host:5001/okd/a:1"), Access::Read)
        .await
        .unwrap();
    assert!(!Arc::ptr_eq(&a, &other_port));
    // A clone shares the registry stores.
    let c = map
        .clone()
        .store(&image("host:5000/x:1"), Access::Read)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&a, &c));
}

#[tokio::test]
async fn alias_wins_over_fallback_which_wins_over_the_registry() {
    let (own, fallback) = (memory(), memory());
    let base = StoreMap::new(RegistryOptions::default());
    let registry = base
        .store(&image("other.example/okd/x:1"), Access::Read)
        .await
        .unwrap();
    let map = base.clone().with_fallback(fallback.clone());
    map.alias("quay.io", own.clone());

    let got = map
        .store(&image("quay.io/okd/x:1"), Access::Read)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&got, &own), "the host's own store wins");
    let got = map
        .store(&image("other.example/okd/x:1"), Access::Read)
        .await
        .unwrap();
    assert!(
        Arc::ptr_eq(&got, &fallback),
        "the fallback wins over a registry opened before"
    );
    let got = map
        .store(&image("other.example/okd/x:1"), Access::Write)
        .await
        .unwrap();
    assert!(
        Arc::ptr_eq(&got, &registry),
        "writes never go to the fallback"
    );
    // The handle without the fallback reads the registry, and sees the alias.
    let got = base
        .store(&image("other.example/okd/x:1"), Access::Read)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&got, &registry));
    assert!(map.covers("anything") && base.covers("quay.io") && !base.covers("other.example"));
    let aliases = base.aliases();
    assert_eq!(aliases.len(), 1);
    assert_eq!(aliases[0].0, "quay.io");
    assert!(Arc::ptr_eq(&aliases[0].1, &own));
}

#[tokio::test]
async fn a_layout_read_must_exist_and_a_write_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new");
    let map = StoreMap::offline();
    let err = map
        .store(&image(&format!("oci:{}:x:1", path.display())), Access::Read)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(!path.exists());
    map.store(
        &image(&format!("oci:{}:x:1", path.display())),
        Access::Write,
    )
    .await
    .unwrap();
    assert!(path.join("oci-layout").exists());
    // The fallback never serves a layout reference.
    let map = map.with_fallback(memory());
    let other = dir.path().join("other");
    assert!(
        map.store(
            &image(&format!("oci:{}:x:1", other.display())),
            Access::Read
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn an_inserted_layout_store_serves_its_path() {
    let store = memory();
    let map = StoreMap::offline();
    map.insert(StoreKey::layout("/srv/okd/../mirror"), store.clone());
    let got = map
        .store(&image("oci:/srv/mirror:okd/release:1"), Access::Read)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&got, &store));
}

#[tokio::test]
async fn nothing_to_serve_names_the_reference() {
    let map = StoreMap::offline();
    map.alias("quay.io", memory());
    let err = map
        .resolve(
            &image("docker://registry.example:5000/okd/x:1"),
            Access::Read,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoStore { .. }), "{err:?}");
    assert!(
        err.to_string().contains("registry.example:5000/okd/x:1"),
        "{err}"
    );
    let err = map
        .store_at(&"registry.example".parse().unwrap(), Access::Read)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("registry.example"), "{err}");
}

#[tokio::test]
async fn resolved_names_repository_and_manifest() {
    let map = StoreMap::offline().with_fallback(memory());
    let r = map
        .resolve(&image("quay.io/okd/release:4.19"), Access::Read)
        .await
        .unwrap();
    assert_eq!(r.repository, "okd/release");
    assert_eq!(r.manifest_ref().unwrap(), ManifestRef::Tag("4.19".into()));
    let r = map
        .resolve(&image("oci:/nonexistent-layout"), Access::Read)
        .await;
    assert!(r.is_err());
}
