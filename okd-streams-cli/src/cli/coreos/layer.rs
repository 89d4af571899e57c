//! `coreos layer`: `okd_coreos::layering::LayeredImage` on the command line.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use okd_coreos::layer_source::{DirSource, FileListSource};
use okd_coreos::layering::LayeredImage;
use okd_coreos::{Architecture, Variant};

use crate::cli::output::{key_value, print_text};
use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct LayerArgs {
    /// The base OS image.
    #[arg(long, value_name = "REF")]
    pub from: String,
    /// A directory whose contents become a layer, placed under DEST in the image (default /),
    /// or a single file placed at DEST (default /<file name>). Repeatable; one layer each, in
    /// order.
    #[arg(long = "add", value_name = "PATH[:DEST]")]
    pub adds: Vec<String>,
    /// A label to set (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = key_value)]
    pub labels: Vec<(String, String)>,
    /// A label of the base to remove (repeatable).
    #[arg(long = "remove-label", value_name = "KEY")]
    pub remove_labels: Vec<String>,
    /// The machine-os version the image shows in a release (io.openshift.build.versions).
    #[arg(long, value_name = "VERSION")]
    pub machine_os: Option<String>,
    /// The machine-os display name (io.openshift.build.version-display-names).
    #[arg(long, value_name = "NAME", conflicts_with = "variant")]
    pub display_name: Option<String>,
    /// Set the machine-os display name of this variant (fcos, scos, rhcos).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<Variant>,
    /// The architecture to pick when the base is a multi-architecture index.
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<Architecture>,
    /// The image's creation time (RFC 3339; default: the base's, so the same inputs give the
    /// same digest).
    #[arg(long, value_name = "TIME")]
    pub created: Option<DateTime<Utc>>,
    /// Make added modes canonical (0644, 0755 when executable), so that the umask of the
    /// checkout never changes the digest.
    #[arg(long)]
    pub canonical_modes: bool,
    /// Enable a unit for a target: writes usr/lib/systemd/system/TARGET.wants/UNIT, a link to
    /// the unit file the added layers or the base have (repeatable).
    #[arg(long = "enable", value_name = "UNIT:TARGET")]
    pub enables: Vec<String>,
    /// Remove a path of the base with an OCI whiteout (repeatable; a path the base does not
    /// have is refused).
    #[arg(long = "remove", value_name = "PATH")]
    pub removals: Vec<String>,
    /// A kernel argument for running nodes, emitted as a MachineConfig (repeatable).
    #[arg(long = "karg", value_name = "ARG")]
    pub kargs: Vec<String>,
    /// A systemd unit file for running nodes, emitted (enabled) in the MachineConfig under its
    /// file name (repeatable).
    #[arg(long = "node-unit", value_name = "FILE")]
    pub node_units: Vec<PathBuf>,
    /// The MachineConfig pool of --karg and --node-unit (default worker).
    #[arg(long, value_name = "POOL")]
    pub pool: Option<String>,
    /// Where the MachineConfig of --karg and --node-unit is written (required with them).
    #[arg(long, value_name = "DIR")]
    pub machine_config_dir: Option<PathBuf>,
    /// Accept a base that is not an OS image (no ostree.bootable or containers.bootc label).
    #[arg(long)]
    pub force: bool,
    /// Where to write the new image (a tag is optional).
    #[arg(long, value_name = "REF")]
    pub to: String,
}

/// `PATH[:DEST]` split at the first colon; DEST loses its leading slashes.
fn split_add(arg: &str) -> Result<(PathBuf, Option<String>), String> {
    let (path, dest) = match arg.split_once(':') {
        Some((p, d)) => (p, Some(d.trim_start_matches('/').to_string())),
        None => (arg, None),
    };
    if path.is_empty() {
        return Err(format!("--add {arg:?}: the path is empty"));
    }
    Ok((PathBuf::from(path), dest.filter(|d| !d.is_empty())))
}

