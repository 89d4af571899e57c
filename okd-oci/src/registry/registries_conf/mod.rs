//! `registries.conf` (version 2), the registry configuration of the containers tools, so that a
//! host configured for podman, skopeo or CRI-O configures okd-streams the same way.
//!
//! The format is containers/image's `pkg/sysregistriesv2` (`containers-registries.conf(5)`):
//! `[[registry]]` tables with `prefix`, `location`, `insecure`, `blocked`,
//! `mirror-by-digest-only` and `[[registry.mirror]]` tables (`location`, `insecure`,
//! `pull-from-mirror`), plus `unqualified-search-registries`. The version 1 tables
//! (`[registries.search]`, `[registries.insecure]`, `[registries.block]`) are converted as the
//! containers tools convert them. Other keys (`short-name-mode`, `[aliases]`, credential
//! helpers) are read past.
//!
//! What okd-streams applies:
//!
//! * `insecure = true`: the entry's location host, and the host of a mirror marked insecure,
//!   are insecure as with `--insecure-registry` ([`RegistriesConf::is_insecure`]);
//! * `blocked = true`: pulls from and pushes to references under the prefix fail with
//!   [`Error::Blocked`](crate::Error::Blocked), naming the file ([`RegistriesConf::blocked`]);
//! * mirrors: [`RegistriesConf::pull_sources`] gives the ordered places to pull a reference
//!   from (mirrors first, by the `pull-from-mirror` and `mirror-by-digest-only` rules, then the
//!   primary location); a [`RegistryStore`](super::RegistryStore) reads manifests and blobs
//!   from the mirrors first, then from the primary location: itself, or the entry's
//!   `location` when that rewrites the prefix. Pushes, and the existence checks a copy asks
//!   of its destination, always go to the registry the reference names, as with the
//!   containers tools.
//!
//! Where the files are read from is in [`RegistriesConf::load`].

mod load;

use std::path::PathBuf;

pub use load::{ConfSearch, REGISTRIES_CONF_ENV};

use crate::{Error, RegistryRef};

/// The registry configuration: `[[registry]]` entries, one per prefix, sorted by prefix.
///
/// ```
/// use std::path::Path;
/// use okd_oci::registry::RegistriesConf;
///
/// let conf = RegistriesConf::parse(
///     r#"
/// [[registry]]
/// prefix = "quay.io/okd"
/// location = "mirror.example:5000/okd"
/// insecure = true
///
/// [[registry]]
/// location = "registry.example"
/// blocked = true
/// "#,
///     Path::new("/etc/containers/registries.conf"),
/// )?;
/// assert!(conf.is_insecure("mirror.example:5000"));
/// assert!(conf.blocked("registry.example/okd/release").is_some());
/// assert!(conf.blocked("quay.io/okd/release").is_none());
/// # Ok::<(), okd_oci::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistriesConf {
    registries: Vec<RegistryEntry>,
    unqualified_search_registries: Vec<String>,
    files: Vec<PathBuf>,
    /// Read from one file that is the whole configuration (no search, no drop-ins).
    whole: bool,
}

/// One `[[registry]]` table, normalised (the prefix defaults to the location).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    /// What references it applies to: `host[:port][/namespace…]`, or `*.domain` for every
    /// subdomain.
    pub prefix: String,
    /// Where references under the prefix are pulled from (empty for a `*.domain` prefix: the
    /// reference's own host).
    pub location: String,
    /// TLS unverified and plain HTTP allowed for the location.
    pub insecure: bool,
    /// Pulls and pushes refused.
    pub blocked: bool,
    /// Mirrors serve pulls by digest only (for every mirror of the entry).
    pub mirror_by_digest_only: bool,
    /// Mirrors, tried in order before the location.
    pub mirrors: Vec<Mirror>,
    /// The file the entry comes from.
    pub file: PathBuf,
}

/// One `[[registry.mirror]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `host[:port][/namespace…]` replacing the prefix.
    pub location: String,
    /// TLS unverified and plain HTTP allowed for the mirror.
    pub insecure: bool,
    /// Which pulls the mirror serves.
    pub pull_from_mirror: PullFromMirror,
}

