//! Per-registry certificate directories, read as the containers tools (podman, skopeo, buildah)
//! read them, so that a host prepared for those tools needs nothing more for okd-streams.
//!
//! For a registry `host[:port]` the directory is:
//!
//! * the one given with [`RegistryOptions::cert_dir`](super::RegistryOptions::cert_dir)
//!   (`--cert-dir`), used as it is for every registry, as skopeo's `--cert-dir` is;
//! * otherwise the first `ROOT/host[:port]` that exists, for ROOT in
//!   [`default_certs_d_roots`] (`$HOME/.config/containers/certs.d`, `/etc/containers/certs.d`,
//!   `/etc/docker/certs.d`) or the roots given with
//!   [`RegistryOptions::certs_d_roots`](super::RegistryOptions::certs_d_roots). Only that one
//!   directory is read; a missing or unreadable directory means no certificates.
//!
//! In the directory every `*.crt` file is a CA certificate added to the system roots, and every
//! `NAME.cert` is a client certificate whose key is `NAME.key`. A `.cert` without its `.key`, or
//! a `.key` without its `.cert`, is an error naming the file (the containers tools refuse both
//! too). Other files are ignored.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::Error;

/// The certs.d roots searched when no `--cert-dir` is given, in order: the per-user
/// `$HOME/.config/containers/certs.d` (when `HOME` is set), then `/etc/containers/certs.d` and
/// `/etc/docker/certs.d`.
///
/// ```
/// let roots = okd_oci::registry::default_certs_d_roots();
/// assert!(roots.ends_with(&["/etc/containers/certs.d".into(), "/etc/docker/certs.d".into()]));
/// ```
pub fn default_certs_d_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        roots.push(PathBuf::from(home).join(".config/containers/certs.d"));
    }
    roots.push(PathBuf::from("/etc/containers/certs.d"));
    roots.push(PathBuf::from("/etc/docker/certs.d"));
    roots
}

/// The directory consulted for `host`: `cert_dir` when given, else the first `ROOT/host` that
/// exists. `None` when no directory applies.
pub(super) fn cert_dir_for(
    cert_dir: Option<&Path>,
    roots: &[PathBuf],
    host: &str,
) -> Option<PathBuf> {
    if let Some(dir) = cert_dir {
        return Some(dir.to_path_buf());
    }
    // A permission error on one root is skipped like a missing one, as the containers tools do.
    roots
        .iter()
        .map(|root| root.join(host))
        .find(|dir| dir.exists())
}

/// What a certificate directory holds: CA certificates (their content) and client certificate
/// pairs (their paths only: keys are read when the client is built, and never kept here).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "registry"), allow(dead_code))]
pub(super) struct CertDirContents {
    /// `*.crt` files, in name order, with their PEM content.
    pub(super) cas: Vec<(PathBuf, Vec<u8>)>,
    /// `(NAME.cert, NAME.key)` pairs, in name order.
    pub(super) clients: Vec<(PathBuf, PathBuf)>,
}

/// Reads `dir` by the rules of the module documentation.
#[cfg_attr(not(feature = "registry"), allow(dead_code))]
pub(super) fn read_cert_dir(dir: &Path) -> Result<CertDirContents, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied) => {
            return Ok(CertDirContents::default());
        }
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let has = |name: &str| names.iter().any(|n| n == name);
    let refused = |reason: String| Error::CertDir {
        dir: dir.to_path_buf(),
        reason,
    };
    let mut contents = CertDirContents::default();
    for name in &names {
        let path = dir.join(name);
        if name.ends_with(".crt") {
            match std::fs::read(&path) {
                Ok(pem) => contents.cas.push((path, pem)),
                // A dangling link, or a file removed since the listing: skipped.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        } else if let Some(stem) = name.strip_suffix(".cert") {
            let key = format!("{stem}.key");
            if !has(&key) {
                return Err(refused(format!(
                    "client certificate {name} has no key {key} beside it \
                     (CA certificates take the extension .crt)"
                )));
            }
            contents.clients.push((path, dir.join(key)));
        } else if let Some(stem) = name.strip_suffix(".key") {
            let cert = format!("{stem}.cert");
            if !has(&cert) {
                return Err(refused(format!(
                    "key {name} has no client certificate {cert} beside it"
                )));
            }
        }
    }
    Ok(contents)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_wins_and_roots_are_searched_in_order() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir(b.path().join("r.example:5000")).unwrap();
        let roots = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        assert_eq!(
            cert_dir_for(None, &roots, "r.example:5000"),
            Some(b.path().join("r.example:5000"))
        );
        std::fs::create_dir(a.path().join("r.example:5000")).unwrap();
        assert_eq!(
            cert_dir_for(None, &roots, "r.example:5000"),
            Some(a.path().join("r.example:5000"))
        );
        assert_eq!(cert_dir_for(None, &roots, "other.example"), None);
        assert_eq!(
            cert_dir_for(Some(Path::new("/x")), &roots, "r.example:5000"),
            Some(PathBuf::from("/x"))
        );
    }

    #[test]
    fn crt_are_cas_and_cert_key_pairs_are_clients() {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("b.crt", "B"),
            ("a.crt", "A"),
            ("me.cert", "C"),
            ("me.key", "K"),
            ("notes.txt", "x"),
        ] {
            std::fs::write(d.path().join(name), text).unwrap();
        }
        let c = read_cert_dir(d.path()).unwrap();
        assert_eq!(
            c.cas,
            vec![
                (d.path().join("a.crt"), b"A".to_vec()),
                (d.path().join("b.crt"), b"B".to_vec())
            ]
        );
        assert_eq!(
            c.clients,
            vec![(d.path().join("me.cert"), d.path().join("me.key"))]
        );
        assert_eq!(
            read_cert_dir(&d.path().join("missing")).unwrap(),
            CertDirContents::default()
        );
    }

    #[test]
    fn unpaired_key_is_named() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("lonely.key"), "K").unwrap();
        let err = read_cert_dir(d.path()).unwrap_err();
        assert!(matches!(err, Error::CertDir { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("lonely.key") && text.contains("lonely.cert"),
            "{text}"
        );
        assert!(text.contains(&d.path().display().to_string()), "{text}");
    }
}
