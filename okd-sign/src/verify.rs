//! Verifying a signature the way the cluster-version-operator does.

use std::io::Cursor;

use okd_oci::Digest;
use pgp::composed::{Message, SignedPublicKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Timestamp, VerifyingKey};

use crate::claim::{CLAIM_TYPE, Claim};
use crate::error::Error;
use crate::keys::{Keyring, newest};

/// What a valid signature says and who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed claim.
    pub claim: Claim,
    /// The fingerprint of the primary key whose key (or subkey) signed, upper-case hex.
    pub signer: String,
}

/// What a signature must vouch for.
#[derive(Debug, Clone)]
pub struct Expectation<'a> {
    /// The release manifest digest.
    pub digest: &'a Digest,
    /// The identity the claim must carry; `None` accepts any non-empty identity, as clusters do.
    pub identity: Option<&'a str>,
}

/// Verifies one signature (`bytes`, read from `location`) against `keyring`: the message is signed
/// by a key of the keyring that is neither expired nor revoked, the claim parses strictly, has the
/// right type, a non-empty identity (the required one, if given) and the expected digest.
pub fn verify_signature(
    bytes: &[u8],
    location: &str,
    keyring: &Keyring,
    expect: &Expectation<'_>,
) -> Result<Verified, Error> {
    let garbage = |reason: String| Error::Garbage {
        location: location.to_owned(),
        reason,
    };
    let (mut msg, _) =
        Message::from_reader(Cursor::new(bytes.to_vec())).map_err(|e| garbage(e.to_string()))?;
    while msg.is_compressed() {
        msg = msg.decompress().map_err(|e| garbage(e.to_string()))?;
    }
    if !msg.is_signed() {
        return Err(garbage("the message is not signed".to_owned()));
    }
    let content = msg.as_data_vec().map_err(|e| garbage(e.to_string()))?;
    let signer = check_signer(&msg, location, keyring)?;
    let claim = Claim::from_json(&content)
        .map_err(|e| garbage(format!("the signed claim is not valid JSON: {e}")))?;
    check_claim(&claim, location, expect)?;
    Ok(Verified { claim, signer })
}

fn check_claim(claim: &Claim, location: &str, expect: &Expectation<'_>) -> Result<(), Error> {
    let bad_identity = |reason: String| Error::BadIdentity {
        location: location.to_owned(),
        reason,
    };
    if claim.critical.kind != CLAIM_TYPE {
        return Err(Error::Garbage {
            location: location.to_owned(),
            reason: format!(
                "claim type is {:?}, not {CLAIM_TYPE:?}",
                claim.critical.kind
            ),
        });
    }
    if claim.identity().is_empty() {
        return Err(bad_identity("the claim has no identity".to_owned()));
    }
    if claim.digest() != expect.digest.to_string() {
        return Err(Error::WrongDigest {
            location: location.to_owned(),
            expected: expect.digest.clone(),
            signed: claim.digest().to_owned(),
        });
    }
    if let Some(required) = expect.identity
        && claim.identity() != required
    {
        return Err(bad_identity(format!(
            "signed as {:?}, {required:?} required",
            claim.identity()
        )));
    }
    Ok(())
}

/// Finds the keyring key that made the signature and checks it is valid now.
fn check_signer(msg: &Message<'_>, location: &str, keyring: &Keyring) -> Result<String, Error> {
    let Message::Signed { reader, .. } = msg else {
        return Err(Error::Garbage {
            location: location.to_owned(),
            reason: "the message is not signed".to_owned(),
        });
    };
    let issuers = reader.signature(0).map(issuer_ids).unwrap_or_default();
    let candidates = candidates(keyring, &issuers);
    if candidates.is_empty() {
        return Err(Error::UnknownKey {
            location: location.to_owned(),
            issuer: issuers.join(", "),
        });
    }
    for (cert, key) in &candidates {
        if msg.verify(*key as &dyn VerifyingKey).is_ok() {
            check_validity(cert, *key, location)?;
            return Ok(format!("{:X}", cert.primary_key.fingerprint()));
        }
    }
    Err(Error::Tampered {
        location: location.to_owned(),
        fingerprint: format!("{:X}", candidates[0].1.fingerprint()),
    })
}

