//! Signing promoted releases: the stream file's `signing:` block and the [`ReleaseSigner`] that
//! keeps exactly one valid signature per promoted release in the state directory.
//!
//! Signatures go to `<state dir>/signatures/sha256=<hex>/signature-<n>`, the layout of a
//! signature store, so that the directory can be served as one under `/signatures/`. Each
//! publication pass checks every published release: one that already has a valid signature by
//! the stream's key (with the identity it would get) is left alone, so a resumed or repeated run
//! never signs twice, and a signature that failed once is made on the next run.
//!
//! ```
//! use okd_streams::stream::StreamFile;
//! let f = StreamFile::parse(r#"
//! name: 4.19.0-0.okd-scos
//! store: oci:target/okd-demo
//! upstream: { image: docker://quay.io/okd/scos-release:4.19.0-okd-scos.1 }
//! signing: { key: keys/release.asc, passphrase_file: keys/passphrase }
//! "#, "okd-demo.yaml")?;
//! assert_eq!(f.signing.unwrap().key, "keys/release.asc");
//! # Ok::<(), okd_streams::stream::StreamError>(())
//! ```

use std::path::{Path, PathBuf};

use okd_oci::Digest;
use okd_sign::{Claim, Expectation, Keyring, SignatureDir, SigningKey, sign_claim, verify_any};
use serde::{Deserialize, Serialize};

use super::StreamError;

/// The stream file's `signing:` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SigningFile {
    /// The OpenPGP secret key file (armored or binary; RSA or Ed25519).
    pub key: String,
    /// A file whose first line is the key's passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<String>,
    /// The identity every signature names (default: the release's pullspec in the stream,
    /// `<public host>/<namespace>/release:<release name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// Where a stream keeps its signatures: `signatures/` of the state directory.
pub fn signature_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("signatures")
}

/// What [`ReleaseSigner::ensure_signed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// A new signature was written here.
    Signed(PathBuf),
    /// A valid signature by the stream's key was there already.
    AlreadySigned,
}

/// Signs promoted releases with the stream's key into its signature directory.
#[derive(Debug)]
pub struct ReleaseSigner {
    key: SigningKey,
    own: Keyring,
    identity: Option<String>,
    dir: SignatureDir,
}

impl ReleaseSigner {
    /// Loads the key (and passphrase) the `signing:` block names; signatures go to `dir`.
    pub fn new(stream: &str, file: &SigningFile, dir: PathBuf) -> Result<Self, StreamError> {
        let invalid = |e: okd_sign::Error| StreamError::invalid(stream, "signing", e.to_string());
        let key = SigningKey::load(
            Path::new(&file.key),
            file.passphrase_file.as_deref().map(Path::new),
        )
        .map_err(invalid)?;
        let armored = key.public_key_armored().map_err(invalid)?;
        let own = Keyring::from_bytes(armored.as_bytes())
            .map_err(|m| StreamError::invalid(stream, "signing.key", m))?;
        Ok(ReleaseSigner {
            key,
            own,
            identity: file.identity.clone(),
            dir: SignatureDir::new(dir),
        })
    }

    /// The signature directory.
    pub fn dir(&self) -> &SignatureDir {
        &self.dir
    }

    /// The identity a release published as `pullspec` is signed with.
    pub fn identity_for(&self, pullspec: &str) -> String {
        self.identity.clone().unwrap_or_else(|| pullspec.to_owned())
    }

    /// Signs `digest` as `identity` unless a valid signature by the stream's key with that
    /// identity is already there.
    pub fn ensure_signed(
        &self,
        digest: &Digest,
        identity: &str,
    ) -> Result<Signing, okd_sign::Error> {
        let existing = self.dir.read(digest)?;
        let expect = Expectation {
            digest,
            identity: Some(identity),
        };
        let location = self.dir.root().display().to_string();
        if !existing.is_empty() && verify_any(&existing, &location, &self.own, &expect).is_ok() {
            return Ok(Signing::AlreadySigned);
        }
        let signature = sign_claim(&Claim::new(digest, identity), &self.key)?;
        Ok(Signing::Signed(self.dir.add(digest, &signature)?))
    }

    /// Whether `digest` has a valid signature by the stream's key (any identity).
    pub fn is_signed(&self, digest: &Digest) -> bool {
        let expect = Expectation {
            digest,
            identity: None,
        };
        let location = self.dir.root().display().to_string();
        self.dir
            .read(digest)
            .is_ok_and(|sigs| verify_any(&sigs, &location, &self.own, &expect).is_ok())
    }
}

impl super::Stream {
    /// Makes sure every published release has its signature (one publication pass, after
    /// publishing). Failures are reported and retried on the next pass.
    pub(crate) fn sign_published(
        &self,
        stream: &okd_gating::StreamState,
        report: &mut super::TickReport,
    ) {
        let Some(signer) = &self.signer else {
            return;
        };
        for record in stream.published.values() {
            let failed = |e: Box<dyn std::error::Error + Send + Sync>| {
                super::tick::TickError::new(
                    super::tick::TickStage::Publish,
                    StreamError::Candidate {
                        release: record.release.clone(),
                        stage: "sign",
                        source: e,
                    },
                )
            };
            let Some(digest) = record.digest.as_deref() else {
                continue;
            };
            let digest: Digest = match digest.parse() {
                Ok(d) => d,
                Err(e) => {
                    report.errors.push(failed(Box::new(e)));
                    continue;
                }
            };
            // One identity per release, whatever rules published it: the stream's own name.
            let pullspec = format!(
                "{}/{}:{}",
                self.target.public_host,
                self.target.repository("release"),
                record.release
            );
            match signer.ensure_signed(&digest, &signer.identity_for(&pullspec)) {
                Ok(Signing::Signed(path)) => {
                    tracing::info!(release = %record.release, "signed {digest}: {}", path.display());
                }
                Ok(Signing::AlreadySigned) => {}
                Err(e) => report.errors.push(failed(Box::new(e))),
            }
        }
    }

    /// The signer, when the stream signs its promoted releases.
    pub fn signer(&self) -> Option<&ReleaseSigner> {
        self.signer.as_deref()
    }
}
