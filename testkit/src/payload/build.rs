//! Building one component image (or the shared base layers) into the content repository.

use std::collections::BTreeMap;

use okd_oci::layer::LayerInfo;
use okd_oci::{RawManifest, Store};
use rand::Rng;

use super::component::{Component, ComponentKind, ImageFormat, PlatformImage};
use super::image::{self, Arch, History, ImageParts, RunConfig, WrittenImage};
use super::layer::{self, Entry, LayerPlan};
use super::plan::{self, Recipe};
use super::{PayloadError, PayloadSpec, operator};

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The base image is built this long before the release.
const BASE_AGE: i64 = 30 * 24 * 3600;

/// Shared base layers of one architecture with their history.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub arch: Arch,
    pub layers: Vec<LayerInfo>,
    pub history: Vec<History>,
}

/// Everything building a component needs besides its recipe.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub spec: &'a PayloadSpec,
    /// The release version components are tagged for.
    pub version: &'a str,
    pub bases: &'a [Base],
}

impl Ctx<'_> {
    fn base(&self, arch: Arch) -> Result<&Base, PayloadError> {
        self.bases
            .iter()
            .find(|b| b.arch == arch)
            .ok_or_else(|| PayloadError::spec("multi_arch", arch.name(), "no base layers built"))
    }
}

/// Builds and writes the shared base layers of `arch`.
pub(crate) async fn build_base(
    store: &dyn Store,
    spec: &PayloadSpec,
    arch: Arch,
) -> Result<Base, PayloadError> {
    let created_at = spec.created - BASE_AGE;
    let created = image::rfc3339(created_at);
    let a = arch.name();
    let mut layers = Vec::with_capacity(spec.base_layers);
    let mut history = Vec::new();
    for i in 0..spec.base_layers {
        let idx = i.to_string();
        let entries = match i {
            0 => vec![
                Entry::dir("etc"),
                Entry::text(
                    "etc/os-release",
                    "NAME=\"CentOS Stream\"\nVERSION=\"9\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"9\"\nPLATFORM_ID=\"platform:el9\"\nPRETTY_NAME=\"CentOS Stream 9\"\n",
                ),
                Entry::text("etc/redhat-release", "CentOS Stream release 9\n"),
                Entry::dir("usr"),
                Entry::dir("usr/lib64"),
                Entry::random(
                    "usr/lib64/libc.so.6",
                    spec.base_layer_size,
                    spec.seed,
                    &["base", a, &idx],
                ),
            ],
            _ => vec![
                Entry::dir("usr"),
                Entry::dir("usr/lib64"),
                Entry::random(
                    format!("usr/lib64/libopenshift-base-{i}.so"),
                    spec.base_layer_size,
                    spec.seed,
                    &["base", a, &idx],
                ),
            ],
        };
        let info = layer::build_and_write(
            store,
            &spec.content_repo,
            LayerPlan {
                what: format!("base layer {i} ({a})"),
                entries,
                mtime: created_at as u64,
                compression: layer::gzip_only(spec.compression),
            },
        )
        .await?;
        let by = if i == 0 {
            format!("/bin/sh -c #(nop) ADD file:{} in / ", info.diff_id.hex())
        } else {
            "/bin/sh -c dnf install -y --setopt=tsflags=nodocs openssl ca-certificates && dnf clean all".to_string()
        };
        history.push(History::layer(&created, by));
        layers.push(info);
    }
    history.push(History::empty(
        &created,
        "/bin/sh -c #(nop)  LABEL io.k8s.display-name=\"CentOS Stream 9\"",
    ));
    Ok(Base {
        arch,
        layers,
        history,
    })
}

