//! `coreos inspect`: `okd_coreos::inspect` on the command line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Args;
use okd_coreos::Architecture;
use okd_coreos::inspect::{LayerRole, OsImageInfo, inspect};
use serde::Serialize;

use crate::cli::output::{OutputFormat, print_json, print_text};
use crate::cli::{CliError, store::Stores};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The OS image.
    #[arg(value_name = "REF")]
    pub image: String,
    /// The architecture to pick when the image is a multi-architecture index.
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<Architecture>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

pub async fn run(a: InspectArgs, stores: &Stores) -> Result<(), CliError> {
    let source = stores.source(&a.image).await?;
    let info = inspect(
        source.store.as_ref(),
        &source.repo,
        &source.reference,
        a.arch,
    )
    .await?;
    if a.output.is_json() {
        return print_json(&Document::of(&info));
    }
    print_text(&text(&info))
}

fn role(r: LayerRole) -> &'static str {
    match r {
        LayerRole::OstreeCommit => "ostree-commit",
        LayerRole::Chunk => "chunk",
        LayerRole::Derived => "derived",
        LayerRole::Unknown => "unknown",
    }
}

fn text(info: &OsImageInfo) -> String {
    let mut out = String::new();
    let or_dash = |s: Option<&str>| s.unwrap_or("-").to_string();
    let _ = writeln!(out, "Image:        {}", info.image);
    let _ = writeln!(out, "Digest:       {}", info.manifest_digest);
    let _ = writeln!(out, "Config:       {}", info.config_digest);
    let _ = writeln!(
        out,
        "OS/Arch:      {}/{}",
        or_dash(info.os.as_deref()),
        or_dash(info.architecture.as_deref())
    );
    let _ = writeln!(out, "Created:      {}", or_dash(info.created.as_deref()));
    let _ = writeln!(
        out,
        "OS image:     {}",
        if info.is_os_image() { "yes" } else { "no" }
    );
    if let Some(v) = info.variant() {
        let _ = writeln!(out, "Variant:      {}", v.name());
    }
    if let Some(m) = &info.machine_os {
        let name = m.display_name.as_deref().unwrap_or("");
        let _ = writeln!(out, "Machine OS:   {} {name}", m.version);
    } else if let Some(v) = info.os_version() {
        let _ = writeln!(out, "OS version:   {v}");
    }
    if let Some(c) = &info.ostree.commit {
        let _ = writeln!(out, "Ostree:       {c}");
    }
    if let Some(l) = &info.ostree.linux {
        let _ = writeln!(out, "Kernel:       {l}");
    }
    let base = info.base_layers().count();
    let derived = info.derived_layers().count();
    let _ = writeln!(
        out,
        "Layers:       {} ({base} base, {derived} added)",
        info.layers.len()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<3} {:<13} {:>8}  {:<71}  PACKAGES",
        "#", "ROLE", "SIZE", "DIGEST"
    );
    for l in &info.layers {
        let _ = writeln!(
            out,
            "  {:<3} {:<13} {:>8}  {:<71}  {}",
            l.index,
            role(l.role),
            human_size(l.size),
            l.digest,
            l.components.len()
        );
    }
    out
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    image: &'a str,
    digest: String,
    config_digest: String,
    os: Option<&'a str>,
    architecture: Option<&'a str>,
    created: Option<&'a str>,
    os_image: bool,
    derived: bool,
    variant: Option<String>,
    machine_os: Option<MachineOs<'a>>,
    os_version: Option<&'a str>,
    ostree: Ostree<'a>,
    labels: &'a BTreeMap<String, String>,
    layers: Vec<Layer<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MachineOs<'a> {
    version: &'a str,
    display_name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Ostree<'a> {
    bootable: bool,
    bootc: bool,
    commit: Option<&'a str>,
    final_diff_id: Option<String>,
    linux: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Layer<'a> {
    index: usize,
    digest: String,
    diff_id: String,
    size: u64,
    media_type: &'a str,
    role: &'static str,
    components: &'a [String],
}

impl<'a> Document<'a> {
    fn of(info: &'a OsImageInfo) -> Document<'a> {
        Document {
            image: &info.image,
            digest: info.manifest_digest.to_string(),
            config_digest: info.config_digest.to_string(),
            os: info.os.as_deref(),
            architecture: info.architecture.as_deref(),
            created: info.created.as_deref(),
            os_image: info.is_os_image(),
            derived: info.is_derived(),
            variant: info.variant().map(|v| v.name().to_string()),
            machine_os: info.machine_os.as_ref().map(|m| MachineOs {
                version: &m.version,
                display_name: m.display_name.as_deref(),
            }),
            os_version: info.os_version(),
            ostree: Ostree {
                bootable: info.ostree.bootable,
                bootc: info.ostree.bootc,
                commit: info.ostree.commit.as_deref(),
                final_diff_id: info.ostree.final_diffid.as_ref().map(ToString::to_string),
                linux: info.ostree.linux.as_deref(),
            },
            labels: &info.labels,
            layers: info
                .layers
                .iter()
                .map(|l| Layer {
                    index: l.index,
                    digest: l.digest.to_string(),
                    diff_id: l.diff_id.to_string(),
                    size: l.size,
                    media_type: &l.media_type,
                    role: role(l.role),
                    components: &l.components,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(10_485_760), "10.5MB");
    }
}
