//! OKD's two-stage promotion, end to end on an OCI layout: a nightly stream builds and accepts a
//! release; it is promoted into the Stable stream `4-scos-next`, which accepts it (upstream's
//! `4-scos-next` has no jobs); then into `4-scos-stable`, whose blocking `upgrade`
//! (PreviousPatch) and `upgrade-minor` (PreviousMinor) jobs, `maxRetries: 2`, decide it as
//! upstream's `release-okd-scos-4.y-stable.json` says. The upgrade runs from the upstream release
//! the nightly was built from; with no 4.18 anywhere, `upgrade-minor` has no source and this
//! stream opts in to skipping it, which the status says.
//!
//! ```text
//! cargo run --example okd_two_stage
//! ```

use std::path::Path;

use okd_streams::gating::{GatingPolicy, JobCommand, NoUpgradeSource, UpgradeSource, VerifyJob};
use okd_streams::oci::LayoutStore;
use okd_streams::stream::version_scheme::VersionScheme;
use okd_streams::stream::{Promotion, Stream, StreamBuilder, TickContext};
use testkit::payload::{PayloadSpec, generate};

type Error = Box<dyn std::error::Error + Send + Sync>;

const UPGRADE: &str = "echo \"upgrade $RELEASE_IMAGE_INITIAL -> $RELEASE_IMAGE_LATEST\"";

/// A stream of `name` in namespace `ns` of the shared store, with its own state directory.
fn base(dir: &Path, name: &str, ns: &str) -> StreamBuilder {
    let upstream = format!("oci:{}:okd/scos-release", dir.join("upstream").display());
    StreamBuilder::new(name)
        .upstream_newest(&upstream, "4.19.0-okd-scos.*")
        .store(&format!("oci:{}", dir.join("store").display()))
        .namespace(ns)
        .state_dir(dir.join(format!("{ns}-state")))
}

async fn streams(dir: &Path) -> Result<(Stream, Stream, Stream), Error> {
    let nightly = base(dir, "4.19.0-0.okd-scos", "okd-demo")
        .version_scheme(VersionScheme::sequence("4.19.0", "okd-scos-hpc")?)
        .job(
            VerifyJob::blocking("e2e", "e2e"),
            JobCommand::shell("echo e2e $RELEASE_IMAGE_LATEST"),
        )
        .build()
        .await?;
    let next = base(dir, "4-scos-next", "okd-next")
        .policy(GatingPolicy::builder("4-scos-next").stable().build()?)
        .promote("channel", Promotion::Tag("4-scos-next".into()))
        .build()
        .await?;
    let stable = base(dir, "4-scos-stable", "okd-stable")
        .policy(GatingPolicy::builder("4-scos-stable").stable().build()?)
        .no_upgrade_source(NoUpgradeSource::Skip)
        .job(
            VerifyJob::blocking("upgrade", "e2e-aws-upgrade")
                .max_retries(2)
                .upgrade_from(UpgradeSource::PreviousPatch),
            JobCommand::shell(UPGRADE),
        )
        .job(
            VerifyJob::blocking("upgrade-minor", "e2e-aws-upgrade")
                .max_retries(2)
                .upgrade_from(UpgradeSource::PreviousMinor),
            JobCommand::shell(UPGRADE),
        )
        .promote("channel", Promotion::Tag("4-scos-stable".into()))
        .build()
        .await?;
    Ok((nightly, next, stable))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let dir = Path::new("target/okd-two-stage");
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let layout = LayoutStore::open_or_create(dir.join("upstream")).await?;
    generate(&layout, &PayloadSpec::new().components(40)).await?;
    let (nightly, next, stable) = streams(dir).await?;

    let ctx = TickContext::now();
    let report = nightly.run_until_idle(&ctx).await?;
    let release = report
        .created
        .as_ref()
        .map(|c| c.name.clone())
        .ok_or("the nightly stream created no release")?;
    print!("{}", nightly.status().await?);
    for (from, to) in [(&nightly, &next), (&next, &stable)] {
        let adopted = to.adopt(from, &release).await?;
        println!(
            "promoted {release}: {} -> {} {}",
            from.name(),
            to.name(),
            adopted.image
        );
        let report = to.run_until_idle(&ctx).await?;
        if let Some(e) = report.errors.first() {
            return Err(format!("{}: {e}", to.name()).into());
        }
        print!("{}", to.status().await?);
    }
    Ok(())
}
