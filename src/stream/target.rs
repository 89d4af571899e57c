//! Where a stream writes: its target store, the repositories in it, and the public name its
//! images are referred to by inside payloads.
//!
//! The store is named by one line: `oci:PATH` for an OCI image layout (created when missing),
//! or `docker://HOST[:PORT][/PREFIX]` for a registry. Repositories are `[PREFIX/]NAMESPACE/…`:
//! `…/release` holds the candidate releases, `…/<os tag>` the layered OS images, and promotions
//! copy releases into repositories of their own.
//!
//! Payloads name images by registry pullspec. Images the stream writes are named
//! `<public host>/<repository>@<digest>`; the public host defaults to the registry's, and to
//! `localhost` for a layout, which is how Podman names local images. A
//! release built in a layout is thus mirrored or pushed to a registry before a cluster uses it
//! (an ImageDigestMirrorSet maps `localhost/…` to that registry).
//!
//! ```
//! use okd_streams::stream::StoreLocation;
//! let l: StoreLocation = "docker://127.0.0.1:5000/team".parse()?;
//! assert_eq!(l.repository("okd/release"), "team/okd/release");
//! assert_eq!(l.default_public_host(), "127.0.0.1:5000");
//! let l: StoreLocation = "oci:target/okd-demo".parse()?;
//! assert_eq!(l.repository("okd/release"), "okd/release");
//! assert_eq!(l.default_public_host(), "localhost");
//! # Ok::<(), okd_streams::stream::StreamError>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use okd_oci::{Digest, ImageRef};

use super::StreamError;

/// The target store line. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An OCI image layout directory.
    Layout {
        /// The directory.
        path: PathBuf,
    },
    /// A registry.
    Registry {
        /// `HOST[:PORT]`.
        host: String,
        /// Repository prefix (may be empty).
        prefix: String,
    },
}

impl FromStr for StoreLocation {
    type Err = StreamError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |m: &str| StreamError::invalid("", "store", format!("{s:?}: {m}"));
        if let Some(path) = s.strip_prefix("oci:") {
            if path.is_empty() || path.contains(':') {
                return Err(bad("a layout is `oci:PATH` (no image name)"));
            }
            return Ok(StoreLocation::Layout {
                path: PathBuf::from(path),
            });
        }
        let Some(rest) = s.strip_prefix("docker://") else {
            return Err(bad("expected oci:PATH or docker://HOST[:PORT][/PREFIX]"));
        };
        let (host, prefix) = match rest.split_once('/') {
            Some((h, p)) => (h, p.trim_end_matches('/')),
            None => (rest, ""),
        };
        if host.is_empty() {
            return Err(bad("missing registry host"));
        }
        if !prefix.is_empty() && !okd_oci::is_valid_repository(prefix) {
            return Err(bad("the prefix is not a valid repository path"));
        }
        if prefix.contains(':') || prefix.contains('@') {
            return Err(bad("a registry store names no tag or digest"));
        }
        Ok(StoreLocation::Registry {
            host: host.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Layout { path } => write!(f, "oci:{}", path.display()),
            StoreLocation::Registry { host, prefix } if prefix.is_empty() => {
                write!(f, "docker://{host}")
            }
            StoreLocation::Registry { host, prefix } => write!(f, "docker://{host}/{prefix}"),
        }
    }
}

impl StoreLocation {
    /// The store's repository for `name` (the registry prefix added).
    pub fn repository(&self, name: &str) -> String {
        match self {
            StoreLocation::Registry { prefix, .. } if !prefix.is_empty() => {
                format!("{prefix}/{name}")
            }
            _ => name.to_string(),
        }
    }

    /// The registry host images are named by when none is configured: the registry's own, or
    /// `localhost` for a layout.
    pub fn default_public_host(&self) -> String {
        match self {
            StoreLocation::Layout { .. } => "localhost".to_string(),
            StoreLocation::Registry { host, .. } => host.clone(),
        }
    }

