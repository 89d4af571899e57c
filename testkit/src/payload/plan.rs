//! Deciding, from the spec alone, what every component is: its name, kind, format, commit,
//! build time, the tags its operator manifests reference and its component versions.
//!
//! Every choice is drawn from a seed derived from the spec seed and the thing being decided
//! (never from a shared sequence), so one component's recipe does not depend on the order in
//! which others are planned or built.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest as _, Sha256};

use super::names::{self, NAMED, Named, Role};
use super::{ComponentKind, ImageFormat, PayloadSpec};

/// 32 seed bytes derived from `seed` and `parts`.
pub(crate) fn derive(seed: u64, parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"okd-streams testkit payload\0");
    h.update(seed.to_le_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().into()
}

/// A random generator for one decision or one piece of content.
pub(crate) fn rng(seed: u64, parts: &[&str]) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(derive(seed, parts))
}

/// A number for one decision.
pub(crate) fn pick(seed: u64, parts: &[&str]) -> u64 {
    let d = derive(seed, parts);
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// `bytes` bytes of hex for an id (40 characters for a git commit, 64 for a hash).
pub(crate) fn hex_id(seed: u64, parts: &[&str], chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    let mut counter = 0u64;
    while out.len() < chars {
        let c = counter.to_string();
        let mut all: Vec<&str> = parts.to_vec();
        all.push(&c);
        for b in derive(seed, &all) {
            out.push_str(&format!("{b:02x}"));
        }
        counter += 1;
    }
    out.truncate(chars);
    out
}

/// How an operator's own `image-references` spells the images it will be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// `placeholder.url.oc.will.replace.this.org/placeholdernamespace:<tag>` (machine-config-operator).
    Namespace,
    /// `placeholder.url.oc.will.replace.this.example.org:<tag>` (cluster-version-operator).
    Host,
    /// `quay.io/openshift/origin-<tag>:latest`, the older convention.
    Origin,
    /// `registry.ci.openshift.org/openshift:<tag>`.
    Ci,
}

impl Placeholder {
    /// The placeholder pullspec of `tag`.
    pub(crate) fn pullspec(self, tag: &str) -> String {
        match self {
            Placeholder::Namespace => {
                format!("placeholder.url.oc.will.replace.this.org/placeholdernamespace:{tag}")
            }
            Placeholder::Host => format!("placeholder.url.oc.will.replace.this.example.org:{tag}"),
            Placeholder::Origin => format!("quay.io/openshift/origin-{tag}:latest"),
            Placeholder::Ci => format!("registry.ci.openshift.org/openshift:{tag}"),
        }
    }
}

/// Everything that determines one component image's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recipe {
    /// Position number (1-based) in the payload it first appeared in.
    pub index: usize,
    pub kind: ComponentKind,
    pub format: ImageFormat,
    pub multi_arch: bool,
    /// Source repository under `github.com/openshift/`.
    pub repo: String,
    pub commit: String,
    /// Identifies one build; the layer content is derived from it.
    pub build: String,
    /// Build time, seconds since the epoch.
    pub created: i64,
    /// Tags the operator's `image-references` lists besides itself.
    pub refs: Vec<String>,
    pub placeholder: Placeholder,
    pub run_level: u8,
    /// Whether the operator's files already carry `0000_NN_<component>_` names.
    pub prefixed_files: bool,
    /// `io.openshift.build.versions` entries.
    pub versions: BTreeMap<String, String>,
    /// `io.openshift.build.version-display-names` entries.
    pub display_names: BTreeMap<String, String>,
}

impl Recipe {
    pub(crate) fn is_operator(&self) -> bool {
        self.kind == ComponentKind::Operator
    }
}

/// A planned component: its tag and recipe.
pub(crate) type Planned = (String, Recipe);

fn format_for(spec: &PayloadSpec, name: &str, kind: ComponentKind) -> ImageFormat {
    match kind {
        ComponentKind::Os | ComponentKind::OsExtensions => ImageFormat::Oci,
        _ if name == names::CVO || name == names::MULTI_ARCH => ImageFormat::Docker,
        _ => {
            if pick(spec.seed, &["format", name]) % 100 < u64::from(spec.oci_share) {
                ImageFormat::Oci
            } else {
                ImageFormat::Docker
            }
        }
    }
}

fn build_time(seed: u64, name: &str, build: &str, before: i64) -> i64 {
    // Between 2 and 72 hours before the release, like CI builds feeding a nightly.
    let mut r = rng(seed, &["created", name, build]);
    before - r.random_range(2 * 3600..72 * 3600)
}

pub(crate) fn commit_for(seed: u64, repo: &str, generation: &str) -> String {
    hex_id(seed, &["commit", repo, generation], 40)
}

