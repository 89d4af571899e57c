//! The driver of `benches/compare-skopeo.sh`: generates a synthetic OKD payload into a registry,
//! mirrors a release between loopback registries, and verifies a destination.
//!
//! ```text
//! mirror-bench generate --registry 127.0.0.1:5000 [--components 190] [--layer-size BYTES] [--seed N]
//! mirror-bench mirror --from REL --to REPO [-j N] [--report F] [--mapping F] [--journal F] [--dry-run]
//! mirror-bench verify --from REL --to REPO
//! ```
//!
//! Every registry on 127.0.0.1 is spoken to over plain HTTP. `--journal` appends one JSON line per
//! finished blob copy as it happens, so that runs killed part-way leave a record of what they
//! completed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use okd_mirror::progress::{BlobOutcome, Event, NoProgress, Progress};
use okd_mirror::run::ReleaseRun;
use okd_mirror::{
    MirrorOptions, MirrorPlan, MirrorSpec, Naming, PayloadLoader, ReleaseMirror, ReleaseTarget,
};
use okd_oci::registry::RegistryOptions;
use okd_oci::{Access, ManifestRef, StoreMap};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a payload into a registry; prints {"release": …, "unique_blob_bytes": …}.
    Generate {
        #[arg(long)]
        registry: String,
        #[arg(long, default_value_t = 190)]
        components: usize,
        #[arg(long, default_value_t = 5 * 1024 * 1024)]
        layer_size: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Mirror a release.
    Mirror {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(short = 'j', long, default_value_t = 16)]
        jobs: usize,
        #[arg(long)]
        report: Option<PathBuf>,
        #[arg(long)]
        mapping: Option<PathBuf>,
        #[arg(long)]
        journal: Option<PathBuf>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Check that every image of the release is at the destination with all its blobs.
    Verify {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

fn stores(jobs: usize) -> StoreMap {
    let options = RegistryOptions::default()
        .insecure_registry("127.0.0.1")
        .max_concurrent_requests(jobs + 4);
    StoreMap::new(options)
}

/// Appends one line per finished blob copy.
struct Journal(Mutex<File>);

impl Progress for Journal {
    fn event(&self, event: &Event) {
        if let Event::BlobFinished {
            outcome: BlobOutcome::Copied,
            ..
        } = event
            && let Ok(line) = serde_json::to_string(event)
        {
            let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
            // One write per line: a kill can cut the journal only between lines.
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mirror-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Generate {
            registry,
            components,
            layer_size,
            seed,
        } => {
            let set = stores(8);
            let store = set
                .store(&format!("{registry}/x:y").parse()?, Access::Read)
                .await?;
            let spec = testkit::payload::PayloadSpec::new()
                .components(components)
                .layer_size(layer_size)
                .seed(seed)
                .pullspec_prefix(format!("{registry}/okd/scos-content"))
                .concurrency(8);
            let payload = testkit::payload::generate(store.as_ref(), &spec).await?;
            let release = format!("{registry}/okd/scos-release:{}", payload.version);
            println!(
                "{}",
                serde_json::json!({ "release": release, "unique_blob_bytes": payload.unique_blob_bytes })
            );
        }
        Command::Mirror {
            from,
            to,
            jobs,
            report,
            mapping,
            journal,
            dry_run,
        } => {
            let mut run = ReleaseRun::new(ReleaseMirror {
                source: from.parse()?,
                target: ReleaseTarget::parse(&to, Naming::Release)?,
            });
            run.options.jobs = if jobs == 0 {
                okd_mirror::DEFAULT_JOBS
            } else {
                jobs
            };
            run.dry_run = dry_run;
            run.outputs.report = report;
            run.outputs.mapping = mapping;
            let progress: Arc<dyn Progress> = match journal {
                Some(path) => {
                    let f = OpenOptions::new().create(true).append(true).open(&path)?;
                    Arc::new(Journal(Mutex::new(f)))
                }
                None => Arc::new(NoProgress),
            };
            let started = std::time::Instant::now();
            let outcome = run
                .run(&stores(jobs), &PayloadLoader::default(), progress)
                .await?;
            let t = &outcome.report.totals;
            eprintln!(
                "{} images ({} written, {} present), {} MiB copied, {} blobs mounted, {} skipped, {:.2}s",
                t.images,
                t.images_written,
                t.images_present,
                t.bytes_copied >> 20,
                t.blobs_mounted,
                t.blobs_skipped,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Verify { from, to } => verify(&from, &to).await?,
    }
    Ok(())
}

async fn verify(from: &str, to: &str) -> Result<(), Box<dyn std::error::Error>> {
    let set = stores(16);
    let spec = MirrorSpec {
        releases: vec![ReleaseMirror {
            source: from.parse()?,
            target: ReleaseTarget::parse(to, Naming::Release)?,
        }],
        ..MirrorSpec::default()
    };
    let plan = MirrorPlan::build(
        &spec,
        &set,
        &PayloadLoader::default(),
        &MirrorOptions::default(),
        &NoProgress,
    )
    .await?;
    if plan.totals.pending_images != 0 {
        return Err(format!("{} images missing at {to}", plan.totals.pending_images).into());
    }
    let mut blobs = 0;
    let mut manifests = 0;
    for image in &plan.images {
        let dst = set.store(&image.mapping.destination, Access::Read).await?;
        let repo = image.mapping.destination.repository();
        let top = dst
            .read_manifest(repo, &ManifestRef::Digest(image.digest.clone()))
            .await?;
        let mut todo = vec![top];
        while let Some(m) = todo.pop() {
            manifests += 1;
            for r in m.references()? {
                if m.is_index() {
                    todo.push(
                        dst.read_manifest(repo, &ManifestRef::Digest(r.digest))
                            .await?,
                    );
                } else if dst.blob_size(repo, &r.digest).await? != Some(r.size) {
                    return Err(format!(
                        "{}: blob {} missing",
                        image.mapping.destination, r.digest
                    )
                    .into());
                } else {
                    blobs += 1;
                }
            }
        }
    }
    println!(
        "verify: {} images, {manifests} manifests, {blobs} blob references, all present",
        plan.images.len()
    );
    Ok(())
}
