//! OS layers from a Containerfile, built by a real image builder (buildah or podman).
//!
//! RPM packages, `RUN` steps and anything else a container build can do need a builder that
//! runs the base OS's own tools. [`ContainerfileBuild`] hands the base OS image to the builder
//! as the build argument `BASE_IMAGE` (an OCI layout the builder reads with `FROM $BASE_IMAGE`),
//! builds with `--timestamp 0` so that the same inputs give the same layers, and copies the
//! result into the destination store. The added layers are then linted like any other OS layer
//! (see [`image_lint`](crate::image_lint)): errors refuse the image, warnings are returned.
//!
//! The builder is found on `PATH`; a missing one is [`Error::BuilderMissing`], naming the
//! Debian package to install. Builder storage lives in a temporary directory, so nothing is
//! left in the machine's container storage.
//!
//! ```no_run
//! # async fn demo(store: &okd_oci::MemoryStore) -> Result<(), okd_coreos::Error> {
//! use okd_coreos::containerfile::ContainerfileBuild;
//! use okd_oci::ManifestRef;
//!
//! let built = ContainerfileBuild::new("os/Containerfile", "os")
//!     .storage_driver("vfs")
//!     .isolation("chroot")
//!     .build(store, "fedora/fedora-coreos", &ManifestRef::Tag("stable".into()), store, "okd/node", Some("built"))
//!     .await?;
//! println!("{} ({} warnings)", built.digest, built.lint.findings.len());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use okd_oci::{Digest, LayoutStore, ManifestRef, Store, copy};

use crate::Error;
use crate::image_lint::{BaseOf, lint_image};
use crate::lint::LintReport;
use crate::tree_cache::TreeCache;

/// The build argument the base OS image is passed in.
pub const BASE_IMAGE_ARG: &str = "BASE_IMAGE";

/// Which image builder runs the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageBuilder {
    /// `buildah build` (Debian package `buildah`).
    #[default]
    Buildah,
    /// `podman build` (Debian package `podman`).
    Podman,
}

impl ImageBuilder {
    /// The program's name.
    pub fn program(self) -> &'static str {
        match self {
            ImageBuilder::Buildah => "buildah",
            ImageBuilder::Podman => "podman",
        }
    }

    /// Where the program is on `PATH`, or [`Error::BuilderMissing`].
    pub fn find(self) -> Result<PathBuf, Error> {
        self.find_on(&std::env::var_os("PATH").unwrap_or_default())
    }

    /// Where the program is in the directories of `path` (a `PATH` value).
    pub fn find_on(self, path: &std::ffi::OsStr) -> Result<PathBuf, Error> {
        std::env::split_paths(path)
            .map(|d| d.join(self.program()))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::BuilderMissing {
                program: self.program().to_string(),
                package: self.program().to_string(),
            })
    }
}

/// What a Containerfile build wrote.
#[derive(Debug, Clone)]
pub struct ContainerfileOutput {
    /// The built image's manifest digest in the destination.
    pub digest: Digest,
    /// The lint's warnings on the layers the build added.
    pub lint: LintReport,
}

/// A Containerfile built on a base OS image. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct ContainerfileBuild {
    containerfile: PathBuf,
    context: PathBuf,
    builder: ImageBuilder,
    storage_driver: Option<String>,
    isolation: Option<String>,
    build_args: BTreeMap<String, String>,
}

impl ContainerfileBuild {
    /// `containerfile` built in the context directory `context`, by buildah.
    pub fn new(containerfile: impl Into<PathBuf>, context: impl Into<PathBuf>) -> Self {
        ContainerfileBuild {
            containerfile: containerfile.into(),
            context: context.into(),
            builder: ImageBuilder::default(),
            storage_driver: None,
            isolation: None,
            build_args: BTreeMap::new(),
        }
    }

    /// Builds with podman or buildah.
    pub fn builder(mut self, builder: ImageBuilder) -> Self {
        self.builder = builder;
        self
    }

    /// The builder's storage driver (`vfs` where overlay mounts are not allowed).
    pub fn storage_driver(mut self, driver: &str) -> Self {
        self.storage_driver = Some(driver.to_string());
        self
    }

    /// How `RUN` steps are isolated (`chroot` inside a container without user namespaces).
    pub fn isolation(mut self, isolation: &str) -> Self {
        self.isolation = Some(isolation.to_string());
        self
    }