/// A mirror's `pull-from-mirror` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullFromMirror {
    /// `all` (or unset, the upstream default): pulls by digest and by tag.
    #[default]
    All,
    /// `digest-only`: pulls by digest only, since a tag may name another image on a mirror.
    DigestOnly,
    /// `tag-only`: pulls by tag only.
    TagOnly,
}

/// One place to pull a reference from (see [`RegistriesConf::pull_sources`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSource {
    /// The reference rewritten for this place.
    pub reference: RegistryRef,
    /// Whether the place is insecure.
    pub insecure: bool,
    /// True for a mirror, false for the primary location.
    pub mirror: bool,
}

impl RegistriesConf {
    /// The `[[registry]]` entries, sorted by prefix.
    pub fn registries(&self) -> &[RegistryEntry] {
        &self.registries
    }

    /// `unqualified-search-registries` as read (okd-streams takes fully qualified references
    /// only, so they are not used).
    pub fn unqualified_search_registries(&self) -> &[String] {
        &self.unqualified_search_registries
    }

    /// The files read, in the order they were merged.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The one file this configuration was read from, when it is the whole configuration
    /// ([`RegistriesConf::read`], or [`RegistriesConf::load`] with an explicit file or
    /// `$CONTAINERS_REGISTRIES_CONF`); `None` after the standard search. A program handing
    /// its configuration to the tools it starts sets `CONTAINERS_REGISTRIES_CONF` to this
    /// file; after a search they find the same files themselves.
    ///
    /// ```
    /// use std::path::Path;
    /// use okd_oci::registry::RegistriesConf;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let file = dir.path().join("registries.conf");
    /// std::fs::write(&file, "[[registry]]\nlocation = \"mirror.example\"\ninsecure = true\n")?;
    /// assert_eq!(RegistriesConf::read(&file)?.whole_file(), Some(file.as_path()));
    /// assert_eq!(RegistriesConf::default().whole_file(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn whole_file(&self) -> Option<&std::path::Path> {
        match self.files.as_slice() {
            [file] if self.whole => Some(file),
            _ => None,
        }
    }

    /// The entry for `name` (`host[:port]`, `host/repository`, or with `:tag` / `@digest`):
    /// the one with the longest matching prefix, as the containers tools pick it.
    pub fn find(&self, name: &str) -> Option<&RegistryEntry> {
        self.registries
            .iter()
            .filter(|r| prefix_match_len(name, &r.prefix).is_some())
            .max_by_key(|r| r.prefix.len())
    }

    /// The entry blocking `name`, if its entry is blocked.
    pub fn blocked(&self, name: &str) -> Option<&RegistryEntry> {
        self.find(name).filter(|r| r.blocked)
    }

    /// True when connections to `host` (`host[:port]`) are insecure: the entry for the host
    /// says so, or an insecure entry or mirror has its location on the host.
    pub fn is_insecure(&self, host: &str) -> bool {
        if self.find(host).is_some_and(|r| r.insecure) {
            return true;
        }
        self.registries.iter().any(|r| {
            (r.insecure && location_host(&r.location) == host)
                || r.mirrors
                    .iter()
                    .any(|m| m.insecure && location_host(&m.location) == host)
        })
    }

    /// Where to pull `reference` from, in order: the mirrors that serve it (all of them for a
    /// pull by digest; for a pull by tag those whose `pull-from-mirror` is `all` or `tag-only`,
    /// none when the entry is `mirror-by-digest-only`), then the primary location. A reference
    /// no entry matches has itself as its one source.
    pub fn pull_sources(&self, reference: &RegistryRef) -> Result<Vec<PullSource>, Error> {
        let name = format!("{}/{}", reference.registry, reference.repository);
        let Some(entry) = self.find(&name) else {
            return Ok(vec![PullSource {
                reference: reference.clone(),
                insecure: self.is_insecure(&reference.registry),
                mirror: false,
            }]);
        };
        let by_digest = reference.digest.is_some();
        let mirrors = entry.mirrors.iter().filter(|m| {
            if entry.mirror_by_digest_only {
                return by_digest;
            }
            match m.pull_from_mirror {
                PullFromMirror::All => true,
                PullFromMirror::DigestOnly => by_digest,
                PullFromMirror::TagOnly => !by_digest,
            }
        });
        let mut sources = Vec::new();
        for m in mirrors {
            sources.push(PullSource {
                reference: rewrite(reference, &name, entry, &m.location)?,
                insecure: m.insecure,
                mirror: true,
            });
        }
        sources.push(PullSource {
            reference: rewrite(reference, &name, entry, &entry.location)?,
            insecure: entry.insecure,
            mirror: false,
        });
        Ok(sources)
    }
}

