//! `release new`: what `oc adm release new` does.

use chrono::{DateTime, Utc};
use clap::Args;
use okd_release::{Platform, PlatformFilter, ReleaseBuilder};

use crate::cli::output::print_text;
use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Start from this release image: its components, name, metadata and upgrade edges.
    #[arg(long, value_name = "REF")]
    pub from_release: Option<String>,
    /// The release name, a semantic version (default: the input release's, else
    /// 0.0.1-<creation time>).
    #[arg(long, value_name = "VERSION")]
    pub name: Option<String>,
    /// Versions that can upgrade to this release (comma-separated, repeatable); replaces the
    /// input release's.
    #[arg(long, value_name = "V,…", value_delimiter = ',', num_args = 1)]
    pub previous: Option<Vec<String>>,
    /// Versions this release can upgrade to (comma-separated, repeatable).
    #[arg(long, value_name = "V,…", value_delimiter = ',', num_args = 1)]
    pub next: Option<Vec<String>>,
    /// The release-metadata `metadata` object, as JSON; replaces the input release's.
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// Components to add or replace, as TAG=PULLSPEC. Their annotations are reset and all their
    /// layers are searched for manifests, as `oc` does for overrides.
    #[arg(value_name = "COMPONENT=PULLSPEC")]
    pub components: Vec<String>,
    /// Files of TAG=PULLSPEC overrides, several to a line separated by spaces, `#` starting a
    /// comment (comma-separated, repeatable); read before the arguments.
    #[arg(long, value_name = "FILE,…", value_delimiter = ',')]
    pub mapping_file: Vec<std::path::PathBuf>,
    /// Leave components out of the release (comma-separated, repeatable, as oc's string
    /// slices).
    #[arg(long, value_name = "TAG,…", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Keep components even when no operator refers to them (comma-separated, repeatable).
    #[arg(long, value_name = "TAG,…", value_delimiter = ',')]
    pub include: Vec<String>,
    /// Keep every component of --from-release, even those no operator refers to (which `oc`
    /// drops).
    #[arg(long, requires = "from_release")]
    pub include_all: bool,
    /// The tag of the image the release image is built on.
    #[arg(long, value_name = "TAG", default_value = okd_release::DEFAULT_BASE_TAG)]
    pub to_image_base_tag: String,
    /// An image to build the release image on, instead of the base tag's.
    #[arg(long, value_name = "PULLSPEC")]
    pub to_image_base: Option<String>,
    /// Where to write the release image; its tag defaults to the release name.
    #[arg(long, value_name = "REF", required_unless_present_any = ["to_file", "dry_run"])]
    pub to_image: Option<String>,
    /// Write the release layer (the gzip'd release-manifests/ tarball) to this file, `-` for
    /// standard output, instead of an image: nothing is pushed and the base image is not read.
    #[arg(long, value_name = "FILE", conflicts_with = "to_image")]
    pub to_file: Option<std::path::PathBuf>,
    /// Compute everything and print what would be written, but copy and push nothing (no
    /// content mirror copy, no release image, no file).
    #[arg(long)]
    pub dry_run: bool,
    /// Read every component image from this store instead of the registry its pullspec names:
    /// `oci:PATH` (a layout holding the payload) or a registry `HOST[:PORT]` (a mirror). The
    /// repository is the one the pullspec names.
    #[arg(long, value_name = "oci:PATH|HOST")]
    pub components_from: Option<String>,
    /// Creation time (RFC 3339); the same inputs and creation time give the same digest.
    #[arg(long, value_name = "TIME")]
    pub created: Option<DateTime<Utc>>,
    /// Skip tags that operators refer to but the release lacks, instead of failing.
    #[arg(long)]
    pub allow_missing_images: bool,
    /// Do not check that operator manifests are Kubernetes objects.
    #[arg(long)]
    pub skip_manifest_check: bool,
    /// Make clusters installed from this release trust this public key: the payload gets the
    /// verification ConfigMap (with --signature-store).
    #[arg(long, value_name = "PUBKEY_FILE", requires = "signature_store")]
    pub verification_key: Option<std::path::PathBuf>,
    /// The signature store clusters read signatures from (`https://…`).
    #[arg(long, value_name = "URL", requires = "verification_key")]
    pub signature_store: Option<String>,
    /// Copy every component to REPO:<release name>-<tag> and name it REPO@<digest> in the
    /// payload and its manifests, as `oc adm release new --mirror` does (components must be
    /// named by digest).
    #[arg(long, value_name = "REPO")]
    pub mirror: Option<String>,
    /// Fail when `release lint` finds a manifest a cluster would reject or drop (otherwise
    /// each finding is a warning).
    #[arg(long)]
    pub strict: bool,
    /// When the base image is a manifest list, append the release layer to every image of it
    /// and write a new list, as `oc adm release new --keep-manifest-list` does (manifests and
    /// the input release are then read from the linux/amd64 images).
    #[arg(long, conflicts_with_all = ["platform", "filter_by_os"])]
    pub keep_manifest_list: bool,
    /// The image read from manifest lists: of --from-release, the component images and the
    /// base image.
    #[command(flatten)]
    pub platform: super::platform::PlatformArgs,
    /// Component images read (and mirrored) at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
}

