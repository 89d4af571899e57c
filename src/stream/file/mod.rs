//! The stream file: a YAML document that declares a stream, one to one with [`StreamBuilder`].
//!
//! The format is described in `docs/stream-file.md` and by the JSON Schema in
//! `schema/stream.schema.json` (generated from these types by [`super::schema`]). Errors name
//! the field (`gating.jobs.images.gate`) with line and column. Relative paths are relative to
//! the current directory, as paths on a command line are.
//!
//! ```
//! use okd_streams::stream::StreamFile;
//! let f = StreamFile::parse(r#"
//! name: 4.19.0-0.okd-scos
//! store: oci:target/okd-demo
//! upstream:
//!   image: docker://quay.io/okd/scos-release:4.19.0-okd-scos.1
//! gating:
//!   jobs:
//!     images: { check: images }
//! promotions:
//!   - { name: next, repository: 4-scos-next }
//! "#, "okd-demo.yaml")?;
//! assert_eq!(f.name, "4.19.0-0.okd-scos");
//! let e = StreamFile::parse("name: x\nstore: oci:y\nupstream: {image: a:b}\ngating: {jobs: {j: {gate: maybe}}}\n", "bad.yaml").unwrap_err();
//! assert!(e.to_string().contains("gating.jobs.j.gate"), "{e}");
//! # Ok::<(), okd_streams::stream::StreamError>(())
//! ```

mod gating;
mod os;
mod release_controller;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use gating::{CheckFile, GateFile, GatingFile, JobFile, NoUpgradeSourceFile, UpgradeFromFile};
pub use os::{CustomVariantFile, FileEntry, LayerFile, OsFile, VariantFile};
pub use release_controller::{ReleaseControllerFile, RunnerFile};

use super::mirror::ReleaseMirrorStage;
use super::{
    CreatedFrom, Promotion, ReleaseFormat, StreamBuilder, StreamError, UpstreamSource,
    VersionScheme,
};

/// A stream file. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StreamFile {
    /// Stream name; dated release names are `<name>-<YYYY-MM-DD-HHMMSS>` (e.g.
    /// `4.19.0-0.okd-scos`).
    pub name: String,
    /// Where releases are written: `oci:PATH` (an OCI layout) or
    /// `docker://HOST[:PORT][/PREFIX]` (a registry).
    pub store: String,
    /// Namespace of the stream's repositories in the store (default `okd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Registry host that payloads name the stream's own images by (default: the registry's
    /// host, `localhost` for a layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_host: Option<String>,
    /// Directory of the stream's state and job logs (default: `<file>.state` next to the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The upstream release payload.
    pub upstream: UpstreamFile,
    /// The operating system: CoreOS variant and layering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsFile>,
    /// Architectures of the releases: `multi` (a manifest list of every architecture of the
    /// upstream list), a list of Go names (`[amd64, arm64]`, that subset), or `single` (the
    /// default: one image, linux/amd64 read from lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<ArchFile>,
    /// Let operator manifests name payload tags the release lacks (after an OS variant swap).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_missing_images: bool,
    /// Payload tag overrides, `name=pullspec`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// How releases are named (default: dated).
    #[serde(default)]
    pub version: VersionFile,
    /// Which time is written into release images: `tick` (default) or `inputs` (the upstream
    /// release's, making builds reproducible anywhere).
    #[serde(default)]
    pub created_from: CreatedFromFile,
    /// Manifest format of release images: `oci` (default for layouts) or `docker` (Docker
    /// schema 2 as `oc` writes them, default for registries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_format: Option<ReleaseFormatFile>,
    /// Mirror each candidate before it is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<MirrorFile>,
    /// Gating: limits and verification jobs.
    #[serde(default)]
    pub gating: GatingFile,
    /// Where accepted releases are published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotions: Vec<PromotionFile>,
    /// Registries reached without TLS verification (`HOST[:PORT]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insecure_registries: Vec<String>,
    /// Sign every promoted release (key, passphrase file, identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<super::SigningFile>,
    /// What released payloads reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishFile>,
}

/// What released payloads reference.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PublishFile {
    /// Repository of the stream's namespace that every component is copied into while a
    /// release is built (`<release>-<tag>` tags), and that the payload names its components
    /// by (`oc adm release new --mirror`). Components must be named by digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_repository: Option<String>,
}

