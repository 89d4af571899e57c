//! Small images and payloads built in memory for the okd-mirror tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use okd_mirror::run::{ImageRun, ReleaseRun};
use okd_mirror::{
    Component, Error, ImageMapping, MirrorOptions, Naming, ReleaseContent, ReleaseLoader,
    ReleaseMirror, ReleaseTarget, RetryPolicy, mapping,
};
use okd_oci::registry::RegistryOptions;
use okd_oci::{
    Access, Digest, ImageRef, ManifestRef, RawManifest, Store, StoreExt, StoreMap, media_type,
};
use testkit::Registry;
use testkit::images::gzip_layer;

/// Pushes an image made of `layers` (name, content) to `repo`, tagged `tag` when given.
pub async fn push_image(
    store: &dyn Store,
    repo: &str,
    tag: Option<&str>,
    layers: &[(&str, &[u8])],
    arch: &str,
) -> RawManifest {
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for (name, content) in layers {
        let (bytes, info) = gzip_layer(&[(name, 0o644, content)]);
        store.put_blob(repo, &info.digest, bytes).await.unwrap();
        descriptors.push(format!(
            r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#,
            info.media_type, info.digest, info.size
        ));
        diff_ids.push(format!("\"{}\"", info.diff_id));
    }
    let config = format!(
        r#"{{"architecture":"{arch}","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        diff_ids.join(",")
    );
    let config = Bytes::from(config);
    let cd = Digest::sha256_of(&config);
    store.put_blob(repo, &cd, config.clone()).await.unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{cd}","size":{}}},"layers":[{}]}}"#,
        media_type::OCI_MANIFEST,
        media_type::OCI_CONFIG,
        config.len(),
        descriptors.join(",")
    );
    let m = RawManifest::new(media_type::OCI_MANIFEST, manifest.into_bytes()).unwrap();
    store.write_manifest(repo, &m, tag).await.unwrap();
    m
}

/// Pushes an index over `children` (manifest, architecture), tagged `tag`.
pub async fn push_index(
    store: &dyn Store,
    repo: &str,
    tag: Option<&str>,
    children: &[(RawManifest, &str)],
) -> RawManifest {
    let entries: Vec<String> = children
        .iter()
        .map(|(m, arch)| {
            format!(
                r#"{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
                m.media_type(),
                m.digest(),
                m.size()
            )
        })
        .collect();
    let json = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{}]}}"#,
        media_type::OCI_INDEX,
        entries.join(",")
    );
    let m = RawManifest::new(media_type::OCI_INDEX, json.into_bytes()).unwrap();
    store.write_manifest(repo, &m, tag).await.unwrap();
    m
}

/// Pushes an amd64 image and an arm64 image to `repo`, each one file `f` holding `amd64` and
/// `arm64`, and an index over both tagged `tag`; returns the index, the amd64 and the arm64
/// manifests.
pub async fn push_multi_arch(
    store: &dyn Store,
    repo: &str,
    tag: &str,
    amd64: &[u8],
    arm64: &[u8],
) -> (RawManifest, RawManifest, RawManifest) {
    let amd = push_image(store, repo, None, &[("f", amd64)], "amd64").await;
    let arm = push_image(store, repo, None, &[("f", arm64)], "arm64").await;
    let list = push_index(
        store,
        repo,
        Some(tag),
        &[(amd.clone(), "amd64"), (arm.clone(), "arm64")],
    )
    .await;
    (list, amd, arm)
}

/// The release version of the synthetic payloads.
pub const V: &str = "4.19.0-okd-scos.19";

/// Components of the synthetic payloads, as a real OKD payload names them.
pub const NAMES: &[&str] = &[
    "cli",
    "installer",
    "rhel-coreos",
    "machine-config-operator",
    "etcd",
];

/// A synthetic release in `store` (located at `registry`): `n` components in
/// `{content_repo}` sharing a base layer, and a release image in `{release_repo}:{version}`.
pub struct Payload {
    pub release: ReleaseContent,
    pub components: Vec<(String, RawManifest)>,
    pub release_manifest: RawManifest,
}

