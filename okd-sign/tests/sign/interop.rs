//! Interop with tools okd-streams did not write: gpg and skopeo (containers/image).

use std::process::Command;

use okd_sign::{Claim, Expectation, SignatureDir, sign_claim, verify_signature};
use testkit::tools::run_command;

use crate::support::{IDENTITY, TestKey, manifest};

/// Signs with okd-sign, then has gpg and `skopeo standalone-verify` check the signature.
fn signed_here_verifies_with_gpg_and_skopeo(algo: &str, armor: bool, passphrase: Option<&str>) {
    let key = TestKey::new(algo, armor, passphrase);
    let (manifest, digest) = manifest();
    let claim = Claim::new(&digest, IDENTITY);
    let signature = sign_claim(&claim, &key.signing_key()).expect("sign");
    let dir = tempfile::tempdir().unwrap();
    let path = SignatureDir::new(dir.path())
        .add(&digest, &signature)
        .unwrap();
    assert!(path.ends_with(format!("sha256={}/signature-1", digest.hex())));

    // gpg checks the signature and gives back exactly the signed claim.
    let verified = key.home.output(&["--verify", &path.display().to_string()]);
    assert!(
        verified.status.success(),
        "gpg --verify refused it: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let content = key.home.run(&["--decrypt", &path.display().to_string()]);
    assert_eq!(Claim::from_json(&content).unwrap(), claim);

    let manifest_file = key.home.write("manifest.json", &manifest);
    let out = run_command(
        Command::new("skopeo")
            .env("GNUPGHOME", key.home.path())
            .arg("standalone-verify")
            .arg(&manifest_file)
            .arg(IDENTITY)
            .arg(&key.fingerprint)
            .arg(&path),
    );
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("Signature verified"), "skopeo said: {out}");
    assert!(out.contains(&digest.to_string()), "skopeo said: {out}");
}

#[test]
fn an_rsa_signature_verifies_with_gpg_and_skopeo() {
    signed_here_verifies_with_gpg_and_skopeo("rsa2048", true, None);
}

#[test]
fn an_ed25519_signature_verifies_with_gpg_and_skopeo() {
    signed_here_verifies_with_gpg_and_skopeo("ed25519", true, None);
}

#[test]
fn a_binary_passphrase_protected_key_signs() {
    signed_here_verifies_with_gpg_and_skopeo("ed25519", false, Some("correct horse"));
}

#[test]
fn a_wrong_passphrase_fails_without_showing_it() {
    let key = TestKey::new("ed25519", true, Some("the right one"));
    let wrong = key.home.write("wrong", b"not-the-passphrase\n");
    let signing = okd_sign::SigningKey::load(&key.secret, Some(&wrong)).unwrap();
    let (_, digest) = manifest();
    let err = sign_claim(&Claim::new(&digest, IDENTITY), &signing).unwrap_err();
    assert!(matches!(err, okd_sign::Error::Signing { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {signing:?}");
    assert!(!shown.contains("not-the-passphrase"), "{shown}");
    assert!(!shown.contains("the right one"), "{shown}");
}

/// `skopeo standalone-sign` makes the signature; okd-sign verifies it.
fn signed_by_skopeo_verifies_here(algo: &str) {
    let key = TestKey::new(algo, true, None);
    let (manifest, digest) = manifest();
    let manifest_file = key.home.write("manifest.json", &manifest);
    let sig_file = key.home.path().join("skopeo.sig");
    run_command(
        Command::new("skopeo")
            .env("GNUPGHOME", key.home.path())
            .arg("standalone-sign")
            .arg("--output")
            .arg(&sig_file)
            .arg(&manifest_file)
            .arg(IDENTITY)
            .arg(&key.fingerprint),
    );
    let bytes = std::fs::read(&sig_file).unwrap();
    let expect = Expectation {
        digest: &digest,
        identity: Some(IDENTITY),
    };
    let verified = verify_signature(&bytes, "skopeo.sig", &key.keyring(), &expect)
        .expect("skopeo's signature verifies");
    assert_eq!(verified.claim.identity(), IDENTITY);
    assert_eq!(verified.signer, key.fingerprint);
}

#[test]
fn an_rsa_signature_by_skopeo_verifies_here() {
    signed_by_skopeo_verifies_here("rsa2048");
}

#[test]
fn an_ed25519_signature_by_skopeo_verifies_here() {
    signed_by_skopeo_verifies_here("ed25519");
}
