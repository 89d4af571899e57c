//! A throw-away GnuPG home: test keys made by `gpg` at test time, never committed, and `gpg` as
//! an independent reader of signatures.
//!
//! ```no_run
//! let home = testkit::gpg::GpgHome::new();
//! let key = home.generate("Test <test@example.invalid>", "ed25519", None);
//! let public = home.export_public(&key, true);
//! assert!(public.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"));
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::tools::run_command;

/// A temporary `GNUPGHOME` (removed when dropped).
#[derive(Debug)]
pub struct GpgHome {
    dir: tempfile::TempDir,
}

impl Default for GpgHome {
    fn default() -> Self {
        Self::new()
    }
}

impl GpgHome {
    /// An empty home directory, mode 700 as gpg wants it.
    pub fn new() -> Self {
        crate::tools::require("gpg");
        let dir = tempfile::Builder::new()
            .prefix("gnupg-")
            .tempdir()
            .expect("temporary GNUPGHOME");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .expect("chmod GNUPGHOME");
        }
        GpgHome { dir }
    }

    /// The directory, for `GNUPGHOME`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `gpg` with this home and batch mode.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.path()).arg("--batch");
        cmd
    }

    /// Runs `gpg ARGS` and returns its output without judging the exit status.
    pub fn output(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("`gpg` could not be run: {e} (apt-get install gpg)"))
    }

    /// Runs `gpg ARGS`, panicking when it fails, and returns standard output.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        run_command(self.command().args(args))
    }

    /// Generates a signing key (`algo`: `rsa2048`, `rsa3072`, `ed25519`, …) and returns its
    /// fingerprint. `passphrase` protects the secret key when given.
    pub fn generate(&self, uid: &str, algo: &str, passphrase: Option<&str>) -> String {
        let pass = passphrase.unwrap_or("");
        self.run(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            pass,
            "--quick-gen-key",
            uid,
            algo,
            "sign",
            "never",
        ]);
        let listing = self.run(&["--with-colons", "--list-secret-keys", uid]);
        String::from_utf8_lossy(&listing)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:::::::::"))
            .map(|f| f.trim_end_matches(':').to_owned())
            .expect("fingerprint of the new key")
    }

    /// The public key, armored or binary.
    pub fn export_public(&self, fingerprint: &str, armor: bool) -> Vec<u8> {
        let mut args = vec!["--export"];
        if armor {
            args.insert(0, "--armor");
        }
        args.push(fingerprint);
        self.run(&args)
    }

    /// The secret key (still protected by its passphrase), armored or binary.
    pub fn export_secret(
        &self,
        fingerprint: &str,
        passphrase: Option<&str>,
        armor: bool,
    ) -> Vec<u8> {
        let pass = passphrase.unwrap_or("");
        let mut args = vec!["--pinentry-mode", "loopback", "--passphrase", pass];
        if armor {
            args.push("--armor");
        }
        args.extend(["--export-secret-keys", fingerprint]);
        self.run(&args)
    }

    /// Imports a key file.
    pub fn import(&self, file: &Path) {
        self.run(&["--import", &file.display().to_string()]);
    }

    /// Writes `bytes` to `name` inside a fresh file of this home and returns the path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, bytes).expect("write test file");
        path
    }
}