    /// Adds a build argument (`BASE_IMAGE` is set by the build itself).
    pub fn build_arg(mut self, key: &str, value: &str) -> Self {
        self.build_args.insert(key.to_string(), value.to_string());
        self
    }

    /// The Containerfile.
    pub fn containerfile(&self) -> &Path {
        &self.containerfile
    }

    /// The context directory.
    pub fn context(&self) -> &Path {
        &self.context
    }

    /// What the build is, for messages and history.
    pub fn describe(&self) -> String {
        format!(
            "{} build -f {} {}",
            self.builder.program(),
            self.containerfile.display(),
            self.context.display()
        )
    }

    /// Builds on the base image `base_ref` of `base_repo` and writes the result to `dest_repo`
    /// of `dest` (tagged `tag` when given). Refused when the lint finds an error in the added
    /// layers.
    pub async fn build(
        &self,
        base: &dyn Store,
        base_repo: &str,
        base_ref: &ManifestRef,
        dest: &dyn Store,
        dest_repo: &str,
        tag: Option<&str>,
    ) -> Result<ContainerfileOutput, Error> {
        let program = self.builder.find()?;
        // Lowercase only: buildah names the image it reads from the layout's path, and image
        // names must be lowercase.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("okd-containerfile-{:x}-{nanos:x}", std::process::id());
        let temp = tempfile::Builder::new()
            .prefix(&name)
            .rand_bytes(0)
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let t = temp.path();
        let base_layout = LayoutStore::create(t.join("base")).await?;
        copy::copy_image(base, base_repo, base_ref, &base_layout, "", Some("base")).await?;

        let global = self.global_args(t);
        let mut args = global.clone();
        args.extend(["build".to_string(), "--timestamp".into(), "0".into()]);
        if let Some(i) = &self.isolation {
            args.extend(["--isolation".to_string(), i.clone()]);
        }
        let from = format!("oci:{}:base", t.join("base").display());
        args.extend([
            "--build-arg".to_string(),
            format!("{BASE_IMAGE_ARG}={from}"),
        ]);
        for (k, v) in &self.build_args {
            args.extend(["--build-arg".to_string(), format!("{k}={v}")]);
        }
        args.extend([
            "-f".to_string(),
            self.containerfile.display().to_string(),
            "-t".to_string(),
            "localhost/okd-streams-build".to_string(),
            self.context.display().to_string(),
        ]);
        self.run(&program, &args).await?;
        let mut push = global;
        push.extend([
            "push".to_string(),
            "localhost/okd-streams-build".to_string(),
            format!("oci:{}:built", t.join("out").display()),
        ]);
        self.run(&program, &push).await?;

        let out = LayoutStore::open(t.join("out")).await?;
        let built = ManifestRef::Tag("built".to_string());
        let cache = TreeCache::new();
        let lint = lint_image(
            &out,
            "",
            &built,
            None,
            BaseOf::Image(&base_layout, "", &ManifestRef::Tag("base".into())),
            &cache,
        )
        .await?;
        let mut report = LintReport::default();
        for l in lint {
            report.extend(l.report);
        }
        if report.has_errors() {
            return Err(Error::LintRefused {
                image: self.describe(),
                layer: self.containerfile.display().to_string(),
                findings: report
                    .errors()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        let (manifest, _) = copy::copy_image(&out, "", &built, dest, dest_repo, tag).await?;
        Ok(ContainerfileOutput {
            digest: manifest.digest().clone(),
            lint: report,
        })
    }

    /// Storage in `temp`, and the storage driver.
    fn global_args(&self, temp: &Path) -> Vec<String> {
        let mut args = vec![
            "--root".to_string(),
            temp.join("storage").display().to_string(),
            "--runroot".to_string(),
            temp.join("run").display().to_string(),
        ];
        if let Some(d) = &self.storage_driver {
            args.extend(["--storage-driver".to_string(), d.clone()]);
        }
        args
    }

    async fn run(&self, program: &Path, args: &[String]) -> Result<(), Error> {
        let out = tokio::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| Error::io(program, e))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        Err(Error::BuildFailed {
            build: self.describe(),
            status: out.status.to_string(),
            output: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
        })
    }
}
