//! The stream file's `signing:` block: parsed with its fields, and a key that cannot be used
//! stops the stream from opening with the field named.

use okd_streams::stream::{StreamError, StreamFile};

const BASE: &str = "name: 4.19.0-0.okd-scos
store: oci:target/x
upstream: { image: 'quay.io/okd/scos-release:4.19.0-okd-scos.1' }
";

#[test]
fn the_signing_block_is_parsed_strictly() {
    let f = StreamFile::parse(
        &format!(
            "{BASE}signing: {{ key: k.asc, passphrase_file: p, identity: 'quay.io/x/y:1' }}\n"
        ),
        "s.yaml",
    )
    .unwrap();
    let s = f.signing.unwrap();
    assert_eq!(
        (
            s.key.as_str(),
            s.passphrase_file.as_deref(),
            s.identity.as_deref()
        ),
        ("k.asc", Some("p"), Some("quay.io/x/y:1"))
    );
    let e = StreamFile::parse(
        &format!("{BASE}signing: {{ key: k, keyring: x }}\n"),
        "s.yaml",
    )
    .unwrap_err();
    assert!(e.to_string().contains("signing"), "{e}");
}

#[tokio::test]
async fn an_unusable_key_names_the_signing_block() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    let garbage = dir.path().join("garbage.key");
    std::fs::write(&garbage, b"not a key").unwrap();
    for key in [dir.path().join("missing.key"), garbage] {
        let yaml = format!(
            "{BASE}state: {}\nsigning: {{ key: {} }}\n",
            dir.path().join("state").display(),
            key.display()
        );
        let f = StreamFile::parse(&yaml, &file).unwrap();
        let e = f.to_builder(&file).unwrap().build().await.unwrap_err();
        assert!(matches!(e, StreamError::Invalid { .. }), "{e}");
        assert!(e.to_string().contains("signing"), "{e}");
        assert!(e.to_string().contains(&key.display().to_string()), "{e}");
    }
}
