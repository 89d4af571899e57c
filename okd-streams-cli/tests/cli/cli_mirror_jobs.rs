//! `mirror release -j N` sets the per-registry request cap: more than the library's default of
//! 6 connections are open to a destination at once when asked for 16 copies in flight.

use crate::cli_common;

use cli_common::registry_payload;
use testkit::payload::PayloadSpec;
use testkit::proxy::{FaultConfig, FaultProxy};

/// The most connections a release mirror with `-j jobs` has open to the destination at once
/// (counted by a loopback proxy in front of a fresh docker-registry).
async fn destination_connections(r: &cli_common::RegistryPayload, jobs: &str) -> u64 {
    let registry = testkit::Registry::spawn()
        .await
        .expect("docker-registry is required by this test (apt-get install docker-registry)");
    let proxy = FaultProxy::spawn(&registry.host(), FaultConfig::new(1))
        .await
        .unwrap();
    let to = format!("{}/mirror/okd", proxy.host());
    r.okd(&[
        "--insecure-registry",
        &proxy.host(),
        "mirror",
        "release",
        &r.release_ref(),
        "--to",
        &to,
        "-j",
        jobs,
    ])
    .ok();
    proxy.stats().max_open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_cap_follows_jobs() {
    let r = registry_payload(PayloadSpec::new().components(60)).await;
    let wide = destination_connections(&r, "16").await;
    assert!(wide > 6, "-j 16 had {wide} connections open at once");
    let narrow = destination_connections(&r, "2").await;
    assert!(
        narrow <= okd_mirror::request_cap(2) as u64,
        "-j 2 had {narrow} connections open at once"
    );
}
