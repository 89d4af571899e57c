//! Where signatures are read from, and the verdict over all of a digest's signatures.

use okd_oci::Digest;

use crate::error::Error;
use crate::keys::Keyring;
use crate::store::SignatureDir;
use crate::verify::{Expectation, Verified, verify_signature};

/// A place that holds release signatures in the store layout.
#[derive(Debug, Clone)]
pub enum SignatureSource {
    /// A directory on disk.
    Dir(SignatureDir),
    /// An HTTP(S) signature store.
    #[cfg(feature = "registry")]
    Http(crate::http_store::HttpStore),
}

impl SignatureSource {
    /// Where it is, for messages.
    pub fn location(&self) -> String {
        match self {
            SignatureSource::Dir(dir) => dir.root().display().to_string(),
            #[cfg(feature = "registry")]
            SignatureSource::Http(store) => store.url_base().to_owned(),
        }
    }

    /// The signatures of `digest`, in store order, each with where it came from.
    pub async fn read(&self, digest: &Digest) -> Result<Vec<(String, Vec<u8>)>, Error> {
        match self {
            SignatureSource::Dir(dir) => dir.read(digest),
            #[cfg(feature = "registry")]
            SignatureSource::Http(store) => store.read(digest).await,
        }
    }

    /// Reads the signatures of `expect.digest` and returns the first valid one. With none,
    /// the error is [`Error::NoSignature`]; with one that fails, its own reason; with several
    /// that all fail, [`Error::NoValidSignature`] listing each reason.
    pub async fn verify(
        &self,
        keyring: &Keyring,
        expect: &Expectation<'_>,
    ) -> Result<Verified, Error> {
        let signatures = self.read(expect.digest).await?;
        verify_any(&signatures, &self.location(), keyring, expect)
    }
}

/// The first valid signature among `signatures` (see [`SignatureSource::verify`]).
pub fn verify_any(
    signatures: &[(String, Vec<u8>)],
    location: &str,
    keyring: &Keyring,
    expect: &Expectation<'_>,
) -> Result<Verified, Error> {
    if signatures.is_empty() {
        return Err(Error::NoSignature {
            digest: expect.digest.clone(),
            location: location.to_owned(),
        });
    }
    let mut rejected = Vec::new();
    for (at, bytes) in signatures {
        match verify_signature(bytes, at, keyring, expect) {
            Ok(v) => return Ok(v),
            Err(e) => rejected.push((at.clone(), e)),
        }
    }
    if rejected.len() == 1 {
        return Err(rejected.remove(0).1);
    }
    Err(Error::NoValidSignature {
        digest: expect.digest.clone(),
        rejected,
    })
}