/// `reference` (whose `host/repository` is `name`) with `entry.prefix` replaced by `location`.
fn rewrite(
    reference: &RegistryRef,
    name: &str,
    entry: &RegistryEntry,
    location: &str,
) -> Result<RegistryRef, Error> {
    // An empty location (a `*.domain` prefix) pulls from the reference itself.
    if location.is_empty() {
        return Ok(reference.clone());
    }
    let matched = prefix_match_len(name, &entry.prefix).unwrap_or(name.len());
    let rewritten = format!("{location}{}", &name[matched..]);
    match rewritten.split_once('/') {
        Some((registry, repository)) if !registry.is_empty() && !repository.is_empty() => {
            Ok(RegistryRef {
                registry: registry.to_string(),
                repository: repository.to_string(),
                ..reference.clone()
            })
        }
        _ => Err(Error::RegistriesConf {
            path: entry.file.clone(),
            reason: format!(
                "location {location:?} of prefix {:?} turns {name} into {rewritten}, \
                 which names no repository",
                entry.prefix
            ),
        }),
    }
}

/// The host part of a location (`host[:port]` before the first `/`).
fn location_host(location: &str) -> &str {
    location.split('/').next().unwrap_or(location)
}

/// How much of `name` the prefix matches, by the containers rules: the prefix must end at a
/// `/`, `:` or `@` of the name, or at its end; `*.domain` matches any subdomain of the name's
/// host.
fn prefix_match_len(name: &str, prefix: &str) -> Option<usize> {
    if let Some(domain) = prefix.strip_prefix('*') {
        // `domain` keeps its leading dot: `*.example.com` matches `a.example.com` only.
        let at = name.find(domain)?;
        if name[..at].contains('/') {
            return None;
        }
        let end = at + domain.len();
        return at_boundary(name, end).then_some(end);
    }
    (name.starts_with(prefix) && at_boundary(name, prefix.len())).then_some(prefix.len())
}

fn at_boundary(name: &str, end: usize) -> bool {
    match name.as_bytes().get(end) {
        None => end == name.len(),
        Some(c) => matches!(c, b'/' | b':' | b'@'),
    }
}

impl RegistryEntry {
    /// The error for a pull or push of `reference` that this (blocked) entry refuses.
    pub fn refusal(&self, reference: &str) -> Error {
        Error::Blocked {
            reference: reference.to_string(),
            prefix: self.prefix.clone(),
            config: self.file.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_at_a_separator() {
        assert_eq!(prefix_match_len("quay.io/okd/x", "quay.io/okd"), Some(11));
        assert_eq!(prefix_match_len("quay.io/okd", "quay.io/okd"), Some(11));
        assert_eq!(prefix_match_len("quay.io/okdx", "quay.io/okd"), None);
        assert_eq!(
            prefix_match_len("quay.io/okd@sha256:a", "quay.io/okd"),
            Some(11)
        );
        assert_eq!(
            prefix_match_len("a.example.com/x", "*.example.com"),
            Some(13)
        );
        assert_eq!(prefix_match_len("example.com/x", "*.example.com"), None);
        assert_eq!(
            prefix_match_len("q.io/a.example.com/x", "*.example.com"),
            None
        );
    }
}
