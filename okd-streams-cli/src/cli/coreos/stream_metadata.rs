//! `coreos stream-metadata`: artifact look-ups in a CoreOS stream metadata file.

use std::path::PathBuf;

use clap::Args;
use okd_coreos::{Architecture, Artifact, ImageFormat, StreamMetadata};
use serde::Serialize;

use crate::cli::CliError;
use crate::cli::output::{OutputFormat, print_json, print_text};

#[derive(Debug, Args)]
pub struct StreamMetadataArgs {
    /// The stream metadata JSON file (`streams/<stream>.json`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only this architecture (`x86_64`, `aarch64`; `amd64`/`arm64` are accepted too).
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Only this platform (`metal`, `qemu`, `aws`, …).
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Only this format (`raw.xz`, `qcow2.xz`, `iso`, `pxe`, …).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Output format: text prints `URL SHA256` per file.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Found<'a> {
    architecture: &'a str,
    platform: &'a str,
    format: &'a str,
    /// `disk`, `kernel`, `initramfs` or `rootfs`.
    file: &'static str,
    release: &'a str,
    location: &'a str,
    sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uncompressed_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    stream: &'a str,
    last_modified: String,
    releases: Vec<&'a str>,
    artifacts: Vec<Found<'a>>,
}

fn files(f: &ImageFormat) -> impl Iterator<Item = (&'static str, &Artifact)> {
    [
        ("disk", f.disk.as_ref()),
        ("kernel", f.kernel.as_ref()),
        ("initramfs", f.initramfs.as_ref()),
        ("rootfs", f.rootfs.as_ref()),
    ]
    .into_iter()
    .filter_map(|(n, a)| a.map(|a| (n, a)))
}

/// The architecture key as stream metadata spells it (the RPM name).
fn arch_key(arch: &str) -> String {
    arch.parse::<Architecture>()
        .map(|a| a.rpm_name().to_string())
        .unwrap_or_else(|_| arch.to_string())
}

fn lookup<'a>(
    stream: &'a StreamMetadata,
    arch: Option<&str>,
    platform: Option<&str>,
    format: Option<&str>,
) -> Result<Vec<Found<'a>>, CliError> {
    // With the leading filters given, the typed look-ups name exactly what is missing.
    match (arch, platform, format) {
        (Some(a), Some(p), Some(f)) => {
            stream.format(a, p, f)?;
        }
        (Some(a), Some(p), None) => {
            stream.platform(a, p)?;
        }
        (Some(a), _, _) => {
            stream.arch(a)?;
        }
        _ => {}
    }
    let mut out = Vec::new();
    for (arch_name, a) in &stream.architectures {
        if arch.is_some_and(|x| x != arch_name) {
            continue;
        }
        for (platform_name, p) in &a.artifacts {
            if platform.is_some_and(|x| x != platform_name) {
                continue;
            }
            for (format_name, f) in &p.formats {
                if format.is_some_and(|x| x != format_name) {
                    continue;
                }
                for (file, artifact) in files(f) {
                    out.push(Found {
                        architecture: arch_name,
                        platform: platform_name,
                        format: format_name,
                        file,
                        release: &p.release,
                        location: &artifact.location,
                        sha256: artifact.sha256.as_str(),
                        uncompressed_sha256: artifact
                            .uncompressed_sha256
                            .as_ref()
                            .map(|s| s.as_str()),
                        signature: artifact.signature.as_deref(),
                    });
                }
            }
        }
    }
    if out.is_empty() {
        let filters: Vec<String> = [("arch", arch), ("platform", platform), ("format", format)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
            .collect();
        return Err(format!(
            "stream {}: no artifacts{}",
            stream.stream,
            if filters.is_empty() {
                String::new()
            } else {
                format!(" for {}", filters.join(", "))
            }
        )
        .into());
    }
    Ok(out)
}

pub fn run(a: StreamMetadataArgs) -> Result<(), CliError> {
    let bytes = std::fs::read(&a.file).map_err(|e| format!("{}: {e}", a.file.display()))?;
    let stream =
        StreamMetadata::from_slice(&bytes).map_err(|e| format!("{}: {e}", a.file.display()))?;
    let arch = a.arch.as_deref().map(arch_key);
    let found = lookup(
        &stream,
        arch.as_deref(),
        a.platform.as_deref(),
        a.format.as_deref(),
    )
    .map_err(|e| format!("{}: {e}", a.file.display()))?;
    if a.output.is_json() {
        return print_json(&Document {
            stream: &stream.stream,
            last_modified: stream.metadata.last_modified.to_string(),
            releases: stream.releases().into_iter().collect(),
            artifacts: found,
        });
    }
    let text: String = found
        .iter()
        .map(|f| format!("{} {}\n", f.location, f.sha256))
        .collect();
    print_text(&text)
}
