//! An OKD/SCOS stream on an OCI layout, end to end, with nothing but this program.
//!
//! It generates an upstream OKD/SCOS payload (190 components) into `target/okd-demo/`, layers a
//! file onto its SCOS node image, and runs the stream over three ticks with upstream changes in
//! between: each tick assembles a release, mirrors it to `target/okd-demo.mirror/` (with an
//! ImageDigestMirrorSet), gates it with local jobs that really check the
//! payload (every image resolves, every manifest parses, the OS tag is the layered image, and
//! an upgrade check from the previous release), and promotes accepted releases to
//! `okd-demo/4-scos-next`. Then it prints release info, the diff between ticks and the upgrade
//! graph.
//!
//! ```text
//! cargo run --release --example okd_scos_stream
//! cargo run --release --example okd_scos_stream -- --upstream docker://quay.io/okd/scos-release:<version>
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use okd_streams::coreos::Variant;
use okd_streams::coreos::layer_source::FileListSource;
use okd_streams::gating::{UpgradeSource, VerifyJob};
use okd_streams::mirror::Naming;
use okd_streams::oci::{LayoutStore, ManifestRef, Store};
use okd_streams::release::{ImageColumns, Release, ReleaseDiff};
use okd_streams::stream::mirror::ReleaseMirrorStage;
use okd_streams::stream::{
    Check, OsLayering, Promotion, Stream, StreamBuilder, TickContext, UpstreamSource,
};
use testkit::payload::{NextSpec, PayloadSpec, generate};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The argument check jobs call this program back with.
const VERIFY: &str = "__verify";

/// What the demo left behind.
#[allow(dead_code)]
#[derive(Debug)]
pub struct Outcome {
    /// The layout.
    pub layout: PathBuf,
    /// Releases created, oldest first.
    pub releases: Vec<String>,
    /// The newest promoted release.
    pub promoted: Option<String>,
    /// `skopeo inspect` reference of the promoted release.
    pub inspect: Option<String>,
}

/// The program check jobs run: this example calls itself back with [`VERIFY`].
#[derive(Debug)]
pub struct Verifier {
    /// The executable.
    pub program: PathBuf,
    /// Its leading arguments.
    pub args: Vec<String>,
}

async fn stream(
    dir: &Path,
    upstream: UpstreamSource,
    verifier: &Verifier,
) -> Result<Stream, Error> {
    let args: Vec<&str> = verifier.args.iter().map(String::as_str).collect();
    let os = OsLayering::new(Variant::Scos)
        .layer(FileListSource::new().bytes(
            "etc/okd-demo/release",
            b"layered by okd-streams\n".to_vec(),
            0o644,
        ))
        .label("io.okd-demo.layered", "true");
    Ok(StreamBuilder::new("4.19.0-0.okd-scos")
        .upstream(upstream)
        .os(os)
        .store(&format!("oci:{}", dir.display()))
        .namespace("okd-demo")
        .check_program(&verifier.program, &args)
        .check_job(VerifyJob::blocking("images", "images"), Check::Images)
        .check_job(
            VerifyJob::blocking("manifests", "manifests"),
            Check::Manifests,
        )
        .check_job(VerifyJob::blocking("os", "os"), Check::Os)
        .check_job(
            VerifyJob::informing("upgrade", "upgrade").upgrade_from(UpgradeSource::Previous),
            Check::Upgrade,
        )
        .mirror_release(
            ReleaseMirrorStage::new(&format!(
                "oci:{}:okd-demo/mirror",
                mirror_dir(dir).display()
            ))
            .naming(Naming::Content)
            .idms_dir(dir.with_extension("state").join("idms")),
        )
        .promote("next", Promotion::Repository("4-scos-next".to_string()))
        .state_dir(dir.with_extension("state"))
        .build()
        .await?)
}

/// The layout releases are mirrored to.
pub fn mirror_dir(dir: &Path) -> PathBuf {
    dir.with_extension("mirror")
}

