//! Air-gapped mirroring: a release goes from its registry to disk on the connected side, and
//! from disk into the disconnected registry, with the ImageDigestMirrorSet that points a cluster
//! at it.
//!
//! The "upstream registry" is a generated payload in a layout; the disconnected registry is
//! Debian's `docker-registry` started on a loopback port.
//!
//! ```text
//! cargo run --example airgap_mirror
//! cargo run --example airgap_mirror -- --upstream docker://quay.io/okd/scos-release:<version>
//! ```

use std::path::Path;
use std::sync::Arc;

use okd_streams::mirror::progress::NoProgress;
use okd_streams::mirror::run::ReleaseRun;
use okd_streams::mirror::{Naming, PayloadLoader, ReleaseMirror, ReleaseTarget};
use okd_streams::oci::registry::RegistryOptions;
use okd_streams::oci::{ImageRef, LayoutStore, StoreKey, StoreMap};
use testkit::payload::{PayloadSpec, generate};

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn run(dir: &Path, upstream: Option<&str>) -> Result<(), Error> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let stores = StoreMap::new(RegistryOptions::default());
    let from: ImageRef = match upstream {
        Some(u) => u.parse()?,
        None => {
            // A layout standing in for quay.io.
            let upstream_dir = dir.join("quay.io");
            let layout = Arc::new(LayoutStore::open_or_create(&upstream_dir).await?);
            let p = generate(layout.as_ref(), &PayloadSpec::new().components(60)).await?;
            println!(
                "release {} with {} components at {}\n",
                p.version,
                p.components.len(),
                p.pullspec_prefix
            );
            stores.alias("quay.io", layout.clone());
            stores.insert(StoreKey::layout(&upstream_dir), layout);
            format!(
                "oci:{}:{}:{}",
                upstream_dir.display(),
                p.release.repo,
                p.version
            )
            .parse()?
        }
    };

    // Connected side: the release's registry → disk.
    let disk = dir.join("disk");
    let to_disk = ReleaseRun::new(ReleaseMirror {
        source: from,
        target: ReleaseTarget::parse(
            &format!("oci:{}:okd/release", disk.display()),
            Naming::Release,
        )?,
    });
    let outcome = to_disk
        .run(&stores, &PayloadLoader::default(), Arc::new(NoProgress))
        .await?;
    let t = &outcome.report.totals;
    println!(
        "to disk: {} images, {} bytes copied\n{}",
        t.images, t.bytes_copied, outcome.instructions
    );
    let on_disk = outcome
        .plan
        .images
        .iter()
        .find(|i| i.mapping.kind == okd_streams::mirror::ImageKind::Release)
        .map(|i| i.mapping.destination.clone())
        .ok_or("no release image in the plan")?;

    // Disconnected side: disk → the local registry, source long gone.
    let registry = testkit::Registry::spawn().await?;
    let host = registry.host();
    let options = RegistryOptions::default().insecure_registry(host.clone());
    let stores = StoreMap::new(options);
    let idms = dir.join("idms.yaml");
    let mut upload = ReleaseRun::new(ReleaseMirror {
        source: on_disk,
        target: ReleaseTarget::parse(&format!("{host}/okd/release"), Naming::Release)?,
    });
    upload.outputs.idms = Some(idms.clone());
    let outcome = upload
        .run(&stores, &PayloadLoader::default(), Arc::new(NoProgress))
        .await?;
    let t = &outcome.report.totals;
    println!(
        "from disk to {host}: {} images written, {} bytes copied\n",
        t.images_written, t.bytes_copied
    );
    println!("{}:\n{}", idms.display(), std::fs::read_to_string(&idms)?);
    print!("{}", outcome.instructions);
    Ok(())
}

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let upstream = match args.as_slice() {
        [flag, u] if flag == "--upstream" => Some(u.as_str()),
        [] => None,
        _ => {
            return Err(
                "usage: airgap_mirror [--upstream docker://quay.io/okd/scos-release:<version>]"
                    .into(),
            );
        }
    };
    rt.block_on(run(Path::new("target/airgap"), upstream))?;
    if upstream.is_none() {
        println!(
            "\n(a generated upstream; --upstream docker://quay.io/okd/scos-release:<version> mirrors a real one)"
        );
    }
    Ok(())
}
