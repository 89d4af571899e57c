//! Keys made by gpg at test time, written where okd-sign reads them.

use std::path::PathBuf;

use okd_oci::Digest;
use okd_sign::{Keyring, SigningKey};
use testkit::gpg::GpgHome;

/// A gpg home with one key, its secret key file and public keyring file.
pub struct TestKey {
    pub home: GpgHome,
    pub fingerprint: String,
    pub secret: PathBuf,
    pub public: PathBuf,
    pub passphrase: Option<PathBuf>,
}

impl TestKey {
    /// A key of `algo` (`rsa2048`, `ed25519`), exported armored or binary.
    pub fn new(algo: &str, armor: bool, passphrase: Option<&str>) -> TestKey {
        let home = GpgHome::new();
        let uid = format!("okd-streams test {algo} <{algo}@example.invalid>");
        let fingerprint = home.generate(&uid, algo, passphrase);
        let secret = home.write(
            "secret.key",
            &home.export_secret(&fingerprint, passphrase, armor),
        );
        chmod_600(&secret);
        let public = home.write("public.key", &home.export_public(&fingerprint, armor));
        let passphrase = passphrase.map(|p| {
            let path = home.write("passphrase", format!("{p}\n").as_bytes());
            chmod_600(&path);
            path
        });
        TestKey {
            home,
            fingerprint,
            secret,
            public,
            passphrase,
        }
    }

    pub fn signing_key(&self) -> SigningKey {
        SigningKey::load(&self.secret, self.passphrase.as_deref()).expect("load secret key")
    }

    pub fn keyring(&self) -> Keyring {
        Keyring::load(&self.public).expect("load keyring")
    }
}

pub fn chmod_600(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// A small image manifest and its digest, as skopeo computes it.
pub fn manifest() -> (Vec<u8>, Digest) {
    let bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#.to_vec();
    let digest = Digest::sha256_of(&bytes);
    (bytes, digest)
}

pub const IDENTITY: &str = "quay.io/example/okd-release:4.19.0-okd-scos.1";