pub async fn payload(
    store: &dyn Store,
    registry: &str,
    release_repo: &str,
    content_repo: &str,
    version: &str,
    names: &[&str],
) -> Payload {
    let base: &[u8] = b"shared base layer of every component";
    let mut components = Vec::new();
    let mut refs = Vec::new();
    for name in names {
        let own = format!("binary of {name}");
        let m = push_image(
            store,
            content_repo,
            None,
            &[("base", base), ("bin", own.as_bytes())],
            "amd64",
        )
        .await;
        let image: ImageRef = format!("{registry}/{content_repo}@{}", m.digest())
            .parse()
            .unwrap();
        refs.push(Component::new(*name, image));
        components.push((name.to_string(), m));
    }
    let release_manifest = push_image(
        store,
        release_repo,
        Some(version),
        &[
            ("base", base),
            ("release-manifests/image-references", version.as_bytes()),
        ],
        "amd64",
    )
    .await;
    Payload {
        release: ReleaseContent {
            image: format!("{registry}/{release_repo}:{version}")
                .parse()
                .unwrap(),
            version: version.to_string(),
            architecture: Some("amd64".to_string()),
            manifest_list: false,
            components: refs,
        },
        components,
        release_manifest,
    }
}

/// [`payload`] with the repositories OKD/SCOS releases use: `okd/scos-release` for the
/// release image and `okd/scos-content` for the components.
pub async fn scos_payload(
    store: &dyn Store,
    registry: &str,
    version: &str,
    names: &[&str],
) -> Payload {
    payload(
        store,
        registry,
        "okd/scos-release",
        "okd/scos-content",
        version,
        names,
    )
    .await
}

/// The manifest `okd/release:{version}-x86_64-{name}` of `store`, where oc's naming puts the
/// mirrored component `name`.
pub async fn component_manifest(store: &dyn Store, version: &str, name: &str) -> RawManifest {
    store
        .read_manifest(
            "okd/release",
            &ManifestRef::Tag(format!("{version}-x86_64-{name}")),
        )
        .await
        .unwrap()
}

/// A loader that knows releases by pullspec, standing in for a payload reader.
#[derive(Debug, Default)]
pub struct StaticReleases(pub HashMap<String, ReleaseContent>);

impl StaticReleases {
    pub fn with(release: ReleaseContent) -> StaticReleases {
        let mut m = HashMap::new();
        m.insert(release.image.to_string(), release);
        StaticReleases(m)
    }
}

#[async_trait]
impl ReleaseLoader for StaticReleases {
    async fn load(&self, _store: &dyn Store, image: &ImageRef) -> Result<ReleaseContent, Error> {
        self.0
            .get(&image.to_string())
            .cloned()
            .ok_or_else(|| Error::SourceNotFound {
                image: image.to_string(),
            })
    }
}

/// Options with quick retries.
pub fn fast_options() -> MirrorOptions {
    MirrorOptions {
        jobs: 4,
        retry: RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        },
        ..MirrorOptions::default()
    }
}

/// A run of the release `from` to the repository `to`, named by `naming`.
pub fn release_run(from: &str, to: &str, naming: Naming) -> ReleaseRun {
    ReleaseRun::new(ReleaseMirror {
        source: from.parse().unwrap(),
        target: ReleaseTarget::parse(to, naming).unwrap(),
    })
}

/// A run of the image `from` to `to` (a reference, or a repository keeping the source's tag).
pub fn image_run(from: &str, to: &str) -> ImageRun {
    ImageRun::new(ImageMapping::image(
        from.parse().unwrap(),
        mapping::parse_destination(to).unwrap(),
    ))
}

pub fn arc<S: Store + 'static>(s: S) -> Arc<S> {
    Arc::new(s)
}

/// A docker-registry on a free loopback port.
pub async fn registry() -> Registry {
    Registry::spawn()
        .await
        .unwrap_or_else(|e| panic!("these tests need docker-registry: {e}"))
}

/// A fresh store map (fresh counters) opening registries with `options`, trusting `hosts` over
/// plain HTTP.
pub fn store_set(mut options: RegistryOptions, hosts: &[String]) -> StoreMap {
    for h in hosts {
        options = options.insecure_registry(h.clone());
    }
    StoreMap::new(options)
}

/// The store `set` opens for the registry at `location` (`HOST:PORT`).
pub async fn store(set: &StoreMap, location: &str) -> Arc<dyn Store> {
    set.store(&format!("{location}/x:y").parse().unwrap(), Access::Read)
        .await
        .unwrap()
}