fn recipe(
    spec: &PayloadSpec,
    index: usize,
    name: &str,
    repo: &str,
    kind: ComponentKind,
    refs: Vec<String>,
    run_level: u8,
) -> Recipe {
    let build = "0".to_string();
    let placeholder = match name {
        names::CVO => Placeholder::Host,
        "machine-config-operator" => Placeholder::Namespace,
        _ => match pick(spec.seed, &["placeholder", name]) % 3 {
            0 => Placeholder::Namespace,
            1 => Placeholder::Origin,
            _ => Placeholder::Ci,
        },
    };
    let prefixed_files = matches!(name, names::CVO | "machine-config-operator")
        || !pick(spec.seed, &["prefixed", name]).is_multiple_of(4);
    let mut versions = BTreeMap::new();
    let mut display_names = BTreeMap::new();
    match kind {
        ComponentKind::Os | ComponentKind::OsExtensions => {
            versions.insert("machine-os".to_string(), spec.os_version.clone());
            display_names.insert("machine-os".to_string(), "CentOS Stream CoreOS".to_string());
        }
        _ if name == names::KUBERNETES => {
            versions.insert("kubernetes".to_string(), spec.kubernetes_version.clone());
        }
        _ => {}
    }
    Recipe {
        index,
        kind,
        format: format_for(spec, name, kind),
        multi_arch: spec.multi_arch && name == names::MULTI_ARCH,
        repo: repo.to_string(),
        commit: commit_for(spec.seed, repo, "0"),
        created: build_time(spec.seed, name, &build, spec.created),
        build,
        refs,
        placeholder,
        run_level,
        prefixed_files,
        versions,
        display_names,
    }
}

/// A synthetic component at position `index`; `refs` apply when it is an operator.
pub(crate) fn synthetic(
    spec: &PayloadSpec,
    index: usize,
    operator: bool,
    refs: Vec<String>,
) -> Planned {
    let name = names::synthetic_name(index, operator);
    let kind = if operator {
        ComponentKind::Operator
    } else {
        ComponentKind::Image
    };
    let run_level = if operator {
        (10 + pick(spec.seed, &["run-level", &name]) % 80) as u8
    } else {
        0
    };
    let refs = if operator { refs } else { Vec::new() };
    let r = recipe(spec, index, &name, &name, kind, refs, run_level);
    (name, r)
}

/// What a synthetic operator at `j` (of the synthetic ones) references: the next ordinary
/// synthetic component, and `kube-rbac-proxy` as so many real operators do.
pub(crate) fn synthetic_refs(
    following_plain: Option<&str>,
    present: &BTreeSet<String>,
) -> Vec<String> {
    let mut refs: Vec<String> = following_plain.map(str::to_string).into_iter().collect();
    if present.contains("kube-rbac-proxy") {
        refs.push("kube-rbac-proxy".to_string());
    }
    refs
}

/// Plans every component of a payload, in position order.
pub(crate) fn plan(spec: &PayloadSpec) -> Vec<Planned> {
    let n = spec.components;
    let named: &[Named] = &NAMED[..n.min(NAMED.len())];
    let synthetic_count = n - named.len();
    let named_ops = named
        .iter()
        .filter(|c| matches!(c.role, Role::Operator { .. }))
        .count();
    let target = spec.operators.unwrap_or((n + 1) / 3).max(named_ops);
    let synthetic_ops = (target - named_ops).min(synthetic_count);
    // Spread synthetic operators evenly among the synthetic components.
    let is_op: Vec<bool> = (0..synthetic_count)
        .map(|j| (j + 1) * synthetic_ops / synthetic_count > j * synthetic_ops / synthetic_count)
        .collect();
    let synthetic_names: Vec<String> = (0..synthetic_count)
        .map(|j| names::synthetic_name(named.len() + j + 1, is_op[j]))
        .collect();
    let present: BTreeSet<String> = named
        .iter()
        .map(|c| c.name.to_string())
        .chain(synthetic_names.iter().cloned())
        .collect();

    let mut out = Vec::with_capacity(n);
    for (i, c) in named.iter().enumerate() {
        let refs: Vec<String> = c
            .refs
            .iter()
            .filter(|r| present.contains(**r))
            .map(|r| r.to_string())
            .collect();
        let (kind, run_level) = match c.role {
            Role::Image => (ComponentKind::Image, 0),
            Role::Operator { run_level } => (ComponentKind::Operator, run_level),
            Role::Os => (ComponentKind::Os, 0),
            Role::OsExtensions => (ComponentKind::OsExtensions, 0),
        };
        out.push((
            c.name.to_string(),
            recipe(spec, i + 1, c.name, c.repo, kind, refs, run_level),
        ));
    }
    for j in 0..synthetic_count {
        let following = (j + 1..synthetic_count)
            .find(|&k| !is_op[k])
            .map(|k| synthetic_names[k].as_str());
        let refs = synthetic_refs(following, &present);
        out.push(synthetic(spec, named.len() + j + 1, is_op[j], refs));
    }
    // Components that only exist to carry the files a test put in them.
    let extra: Vec<&String> = spec
        .files
        .keys()
        .filter(|name| !present.contains(*name))
        .collect();
    for (k, name) in extra.into_iter().enumerate() {
        let r = recipe(
            spec,
            n + k + 1,
            name,
            name,
            ComponentKind::Image,
            Vec::new(),
            0,
        );
        out.push((name.clone(), r));
    }
    out
}
