//! Signing a claim as an OpenPGP signed message.

use pgp::composed::{MessageBuilder, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::SecretKey;
use pgp::types::KeyDetails;

use crate::claim::Claim;
use crate::error::Error;
use crate::keys::{SigningKey, newest};

/// Signs `claim` with `key`, giving the binary OpenPGP message (literal data packet with a
/// one-pass signature) that signature stores serve and `gpg --verify` reads.
///
/// The signing key is the primary key when it may sign, otherwise the first signing subkey.
pub fn sign_claim(claim: &Claim, key: &SigningKey) -> Result<Vec<u8>, Error> {
    let failed = |reason: String| Error::Signing {
        fingerprint: key.fingerprint(),
        reason,
    };
    let mut builder = MessageBuilder::from_bytes("", claim.to_json());
    match signing_subkey(&key.key) {
        Some(subkey) => builder.sign(subkey, passphrase(key), HashAlgorithm::Sha256),
        None => builder.sign(primary(&key.key), passphrase(key), HashAlgorithm::Sha256),
    };
    // rPGP's builder takes a rand 0.8 generator.
    builder
        .to_vec(rand08::thread_rng())
        .map_err(|e| failed(e.to_string()))
}

/// A fresh copy of the passphrase for one signing (rPGP takes it by value).
fn passphrase(key: &SigningKey) -> pgp::types::Password {
    pgp::types::Password::from(&key.passphrase.read()[..])
}

fn primary(key: &SignedSecretKey) -> &SecretKey {
    &key.primary_key
}

/// The subkey to sign with when the primary key is not marked for signing.
fn signing_subkey(key: &SignedSecretKey) -> Option<&pgp::packet::SecretSubkey> {
    let self_sigs: Vec<_> = key
        .details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter().cloned())
        .chain(key.details.direct_signatures.iter().cloned())
        .collect();
    let primary_signs = newest(&self_sigs)
        .map(|s| s.key_flags().sign())
        .unwrap_or(true);
    if primary_signs {
        return None;
    }
    key.secret_subkeys
        .iter()
        .find(|sub| newest(&sub.signatures).is_some_and(|s| s.key_flags().sign()))
        .map(|sub| &sub.key)
        .filter(|sub| sub.fingerprint() != key.primary_key.fingerprint())
}
