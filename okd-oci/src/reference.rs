//! Image references in the two transports skopeo users know.
//!
//! * `docker://host[:port]/repo[:tag][@digest]`, also accepted without the `docker://` prefix.
//!   Docker Hub short names are normalised as docker does (`busybox` is
//!   `docker.io/library/busybox:latest`).
//! * `oci:PATH[:NAME]` for an OCI image layout directory. `NAME` is the `ref.name` of the image in
//!   the layout's `index.json`; okd-streams writes `REPO:TAG` there, so one layout can hold many
//!   repositories (`oci:/srv/okd:okd/release:4.19.0-okd-scos.1`), and a plain `TAG` names the
//!   layout's unnamed repository.
//!
//! ```
//! use okd_oci::ImageRef;
//!
//! let r: ImageRef = "quay.io/okd/scos-release:4.19.0-okd-scos.19".parse().unwrap();
//! assert_eq!(r.to_string(), "quay.io/okd/scos-release:4.19.0-okd-scos.19");
//! let r: ImageRef = "oci:/tmp/demo:okd/release:4.19".parse().unwrap();
//! assert_eq!(r.repository(), "okd/release");
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::{Digest, Error};

/// What a manifest is looked up by inside one repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ManifestRef {
    /// A tag such as `4.19.0-okd-scos.19`.
    Tag(String),
    /// A content digest.
    Digest(Digest),
}

impl fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestRef::Tag(t) => write!(f, ":{t}"),
            ManifestRef::Digest(d) => write!(f, "@{d}"),
        }
    }
}

/// An image in a registry.
///
/// Equality and hashing leave out [`tag_written`](RegistryRef::tag_written): `quay.io/x` and
/// `quay.io/x:latest` name the same image.
#[derive(Debug, Clone)]
pub struct RegistryRef {
    /// Registry host with optional port (`quay.io`, `127.0.0.1:5000`, `docker.io`).
    pub registry: String,
    /// Repository path inside the registry (`okd/scos-release`).
    pub repository: String,
    /// Tag, if any.
    pub tag: Option<String>,
    /// Digest, if any. When both are present the digest wins, as it does for `docker pull`.
    pub digest: Option<Digest>,
    /// False when the tag is `latest` only because the text named none (`quay.io/x`), as docker
    /// reads it; true when the text wrote the tag. The printed form always writes the tag, so a
    /// reference parsed back from [`Display`](fmt::Display) or serde has it written.
    pub tag_written: bool,
}

impl PartialEq for RegistryRef {
    fn eq(&self, other: &Self) -> bool {
        (&self.registry, &self.repository, &self.tag, &self.digest)
            == (
                &other.registry,
                &other.repository,
                &other.tag,
                &other.digest,
            )
    }
}

impl Eq for RegistryRef {}

impl std::hash::Hash for RegistryRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.registry, &self.repository, &self.tag, &self.digest).hash(state);
    }
}

/// An image in a local OCI image layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayoutRef {
    /// The layout directory.
    pub path: PathBuf,
    /// Repository inside the layout; empty for the unnamed repository.
    pub repository: String,
    /// Tag, if any.
    pub tag: Option<String>,
    /// Digest, if any.
    pub digest: Option<Digest>,
}

/// A reference to an image in a registry or a local layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageRef {
    /// `docker://…`
    Registry(RegistryRef),
    /// `oci:…`
    Layout(LayoutRef),
}

impl ImageRef {
    /// Repository inside the store.
    pub fn repository(&self) -> &str {
        match self {
            ImageRef::Registry(r) => &r.repository,
            ImageRef::Layout(l) => &l.repository,
        }
    }