fn labels(spec: &PayloadSpec, name: &str, recipe: &Recipe) -> BTreeMap<String, String> {
    let source = format!("https://github.com/openshift/{}", recipe.repo);
    let mut l = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        l.insert(k.to_string(), v);
    };
    for k in [
        "io.openshift.build.commit.author",
        "io.openshift.build.commit.date",
        "io.openshift.build.commit.message",
        "io.openshift.build.name",
        "io.openshift.build.namespace",
        "io.openshift.build.source-context-dir",
    ] {
        set(k, String::new());
    }
    set("io.openshift.build.commit.id", recipe.commit.clone());
    set("io.openshift.build.commit.ref", spec.branch());
    set(
        "io.openshift.build.commit.url",
        format!("{source}/commit/{}", recipe.commit),
    );
    set("io.openshift.build.source-location", source.clone());
    set("io.k8s.display-name", format!("OKD {name}"));
    set("io.openshift.tags", format!("okd,{name}"));
    set("vcs-ref", recipe.commit.clone());
    set("vcs-type", "git".to_string());
    set("vcs-url", source);
    if let Ok(v) = semver::Version::parse(&spec.version) {
        set("version", format!("v{}.{}.{}", v.major, v.minor, v.patch));
    }
    if recipe.is_operator() {
        set("io.openshift.release.operator", "true".to_string());
    }
    if !recipe.versions.is_empty() {
        set("io.openshift.build.versions", join_pairs(&recipe.versions));
        set(
            "io.openshift.build.version-display-names",
            join_pairs(&recipe.display_names),
        );
    }
    l
}

