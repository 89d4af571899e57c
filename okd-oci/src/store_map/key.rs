//! What a [`StoreMap`](super::StoreMap) keys its stores by.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::{Error, ImageRef};

/// The location of one store: a registry host with its port, or a layout directory by its
/// normalised path (see [`normalize_layout_path`]).
///
/// ```
/// use okd_oci::{ImageRef, StoreKey};
/// let image: ImageRef = "docker://127.0.0.1:5000/okd/release:4.19".parse()?;
/// assert_eq!(StoreKey::of(&image), StoreKey::Registry("127.0.0.1:5000".to_string()));
/// assert_eq!("oci:/srv/okd/./mirror".parse::<StoreKey>()?.to_string(), "oci:/srv/okd/mirror");
/// # Ok::<(), okd_oci::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StoreKey {
    /// A registry host, with its port when it has one (`quay.io`, `127.0.0.1:5000`).
    Registry(String),
    /// A layout directory: absolute and lexically normalised.
    Layout(PathBuf),
}

impl StoreKey {
    /// The location of the store holding `image`.
    pub fn of(image: &ImageRef) -> StoreKey {
        match image {
            ImageRef::Registry(r) => StoreKey::Registry(r.registry.clone()),
            ImageRef::Layout(l) => StoreKey::layout(&l.path),
        }
    }

    /// The key of the layout at `path` (relative paths are taken from the working directory).
    pub fn layout(path: impl AsRef<Path>) -> StoreKey {
        StoreKey::Layout(normalize_layout_path(path.as_ref()))
    }
}

/// Parses a location without repository: `oci:PATH`, `docker://HOST[:PORT]` or `HOST[:PORT]`.
impl std::str::FromStr for StoreKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<StoreKey, Error> {
        let invalid = |reason: &str| Error::InvalidReference {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        if let Some(path) = s.strip_prefix("oci:") {
            if path.is_empty() {
                return Err(invalid("a layout path is missing after oci:"));
            }
            return Ok(StoreKey::layout(path));
        }
        let host = s.strip_prefix("docker://").unwrap_or(s);
        if host.is_empty() || host.contains('/') || host.contains("://") {
            return Err(invalid("not a registry host (HOST[:PORT]) or oci:PATH"));
        }
        // A host is valid when an image reference on it parses; the repository is a probe.
        match format!("{host}/probe:latest").parse::<ImageRef>() {
            Ok(ImageRef::Registry(r)) if r.registry == host => Ok(StoreKey::Registry(r.registry)),
            _ => Err(invalid("not a registry host (HOST[:PORT]) or oci:PATH")),
        }
    }
}

/// `HOST` for a registry, `oci:PATH` for a layout.
impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreKey::Registry(host) => f.write_str(host),
            StoreKey::Layout(path) => write!(f, "oci:{}", path.display()),
        }
    }
}

/// The one normalisation of layout paths in okd-streams: made absolute against the working
/// directory, then `.` components dropped and each `..` removing the component before it.
///
/// It is lexical on purpose: a destination layout does not exist yet, so it cannot be
/// canonicalised, and a source and a destination naming the same directory must still meet at
/// one key. Symbolic links are not followed, so two paths through different links are two
/// stores (which only costs mounts turning into copies). When the working directory cannot be
/// read, a relative path is kept relative.
///
/// ```
/// use std::path::Path;
/// use okd_oci::normalize_layout_path;
/// assert_eq!(normalize_layout_path(Path::new("/srv/./okd/../mirror/")), Path::new("/srv/mirror"));
/// assert_eq!(normalize_layout_path(Path::new("/..")), Path::new("/"));
/// ```
pub fn normalize_layout_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `..` at the root stays at the root, as the file system has it.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_dot_and_parent_paths_meet() {
        let cwd = std::env::current_dir().unwrap();
        let want = StoreKey::Layout(cwd.join("mirror"));
        for p in [
            "mirror",
            "./mirror",
            "mirror/",
            "x/../mirror",
            "./x/./../mirror",
        ] {
            assert_eq!(StoreKey::layout(p), want, "{p}");
        }
        assert_eq!(StoreKey::layout(cwd.join("mirror")), want);
        assert_ne!(StoreKey::layout("mirror2"), want);
    }

    #[test]
    fn locations_parse() {
        let k: StoreKey = "docker://host:5000".parse().unwrap();
        assert_eq!(k, StoreKey::Registry("host:5000".to_string()));
        assert_eq!("host:5000".parse::<StoreKey>().unwrap(), k);
        assert_eq!(k.to_string(), "host:5000");
        for bad in [
            "oci:",
            "docker://",
            "host/repo",
            "http://host",
            "UPPER CASE",
        ] {
            let e = bad.parse::<StoreKey>().unwrap_err();
            assert!(e.to_string().contains(bad), "{bad}: {e}");
        }
    }
}