pub async fn run(a: LayerArgs, stores: &Stores) -> Result<(), CliError> {
    let source = stores.source(&a.from).await?;
    let mut image = LayeredImage::new(source.store.as_ref(), &source.repo, &source.reference);
    for arg in &a.adds {
        let (path, place) = split_add(arg)?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| format!("--add {}: {e}", path.display()))?;
        if meta.is_dir() {
            let mut dir = DirSource::new(&path);
            if let Some(d) = &place {
                dir = dir.prefix(d);
            }
            image = image.layer(dir);
        } else if meta.is_file() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let at = place.unwrap_or(name);
            image = image.layer(FileListSource::new().file(&at, &path, file_mode(&meta)));
        } else {
            return Err(format!(
                "--add {}: not a directory or a regular file",
                path.display()
            )
            .into());
        }
    }
    for (k, v) in &a.labels {
        image = image.label(k, v);
    }
    for k in &a.remove_labels {
        image = image.remove_label(k);
    }
    if let Some(v) = &a.machine_os {
        image = image.machine_os(v);
    }
    if let Some(d) = &a.display_name {
        image = image.display_name(d);
    }
    if let Some(v) = &a.variant {
        image = image.display_name_of(v);
    }
    if let Some(arch) = a.arch {
        image = image.architecture(arch);
    }
    if let Some(c) = a.created {
        image = image.created(c);
    }
    if a.force {
        image = image.force_non_os_base();
    }
    if a.canonical_modes {
        image = image.canonical_modes();
    }
    image = node_changes(&a, image)?;
    let dest = stores.destination(&a.to).await?;
    let out = match image
        .write_to(dest.store.as_ref(), &dest.repo, dest.tag.as_deref())
        .await
    {
        Ok(out) => out,
        Err(e) => {
            dest.discard_if_unused().await;
            return Err(e.into());
        }
    };
    let digest = out.manifest.digest().clone();
    for m in &out.moved {
        eprintln!("placed /{} at /{} (through the base's links)", m.from, m.to);
    }
    eprint!("{}", okd_coreos::lint::render(&out.lint));
    if let (Some(mc), Some(dir)) = (&out.machine_config, &a.machine_config_dir) {
        let path = mc.write_to_dir(dir)?;
        eprintln!("wrote MachineConfig {} to {}", mc.name(), path.display());
    }
    tracing::info!(
        "added {} layer(s) on {} ({} base layers kept)",
        out.layers.len(),
        out.base.image,
        out.base.layers.len()
    );
    print_text(&format!("{digest} {}\n", dest.written_as(digest.clone())))
}

/// Units, removals, kernel arguments and node units of `a`, set on `image`.
fn node_changes<'a>(
    a: &LayerArgs,
    mut image: LayeredImage<'a>,
) -> Result<LayeredImage<'a>, CliError> {
    for e in &a.enables {
        let (unit, target) = e
            .split_once(':')
            .ok_or_else(|| format!("--enable {e:?}: expected UNIT:TARGET"))?;
        image = image.enable(unit, target);
    }
    for r in &a.removals {
        image = image.remove(r);
    }
    for k in &a.kargs {
        image = image.kernel_argument(k);
    }
    for f in &a.node_units {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let contents =
            std::fs::read_to_string(f).map_err(|e| format!("--node-unit {}: {e}", f.display()))?;
        image = image.node_unit(&name, Some(true), Some(contents));
    }
    if let Some(p) = &a.pool {
        image = image.pool(p);
    }
    let machine_config = !a.kargs.is_empty() || !a.node_units.is_empty();
    if machine_config && a.machine_config_dir.is_none() {
        return Err(
            "--karg and --node-unit need --machine-config-dir, where the MachineConfig is written"
                .into(),
        );
    }
    Ok(image)
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> u32 {
    0o644
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_arguments() {
        assert_eq!(
            split_add("overlay").unwrap(),
            (PathBuf::from("overlay"), None)
        );
        assert_eq!(
            split_add("overlay:/usr/lib/okd").unwrap(),
            (PathBuf::from("overlay"), Some("usr/lib/okd".to_string()))
        );
        assert_eq!(split_add("f:/").unwrap(), (PathBuf::from("f"), None));
        assert!(split_add(":/x").is_err());
    }
}