/// The architectures of a stream's releases: a keyword or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ArchFile {
    /// `multi` or `single`.
    Keyword(ArchKeyword),
    /// These architectures (`amd64`, `arm64`, `ppc64le`, `s390x`; `x86_64` and `aarch64` are
    /// accepted too).
    List(Vec<String>),
}

/// `multi` or `single`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArchKeyword {
    /// Every architecture of the upstream list.
    Multi,
    /// One image (the default).
    Single,
}

impl ArchFile {
    fn to_arch(&self, stream: &str) -> Result<super::ReleaseArch, StreamError> {
        Ok(match self {
            ArchFile::Keyword(ArchKeyword::Multi) => super::ReleaseArch::Multi,
            ArchFile::Keyword(ArchKeyword::Single) => super::ReleaseArch::Single,
            ArchFile::List(names) => {
                let mut list = Vec::with_capacity(names.len());
                for (i, n) in names.iter().enumerate() {
                    let a = n.parse::<okd_coreos::Architecture>().map_err(|e| {
                        StreamError::invalid(stream, format!("arch[{i}]"), e.to_string())
                    })?;
                    list.push(a);
                }
                super::ReleaseArch::only(list)
            }
        })
    }
}

/// The upstream payload: `image`, or `repository` with `tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpstreamFile {
    /// One release image (`docker://quay.io/okd/scos-release:4.19.0-okd-scos.1`,
    /// `oci:PATH:REPO:TAG`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A repository whose newest tag matching `tags` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Glob over the repository's tags (`4.19.0-okd-scos.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
}

/// The version scheme.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum VersionFile {
    /// `<name>-<YYYY-MM-DD-HHMMSS>`.
    #[default]
    Dated,
    /// `<version>-<label>.<n>`.
    Sequence {
        /// `x.y.z`.
        version: String,
        /// Label before the number (`okd-scos`).
        label: String,
    },
}

/// Which time goes into release images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CreatedFromFile {
    /// The tick's time.
    #[default]
    Tick,
    /// The upstream release's creation time.
    Inputs,
}

/// The mirror stage (what `okd-streams mirror release SRC --to TO` does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MirrorFile {
    /// Destination repository (`docker://HOST/REPO` or `oci:PATH:REPO`), or `archive:DIR` for
    /// a transfer archive of each release in `DIR/<version>/`.
    pub to: String,
    /// With `archive:DIR`, the size in bytes no chunk exceeds (default 4 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_archive_size: Option<u64>,
    /// How mirrored images are tagged: `release` (`<version>-<arch>-<component>`, default),
    /// `content` (`<version>-<component>`) or `digest_only`.
    #[serde(default)]
    pub naming: NamingFile,
    /// Component name globs to mirror (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Component name globs to leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Directory to write `<version>.idms.yaml` ImageDigestMirrorSets into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idms_dir: Option<String>,
}

/// Tags of mirrored images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NamingFile {
    /// `<version>-<arch>-<component>`.
    #[default]
    Release,
    /// `<version>-<component>`.
    Content,
    /// By digest only.
    DigestOnly,
}

/// Manifest format of release images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReleaseFormatFile {
    /// OCI image manifest.
    Oci,
    /// Docker schema 2.
    Docker,
}

/// A promotion: `tag` (a tag of the release repository follows the newest accepted release)
/// or `repository` (the newest accepted release is copied there under its version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PromotionFile {
    /// Name of the publish step.
    pub name: String,
    /// Tag in the release repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Repository in the stream's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

