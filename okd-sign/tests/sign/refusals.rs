//! Every bad input is refused, each with its own error naming what failed.

use okd_oci::Digest;
use okd_sign::{
    Claim, Error, Expectation, Keyring, MAX_SIGNATURE_SIZE, SignatureDir, SignatureSource,
    sign_claim, verify_signature,
};

use crate::support::{IDENTITY, TestKey, manifest};

fn expect(digest: &Digest) -> Expectation<'_> {
    Expectation {
        digest,
        identity: None,
    }
}

fn signed(key: &TestKey, digest: &Digest, identity: &str) -> Vec<u8> {
    sign_claim(&Claim::new(digest, identity), &key.signing_key()).unwrap()
}

#[test]
fn a_signature_for_another_digest() {
    let key = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let other = Digest::sha256_of(b"another release");
    let sig = signed(&key, &other, IDENTITY);
    let err = verify_signature(&sig, "sig", &key.keyring(), &expect(&digest)).unwrap_err();
    assert!(
        matches!(&err, Error::WrongDigest { signed, expected, .. } if *signed == other.to_string() && *expected == digest),
        "{err:?}"
    );
    assert!(err.to_string().contains(&other.to_string()), "{err}");
}

#[test]
fn a_signature_by_a_key_not_in_the_keyring() {
    let signer = TestKey::new("ed25519", true, None);
    let trusted = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let sig = signed(&signer, &digest, IDENTITY);
    let err = verify_signature(&sig, "sig", &trusted.keyring(), &expect(&digest)).unwrap_err();
    assert!(matches!(err, Error::UnknownKey { .. }), "{err:?}");
    // The message names the signer's key.
    assert!(err.to_string().contains(&signer.fingerprint), "{err}");
}

#[test]
fn an_expired_key() {
    let key = TestKey::new("rsa2048", true, None);
    let (_, digest) = manifest();
    let sig = signed(&key, &digest, IDENTITY);
    // Valid when signed; then the key is given a one-second lifetime and allowed to run out.
    assert!(verify_signature(&sig, "sig", &key.keyring(), &expect(&digest)).is_ok());
    key.home
        .run(&["--quick-set-expire", &key.fingerprint, "seconds=1"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let expired = Keyring::from_bytes(&key.home.export_public(&key.fingerprint, true)).unwrap();
    let err = verify_signature(&sig, "sig", &expired, &expect(&digest)).unwrap_err();
    assert!(
        matches!(&err, Error::ExpiredKey { fingerprint, .. } if *fingerprint == key.fingerprint),
        "{err:?}"
    );
}

#[test]
fn a_revoked_key() {
    let key = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let sig = signed(&key, &digest, IDENTITY);
    let rev = key
        .home
        .path()
        .join(format!("openpgp-revocs.d/{}.rev", key.fingerprint));
    // gpg writes the certificate with a leading colon to keep it from being imported by mistake.
    let text = std::fs::read_to_string(&rev)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    let rev = key.home.write("revocation.asc", text.as_bytes());
    key.home.import(&rev);
    let revoked = Keyring::from_bytes(&key.home.export_public(&key.fingerprint, true)).unwrap();
    let err = verify_signature(&sig, "sig", &revoked, &expect(&digest)).unwrap_err();
    assert!(matches!(err, Error::RevokedKey { .. }), "{err:?}");
}

#[test]
fn a_tampered_signature_file() {
    let key = TestKey::new("ed25519", false, None);
    let (_, digest) = manifest();
    let mut sig = signed(&key, &digest, IDENTITY);
    // Change one character of the signed identity inside the literal data packet.
    let at = sig
        .windows(IDENTITY.len())
        .position(|w| w == IDENTITY.as_bytes())
        .expect("the claim is stored uncompressed");
    sig[at + IDENTITY.len() - 1] ^= 0x01;
    let err = verify_signature(&sig, "sig", &key.keyring(), &expect(&digest)).unwrap_err();
    assert!(matches!(err, Error::Tampered { .. }), "{err:?}");
}

#[test]
fn a_garbage_file() {
    let key = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let garbage: Vec<u8> = (0..2048u32).map(|i| (i * 7919 % 251) as u8).collect();
    let err = verify_signature(&garbage, "garbage", &key.keyring(), &expect(&digest)).unwrap_err();
    assert!(matches!(err, Error::Garbage { .. }), "{err:?}");
    let err = verify_signature(b"", "empty", &key.keyring(), &expect(&digest)).unwrap_err();
    assert!(matches!(err, Error::Garbage { .. }), "{err:?}");
}

#[test]
fn an_empty_identity_and_a_required_identity() {
    let key = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let sig = signed(&key, &digest, "");
    let err = verify_signature(&sig, "sig", &key.keyring(), &expect(&digest)).unwrap_err();
    assert!(matches!(err, Error::BadIdentity { .. }), "{err:?}");

    let sig = signed(&key, &digest, IDENTITY);
    let wrong = Expectation {
        digest: &digest,
        identity: Some("quay.io/someone/else:1"),
    };
    let err = verify_signature(&sig, "sig", &key.keyring(), &wrong).unwrap_err();
    assert!(matches!(err, Error::BadIdentity { .. }), "{err:?}");
    let right = Expectation {
        digest: &digest,
        identity: Some(IDENTITY),
    };
    assert!(verify_signature(&sig, "sig", &key.keyring(), &right).is_ok());
}

#[tokio::test]
async fn an_empty_signature_directory() {
    let key = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let dir = tempfile::tempdir().unwrap();
    let source = SignatureSource::Dir(SignatureDir::new(dir.path()));
    let err = source
        .verify(&key.keyring(), &expect(&digest))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoSignature { .. }), "{err:?}");
}

#[tokio::test]
async fn a_100_mib_signature_file_is_refused_unread() {
    let key = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let dir = tempfile::tempdir().unwrap();
    let store = SignatureDir::new(dir.path());
    let path = store.file(&digest, 1);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    // A sparse file: 100 MiB long without 100 MiB on disk.
    file.set_len(100 * 1024 * 1024).unwrap();
    let err = SignatureSource::Dir(store)
        .verify(&key.keyring(), &expect(&digest))
        .await
        .unwrap_err();
    // The size reported is the file's length from its metadata: nothing was read to find it.
    assert!(
        matches!(err, Error::TooLarge { size, limit, .. } if size == 100 * 1024 * 1024 && limit == MAX_SIGNATURE_SIZE),
        "{err:?}"
    );
}

#[tokio::test]
async fn several_bad_signatures_are_each_named() {
    let key = TestKey::new("ed25519", true, None);
    let (_, digest) = manifest();
    let dir = tempfile::tempdir().unwrap();
    let store = SignatureDir::new(dir.path());
    store.add(&digest, b"garbage").unwrap();
    store
        .add(&digest, &signed(&key, &Digest::sha256_of(b"x"), IDENTITY))
        .unwrap();
    let err = SignatureSource::Dir(store.clone())
        .verify(&key.keyring(), &expect(&digest))
        .await
        .unwrap_err();
    let Error::NoValidSignature { rejected, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(rejected[0].1, Error::Garbage { .. }), "{err:?}");
    assert!(
        matches!(rejected[1].1, Error::WrongDigest { .. }),
        "{err:?}"
    );
    // A third, valid signature makes the set acceptable.
    store
        .add(&digest, &signed(&key, &digest, IDENTITY))
        .unwrap();
    let ok = SignatureSource::Dir(store)
        .verify(&key.keyring(), &expect(&digest))
        .await
        .unwrap();
    assert_eq!(ok.signer, key.fingerprint);
}
