//! Credentials and TLS against a `docker-registry` with htpasswd authentication and a
//! certificate from its own CA.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use okd_oci::registry::{Credentials, RegistryOptions, RegistryStore};
use okd_oci::{Error, ManifestRef, Store};
use registry_support::{Flavor, auth_file, base_options, image, push};
use testkit::Registry;

const USER: &str = "okd-robot";
const PASSWORD: &str = "pw-7f3a9c-never-printed";

async fn secure_registry() -> Registry {
    registry_support::secure_registry(USER, PASSWORD).await
}

/// Nothing a store says about itself or its failures may contain the password.
fn assert_no_secret(text: &str) {
    assert!(!text.contains(PASSWORD), "password leaked: {text}");
}

#[tokio::test]
async fn auth_file_and_ca_give_access() {
    let registry = secure_registry().await;
    let path = auth_file(&registry, "auth.json", &registry.auth_json());
    let options = base_options()
        .auth_file(&path)
        .ca_certificate(registry.ca_pem().expect("CA"));
    let store = RegistryStore::new(&registry.host(), options).unwrap();
    let img = image(Flavor::Docker, 31, 2);
    push(&store, "okd/private", &img, Some("v1")).await;
    let back = store
        .read_manifest("okd/private", &ManifestRef::Tag("v1".into()))
        .await
        .expect("read back");
    assert_eq!(back, img.manifest);
    assert!(
        store
            .mount_blob("okd/other", "okd/private", &img.blobs[1].0)
            .await
            .unwrap()
    );
    assert_no_secret(&format!("{store:?}"));
}

#[tokio::test]
async fn namespace_keys_win_over_host_keys() {
    let registry = secure_registry().await;
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    // The host key is wrong; the namespace key is right.
    let json = serde_json::json!({"auths": {
        registry.host(): {"auth": b64(&format!("{USER}:wrong"))},
        format!("{}/okd", registry.host()): {"auth": b64(&format!("{USER}:{PASSWORD}"))},
    }})
    .to_string();
    let path = auth_file(&registry, "scoped.json", &json);
    let options = base_options()
        .auth_file(&path)
        .ca_certificate(registry.ca_pem().expect("CA"));
    let store = RegistryStore::new(&registry.host(), options).unwrap();
    assert!(
        store
            .list_tags("okd/anything")
            .await
            .expect("namespace credentials")
            .is_empty()
    );
    let err = store
        .list_tags("elsewhere/x")
        .await
        .expect_err("host credentials are wrong");
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
}

#[tokio::test]
async fn wrong_password_is_a_clear_auth_error_without_the_secret() {
    let registry = secure_registry().await;
    let options = base_options()
        .credentials(
            registry.host(),
            Credentials::new(USER, PASSWORD.replace("pw", "pX")),
        )
        .ca_certificate(registry.ca_pem().expect("CA"));
    let wrong_secret = PASSWORD.replace("pw", "pX");
    let store = RegistryStore::new(&registry.host(), options).unwrap();
    let err = store
        .read_manifest("okd/private", &ManifestRef::Tag("v1".into()))
        .await
        .expect_err("wrong password");
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&registry.host()) && text.contains("401"),
        "{text}"
    );
    for shown in [text, format!("{err:?}"), format!("{store:?}")] {
        assert!(!shown.contains(&wrong_secret), "secret leaked: {shown}");
    }

    // No credentials at all: also an authentication error, saying so.
    let empty = auth_file(&registry, "empty.json", r#"{"auths":{}}"#);
    let options = base_options()
        .auth_file(&empty)
        .ca_certificate(registry.ca_pem().expect("CA"));
    let store = RegistryStore::new(&registry.host(), options).unwrap();
    let err = store.list_tags("okd/private").await.expect_err("anonymous");
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
}

#[tokio::test]
async fn untrusted_certificates_fail_with_a_tls_error() {
    let registry = secure_registry().await;
    let path = auth_file(&registry, "auth.json", &registry.auth_json());
    let store = RegistryStore::new(&registry.host(), base_options().auth_file(&path)).unwrap();
    let err = store
        .list_tags("okd/private")
        .await
        .expect_err("self-signed CA not trusted");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("--insecure-registry"), "{text}");
    assert_no_secret(&text);
    assert_no_secret(&format!("{err:?}"));
}

#[tokio::test]
async fn insecure_registries_skip_verification() {
    let registry = secure_registry().await;
    let path = auth_file(&registry, "auth.json", &registry.auth_json());
    let options = base_options()
        .auth_file(&path)
        .insecure_registry(registry.host());
    let store = RegistryStore::new(&registry.host(), options).unwrap();
    let img = image(Flavor::Oci, 32, 1);
    push(&store, "okd/insecure", &img, Some("v1")).await;
    assert_eq!(store.list_tags("okd/insecure").await.unwrap(), vec!["v1"]);
    // Only the host marked insecure.
    let other = RegistryOptions::default().insecure_registry("127.0.0.1:1");
    assert!(!other.is_insecure(&registry.host()));
}

#[tokio::test]
async fn a_missing_auth_file_is_named() {
    let registry = secure_registry().await;
    let missing = registry.dir().join("nope.json");
    let options = base_options()
        .auth_file(&missing)
        .ca_certificate(registry.ca_pem().expect("CA"));
    let store = RegistryStore::new(&registry.host(), options).unwrap();
    let err = store
        .list_tags("okd/x")
        .await
        .expect_err("missing auth file");
    assert!(matches!(err, Error::AuthFile { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.json"), "{err}");
}
