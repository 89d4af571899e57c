//! `release sign`, `release verify` and `release verification-config`: release signatures the
//! way clusters check them (okd-sign).

use std::path::PathBuf;

use clap::Args;
use okd_sign::{
    Claim, Expectation, Keyring, SignatureDir, SignatureSource, SigningKey, sign_claim,
};

use crate::cli::output::print_text;
use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The release image to sign (by tag or digest).
    #[arg(value_name = "REF")]
    pub image: String,
    /// The OpenPGP secret key (armored or binary; RSA or Ed25519).
    #[arg(long, value_name = "KEY_FILE")]
    pub key: PathBuf,
    /// A file whose first line is the key's passphrase.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The identity to sign (default: REF as given, without `docker://`).
    #[arg(long, value_name = "DOCKER_REF")]
    pub identity: Option<String>,
    /// The signature store directory; the signature becomes `DIR/sha256=<hex>/signature-<n>`,
    /// n the next free number.
    #[arg(long, value_name = "DIR")]
    pub signature_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The release image whose signature is checked.
    #[arg(value_name = "REF")]
    pub image: String,
    /// The public keys to trust (armored or binary).
    #[arg(long, value_name = "PUBKEY_FILE")]
    pub keyring: PathBuf,
    /// Require this identity (default: any non-empty one, as clusters accept).
    #[arg(long, value_name = "DOCKER_REF")]
    pub identity: Option<String>,
    #[command(flatten)]
    pub from: SignatureFrom,
}

/// Where signatures are read: a directory or an HTTP(S) store, in the store layout.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SignatureFrom {
    /// A signature store directory.
    #[arg(long, value_name = "DIR")]
    pub signature_dir: Option<PathBuf>,
    /// A signature store URL (`http(s)://…`, read as `<URL>/sha256=<hex>/signature-<n>`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

impl SignatureFrom {
    pub fn source(&self) -> Result<SignatureSource, CliError> {
        signature_source(self.signature_dir.as_ref(), self.store.as_deref())
    }
}

/// The signature source the flags name (exactly one of them is set).
pub fn signature_source(
    dir: Option<&PathBuf>,
    url: Option<&str>,
) -> Result<SignatureSource, CliError> {
    match (dir, url) {
        (Some(dir), None) => Ok(SignatureSource::Dir(SignatureDir::new(dir))),
        (None, Some(url)) => Ok(SignatureSource::Http(okd_sign::HttpStore::new(url)?)),
        _ => Err("name one signature source: a directory or a store URL".into()),
    }
}

#[derive(Debug, Args)]
pub struct VerificationConfigArgs {
    /// The public keys clusters are to trust.
    #[arg(long, value_name = "PUBKEY_FILE")]
    pub keyring: PathBuf,
    /// The signature store clusters read (`http(s)://…`).
    #[arg(long, value_name = "URL")]
    pub store: String,
    /// The suffix of the `verifier-public-key-*` and `store-*` keys.
    #[arg(long, value_name = "NAME", default_value = "okd-streams")]
    pub name: String,
}

/// The identity a signature names by default: the reference as given, without a transport.
fn default_identity(image: &str) -> Result<String, CliError> {
    if image.starts_with("oci:") {
        return Err(format!(
            "{image} is an OCI layout, not a registry reference: name the identity clusters pull it as with --identity"
        )
        .into());
    }
    Ok(image.strip_prefix("docker://").unwrap_or(image).to_owned())
}

pub async fn sign(a: SignArgs, stores: &Stores) -> Result<(), CliError> {
    let identity = match &a.identity {
        Some(i) => i.clone(),
        None => default_identity(&a.image)?,
    };
    let key = SigningKey::load(&a.key, a.passphrase_file.as_deref())?;
    let release = super::load(stores, &a.image).await?;
    let digest = release.pull_digest().clone();
    let signature = sign_claim(&Claim::new(&digest, &identity), &key)?;
    let path = SignatureDir::new(&a.signature_dir).add(&digest, &signature)?;
    tracing::info!(key = %key.fingerprint(), "signed {digest} as {identity}");
    print_text(&format!("{}\n", path.display()))
}

pub async fn verify(a: VerifyArgs, stores: &Stores) -> Result<(), CliError> {
    let keyring = Keyring::load(&a.keyring)?;
    let source = a.from.source()?;
    let release = super::load(stores, &a.image).await?;
    let digest = release.pull_digest().clone();
    let expect = Expectation {
        digest: &digest,
        identity: a.identity.as_deref(),
    };
    let verified = source.verify(&keyring, &expect).await?;
    print_text(&format!(
        "{digest}: signed by {} as {}\n",
        verified.signer,
        verified.claim.identity()
    ))
}

pub fn verification_config(a: VerificationConfigArgs) -> Result<(), CliError> {
    print_text(&verification_manifest(&a.keyring, &a.store, &a.name)?)
}

/// The verification ConfigMap YAML for a keyring file and store URL.
pub fn verification_manifest(
    keyring: &std::path::Path,
    store: &str,
    name: &str,
) -> Result<String, CliError> {
    if !(store.starts_with("https://") || store.starts_with("http://")) {
        return Err(format!(
            "--store {store}: a signature store URL starts with https:// or http://"
        )
        .into());
    }
    let keyring = Keyring::load(keyring)?;
    Ok(okd_sign::configmap::verification_config_map_yaml(
        name, &keyring, store,
    ))
}