pub async fn run(a: NewArgs, stores: &Stores) -> Result<(), CliError> {
    // As `oc` does, a list's manifests are read from its linux/amd64 image when it is kept.
    let platform = if a.keep_manifest_list {
        PlatformFilter::Platform(Platform::linux_amd64())
    } else {
        a.platform.filter()?
    };
    let mut builder = match &a.from_release {
        Some(from) => {
            let release = super::platform::load_on(stores, from, &platform)
                .await
                .map_err(|e| format!("--from-release {from}: {e}"))?;
            let tags: Vec<String> = release.components.keys().cloned().collect();
            let mut builder = ReleaseBuilder::from_release(release);
            if a.include_all {
                for tag in &tags {
                    builder = builder.include(tag);
                }
            }
            builder
        }
        None => ReleaseBuilder::new(),
    };
    if let Some(name) = &a.name {
        builder = builder.name(name);
    }
    if let Some(previous) = &a.previous {
        builder = builder.previous(previous.iter().filter(|v| !v.is_empty()).cloned());
    }
    if let Some(next) = &a.next {
        builder = builder.next(next.iter().filter(|v| !v.is_empty()).cloned());
    }
    if let Some(json) = &a.metadata {
        builder = builder.metadata_json(json)?;
    }
    for file in &a.mapping_file {
        builder = builder.mapping_file(file)?;
    }
    for arg in &a.components {
        builder = builder.override_arg(arg)?;
    }
    for tag in &a.exclude {
        builder = builder.exclude(tag);
    }
    for tag in &a.include {
        builder = builder.include(tag);
    }
    builder = builder
        .base_tag(&a.to_image_base_tag)
        .allow_missing_images(a.allow_missing_images)
        .skip_manifest_check(a.skip_manifest_check)
        .strict_lint(a.strict)
        .keep_manifest_list(a.keep_manifest_list)
        .platform(platform)
        .dry_run(a.dry_run)
        .concurrency(a.concurrency);
    if let Some(base) = &a.to_image_base {
        builder = builder.base_image(base);
    }
    if let Some(created) = a.created {
        builder = builder.created(created);
    }
    if let (Some(key), Some(store)) = (&a.verification_key, &a.signature_store) {
        let manifest = super::sign::verification_manifest(key, store, "okd-streams")?;
        builder = builder.extra_manifest(okd_sign::configmap::VERIFICATION_MANIFEST_FILE, manifest);
    }

    if let Some(repo) = &a.mirror {
        let mirror = okd_release::ContentMirror::in_registry(stores.map(), repo)
            .await
            .map_err(|e| format!("--mirror {repo}: {e}"))?;
        builder = builder.mirror(mirror);
    }
    let source = stores.components(a.components_from.as_deref()).await?;
    if a.to_file.is_some() || a.to_image.is_none() {
        return layer_only(&builder, &source, a.to_file.as_deref(), a.dry_run).await;
    }
    let to_image = a.to_image.as_deref().unwrap_or_default();
    let dest = stores.destination(to_image).await?;
    let built = match builder
        .build(
            &source,
            dest.store.as_ref(),
            &dest.repo,
            dest.tag.as_deref(),
        )
        .await
    {
        Ok(b) => b,
        Err(e) => {
            dest.discard_if_unused().await;
            return Err(e.into());
        }
    };
    if !built.pushed {
        // A dry run: a layout this command created for it is removed again.
        dest.discard_if_unused().await;
    }
    for w in &built.payload.warnings {
        eprintln!("warning: {w}");
    }
    for child in &built.children {
        tracing::info!("wrote {} image {}", child.platform, child.digest);
    }
    if !built.pushed {
        report_dry_run(&built.payload);
        eprintln!(
            "dry run: would write {} ({} components, {} operators, {} manifests); nothing was copied or pushed",
            built.written_to,
            built.payload.references.tags().len(),
            built.payload.operators.len(),
            built.payload.files.len()
        );
    } else {
        tracing::info!(
            "wrote {} ({} components, {} operators, {} manifests)",
            built.written_to,
            built.payload.references.tags().len(),
            built.payload.operators.len(),
            built.payload.files.len()
        );
    }
    print_text(&format!("{}\n", built.summary()))
}

/// `--to-file`, or `--dry-run` without `--to-image`: the release layer only, no base image read.
async fn layer_only(
    builder: &ReleaseBuilder,
    source: &okd_oci::StoreMap,
    to_file: Option<&std::path::Path>,
    dry_run: bool,
) -> Result<(), CliError> {
    let (payload, layer) = builder.build_layer(source).await?;
    for w in &payload.warnings {
        eprintln!("warning: {w}");
    }
    let what = format!(
        "the release layer {} of {} ({} bytes, {} components, {} manifests)",
        layer.digest,
        payload.name,
        layer.bytes.len(),
        payload.references.tags().len(),
        payload.files.len()
    );
    match to_file {
        _ if dry_run => {
            report_dry_run(&payload);
            let target = to_file.map_or("nowhere".to_string(), |p| p.display().to_string());
            eprintln!("dry run: would write {what} to {target}; nothing was copied or written");
            Ok(())
        }
        Some(path) if path.as_os_str() == "-" => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&layer.bytes)
                .and_then(|()| out.flush())
                .map_err(|e| format!("writing the release layer to standard output: {e}"))?;
            Ok(())
        }
        Some(path) => {
            let shown = path.display().to_string();
            let path = path.to_path_buf();
            let created = payload.created;
            tokio::task::spawn_blocking(move || {
                okd_release::builder::write_layer_file(&layer, &path, created)
            })
            .await
            .map_err(|e| format!("writing the release layer: {e}"))??;
            eprintln!("wrote {what} to {shown}");
            Ok(())
        }
        None => Err("give --to-image, --to-file or --dry-run".into()),
    }
}

/// What a dry run would have copied into the content mirror, one line each on stderr.
fn report_dry_run(payload: &okd_release::Payload) {
    for copy in &payload.mirrored {
        eprintln!(
            "dry run: would mirror {} ({}) to the content repository as tag {}",
            copy.source, copy.tag, copy.mirror_tag
        );
    }
}