    /// Tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        match self {
            ImageRef::Registry(r) => r.tag.as_deref(),
            ImageRef::Layout(l) => l.tag.as_deref(),
        }
    }

    /// True when the reference names a tag its text wrote: false for `quay.io/okd/release`
    /// (read as `:latest`) and for a reference by digest alone, true for `quay.io/okd/release:4.19`
    /// and for a layout reference with a tag.
    pub fn tag_written(&self) -> bool {
        match self {
            ImageRef::Registry(r) => r.tag.is_some() && r.tag_written,
            ImageRef::Layout(l) => l.tag.is_some(),
        }
    }

    /// Digest, if the reference has one.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            ImageRef::Registry(r) => r.digest.as_ref(),
            ImageRef::Layout(l) => l.digest.as_ref(),
        }
    }

    /// What to look the manifest up by: the digest when there is one, else the tag.
    pub fn manifest_ref(&self) -> Option<ManifestRef> {
        match (self.digest(), self.tag()) {
            (Some(d), _) => Some(ManifestRef::Digest(d.clone())),
            (None, Some(t)) => Some(ManifestRef::Tag(t.to_string())),
            (None, None) => None,
        }
    }

    /// The same image addressed by `digest` (any tag is kept for display).
    pub fn with_digest(&self, digest: Digest) -> ImageRef {
        let mut r = self.clone();
        match &mut r {
            ImageRef::Registry(x) => x.digest = Some(digest),
            ImageRef::Layout(x) => x.digest = Some(digest),
        }
        r
    }

    /// The same repository with `tag` and no digest.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        let mut r = self.clone();
        match &mut r {
            ImageRef::Registry(x) => {
                x.tag = Some(tag.to_string());
                x.tag_written = true;
                x.digest = None;
            }
            ImageRef::Layout(x) => {
                x.tag = Some(tag.to_string());
                x.digest = None;
            }
        }
        r
    }

    /// The same image in another repository of the same store.
    pub fn with_repository(&self, repository: &str) -> ImageRef {
        let mut r = self.clone();
        match &mut r {
            ImageRef::Registry(x) => x.repository = repository.to_string(),
            ImageRef::Layout(x) => x.repository = repository.to_string(),
        }
        r
    }

    /// The pullspec without a transport prefix, as it appears in `image-references`
    /// (`quay.io/okd/scos-content@sha256:…`). For a layout this is the `oci:` form.
    pub fn pullspec(&self) -> String {
        self.to_string()
    }
}

impl FromStr for ImageRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("oci:") {
            return parse_layout(s, rest).map(ImageRef::Layout);
        }
        let rest = s.strip_prefix("docker://").unwrap_or(s);
        parse_registry(s, rest).map(ImageRef::Registry)
    }
}

fn invalid(input: &str, reason: impl Into<String>) -> Error {
    Error::InvalidReference {
        input: input.to_string(),
        reason: reason.into(),
    }
}

fn parse_registry(input: &str, s: &str) -> Result<RegistryRef, Error> {
    if s.contains("://") {
        return Err(invalid(
            input,
            "unknown transport (expected docker:// or oci:)",
        ));
    }
    let parsed = oci_spec::distribution::Reference::try_from(s)
        .map_err(|e| invalid(input, e.to_string()))?;
    if !is_valid_repository(parsed.repository()) {
        return Err(invalid(
            input,
            format!("invalid repository name {:?}", parsed.repository()),
        ));
    }
    let digest = parsed.digest().map(str::parse::<Digest>).transpose()?;
    // oci-spec defaults a missing tag to `latest`; a reference by digest alone keeps no tag.
    let tag = match (parsed.tag(), &digest) {
        (Some(t), Some(_)) if t == "latest" && !s.contains(":latest@") => None,
        (t, _) => t.map(str::to_string),
    };
    let tag_written = tag.is_some() && name_has_tag(s);
    Ok(RegistryRef {
        registry: parsed.registry().to_string(),
        repository: parsed.repository().to_string(),
        tag,
        digest,
        tag_written,
    })
}

/// True when the name part of `s` (before any `@digest`) ends in `:TAG`: a `:` after the last
/// `/`, so that a port (`host:5000/repo`) is not taken for a tag.
fn name_has_tag(s: &str) -> bool {
    let name = s.split('@').next().unwrap_or(s);
    name.rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'))
}