impl StreamFile {
    /// Parses a stream file's text; `file` names it in errors.
    pub fn parse(text: &str, file: impl AsRef<Path>) -> Result<StreamFile, StreamError> {
        let file = file.as_ref().to_path_buf();
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // The YAML error starts with the path already when it knows it.
            let inner = inner.strip_prefix(&format!("{path}: ")).unwrap_or(&inner);
            let message = if path.is_empty() || path == "." {
                inner.to_string()
            } else {
                format!("field `{path}`: {inner}")
            };
            StreamError::File { file, message }
        })
    }

    /// Reads a stream file.
    pub fn load(path: impl AsRef<Path>) -> Result<StreamFile, StreamError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| StreamError::io(path, e))?;
        StreamFile::parse(&text, path)
    }

    /// The state directory: `state`, or `<file>.state` next to `file`.
    pub fn state_dir(&self, file: &Path) -> PathBuf {
        match &self.state {
            Some(s) => PathBuf::from(s),
            None => {
                let mut name = file.file_name().unwrap_or_default().to_os_string();
                name.push(".state");
                file.with_file_name(name)
            }
        }
    }

    /// The builder this file declares (state in [`StreamFile::state_dir`] of `file`).
    pub fn to_builder(&self, file: &Path) -> Result<StreamBuilder, StreamError> {
        let n = self.name.as_str();
        let mut b = StreamBuilder::new(n).store(&self.store);
        b = b.state_dir(self.state_dir(file));
        if let Some(ns) = &self.namespace {
            b = b.namespace(ns);
        }
        if let Some(h) = &self.public_host {
            b = b.public_host(h);
        }
        for h in &self.insecure_registries {
            b = b.insecure_registry(h);
        }
        b = b.upstream(self.upstream.to_source(n)?);
        if let Some(signing) = &self.signing {
            b = b.signing(signing.clone());
        }
        if let Some(os) = &self.os {
            b = b.os(os.to_layering(n)?);
        }
        if let Some(arch) = &self.arch {
            b = b.arch(arch.to_arch(n)?);
        }
        for (i, o) in self.overrides.iter().enumerate() {
            let (name, pullspec) = o.split_once('=').ok_or_else(|| {
                StreamError::invalid(
                    n,
                    format!("overrides[{i}]"),
                    format!("{o:?} is not NAME=PULLSPEC"),
                )
            })?;
            b = b.override_image(name, pullspec);
        }
        b = b.allow_missing_images(self.allow_missing_images);
        if let Some(repo) = self
            .publish
            .as_ref()
            .and_then(|p| p.content_repository.as_ref())
        {
            b = b.content_repository(repo);
        }
        b = b.version_scheme(match &self.version {
            VersionFile::Dated => VersionScheme::Dated,
            VersionFile::Sequence { version, label } => VersionScheme::sequence(version, label)
                .map_err(|e| StreamError::invalid(n, "version", e.to_string()))?,
        });
        b = b.created_from(match self.created_from {
            CreatedFromFile::Tick => CreatedFrom::Tick,
            CreatedFromFile::Inputs => CreatedFrom::Inputs,
        });
        if let Some(f) = self.release_format {
            b = b.release_format(match f {
                ReleaseFormatFile::Oci => ReleaseFormat::Oci,
                ReleaseFormatFile::Docker => ReleaseFormat::Docker,
            });
        }
        if let Some(m) = &self.mirror {
            let mut stage = ReleaseMirrorStage::new(&m.to).naming(match m.naming {
                NamingFile::Release => okd_mirror::Naming::Release,
                NamingFile::Content => okd_mirror::Naming::Content,
                NamingFile::DigestOnly => okd_mirror::Naming::DigestOnly,
            });
            for p in &m.include {
                stage = stage.include(p);
            }
            for p in &m.exclude {
                stage = stage.exclude(p);
            }
            if let Some(d) = &m.idms_dir {
                stage = stage.idms_dir(d);
            }
            if let Some(size) = m.max_archive_size {
                stage = stage.max_archive_size(size);
            }
            b = b.mirror_release(stage);
        }
        b = self.gating.add_to(b, n)?;
        for (i, p) in self.promotions.iter().enumerate() {
            let promotion = match (&p.tag, &p.repository) {
                (Some(t), None) => Promotion::Tag(t.clone()),
                (None, Some(r)) => Promotion::Repository(r.clone()),
                _ => {
                    return Err(StreamError::invalid(
                        n,
                        format!("promotions[{i}]"),
                        "give exactly one of `tag` and `repository`",
                    ));
                }
            };
            b = b.promote(&p.name, promotion);
        }
        Ok(b)
    }
}

impl UpstreamFile {
    fn to_source(&self, stream: &str) -> Result<UpstreamSource, StreamError> {
        let field = |f: &str, e: StreamError| StreamError::invalid(stream, f, e.to_string());
        match (&self.image, &self.repository, &self.tags) {
            (Some(i), None, None) => {
                UpstreamSource::image(i).map_err(|e| field("upstream.image", e))
            }
            (None, Some(r), Some(t)) => {
                UpstreamSource::newest(r, t).map_err(|e| field("upstream.repository", e))
            }
            (None, Some(_), None) => Err(StreamError::invalid(
                stream,
                "upstream.tags",
                "a repository needs a tag pattern",
            )),
            _ => Err(StreamError::invalid(
                stream,
                "upstream",
                "give either `image`, or `repository` and `tags`",
            )),
        }
    }
}