fn join_pairs(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The run configuration of an ordinary or operator component image.
pub(crate) fn run_config(
    spec: &PayloadSpec,
    name: &str,
    recipe: &Recipe,
    labels: BTreeMap<String, String>,
) -> RunConfig {
    let (major, minor, patch) = semver::Version::parse(&spec.version)
        .map(|v| (v.major, v.minor, v.patch))
        .unwrap_or((0, 0, 1));
    let source = format!("https://github.com/openshift/{}", recipe.repo);
    RunConfig {
        env: vec![
            PATH_ENV.to_string(),
            "container=oci".to_string(),
            format!("OS_GIT_MAJOR={major}"),
            format!("OS_GIT_MINOR={minor}"),
            format!("OS_GIT_PATCH={patch}"),
            "OS_GIT_TREE_STATE=clean".to_string(),
            format!(
                "OS_GIT_VERSION={major}.{minor}.{patch}-{}",
                &recipe.commit[..7]
            ),
            "SOURCE_GIT_TREE_STATE=clean".to_string(),
            format!("SOURCE_GIT_COMMIT={}", recipe.commit),
            format!("SOURCE_GIT_URL={source}"),
        ],
        entrypoint: Some(vec![format!("/usr/bin/{name}")]),
        labels,
        ..RunConfig::default()
    }
}

/// Data size of a component's own layer: the spec size ±25 %.
fn jittered(spec: &PayloadSpec, name: &str, build: &str, i: usize) -> u64 {
    let base = spec.layer_size;
    if base < 4 {
        return base;
    }
    let mut r = plan::rng(spec.seed, &["size", name, build, &i.to_string()]);
    let quarter = base / 4;
    base - quarter + r.random_range(0..=2 * quarter)
}

fn own_layers(spec: &PayloadSpec, name: &str, recipe: &Recipe, arch: Arch) -> Vec<LayerPlan> {
    let compression = match recipe.format {
        ImageFormat::Oci => spec.compression,
        ImageFormat::Docker => layer::gzip_only(spec.compression),
    };
    (0..spec.layers_per_component)
        .map(|i| {
            let idx = i.to_string();
            let parts = [
                "layer",
                name,
                recipe.build.as_str(),
                recipe.commit.as_str(),
                arch.name(),
                &idx,
            ];
            let size = jittered(spec, name, &recipe.build, i);
            let entries = if i == 0 {
                vec![
                    Entry::dir("usr"),
                    Entry::dir("usr/bin"),
                    Entry::random(format!("usr/bin/{name}"), size, spec.seed, &parts),
                    Entry::dir("usr/share"),
                    Entry::dir("usr/share/licenses"),
                    Entry::dir(format!("usr/share/licenses/{name}")),
                    Entry::text(
                        format!("usr/share/licenses/{name}/LICENSE"),
                        "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n",
                    ),
                ]
            } else {
                vec![
                    Entry::dir("usr"),
                    Entry::dir("usr/share"),
                    Entry::dir(format!("usr/share/{name}")),
                    Entry::random(
                        format!("usr/share/{name}/data-{i}.bin"),
                        size,
                        spec.seed,
                        &parts,
                    ),
                ]
            };
            LayerPlan {
                what: format!("{name} layer {i} ({})", arch.name()),
                entries,
                mtime: recipe.created as u64,
                compression,
            }
        })
        .collect()
}

/// The layer of the files [`PayloadSpec::file`] put into `name`, with their directories.
fn files_layer(spec: &PayloadSpec, name: &str, recipe: &Recipe) -> Option<LayerPlan> {
    let files = spec.files.get(name)?;
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in files {
        let mut at = path.as_str();
        while let Some(i) = at.rfind('/') {
            at = &at[..i];
            dirs.insert(at.to_string());
        }
    }
    let mut entries: Vec<Entry> = dirs.into_iter().map(Entry::dir).collect();
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    entries.extend(
        sorted
            .into_iter()
            .map(|(path, data)| Entry::File(path.clone(), 0o755, data.clone())),
    );
    let compression = match recipe.format {
        ImageFormat::Oci => spec.compression,
        ImageFormat::Docker => layer::gzip_only(spec.compression),
    };
    Some(LayerPlan {
        what: format!("{name} files layer"),
        entries,
        mtime: recipe.created as u64,
        compression,
    })
}

fn manifests_layer(
    name: &str,
    recipe: &Recipe,
    compression: okd_oci::layer::Compression,
) -> LayerPlan {
    let mut entries = vec![Entry::dir("manifests")];
    let mut files: Vec<(String, String)> = operator::manifests(name, recipe)
        .into_iter()
        .map(|f| (f.name, f.content))
        .collect();
    files.push((
        "image-references".to_string(),
        operator::image_references(name, recipe),
    ));
    files.sort();
    entries.extend(
        files
            .into_iter()
            .map(|(f, c)| Entry::text(format!("manifests/{f}"), c)),
    );
    LayerPlan {
        what: format!("{name} manifests layer"),
        entries,
        mtime: recipe.created as u64,
        compression,
    }
}

/// Builds one platform image of an ordinary or operator component.
pub(crate) async fn build_app_image(
    ctx: &Ctx<'_>,
    name: &str,
    recipe: &Recipe,
    labels: &BTreeMap<String, String>,
    arch: Arch,
) -> Result<WrittenImage, PayloadError> {
    let spec = ctx.spec;
    let repo = &spec.content_repo;
    let base = ctx.base(arch)?;
    let created = image::rfc3339(recipe.created);
    let mut layers = base.layers.clone();
    let mut history = base.history.clone();
    for plan in own_layers(spec, name, recipe, arch) {
        let info = layer::build_and_write(ctx.store, repo, plan).await?;
        history.push(History::layer(
            &created,
            format!(
                "/bin/sh -c #(nop) COPY file:{} in /usr/bin/{name} ",
                info.diff_id.hex()
            ),
        ));
        layers.push(info);
    }
    if let Some(plan) = files_layer(spec, name, recipe) {
        let info = layer::build_and_write(ctx.store, repo, plan).await?;
        history.push(History::layer(
            &created,
            format!("/bin/sh -c #(nop) COPY dir:{} in / ", info.diff_id.hex()),
        ));
        layers.push(info);
    }
    if recipe.is_operator() {
        let plan = manifests_layer(name, recipe, layer::gzip_only(spec.compression));
        let info = layer::build_and_write(ctx.store, repo, plan).await?;
        history.push(History::layer(
            &created,
            format!(
                "/bin/sh -c #(nop) COPY dir:{} in /manifests ",
                info.diff_id.hex()
            ),
        ));
        layers.push(info);
    }
    history.push(History::empty(
        &created,
        format!("/bin/sh -c #(nop)  ENTRYPOINT [\"/usr/bin/{name}\"]"),
    ));
    history.push(History::empty(
        &created,
        format!(
            "/bin/sh -c #(nop)  LABEL io.openshift.build.commit.id={} io.openshift.build.source-location=https://github.com/openshift/{}",
            recipe.commit, recipe.repo
        ),
    ));
    let run = run_config(spec, name, recipe, labels.clone());
    image::write_image(
        ctx.store,
        repo,
        &ImageParts {
            what: name,
            format: recipe.format,
            arch,
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

/// Builds a component into the content repository and tags it `<name>` and
/// `<version>-<name>`.
pub(crate) async fn build_component(
    ctx: &Ctx<'_>,
    name: &str,
    recipe: &Recipe,
) -> Result<Component, PayloadError> {
    let spec = ctx.spec;
    let mut labels = labels(spec, name, recipe);
    let mut platforms = Vec::new();
    let (top, image) = match recipe.kind {
        ComponentKind::Os => {
            let img = super::os::build_os(ctx, name, recipe, &mut labels).await?;
            (img.manifest.clone(), img)
        }
        ComponentKind::OsExtensions => {
            labels.insert("io.openshift.os.extensions".to_string(), "true".to_string());
            let img = super::os::build_extensions(ctx, name, recipe, &labels).await?;
            (img.manifest.clone(), img)
        }
        ComponentKind::Image | ComponentKind::Operator if recipe.multi_arch => {
            let amd = build_app_image(ctx, name, recipe, &labels, Arch::Amd64).await?;
            let arm = build_app_image(ctx, name, recipe, &labels, Arch::Arm64).await?;
            let list = image::write_index(
                ctx.store,
                &spec.content_repo,
                name,
                recipe.format,
                &[(Arch::Amd64, &amd.manifest), (Arch::Arm64, &arm.manifest)],
            )
            .await?;
            for (arch, img) in [(Arch::Amd64, &amd), (Arch::Arm64, &arm)] {
                platforms.push(PlatformImage {
                    os: "linux".to_string(),
                    architecture: arch.name().to_string(),
                    variant: arch.variant().map(str::to_string),
                    digest: img.manifest.digest().clone(),
                    media_type: img.manifest.media_type().to_string(),
                    size: img.manifest.size(),
                    config: img.config.clone(),
                    layers: img.layers.clone(),
                });
            }
            (list, amd)
        }
        ComponentKind::Image | ComponentKind::Operator => {
            let img = build_app_image(ctx, name, recipe, &labels, Arch::Amd64).await?;
            (img.manifest.clone(), img)
        }
    };
    tag(ctx, name, &top).await?;
    let (manifests, image_references, references) = if recipe.is_operator() {
        let mut refs = vec![name.to_string()];
        refs.extend(recipe.refs.iter().cloned());
        (
            operator::manifests(name, recipe),
            Some(operator::image_references(name, recipe)),
            refs,
        )
    } else {
        (Vec::new(), None, Vec::new())
    };
    Ok(Component {
        name: name.to_string(),
        kind: recipe.kind,
        is_operator: recipe.is_operator(),
        format: recipe.format,
        digest: top.digest().clone(),
        media_type: top.media_type().to_string(),
        size: top.size(),
        pullspec: format!("{}@{}", spec.pullspec_prefix, top.digest()),
        commit: recipe.commit.clone(),
        commit_ref: spec.branch(),
        source_location: format!("https://github.com/openshift/{}", recipe.repo),
        created: image::rfc3339(recipe.created),
        labels,
        config: image.config,
        layers: image.layers,
        platforms,
        manifests,
        image_references,
        references,
        recipe: recipe.clone(),
    })
}

/// Points `<name>` and `<version>-<name>` in the content repository at `manifest`.
pub(crate) async fn tag(
    ctx: &Ctx<'_>,
    name: &str,
    manifest: &RawManifest,
) -> Result<(), PayloadError> {
    let repo = &ctx.spec.content_repo;
    ctx.store.write_manifest(repo, manifest, Some(name)).await?;
    let versioned = format!("{}-{name}", ctx.version);
    if !okd_oci::is_valid_tag(&versioned) {
        return Err(PayloadError::spec(
            "version",
            ctx.version,
            format!("{versioned:?} is not a valid tag"),
        ));
    }
    ctx.store
        .write_manifest(repo, manifest, Some(&versioned))
        .await?;
    Ok(())
}