    /// The reference to `repository` (a store repository) at `tag` and/or `digest`, as a store
    /// reference (`oci:PATH:REPO:TAG[@DIGEST]` or `HOST/REPO[:TAG][@DIGEST]`). Layout paths are
    /// made absolute so that jobs running elsewhere find them.
    pub fn image(
        &self,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&Digest>,
    ) -> Result<ImageRef, StreamError> {
        let text = match self {
            StoreLocation::Layout { path } => {
                let abs = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                let tag = tag.unwrap_or("latest");
                let mut s = format!("oci:{}:{repository}:{tag}", abs.display());
                if let Some(d) = digest {
                    s.push_str(&format!("@{d}"));
                }
                s
            }
            StoreLocation::Registry { host, .. } => {
                let mut s = format!("{host}/{repository}");
                if let Some(t) = tag.filter(|_| digest.is_none()) {
                    s.push_str(&format!(":{t}"));
                }
                if let Some(d) = digest {
                    s.push_str(&format!("@{d}"));
                }
                s
            }
        };
        Ok(text.parse()?)
    }

    /// The registry host, for registry stores.
    pub fn host(&self) -> Option<&str> {
        match self {
            StoreLocation::Registry { host, .. } => Some(host),
            StoreLocation::Layout { .. } => None,
        }
    }
}

/// The repositories a stream writes, relative to its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The store line.
    pub location: StoreLocation,
    /// The namespace of the stream's repositories (`okd-demo`).
    pub namespace: String,
    /// The registry host public pullspecs name (`localhost`, `quay.io`).
    pub public_host: String,
}

impl Target {
    /// A target in `location` under `namespace`, with the default public host.
    pub fn new(location: StoreLocation, namespace: &str) -> Target {
        let public_host = location.default_public_host();
        Target {
            location,
            namespace: namespace.to_string(),
            public_host,
        }
    }

    /// The store repository of `name` within the namespace (`okd-demo/release`).
    pub fn repository(&self, name: &str) -> String {
        self.location
            .repository(&format!("{}/{name}", self.namespace))
    }

    /// The public pullspec of `name` within the namespace at `digest`
    /// (`localhost/okd-demo/stream-coreos@sha256:…`).
    pub fn public_pullspec(&self, name: &str, digest: &Digest) -> String {
        format!("{}@{digest}", self.public_repository(name))
    }

    /// The public name of repository `name` within the namespace
    /// (`localhost/okd-demo/scos-content`).
    pub fn public_repository(&self, name: &str) -> String {
        format!("{}/{}", self.public_host, self.repository(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_lines() {
        let l: StoreLocation = "oci:target/okd-demo".parse().unwrap();
        assert_eq!(l.to_string(), "oci:target/okd-demo");
        let r: StoreLocation = "docker://127.0.0.1:5000".parse().unwrap();
        assert_eq!(r.repository("a/b"), "a/b");
        for bad in [
            "oci:",
            "oci:x:repo:tag",
            "quay.io/okd",
            "docker://",
            "docker://h/UPPER",
        ] {
            let e = bad.parse::<StoreLocation>().unwrap_err();
            assert!(e.to_string().contains("store"), "{bad}: {e}");
        }
    }

    #[test]
    fn images_in_the_store() {
        let d = Digest::sha256_of(b"x");
        let l: StoreLocation = "oci:/srv/okd".parse().unwrap();
        let i = l
            .image("okd/release", Some("4.19.0-okd-scos.1"), Some(&d))
            .unwrap();
        assert_eq!(i.repository(), "okd/release");
        assert_eq!(i.digest(), Some(&d));
        let r: StoreLocation = "docker://127.0.0.1:5000/team".parse().unwrap();
        let i = r.image("team/okd/release", Some("v"), Some(&d)).unwrap();
        assert_eq!(
            i.to_string(),
            format!("127.0.0.1:5000/team/okd/release@{d}")
        );
        let t = Target::new(r, "okd");
        assert_eq!(t.repository("release"), "team/okd/release");
        assert_eq!(
            t.public_pullspec("stream-coreos", &d),
            format!("127.0.0.1:5000/team/okd/stream-coreos@{d}")
        );
    }
}
