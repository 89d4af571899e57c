//! OpenPGP keys: the secret key a release is signed with, and the keyring it is verified against.

use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use pgp::composed::{Deserializable, SignedPublicKey, SignedSecretKey};
use pgp::packet::Signature;
use pgp::types::{KeyDetails, Password};

use crate::error::Error;

/// A secret key to sign with, read from an armored or binary OpenPGP key file, and its passphrase.
///
/// `Debug` shows the fingerprint only: the key material and the passphrase are never printed.
pub struct SigningKey {
    pub(crate) key: SignedSecretKey,
    pub(crate) passphrase: Password,
    pub(crate) path: PathBuf,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint())
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// Reads a secret key file; `passphrase_file` holds the passphrase of a protected key (its
    /// first line is used). Warns when either file can be read by group or others.
    pub fn load(path: &Path, passphrase_file: Option<&Path>) -> Result<Self, Error> {
        warn_if_exposed(path);
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let key = parse_one::<SignedSecretKey>(&bytes).map_err(|reason| Error::Key {
            path: path.to_owned(),
            reason,
        })?;
        let passphrase = match passphrase_file {
            None => Password::empty(),
            Some(file) => {
                warn_if_exposed(file);
                let text = std::fs::read(file).map_err(|e| Error::io(file, e))?;
                let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                Password::from(line)
            }
        };
        Ok(SigningKey {
            key,
            passphrase,
            path: path.to_owned(),
        })
    }

    /// The primary key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.key.primary_key.fingerprint())
    }

    /// The public half, armored, for a keyring or a verification ConfigMap.
    pub fn public_key_armored(&self) -> Result<String, Error> {
        self.key
            .to_public_key()
            .to_armored_string(Default::default())
            .map_err(|e| Error::Key {
                path: self.path.clone(),
                reason: e.to_string(),
            })
    }
}

/// Public keys a signature is checked against (a `gpg --export` file, armored or binary, with one
/// or more keys).
#[derive(Debug, Clone)]
pub struct Keyring {
    pub(crate) keys: Vec<SignedPublicKey>,
    armored: String,
}

impl Keyring {
    /// Reads a keyring file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes).map_err(|reason| Error::Key {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses keyring bytes, armored or binary.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let parsed = SignedPublicKey::from_reader_many(Cursor::new(bytes.to_vec()))
            .map_err(|e| e.to_string())?
            .0;
        let mut keys = Vec::new();
        for key in parsed {
            let key = key.map_err(|e| e.to_string())?;
            key.verify_bindings()
                .map_err(|e| format!("key {:X}: {e}", key.primary_key.fingerprint()))?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err("no public key in the file".to_owned());
        }
        let mut armored = String::new();
        for key in &keys {
            armored.push_str(
                &key.to_armored_string(Default::default())
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(Keyring { keys, armored })
    }

    /// The keyring as ASCII armor, one block per key, as a verification ConfigMap carries it.
    pub fn armored(&self) -> &str {
        &self.armored
    }

    /// The primary fingerprints, upper-case hex.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| format!("{:X}", k.primary_key.fingerprint()))
            .collect()
    }
}

fn parse_one<T: Deserializable>(bytes: &[u8]) -> Result<T, String> {
    T::from_reader_single(Cursor::new(bytes.to_vec()))
        .map(|(key, _)| key)
        .map_err(|e| e.to_string())
}

/// The permission bits that let group or others read `path`, when there are any.
pub fn exposed_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn warn_if_exposed(path: &Path) {
    if let Some(mode) = exposed_mode(path) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "secret file is readable by group or others; chmod 600 it"
        );
    }
}

/// The newest self-signature among `sigs` (by creation time).
pub(crate) fn newest(sigs: &[Signature]) -> Option<&Signature> {
    sigs.iter()
        .max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
}
