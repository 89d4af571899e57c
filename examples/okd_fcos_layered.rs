//! okd-machine-os style: an OKD payload whose node image is Fedora CoreOS with OKD's layer on
//! top, labelled the way the machine-config-operator and `oc adm release info` read it.
//!
//! The upstream payload (generated, SCOS) gets its OS swapped: `fedora-coreos` points at the
//! layered FCOS image, the `stream-coreos` tags go. No network: the FCOS base is a generated
//! ostree image standing in for `quay.io/fedora/fedora-coreos:stable`.
//!
//! ```text
//! cargo run --example okd_fcos_layered
//! cargo run --example okd_fcos_layered -- --upstream docker://quay.io/okd/scos-release:<version>
//! ```

use std::path::Path;

use chrono::{TimeZone, Utc};
use okd_streams::coreos::layer_source::FileListSource;
use okd_streams::coreos::{OsVersion, Variant};
use okd_streams::gating::VerifyJob;
use okd_streams::oci::{LayoutStore, ManifestRef, copy::copy_image};
use okd_streams::release::Release;
use okd_streams::stream::{Check, OsLayering, StreamBuilder, TickContext};
use testkit::payload::{PayloadSpec, generate};

type Error = Box<dyn std::error::Error + Send + Sync>;

const VERIFY: &str = "__verify";

async fn run(dir: &Path, upstream: Option<&str>) -> Result<(), Error> {
    for d in [dir.to_path_buf(), dir.with_extension("state")] {
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
    }
    let layout = LayoutStore::open_or_create(dir).await?;
    let (upstream, base) = match upstream {
        Some(u) => (
            u.to_string(),
            "docker://quay.io/fedora/fedora-coreos:stable".to_string(),
        ),
        None => {
            let p = generate(&layout, &PayloadSpec::new().components(60)).await?;
            // Stand-in for quay.io/fedora/fedora-coreos:stable.
            let os = p.component("stream-coreos").ok_or("no OS image")?;
            copy_image(
                &layout,
                &p.content_repo,
                &ManifestRef::Digest(os.digest.clone()),
                &layout,
                "fedora/fedora-coreos",
                Some("stable"),
            )
            .await?;
            (
                format!("oci:{}:{}:{}", dir.display(), p.release.repo, p.version),
                format!("oci:{}:fedora/fedora-coreos:stable", dir.display()),
            )
        }
    };

    let fcos: OsVersion = "41.20250315.3.0".parse()?;
    let machine_os = fcos.to_component_version().to_string();
    let program = std::env::current_exe()?;
    let stream = StreamBuilder::new("4.19.0-0.okd")
        .upstream_image(&upstream)
        .os(OsLayering::new(Variant::Fcos)
            .base(base.parse()?)
            .layer(
                FileListSource::new()
                    .bytes("usr/lib/okd/release", b"OKD/FCOS\n".to_vec(), 0o644)
                    .bytes(
                        "etc/containers/registries.conf.d/okd.conf",
                        b"unqualified-search-registries = [\"quay.io\"]\n".to_vec(),
                        0o644,
                    ),
            )
            .machine_os(&machine_os))
        // The upstream MCO still names the SCOS tags, which the swap removes.
        .allow_missing_images(true)
        .store(&format!("oci:{}", dir.display()))
        .namespace("okd")
        .check_program(program, &[VERIFY])
        .check_job(VerifyJob::blocking("os", "os"), Check::Os)
        .check_job(VerifyJob::blocking("images", "images"), Check::Images)
        .state_dir(dir.with_extension("state"))
        .build()
        .await?;
    let t = Utc
        .with_ymd_and_hms(2025, 3, 16, 6, 0, 0)
        .single()
        .ok_or("bad time")?;
    let report = stream.run_until_idle(&TickContext::at(t)).await?;
    print!("{report}");

    let created = report.created.ok_or("no release was created")?;
    let release = Release::load(
        &layout,
        &stream.release_repository(),
        &ManifestRef::Tag(created.name.clone()),
    )
    .await?;
    println!("\nOS tags of {}:", release.name);
    for tag in [
        "fedora-coreos",
        "stream-coreos",
        "stream-coreos-extensions",
        "machine-os-content",
    ] {
        match release.component(tag) {
            Some(c) => println!("  {tag:<26} {}", c.pullspec),
            None => println!("  {tag:<26} (not in the payload)"),
        }
    }
    println!("component versions:");
    for (key, v) in release.component_versions.iter() {
        println!("  {key:<26} {} {}", v.version, v.display_name);
    }
    let os_repo = stream.os_repository().ok_or("no OS repository")?;
    println!(
        "\nthe layered node image:\n  skopeo inspect oci:{}:{os_repo}:{}",
        dir.display(),
        created.name
    );
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.first().map(String::as_str) == Some(VERIFY) {
        std::process::exit(rt.block_on(okd_streams::stream::jobs::run_verify_args(&args[1..])));
    }
    let upstream =
        match args.as_slice() {
            [flag, u] if flag == "--upstream" => Some(u.as_str()),
            [] => None,
            _ => return Err(
                "usage: okd_fcos_layered [--upstream docker://quay.io/okd/scos-release:<version>]"
                    .into(),
            ),
        };
    rt.block_on(run(Path::new("target/okd-fcos"), upstream))?;
    if upstream.is_none() {
        println!(
            "\n(a generated upstream; --upstream docker://quay.io/okd/scos-release:<version> layers quay.io/fedora/fedora-coreos:stable into a real one)"
        );
    }
    Ok(())
}
