//! Where a stream's inputs come from: the upstream payload, and the stores component images are
//! read from.
//!
//! An [`UpstreamSource`] is either one release image (`docker://quay.io/okd/scos-release:4.19.0-okd-scos.19`,
//! `oci:PATH:okd/scos-release:4.19.0-okd-scos.1`) or "the newest tag of a repository matching a
//! pattern" (`docker://quay.io/okd/scos-release` with `4.19.0-okd-scos.*`), newest by release
//! version order.
//!
//! Which store holds each image a payload names is the stream's [`StoreMap`](okd_oci::StoreMap).
//! Release payloads name their components by public pullspec
//! (`quay.io/okd/scos-content@sha256:…`); the target's public host is mapped to the target store
//! (a layout holding a copy acts as that registry, as a mirror does), a layout upstream is the
//! fallback for every other host, and other hosts go to the registry itself.
//!
//! ```
//! use okd_streams::stream::UpstreamSource;
//! let u = UpstreamSource::newest("docker://quay.io/okd/scos-release", "4.19.0-okd-scos.*")?;
//! assert_eq!(u.to_string(), "quay.io/okd/scos-release (newest tag matching 4.19.0-okd-scos.*)");
//! # Ok::<(), okd_streams::stream::StreamError>(())
//! ```

use std::fmt;

use globset::{Glob, GlobMatcher};
use okd_oci::{Digest, ImageRef, ManifestRef, Store};
use okd_release::ReleaseVersion;

use super::StreamError;

/// The upstream release payload of a stream. See the [module docs](self).
#[derive(Debug, Clone)]
pub enum UpstreamSource {
    /// One release image, by tag or digest.
    Image(ImageRef),
    /// The newest tag of `repository` matching `pattern`.
    Newest {
        /// The repository (tag and digest ignored).
        repository: ImageRef,
        /// A glob over tags (`4.19.0-okd-scos.*`).
        pattern: String,
        /// The compiled pattern.
        matcher: GlobMatcher,
    },
}

impl PartialEq for UpstreamSource {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl UpstreamSource {
    /// One release image.
    pub fn image(reference: &str) -> Result<UpstreamSource, StreamError> {
        let image: ImageRef = reference.parse()?;
        if image.manifest_ref().is_none() {
            return Err(StreamError::invalid(
                "",
                "upstream.image",
                format!("{reference} names no tag or digest"),
            ));
        }
        Ok(UpstreamSource::Image(image))
    }

    /// The newest tag of `repository` (`docker://HOST/REPO` or `oci:PATH:REPO`) matching the
    /// glob `pattern`.
    pub fn newest(repository: &str, pattern: &str) -> Result<UpstreamSource, StreamError> {
        let repository: ImageRef = match repository.parse() {
            Ok(r) => r,
            // `oci:PATH:REPO` names a repository of a layout, without a tag.
            Err(e) if repository.starts_with("oci:") => format!("{repository}:latest")
                .parse()
                .map_err(|_| StreamError::from(e))?,
            Err(e) => return Err(e.into()),
        };
        let matcher = Glob::new(pattern)
            .map_err(|e| {
                StreamError::invalid(
                    "",
                    "upstream.tags",
                    format!("{pattern:?} is not a glob: {e}"),
                )
            })?
            .compile_matcher();
        Ok(UpstreamSource::Newest {
            repository,
            pattern: pattern.to_string(),
            matcher,
        })
    }

    /// The reference that tells the store to use (for [`UpstreamSource::Newest`], the
    /// repository).
    pub fn reference(&self) -> &ImageRef {
        match self {
            UpstreamSource::Image(i) => i,
            UpstreamSource::Newest { repository, .. } => repository,
        }
    }

    /// Resolves the source to one image by digest, with the tag it was found by.
    pub async fn resolve(&self, store: &dyn Store) -> Result<ResolvedUpstream, StreamError> {
        let fail = |message: String| StreamError::Upstream {
            upstream: self.to_string(),
            message,
        };
        let (image, tag) = match self {
            UpstreamSource::Image(i) => (i.clone(), i.tag().map(str::to_string)),
            UpstreamSource::Newest {
                repository,
                matcher,
                pattern,
            } => {
                let tags = store.list_tags(repository.repository()).await?;
                let tag = newest_tag(&tags, matcher).ok_or_else(|| {
                    fail(format!(
                        "no tag matches {pattern} among {} tags",
                        tags.len()
                    ))
                })?;
                (repository.with_tag(&tag), Some(tag))
            }
        };
        let reference = image
            .manifest_ref()
            .ok_or_else(|| fail("no tag or digest".to_string()))?;
        let digest = match &reference {
            ManifestRef::Digest(d) => d.clone(),
            ManifestRef::Tag(t) => store
                .manifest_digest(image.repository(), &reference)
                .await?
                .ok_or_else(|| fail(format!("tag {t} not found")))?,
        };
        Ok(ResolvedUpstream {
            image: image.with_digest(digest.clone()),
            tag,
            digest,
        })
    }
}

fn newest_tag(tags: &[String], matcher: &GlobMatcher) -> Option<String> {
    tags.iter()
        .filter(|t| matcher.is_match(t.as_str()))
        .filter_map(|t| ReleaseVersion::parse(t).ok().map(|v| (v, t)))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, t)| t.clone())
}

impl fmt::Display for UpstreamSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamSource::Image(i) => write!(f, "{i}"),
            UpstreamSource::Newest {
                repository,
                pattern,
                ..
            } => {
                match repository {
                    ImageRef::Registry(r) => write!(f, "{}/{}", r.registry, r.repository)?,
                    ImageRef::Layout(l) => write!(f, "oci:{}:{}", l.path.display(), l.repository)?,
                }
                write!(f, " (newest tag matching {pattern})")
            }
        }
    }
}

/// The upstream payload a tick found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUpstream {
    /// The release image, by digest (the tag kept for display).
    pub image: ImageRef,
    /// The tag it was found by.
    pub tag: Option<String>,
    /// Its manifest digest.
    pub digest: Digest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_orders_by_version_not_text() {
        // `[0-9]*` keeps engineering candidates (`ec.N`) out, which semver orders after GA
        // numbers.
        let m = Glob::new("4.19.0-okd-scos.[0-9]*")
            .unwrap()
            .compile_matcher();
        let tags: Vec<String> = [
            "4.19.0-okd-scos.9",
            "4.19.0-okd-scos.10",
            "4.20.0-okd-scos.1",
            "latest",
            "4.19.0-okd-scos.ec.3",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(newest_tag(&tags, &m).as_deref(), Some("4.19.0-okd-scos.10"));
        let all = Glob::new("4.19.0-okd-scos.*").unwrap().compile_matcher();
        assert_eq!(
            newest_tag(&tags, &all).as_deref(),
            Some("4.19.0-okd-scos.ec.3")
        );
        let none = Glob::new("5.*").unwrap().compile_matcher();
        assert_eq!(newest_tag(&tags, &none), None);
    }

    #[test]
    fn image_needs_a_tag_or_digest() {
        let e = UpstreamSource::image("quay.io/okd/scos-release@").unwrap_err();
        assert!(e.to_string().contains("quay.io/okd/scos-release"), "{e}");
        assert!(UpstreamSource::image("quay.io/okd/scos-release:4.19.0-okd-scos.1").is_ok());
        let e = UpstreamSource::newest("quay.io/okd/scos-release", "[").unwrap_err();
        assert!(e.to_string().contains("upstream.tags"), "{e}");
    }
}