fn parse_layout(input: &str, s: &str) -> Result<LayoutRef, Error> {
    // As containers/image does, the path ends at the first `:`; everything after it is the name.
    let (path, name) = match s.split_once(':') {
        Some((p, n)) => (p, Some(n)),
        None => (s, None),
    };
    if path.is_empty() {
        return Err(invalid(input, "missing layout directory after oci:"));
    }
    let mut layout = LayoutRef {
        path: PathBuf::from(path),
        repository: String::new(),
        tag: None,
        digest: None,
    };
    let Some(name) = name else {
        return Ok(layout);
    };
    let (name, digest) = match name.split_once('@') {
        Some((n, d)) => (n, Some(d.parse::<Digest>()?)),
        None => (name, None),
    };
    layout.digest = digest;
    if name.is_empty() {
        if layout.digest.is_none() {
            return Err(invalid(input, "empty image name after the layout path"));
        }
        return Ok(layout);
    }
    let (repository, tag) = match name.rsplit_once(':') {
        Some((r, t)) => (r, t),
        None => ("", name),
    };
    if !is_valid_tag(tag) {
        return Err(invalid(input, format!("invalid tag {tag:?}")));
    }
    if !repository.is_empty() && !is_valid_repository(repository) {
        return Err(invalid(input, format!("invalid repository {repository:?}")));
    }
    layout.repository = repository.to_string();
    layout.tag = Some(tag.to_string());
    Ok(layout)
}

