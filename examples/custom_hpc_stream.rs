//! A stream of your own, written as your own stream binary would be: an OKD/SCOS payload whose
//! node image carries an extra HPC layer (kernel tuning, an RDMA module list), gated by your
//! own jobs — one checked in-process by a custom `JobRunner`, one a shell command — and named
//! `4.19.0-okd-hpc.<n>`.
//!
//! ```text
//! cargo run --example custom_hpc_stream
//! cargo run --example custom_hpc_stream -- --upstream docker://quay.io/okd/scos-release:<version>
//! ```

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use okd_streams::coreos::Variant;
use okd_streams::coreos::layer_source::FileListSource;
use okd_streams::gating::{
    CommandJobRunner, Error as GatingError, JobCommand, JobHandle, JobRequest, JobResult,
    JobRunner, JobStatus, RunState, VerifyJob,
};
use okd_streams::oci::{Access, ImageRef, ManifestRef, ManifestView, StoreExt, StoreMap};
use okd_streams::release::Release;
use okd_streams::stream::{
    CreatedFrom, OsLayering, Promotion, StreamBuilder, TickContext, VersionScheme,
};
use testkit::payload::{PayloadSpec, generate};

type Error = Box<dyn std::error::Error + Send + Sync>;

const SYSCTL: &str = "etc/sysctl.d/90-hpc.conf";

/// Runs the `hpc-tuning` job in-process — it reads the release's node image and checks that
/// the HPC layer is its top layer — and hands every other job to local commands.
#[derive(Debug)]
struct HpcRunner {
    commands: CommandJobRunner,
    results: Mutex<HashMap<String, JobResult>>,
}

async fn check_tuning(release: &str) -> Result<String, Error> {
    let image: ImageRef = release.parse()?;
    let stores = StoreMap::new(Default::default());
    let store = stores.store(&image, Access::Read).await?;
    let release = Release::load_image(store.as_ref(), &image).await?;
    let os = release
        .component("stream-coreos")
        .ok_or("no stream-coreos tag")?;
    // The node image lives next to the release (its public host is the same store).
    let manifest = store
        .read_manifest(
            os.image.repository(),
            &ManifestRef::Digest(os.digest.clone()),
        )
        .await?;
    let ManifestView::Image(view) = manifest.view()? else {
        return Err("the node image is a manifest list".into());
    };
    let top = view.layers().last().ok_or("no layers")?;
    let digest = top.digest().to_string().parse()?;
    let blob = store
        .get_blob(os.image.repository(), &digest, 1 << 20)
        .await?;
    let mut tar = gunzip_tar(&blob)?;
    let mut found = String::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        if entry.path()?.to_string_lossy() == SYSCTL {
            entry.read_to_string(&mut found)?;
        }
    }
    if !found.contains("vm.zone_reclaim_mode") {
        return Err(format!("{SYSCTL} is not in the top layer of {}", os.pullspec).into());
    }
    Ok(format!("{} carries the HPC tuning", os.pullspec))
}

fn gunzip_tar(blob: &[u8]) -> Result<tar::Archive<flate2::read::GzDecoder<&[u8]>>, Error> {
    Ok(tar::Archive::new(flate2::read::GzDecoder::new(blob)))
}

#[async_trait]
impl JobRunner for HpcRunner {
    async fn start(&self, request: &JobRequest) -> Result<JobHandle, GatingError> {
        if request.job != "hpc-tuning" {
            return self.commands.start(request).await;
        }
        let outcome = check_tuning(&request.release.pullspec).await;
        let (state, message) = match outcome {
            Ok(m) => (RunState::Succeeded, m),
            Err(e) => (RunState::Failed, e.to_string()),
        };
        println!("  hpc-tuning: {message}");
        let handle = format!("in-process:{}", request.run_name());
        let result = JobResult {
            state,
            exit_code: None,
            timed_out: false,
            cancelled: false,
            log: None,
            message,
        };
        self.results
            .lock()
            .map_err(|_| GatingError::UnknownHandle {
                handle: handle.clone(),
            })?
            .insert(handle.clone(), result);
        Ok(JobHandle(handle))
    }

    async fn poll(&self, handle: &JobHandle) -> Result<JobStatus, GatingError> {
        if let Some(r) = self
            .results
            .lock()
            .ok()
            .and_then(|m| m.get(&handle.0).cloned())
        {
            return Ok(JobStatus::Finished(r));
        }
        self.commands.poll(handle).await
    }

    async fn cancel(&self, handle: &JobHandle) -> Result<(), GatingError> {
        self.commands.cancel(handle).await
    }
}

async fn run(dir: &Path, upstream: Option<&str>) -> Result<(), Error> {
    for d in [dir.to_path_buf(), dir.with_extension("state")] {
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
    }
    let layout = okd_streams::oci::LayoutStore::open_or_create(dir).await?;
    let upstream = match upstream {
        Some(u) => u.to_string(),
        None => {
            let p = generate(&layout, &PayloadSpec::new().components(60)).await?;
            format!("oci:{}:{}:{}", dir.display(), p.release.repo, p.version)
        }
    };

    let hpc = FileListSource::new()
        .bytes(
            SYSCTL,
            b"vm.zone_reclaim_mode = 1\nkernel.numa_balancing = 0\n".to_vec(),
            0o644,
        )
        .bytes(
            "etc/modules-load.d/rdma.conf",
            b"ib_core\nib_uverbs\nrdma_ucm\n".to_vec(),
            0o644,
        );
    let runner = HpcRunner {
        commands: CommandJobRunner::new(dir.with_extension("state").join("logs")).with_command(
            "payload-smoke",
            JobCommand::shell(
                "test -n \"$RELEASE_IMAGE_LATEST\" && echo \"smoke-testing $RELEASE_IMAGE_LATEST\"",
            ),
        ),
        results: Mutex::new(HashMap::new()),
    };
    let stream = StreamBuilder::new("4.19.0-0.okd-hpc")
        .upstream_image(&upstream)
        .os(OsLayering::new(Variant::Scos)
            .layer(hpc)
            .label("io.example.hpc", "true"))
        .version_scheme(VersionScheme::sequence("4.19.0", "okd-hpc")?)
        .created_from(CreatedFrom::Inputs)
        .store(&format!("oci:{}", dir.display()))
        .namespace("hpc")
        .runner_job(VerifyJob::blocking("hpc-tuning", "hpc-tuning"))
        .runner_job(VerifyJob::informing("payload-smoke", "payload-smoke"))
        .runner(Arc::new(runner))
        .promote("hpc-stable", Promotion::Tag("hpc-stable".into()))
        .state_dir(dir.with_extension("state"))
        .build()
        .await?;
    let report = stream.run_until_idle(&TickContext::at(Utc::now())).await?;
    print!("{report}");
    print!("{}", stream.status().await?);
    println!(
        "\ninspect the promoted release:\n  skopeo inspect oci:{}:{}:hpc-stable",
        dir.display(),
        stream.release_repository()
    );
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let upstream =
        match args.as_slice() {
            [flag, u] if flag == "--upstream" => Some(u.as_str()),
            [] => None,
            _ => return Err(
                "usage: custom_hpc_stream [--upstream docker://quay.io/okd/scos-release:<version>]"
                    .into(),
            ),
        };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(Path::new("target/okd-hpc"), upstream))?;
    if upstream.is_none() {
        println!(
            "\n(a generated upstream; --upstream docker://quay.io/okd/scos-release:<version> follows a real one)"
        );
    }
    Ok(())
}
