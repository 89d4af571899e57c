//! The files next to the archives of `release extract --tools`: `release.txt`, `sha256sum.txt`,
//! and the archives' `README.md` texts.
//!
//! `sha256sum.txt` has `oc`'s format, which is also what `sha256sum -c` reads: one
//! `<hex sha256>  <file>` line (two spaces) per archive and for `release.txt`, sorted by file
//! name, ending with a newline. `release.txt` is a short header, a `---` line, a blank line and
//! then what `okd-streams release info --pullspecs` prints for the release.
//!
//! ```
//! use okd_release::extract::command::WrittenFile;
//! use okd_release::extract::tools::sha256sum_txt;
//!
//! let files = [
//!     WrittenFile { name: "release.txt".into(), size: 1, sha256: Some("bb".into()) },
//!     WrittenFile { name: "openshift-install-linux-4.19.0.tar.gz".into(), size: 1, sha256: Some("aa".into()) },
//! ];
//! assert_eq!(sha256sum_txt(&files), "aa  openshift-install-linux-4.19.0.tar.gz\nbb  release.txt\n");
//! ```

use std::io::{self, Write};

use sha2::{Digest as _, Sha256};

use super::command::WrittenFile;
use super::targets::Readme;
use crate::{ImageColumns, Release};

/// Hashes what passes through to the inner writer.
#[derive(Debug)]
pub struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Hashing<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hash: Sha256::new(),
        }
    }

    /// The inner writer and the lowercase hex SHA-256 of everything written.
    pub fn finish(self) -> (W, String) {
        (self.inner, hex(&self.hash.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// `sha256sum.txt` for the files that carry a checksum.
pub fn sha256sum_txt(files: &[WrittenFile]) -> String {
    let mut lines: Vec<(&str, &str)> = files
        .iter()
        .filter_map(|f| f.sha256.as_deref().map(|h| (f.name.as_str(), h)))
        .collect();
    lines.sort_unstable();
    lines
        .iter()
        .map(|(name, hash)| format!("{hash}  {name}\n"))
        .collect()
}

/// `release.txt`: what the archives are and which release the installer installs.
pub fn release_txt(release: &Release) -> String {
    let mut text = String::from(
        "Client tools for OKD\n\
         --------------------\n\
         \n\
         These archives hold the command-line tools of one OKD release.\n\
         \n\
         Check them with `sha256sum -c sha256sum.txt` (and the signature of sha256sum.txt,\n\
         when one is published next to it) before using them.\n\
         \n\
         The openshift-install binary in them installs this release:\n\
         \n\
         ---\n\
         \n",
    );
    text.push_str(&release.describe(ImageColumns::PullSpec));
    text
}

/// The `README.md` of an archive.
pub fn readme(kind: Readme) -> &'static str {
    match kind {
        Readme::ClientUnix => {
            "# OKD client\n\
             \n\
             `oc` works with Kubernetes and OKD clusters: logging in, kubeconfig files, builds,\n\
             deployments and the cluster's own resources. `kubectl` is the same binary; called by\n\
             that name it behaves as upstream `kubectl`.\n\
             \n\
             Put both files in a directory on your `PATH` (for example `/usr/local/bin`) and run\n\
             `oc login <API URL>`.\n\
             \n\
             Licensed under the Apache License 2.0; the source is https://github.com/openshift/oc.\n"
        }
        Readme::ClientWindows => {
            "# OKD client\n\
             \n\
             `oc.exe` works with Kubernetes and OKD clusters: logging in, kubeconfig files,\n\
             builds, deployments and the cluster's own resources. A copy named `kubectl.exe`\n\
             behaves as upstream `kubectl`.\n\
             \n\
             Put `oc.exe` in a directory on your `PATH` and run `oc login <API URL>`.\n\
             \n\
             Licensed under the Apache License 2.0; the source is https://github.com/openshift/oc.\n"
        }
        Readme::Installer => {
            "# OKD installer\n\
             \n\
             `openshift-install` creates OKD clusters on cloud platforms and on your own\n\
             infrastructure. This copy installs the release it was extracted from.\n\
             \n\
             Run it from where you unpacked it (`./openshift-install`) or put it in a directory\n\
             on your `PATH`.\n\
             \n\
             Licensed under the Apache License 2.0; the source is https://github.com/openshift/installer.\n"
        }
        Readme::Ccoctl => {
            "# Cloud Credential Operator tool\n\
             \n\
             `ccoctl` creates and maintains the cloud credentials of a cluster from outside it,\n\
             for clusters whose Cloud Credential Operator runs in manual mode.\n\
             \n\
             Run it from where you unpacked it (`./ccoctl`) or put it in a directory on your\n\
             `PATH`.\n\
             \n\
             Licensed under the Apache License 2.0; the source is\n\
             https://github.com/openshift/cloud-credential-operator.\n"
        }
    }
}