/// True for a tag the distribution spec allows: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// True for a repository name the distribution spec allows: lowercase path components
/// separated by `/`, each made of alphanumerics joined by `.`, `_`, `__` or runs of `-`.
pub fn is_valid_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.len() <= 255
        && repo.split('/').all(|component| {
            let b = component.as_bytes();
            let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && alnum(&b[0])
                && alnum(&b[b.len() - 1])
                && b.iter()
                    .all(|c| alnum(c) || matches!(c, b'.' | b'_' | b'-'))
                && !component.contains("..")
                && !component.contains("___")
                && !component.contains("._")
                && !component.contains("_.")
        })
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Registry(r) => {
                write!(f, "{}/{}", r.registry, r.repository)?;
                if let Some(t) = &r.tag {
                    write!(f, ":{t}")?;
                }
                if let Some(d) = &r.digest {
                    write!(f, "@{d}")?;
                }
                Ok(())
            }
            ImageRef::Layout(l) => {
                write!(f, "oci:{}", l.path.display())?;
                match (&l.tag, l.repository.is_empty()) {
                    (Some(t), true) => write!(f, ":{t}")?,
                    (Some(t), false) => write!(f, ":{}:{t}", l.repository)?,
                    (None, _) if l.digest.is_some() => write!(f, ":")?,
                    (None, _) => {}
                }
                if let Some(d) = &l.digest {
                    write!(f, "@{d}")?;
                }
                Ok(())
            }
        }
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ImageRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reg(s: &str) -> RegistryRef {
        match s.parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            other => panic!("not a registry ref: {other:?}"),
        }
    }

    #[test]
    fn docker_hub_normalisation() {
        let r = reg("busybox");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/busybox");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r = reg("docker://quay.io/okd/scos-release:4.19.0-okd-scos.19");
        assert_eq!(r.registry, "quay.io");
        assert_eq!(r.repository, "okd/scos-release");
    }

    #[test]
    fn port_and_digest() {
        let d = Digest::sha256_of(b"x");
        let r = reg(&format!("127.0.0.1:5000/okd/release@{d}"));
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest, Some(d.clone()));
        let r = reg(&format!("localhost:5000/a/b:t@{d}"));
        assert_eq!(r.tag.as_deref(), Some("t"));
    }

    #[test]
    fn written_tags_are_told_from_defaulted_ones() {
        let written = |s: &str| s.parse::<ImageRef>().unwrap().tag_written();
        assert!(written("quay.io/okd/release:4.19"));
        assert!(written("docker://127.0.0.1:5000/okd/release:latest"));
        assert!(written("oci:/srv/okd:okd/release:4.19"));
        assert!(!written("127.0.0.1:5000/okd/release"));
        assert!(!written("docker://quay.io/okd/release"));
        assert!(!written("busybox"));
        assert!(!written(&format!("quay.io/x@{}", Digest::sha256_of(b"x"))));
        assert!(!written("oci:/srv/okd"));
        // The flag does not take part in equality, and the printed form writes the tag.
        let bare: ImageRef = "quay.io/okd/release".parse().unwrap();
        let tagged: ImageRef = "quay.io/okd/release:latest".parse().unwrap();
        assert_eq!(bare, tagged);
        assert_eq!(bare.to_string(), "quay.io/okd/release:latest");
        assert!(bare.to_string().parse::<ImageRef>().unwrap().tag_written());
        assert!(bare.with_tag("4.19").tag_written());
    }

    #[test]
    fn layout_forms() {
        let r: ImageRef = "oci:/tmp/x".parse().unwrap();
        assert_eq!(r.tag(), None);
        let r: ImageRef = "oci:/tmp/x:latest".parse().unwrap();
        assert_eq!((r.repository(), r.tag()), ("", Some("latest")));
        let r: ImageRef = "oci:/tmp/x:okd/release:4.19".parse().unwrap();
        assert_eq!((r.repository(), r.tag()), ("okd/release", Some("4.19")));
    }

    #[test]
    fn malformed_refs_name_the_input() {
        for bad in [
            "",
            "UPPER/case:tag",
            "quay.io/okd/x:bad tag",
            "http://quay.io/x",
            "oci:",
            "quay.io/x@sha256:abc",
            "quay.io/x@md5:d41d8cd98f00b204e9800998ecf8427e",
        ] {
            let err = bad.parse::<ImageRef>().unwrap_err();
            assert!(
                err.to_string().contains(bad) || bad.is_empty(),
                "{bad:?}: {err}"
            );
        }
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,8}([._-][a-z0-9]{1,8})?"
    }

    fn registry_ref() -> impl Strategy<Value = ImageRef> {
        (
            "[a-z]{1,10}\\.(io|com)(:[1-9][0-9]{1,4})?",
            proptest::collection::vec(component(), 1..4),
            proptest::option::of("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}"),
            proptest::option::of(any::<[u8; 8]>().prop_map(|b| Digest::sha256_of(&b))),
        )
            .prop_filter("needs a tag or digest", |(_, _, t, d)| {
                t.is_some() || d.is_some()
            })
            .prop_map(|(registry, parts, tag, digest)| {
                ImageRef::Registry(RegistryRef {
                    registry,
                    repository: parts.join("/"),
                    tag_written: tag.is_some(),
                    tag,
                    digest,
                })
            })
    }

    fn layout_ref() -> impl Strategy<Value = ImageRef> {
        (
            "/[a-z0-9/_-]{1,20}",
            proptest::option::of(proptest::collection::vec(component(), 1..3)),
            "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}",
        )
            .prop_map(|(path, repo, tag)| {
                ImageRef::Layout(LayoutRef {
                    path: PathBuf::from(path),
                    repository: repo.map(|p| p.join("/")).unwrap_or_default(),
                    tag: Some(tag),
                    digest: None,
                })
            })
    }

    proptest! {
        #[test]
        fn registry_refs_round_trip(r in registry_ref()) {
            let printed = r.to_string();
            prop_assert_eq!(printed.parse::<ImageRef>().unwrap(), r.clone());
            let prefixed = format!("docker://{printed}");
            prop_assert_eq!(prefixed.parse::<ImageRef>().unwrap(), r);
        }

        #[test]
        fn layout_refs_round_trip(r in layout_ref()) {
            prop_assert_eq!(r.to_string().parse::<ImageRef>().unwrap(), r);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,80}") {
            let _ = s.parse::<ImageRef>();
        }
    }
}
