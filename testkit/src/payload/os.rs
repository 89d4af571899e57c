//! The OS images: `stream-coreos`, an ostree commit encapsulated as chunked OCI layers with a
//! derived layer on top (as the OKD node image is built), and `stream-coreos-extensions`.

use std::collections::BTreeMap;

use super::build::Ctx;
use super::image::{self, Arch, History, ImageParts, RunConfig, WrittenImage};
use super::layer::{self, Entry, LayerPlan};
use super::plan::{self, Recipe};
use super::{ComponentKind, PayloadError};

/// Packages named in the `ostree.components` annotations of the chunk layers.
const PACKAGES: &[&str] = &[
    "kernel-core",
    "kernel-modules",
    "linux-firmware",
    "glibc",
    "systemd",
    "rpm-ostree",
    "ostree",
    "podman",
    "cri-o",
    "openshift-kubelet",
    "NetworkManager",
    "openvswitch3.4",
    "coreos-installer",
    "ignition",
    "bootc",
    "selinux-policy-targeted",
];

/// Builds `stream-coreos`; adds the ostree labels (which depend on the layers) to `labels`.
pub(crate) async fn build_os(
    ctx: &Ctx<'_>,
    name: &str,
    recipe: &Recipe,
    labels: &mut BTreeMap<String, String>,
) -> Result<WrittenImage, PayloadError> {
    debug_assert_eq!(recipe.kind, ComponentKind::Os);
    let spec = ctx.spec;
    let repo = &spec.content_repo;
    let seed = spec.seed;
    let os_version = recipe
        .versions
        .get("machine-os")
        .cloned()
        .unwrap_or_else(|| spec.os_version.clone());
    let created = image::rfc3339(recipe.created);
    let mtime = recipe.created as u64;
    let b = recipe.build.as_str();
    let ostree_commit = plan::hex_id(seed, &["ostree-commit", name, b, &recipe.commit], 64);

    let mut layers = Vec::new();
    let mut layer_annotations = Vec::new();
    let mut history = Vec::new();
    let chunks = spec.os_layers;
    for i in 0..chunks {
        let idx = i.to_string();
        let object = plan::hex_id(seed, &["ostree-object", name, b, &idx], 64);
        let mut entries = vec![
            Entry::dir("sysroot"),
            Entry::dir("sysroot/ostree"),
            Entry::dir("sysroot/ostree/repo"),
        ];
        if i == 0 {
            entries.push(Entry::text(
                "sysroot/ostree/repo/config",
                "[core]\nrepo_version=1\nmode=bare-split-xattrs\n",
            ));
            entries.push(Entry::dir("sysroot/ostree/repo/commits"));
            entries.push(Entry::text(
                format!("sysroot/ostree/repo/commits/{ostree_commit}.commit"),
                format!("version={os_version}\n"),
            ));
        }
        entries.push(Entry::dir("sysroot/ostree/repo/objects"));
        entries.push(Entry::dir(format!(
            "sysroot/ostree/repo/objects/{}",
            &object[..2]
        )));
        entries.push(Entry::random(
            format!(
                "sysroot/ostree/repo/objects/{}/{}.file",
                &object[..2],
                &object[2..]
            ),
            spec.os_chunk_size(),
            seed,
            &["os-chunk", name, b, &recipe.commit, &idx],
        ));
        let info = layer::build_and_write(
            ctx.store,
            repo,
            LayerPlan {
                what: format!("{name} chunk {i}"),
                entries,
                mtime,
                compression: spec.compression,
            },
        )
        .await?;
        let annotation = (i > 0).then(|| {
            let per = PACKAGES.len().div_ceil(chunks.max(2) - 1).max(1);
            let start = ((i - 1) * per) % PACKAGES.len();
            let mut pkgs: Vec<&str> = PACKAGES
                .iter()
                .cycle()
                .skip(start)
                .take(per)
                .copied()
                .collect();
            pkgs.sort_unstable();
            pkgs.dedup();
            BTreeMap::from([("ostree.components".to_string(), pkgs.join(","))])
        });
        history.push(History::layer(
            &created,
            if i == 0 {
                "ostree export of commit".to_string()
            } else {
                format!("reserved for chunk {i}")
            },
        ));
        layers.push(info);
        layer_annotations.push(annotation);
    }
    let final_diffid = layers
        .last()
        .map(|l| l.diff_id.to_string())
        .unwrap_or_default();

    // The OKD node layer on top of the base OS, like openshift/os's Containerfile output.
    let meta = format!(
        "{{\"rpmdb.pkglist\": [[\"cri-o\", \"0\", \"1.32.5\", \"1.el9\", \"{a}\"], [\"openshift-kubelet\", \"0\", \"{k}\", \"1.el9\", \"{a}\"]]}}\n",
        a = Arch::Amd64.uname(),
        k = spec.kubernetes_version
    );
    let derived = layer::build_and_write(
        ctx.store,
        repo,
        LayerPlan {
            what: format!("{name} node layer"),
            entries: vec![
                Entry::dir("usr"),
                Entry::dir("usr/bin"),
                Entry::random(
                    "usr/bin/kubelet",
                    spec.layer_size,
                    seed,
                    &["os-node", name, b, &recipe.commit],
                ),
                Entry::dir("usr/share"),
                Entry::dir("usr/share/openshift"),
                Entry::dir("usr/share/openshift/base"),
                Entry::text("usr/share/openshift/base/meta.json", meta),
            ],
            mtime,
            compression: spec.compression,
        },
    )
    .await?;
    history.push(History::layer(
        &created,
        "/bin/sh -c #(nop) COPY dir:usr-share-openshift in /usr/share/openshift ",
    ));
    layers.push(derived);
    layer_annotations.push(None);

    let kernel = format!("{}.{}", spec.kernel, Arch::Amd64.uname());
    let hex = |what: &str| plan::hex_id(seed, &[what, name, b, &recipe.commit], 64);
    for (k, v) in [
        ("containers.bootc", "1".to_string()),
        ("coreos-assembler.image-config-checksum", hex("cosa-config")),
        ("coreos-assembler.image-input-checksum", hex("cosa-input")),
        ("org.opencontainers.image.revision", recipe.commit.clone()),
        (
            "org.opencontainers.image.source",
            format!("https://github.com/openshift/{}.git", recipe.repo),
        ),
        ("org.opencontainers.image.version", os_version.clone()),
        ("ostree.bootable", "true".to_string()),
        ("ostree.commit", ostree_commit),
        ("ostree.final-diffid", final_diffid),
        ("ostree.linux", kernel),
        ("rpmostree.inputhash", hex("inputhash")),
        ("version", os_version),
        ("io.openshift.metalayer", "true".to_string()),
    ] {
        labels.insert(k.to_string(), v);
    }
    let annotations: BTreeMap<String, String> = labels
        .iter()
        .filter(|(k, _)| {
            k.starts_with("ostree.")
                || k.as_str() == "containers.bootc"
                || k.as_str() == "org.opencontainers.image.version"
                || k.as_str() == "version"
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let run = RunConfig {
        env: vec!["container=oci".to_string()],
        cmd: Some(vec!["/sbin/init".to_string()]),
        labels: labels.clone(),
        stop_signal: Some("SIGRTMIN+3".to_string()),
        ..RunConfig::default()
    };
    image::write_image(
        ctx.store,
        repo,
        &ImageParts {
            what: name,
            format: recipe.format,
            arch: Arch::Amd64,
            created: &created,
            run: &run,
            history: &history,
            layers: &layers,
            layer_annotations: &layer_annotations,
            annotations: &annotations,
        },
    )
    .await
}

/// Builds `stream-coreos-extensions`: the shared base, a layer of extension RPMs and the
/// `extensions.json` index on top.
pub(crate) async fn build_extensions(
    ctx: &Ctx<'_>,
    name: &str,
    recipe: &Recipe,
    labels: &BTreeMap<String, String>,
) -> Result<WrittenImage, PayloadError> {
    let spec = ctx.spec;
    let repo = &spec.content_repo;
    let created = image::rfc3339(recipe.created);
    let mtime = recipe.created as u64;
    let b = recipe.build.as_str();
    let base = ctx
        .bases
        .iter()
        .find(|base| base.arch == Arch::Amd64)
        .ok_or_else(|| PayloadError::spec("base_layers", "amd64", "no base layers built"))?;
    let dir = "usr/share/rpm-ostree/extensions";
    let rpms = [
        "kernel-rt-core",
        "kernel-devel",
        "usbguard",
        "kata-containers",
    ];
    let mut entries = vec![
        Entry::dir("usr"),
        Entry::dir("usr/share"),
        Entry::dir("usr/share/rpm-ostree"),
        Entry::dir(dir),
    ];
    let per = (spec.layer_size / rpms.len() as u64).max(1);
    for rpm in rpms {
        entries.push(Entry::random(
            format!("{dir}/{rpm}-{}.{}.rpm", spec.kernel, Arch::Amd64.uname()),
            per,
            spec.seed,
            &["extension", name, b, &recipe.commit, rpm],
        ));
    }
    let rpm_layer = layer::build_and_write(
        ctx.store,
        repo,
        LayerPlan {
            what: format!("{name} rpms"),
            entries,
            mtime,
            compression: spec.compression,
        },
    )
    .await?;
    let index: BTreeMap<&str, String> = rpms
        .iter()
        .map(|r| (*r, format!("{}.{}", spec.kernel, Arch::Amd64.uname())))
        .collect();
    let index_json = serde_json::to_string(&index).map_err(|e| PayloadError::Encode {
        what: "extensions.json".to_string(),
        reason: e.to_string(),
    })?;
    let json_layer = layer::build_and_write(
        ctx.store,
        repo,
        LayerPlan {
            what: format!("{name} extensions.json"),
            entries: vec![
                Entry::dir("usr"),
                Entry::dir("usr/share"),
                Entry::dir("usr/share/rpm-ostree"),
                Entry::text("usr/share/rpm-ostree/extensions.json", index_json),
            ],
            mtime,
            compression: spec.compression,
        },
    )
    .await?;
    let mut layers = base.layers.clone();
    layers.push(rpm_layer);
    layers.push(json_layer);
    let mut history = base.history.clone();
    history.push(History::layer(
        &created,
        format!("/bin/sh -c #(nop) COPY dir:rpms in /{dir} "),
    ));
    history.push(History::layer(
        &created,
        "/bin/sh -c #(nop) COPY file:extensions.json in /usr/share/rpm-ostree/extensions.json ",
    ));
    let run = RunConfig {
        env: vec!["container=oci".to_string()],
        labels: labels.clone(),
        ..RunConfig::default()
    };
    image::write_image(
        ctx.store,
        repo,
        &ImageParts {
            what: name,
            format: recipe.format,
            arch: Arch::Amd64,
            created: &created,
            run: &run,
            history: &history,
            layers: &layers,
            layer_annotations: &[],
            annotations: &BTreeMap::new(),
        },
    )
    .await
}
