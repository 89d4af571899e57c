//! `mirror release SRC --to archive:DIR` (mirror to disk) and `mirror archive DIR --to REPO`
//! (disk to mirror): transfer archives for air-gapped sites.

use std::path::PathBuf;

use clap::Args;
use okd_mirror::archive::{ArchiveOutcome, ArchiveRestore, ArchiveWrite, History, RestoreOutcome};
use okd_mirror::{Naming, PayloadLoader, ReleaseTarget};

use super::{NamingArg, ReleaseArgs, flags, progress};
use crate::cli::output::print_text;
use crate::cli::{CliError, store::Stores};

/// The `--to` prefix of an archive destination.
pub const ARCHIVE_PREFIX: &str = "archive:";

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// The archive directory (the `okd-mirror_NNNNNN.tar` chunks).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The repository the release and its components go to: [docker://]HOST[:PORT]/REPO. For
    /// an archive of an image set (`mirror --config … --to archive:`), the prefix the set goes
    /// under in oc-mirror's layout: [docker://]HOST[:PORT][/PATH].
    #[arg(long, value_name = "REPO")]
    pub to: String,
    /// Where to write idms-oc-mirror.yaml and the release's signature ConfigMap (for an image
    /// set: also itms-oc-mirror.yaml, graph.json and signature-configmap.{json,yaml}).
    #[arg(long, value_name = "DIR", default_value = "cluster-resources")]
    pub cluster_resources: PathBuf,
    /// Where to extract the archive's manifests and configs before pushing (layers are read
    /// from the chunks; default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    pub staging_dir: Option<PathBuf>,
    /// How destination tags are named.
    #[arg(long, value_enum, default_value_t)]
    pub naming: NamingArg,
    /// Operations in flight per registry.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = okd_mirror::DEFAULT_JOBS)]
    pub jobs: usize,
    /// Attempts per blob and manifest (default: the library's).
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
}

/// `4GiB`, `500MiB`, `1048576`: binary units (`K`, `M`, `G`, `T` with or without `iB`), or
/// bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 4GiB, 500MiB, 1048576)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?} (use KiB, MiB, GiB, TiB)"
            ));
        }
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// `mirror release SRC --to archive:DIR`.
pub async fn write(a: &ReleaseArgs, dir: &str, stores: &Stores) -> Result<(), CliError> {
    if a.dry_run || a.to_release_image.is_some() || a.idms.is_some() || a.icsp.is_some() {
        return Err(
            "--to archive: takes no --dry-run, --to-release-image, --idms or --icsp: the mirror configuration is written when the archive is restored (mirror archive)"
                .into(),
        );
    }
    let run = a.to_run_with_target(&format!("oci:{dir}"))?;
    let mut write = ArchiveWrite::new(run.release.source.clone(), PathBuf::from(dir));
    write.filter = run.filter;
    write.platform = run.platform.clone();
    write.options = run.options;
    write.max_chunk_size = a.max_archive_size;
    if let Some(since) = &a.since {
        write.since = Some(History::load(since)?);
    }
    if let Some(signatures) = a.signatures.read(stores, &a.source).await? {
        write.signatures = signatures;
    }
    let loader = PayloadLoader {
        platform: run.platform,
    };
    let display = progress::Display::new();
    let outcome = write.run(stores.map(), &loader, display.sink()).await;
    display.finish();
    let outcome = outcome?;
    written(
        &outcome,
        dir,
        &format!("Archive of {}", run.release.source),
        "REGISTRY/REPOSITORY",
    )
}

/// What a written archive holds, and how to restore it (`what` names the content, `to` the
/// kind of destination).
pub fn written(outcome: &ArchiveOutcome, dir: &str, what: &str, to: &str) -> Result<(), CliError> {
    let m = &outcome.manifest;
    eprintln!(
        "archive {dir}: {} chunks after the index, {} in all; {} blobs left out as delivered before ({})",
        m.chunks.len(),
        progress::bytes(outcome.bytes),
        m.omitted.len(),
        progress::bytes(m.omitted_bytes)
    );
    print_text(&format!(
        "Success\n{what} written to {dir} ({} files in {} chunks)\n\nTo restore it on the other side:\n\n    okd-streams mirror archive {dir} --to {to}\n\n",
        m.entries.len(),
        m.chunks.len() + 1
    ))
}

/// `mirror archive DIR --to REPO`.
pub async fn restore(a: ArchiveArgs, stores: &Stores) -> Result<(), CliError> {
    let naming = match a.naming {
        NamingArg::Release => Naming::Release,
        NamingArg::Content => Naming::Content,
        NamingArg::DigestOnly => Naming::DigestOnly,
    };
    let mut restore = ArchiveRestore::new(a.dir.clone(), ReleaseTarget::parse(&a.to, naming)?);
    restore.options = flags::options(a.jobs, a.retries);
    restore.staging = a.staging_dir.clone();
    restore.cluster_resources = Some(a.cluster_resources.clone());
    let display = progress::Display::new();
    let outcome = restore
        .run(stores.map(), &PayloadLoader::default(), display.sink())
        .await;
    display.finish();
    let outcome = outcome?;
    if outcome.resources.is_some() {
        return restored_set(&a, &outcome);
    }
    super::summarise(&outcome.mirror);
    let mut written = outcome.written.clone();
    for (digest, signatures) in outcome.signatures.iter().filter(|(_, s)| !s.is_empty()) {
        written.push(okd_sign::configmap::write_signature_config_map(
            &a.cluster_resources,
            digest,
            signatures,
        )?);
    }
    for path in &written {
        eprintln!("wrote {}", path.display());
    }
    print_text(&outcome.mirror.instructions)
}

/// An image set restored: the summary, the resources, and the signatures as oc-mirror's one
/// ConfigMap.
fn restored_set(a: &ArchiveArgs, outcome: &RestoreOutcome) -> Result<(), CliError> {
    let mut written = outcome.written.clone();
    written.extend(okd_sign::configmap::write_mirrored_signatures(
        &a.cluster_resources,
        &outcome.signatures,
    )?);
    super::imageset::summarise(&outcome.mirror.report, &outcome.mirror.plan, &written);
    print_text(&format!(
        "Success\nImage set restored under {}\n",
        a.to.strip_prefix("docker://").unwrap_or(&a.to)
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("4GB!").is_err());
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }
}