/// The issuer key ids and fingerprints a signature names, upper-case hex.
fn issuer_ids(sig: &Signature) -> Vec<String> {
    let mut ids: Vec<String> = sig
        .issuer_fingerprint()
        .iter()
        .map(|f| format!("{f:X}"))
        .collect();
    ids.extend(
        sig.issuer_key_id()
            .iter()
            .map(|k| hex::encode_upper(k.as_ref())),
    );
    ids
}

type Candidate<'a> = (&'a SignedPublicKey, &'a dyn KeyWithDetails);

/// `VerifyingKey` and `KeyDetails` together, for primary keys and subkeys alike.
trait KeyWithDetails: VerifyingKey + KeyDetails {}
impl<T: VerifyingKey + KeyDetails> KeyWithDetails for T {}

/// Primary keys and subkeys of the keyring that the issuer ids name (all of them when the
/// signature names none).
fn candidates<'a>(keyring: &'a Keyring, issuers: &[String]) -> Vec<Candidate<'a>> {
    let named = |k: &dyn KeyWithDetails| {
        issuers.is_empty()
            || issuers.iter().any(|id| {
                *id == format!("{:X}", k.fingerprint())
                    || *id == hex::encode_upper(k.legacy_key_id().as_ref())
            })
    };
    let mut out: Vec<Candidate<'a>> = Vec::new();
    for cert in &keyring.keys {
        if named(&cert.primary_key) {
            out.push((cert, &cert.primary_key));
        }
        for sub in &cert.public_subkeys {
            if named(&sub.key) {
                out.push((cert, &sub.key));
            }
        }
    }
    out
}

/// Refuses a signer whose key or certificate is revoked or expired now.
fn check_validity(
    cert: &SignedPublicKey,
    key: &dyn KeyWithDetails,
    location: &str,
) -> Result<(), Error> {
    let fingerprint = format!("{:X}", key.fingerprint());
    let revoked = Error::RevokedKey {
        location: location.to_owned(),
        fingerprint: fingerprint.clone(),
    };
    if !cert.details.revocation_signatures.is_empty() {
        return Err(revoked);
    }
    let self_sigs: Vec<Signature> = cert
        .details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter().cloned())
        .chain(cert.details.direct_signatures.iter().cloned())
        .collect();
    check_expiry(&cert.primary_key, newest(&self_sigs), location)?;
    if key.fingerprint() != cert.primary_key.fingerprint() {
        let sub = cert
            .public_subkeys
            .iter()
            .find(|s| s.key.fingerprint() == key.fingerprint());
        if let Some(sub) = sub {
            if sub
                .signatures
                .iter()
                .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
            {
                return Err(revoked);
            }
            check_expiry(&sub.key, newest(&sub.signatures), location)?;
        }
    }
    Ok(())
}

fn check_expiry(
    key: &dyn KeyWithDetails,
    self_sig: Option<&Signature>,
    location: &str,
) -> Result<(), Error> {
    let Some(lifetime) = self_sig.and_then(|s| s.key_expiration_time()) else {
        return Ok(());
    };
    if lifetime.as_secs() == 0 {
        return Ok(());
    }
    let expires = u64::from(key.created_at().as_secs()) + u64::from(lifetime.as_secs());
    if u64::from(Timestamp::now().as_secs()) >= expires {
        let at = chrono::DateTime::from_timestamp(expires as i64, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| expires.to_string());
        return Err(Error::ExpiredKey {
            location: location.to_owned(),
            fingerprint: format!("{:X}", key.fingerprint()),
            expired_at: at,
        });
    }
    Ok(())
}