/// Runs the demo in `dir` (removed first); with `upstream`, a real upstream payload is used for
/// a single tick instead of generated ones.
pub async fn run(
    dir: &Path,
    upstream: Option<&str>,
    verifier: &Verifier,
) -> Result<Outcome, Error> {
    for d in [
        dir.to_path_buf(),
        dir.with_extension("state"),
        mirror_dir(dir),
    ] {
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
    }
    let layout = Arc::new(LayoutStore::open_or_create(dir).await?);
    let t0 = Utc
        .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .ok_or("bad time")?;
    let (source, mut payload) = match upstream {
        Some(u) => (UpstreamSource::image(u)?, None),
        None => {
            println!(
                "generating an upstream OKD/SCOS payload into {}",
                dir.display()
            );
            let p = generate(layout.as_ref(), &PayloadSpec::new()).await?;
            println!("  {} ({} components)\n", p.version, p.components.len());
            let repo = format!("oci:{}:{}", dir.display(), p.release.repo);
            (UpstreamSource::newest(&repo, "4.19.0-okd-scos.*")?, Some(p))
        }
    };
    let stream = stream(dir, source, verifier).await?;
    let ticks = if payload.is_some() { 3 } else { 1 };
    for i in 0..ticks {
        if i > 0
            && let Some(p) = &payload
        {
            let version = format!("4.19.0-okd-scos.{}", i + 1);
            let next = NextSpec {
                changed: 3,
                rebuilt: 2,
                added: 1,
                version: version.clone(),
                seed: i as u64,
                ..NextSpec::default()
            };
            let (n, changes) = p.next(layout.as_ref(), &next).await?;
            println!(
                "upstream moves to {version}: {} changed, {} rebuilt, {} added\n",
                changes.changed.len(),
                changes.rebuilt.len(),
                changes.added.len()
            );
            payload = Some(n);
        }
        let ctx = TickContext::at(t0 + TimeDelta::hours(i64::from(i)));
        let report = stream.run_until_idle(&ctx).await?;
        println!("tick {} at {}\n{report}", i + 1, ctx.now);
    }
    report(&stream, layout.as_ref(), dir).await
}

async fn report(stream: &Stream, layout: &dyn Store, dir: &Path) -> Result<Outcome, Error> {
    let status = stream.status().await?;
    println!("{status}");
    let repo = stream.release_repository();
    let mut releases = Vec::new();
    for r in &status.releases {
        releases.push(Release::load(layout, &repo, &ManifestRef::Tag(r.name.clone())).await?);
    }
    if let Some(last) = releases.last() {
        let info = last.describe(ImageColumns::Digest);
        let head: Vec<&str> = info
            .lines()
            .take_while(|l| !l.starts_with("Images:"))
            .collect();
        println!(
            "release info {}:\n{}\n  ({} images)\n",
            last.name,
            head.join("\n"),
            last.components.len()
        );
    }
    for pair in releases.windows(2) {
        let diff = ReleaseDiff::between(&pair[0], &pair[1]);
        println!(
            "diff {} -> {}:\n{}",
            pair[0].name,
            pair[1].name,
            diff.to_text(Utc::now(), false)
        );
    }
    println!(
        "upgrade graph (channel nightly):\n{}",
        stream.upgrade_graph("nightly").await?.to_json_pretty()
    );
    println!("{}", stream.upgrade_graph_dot().await?);
    let promoted = status.published.iter().map(|(_, p)| p.clone()).next_back();
    let inspect = promoted
        .as_ref()
        .map(|p| format!("oci:{}:{}:{}", dir.display(), p.repository, p.tag));
    if let Some(i) = &inspect {
        println!(
            "promoted: {}",
            promoted.as_ref().map(|p| p.release.as_str()).unwrap_or("")
        );
        println!("inspect it with:\n  skopeo inspect {i}");
    }
    println!(
        "\nto follow a real upstream instead of a generated one:\n  cargo run --release --example okd_scos_stream -- --upstream docker://quay.io/okd/scos-release:<version>"
    );
    Ok(Outcome {
        layout: dir.to_path_buf(),
        releases: releases.iter().map(|r| r.name.clone()).collect(),
        promoted: promoted.map(|p| p.release),
        inspect,
    })
}

#[allow(dead_code)]
fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.first().map(String::as_str) == Some(VERIFY) {
        let code = rt.block_on(okd_streams::stream::jobs::run_verify_args(&args[1..]));
        std::process::exit(code);
    }
    let upstream =
        match args.as_slice() {
            [flag, u] if flag == "--upstream" => Some(u.as_str()),
            [] => None,
            _ => return Err(
                "usage: okd_scos_stream [--upstream docker://quay.io/okd/scos-release:<version>]"
                    .into(),
            ),
        };
    let started = std::time::Instant::now();
    let verifier = Verifier {
        program: std::env::current_exe()?,
        args: vec![VERIFY.to_string()],
    };
    rt.block_on(run(Path::new("target/okd-demo"), upstream, &verifier))?;
    println!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
