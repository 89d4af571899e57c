//! Credentials never appear in what okd-streams says: every `tracing` event (and every `log`
//! record of the HTTP and TLS libraries underneath) at TRACE level is captured while a store
//! pushes, reads, mounts and fails against a `docker-registry` with htpasswd authentication
//! and TLS, and the capture, the errors and the `Debug` output are searched for the secrets.
//!
//! This file is its own test binary, so the global subscriber installed here sees only these
//! tests.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::registry_support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use okd_oci::registry::{Credentials, RegistryStore};
use okd_oci::{Error, ManifestRef, Store};
use registry_support::{Flavor, auth_file, base_options, image, push};
use testkit::Registry;
use tracing_subscriber::util::SubscriberInitExt;

const USER: &str = "okd-robot";
const PASSWORD: &str = "pw-trace-9b2e71-never-logged";
const WRONG: &str = "pw-wrong-3f8d02-never-logged";
const IDENTITY_TOKEN: &str = "idtok-51c0de-never-logged";

/// Everything written by the subscriber.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs a TRACE subscriber for the whole binary (and the `log` bridge, so reqwest, hyper
/// and rustls records are captured too), once.
fn capture() -> Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            let writer = capture.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish()
                .try_init()
                .expect("the only subscriber of this test binary");
            capture
        })
        .clone()
}

/// Every form a secret could leak in: as is, and inside a basic `Authorization` header.
fn secret_forms() -> Vec<String> {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let mut forms = vec![
        PASSWORD.to_string(),
        WRONG.to_string(),
        IDENTITY_TOKEN.to_string(),
    ];
    for p in [PASSWORD, WRONG] {
        forms.push(b64(format!("{USER}:{p}")));
    }
    forms
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in secret_forms() {
        assert!(!text.contains(&secret), "{what} leaked {secret:?}:\n{text}");
    }
}

async fn secure_registry() -> Registry {
    registry_support::secure_registry(USER, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_session_logs_no_secret_at_trace_level() {
    let logs = capture();
    let registry = secure_registry().await;
    let path = auth_file(&registry, "auth.json", &registry.auth_json());
    let options = base_options()
        .auth_file(&path)
        .ca_certificate(registry.ca_pem().unwrap());
    let store = RegistryStore::new(&registry.host(), options.clone()).unwrap();
    let img = image(Flavor::Oci, 51, 2);
    push(&store, "okd/traced", &img, Some("v1")).await;
    let back = store
        .read_manifest("okd/traced", &ManifestRef::Tag("v1".into()))
        .await
        .unwrap();
    assert_eq!(back, img.manifest);
    assert!(
        store
            .mount_blob("okd/copy", "okd/traced", &img.blobs[1].0)
            .await
            .unwrap()
    );
    assert_eq!(store.list_tags("okd/traced").await.unwrap(), ["v1"]);
    let mut shown = vec![format!("{store:?}"), format!("{options:?}")];

    // Wrong password, given in code.
    let wrong = RegistryStore::new(
        &registry.host(),
        base_options()
            .credentials(registry.host(), Credentials::new(USER, WRONG))
            .ca_certificate(registry.ca_pem().unwrap()),
    )
    .unwrap();
    let err = wrong
        .read_manifest("okd/traced", &ManifestRef::Tag("v1".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(
        err.to_string().contains(USER),
        "the error names the user: {err}"
    );
    shown.extend([err.to_string(), format!("{err:?}"), format!("{wrong:?}")]);

    // Right credentials, untrusted certificate: nothing may be sent before the handshake fails.
    let untrusted = RegistryStore::new(&registry.host(), base_options().auth_file(&path)).unwrap();
    let err = untrusted.list_tags("okd/traced").await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    shown.extend([err.to_string(), format!("{err:?}")]);

    // An identity token where the registry wants a password.
    let token = RegistryStore::new(
        &registry.host(),
        base_options()
            .credentials(
                registry.host(),
                Credentials::IdentityToken(IDENTITY_TOKEN.to_string()),
            )
            .ca_certificate(registry.ca_pem().unwrap()),
    )
    .unwrap();
    let err = token.list_tags("okd/traced").await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    shown.extend([err.to_string(), format!("{err:?}"), format!("{token:?}")]);

    for text in &shown {
        assert_no_secret("Debug or error output", text);
    }
    let captured = logs.text();
    // The capture works: the session's requests were traced.
    assert!(
        captured.contains(&registry.host()) && captured.contains("TRACE"),
        "nothing was captured at TRACE level:\n{captured}"
    );
    assert_no_secret("the trace log", &captured);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_auth_file_is_named_without_quoting_it() {
    let logs = capture();
    let registry = secure_registry().await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for (name, text) in [
        // An entry where an object belongs: JSON errors like to quote such strings.
        (
            "string-entry.json",
            format!(r#"{{"auths":{{"{}":"{b64}"}}}}"#, registry.host()),
        ),
        // Cut off in the middle of the secret.
        (
            "truncated.json",
            format!(r#"{{"auths":{{"{}":{{"auth":"{b64}"#, registry.host()),
        ),
        // The password where a map belongs.
        (
            "wrong-type.json",
            format!(
                r#"{{"auths":{{"{}":{{"auth":["{PASSWORD}"]}}}}}}"#,
                registry.host()
            ),
        ),
    ] {
        let path = auth_file(&registry, name, &text);
        let store = RegistryStore::new(
            &registry.host(),
            base_options()
                .auth_file(&path)
                .ca_certificate(registry.ca_pem().unwrap()),
        )
        .unwrap();
        let err = store.list_tags("okd/x").await.unwrap_err();
        assert!(matches!(err, Error::AuthFile { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{err}");
        assert_no_secret(name, &err.to_string());
        assert_no_secret(name, &format!("{err:?}"));
    }
    assert_no_secret("the trace log", &logs.text());
}
