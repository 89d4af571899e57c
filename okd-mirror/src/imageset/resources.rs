//! The cluster resources oc-mirror writes after a mirror of an image set, by its rules:
//!
//! * `idms-oc-mirror.yaml`: one ImageDigestMirrorSet per category (`idms-release-0` for release
//!   images and components, `idms-generic-0` for additional images) with every image pulled by
//!   digest — the release images too, even when named by tag, so that the installer finds them;
//! * `itms-oc-mirror.yaml`: the same for images pulled by tag (`itms-generic-0`);
//! * each source → mirror pair is namespace-scoped (`quay.io/okd` → `mirror/site/okd`) when the
//!   destination path ends with the source path, else repository-scoped;
//! * with `graph: true`, `graph.json`: the upgrade graph of the mirrored releases, each payload
//!   pointing at its mirror by the same digest, ready for an update service (or
//!   `okd-streams stream serve`) to serve to disconnected clusters.
//!
//! Objects are sorted (categories in oc-mirror's order, sources by name) so that two runs of the
//! same image set write the same bytes; oc-mirror's own order follows Go map iteration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use okd_oci::ImageRef;
use okd_release::graph::{Graph, Node};

use super::set::ImageSet;
use crate::idms::ImageDigestMirrorSet;
use crate::instructions::{MirrorSet, dedupe_sort};
use crate::itms::ImageTagMirrorSet;
use crate::run::write_atomic;
use crate::{Error, ImageKind, MirrorPlan};

/// The ImageDigestMirrorSet file.
pub const IDMS_FILE: &str = "idms-oc-mirror.yaml";
/// The ImageTagMirrorSet file.
pub const ITMS_FILE: &str = "itms-oc-mirror.yaml";
/// The upgrade graph file.
pub const GRAPH_FILE: &str = "graph.json";

/// What a mirrored image set gives clusters.
#[derive(Debug, Clone, Default)]
pub struct ClusterResources {
    /// ImageDigestMirrorSets, by category.
    pub idms: Vec<ImageDigestMirrorSet>,
    /// ImageTagMirrorSets, by category.
    pub itms: Vec<ImageTagMirrorSet>,
    /// The graph of the mirrored releases, when asked for.
    pub graph: Option<Graph>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    Release,
    Generic,
}

impl Category {
    fn of(kind: ImageKind) -> Category {
        match kind {
            ImageKind::Release | ImageKind::Component => Category::Release,
            ImageKind::Additional => Category::Generic,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Category::Release => "release",
            Category::Generic => "generic",
        }
    }
}

impl ClusterResources {
    /// The resources for `plan`, a plan of `set`; `graph` adds the upgrade graph built from
    /// `source_graphs` (the graphs the channels were read from).
    pub fn new(
        plan: &MirrorPlan,
        set: &ImageSet,
        graph: bool,
        source_graphs: &[&Graph],
    ) -> ClusterResources {
        let mut by_digest: BTreeMap<Category, Vec<MirrorSet>> = BTreeMap::new();
        let mut by_tag: BTreeMap<Category, Vec<MirrorSet>> = BTreeMap::new();
        for image in &plan.images {
            let m = &image.mapping;
            let Some(pair) = scoped_pair(&m.source, &m.destination) else {
                continue;
            };
            let category = Category::of(m.kind);
            let digest_pull = m.source.digest().is_some() || m.kind == ImageKind::Release;
            let sets = if digest_pull {
                &mut by_digest
            } else {
                &mut by_tag
            };
            sets.entry(category).or_default().push(pair);
        }
        let name = |prefix: &str, c: Category| format!("{prefix}-{}-0", c.name());
        ClusterResources {
            idms: by_digest
                .into_iter()
                .map(|(c, sets)| ImageDigestMirrorSet::new(&name("idms", c), &dedupe_sort(sets)))
                .collect(),
            itms: by_tag
                .into_iter()
                .map(|(c, sets)| ImageTagMirrorSet::new(&name("itms", c), &dedupe_sort(sets)))
                .collect(),
            graph: graph.then(|| mirrored_graph(plan, set, source_graphs)),
        }
    }

    /// Writes the files into `dir` (created when missing), each whole or not at all; returns
    /// their paths. A file with nothing to say is not written, as oc-mirror skips it.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut written = Vec::new();
        let mut put = |file: &str, data: String| -> Result<(), Error> {
            let path = dir.join(file);
            write_atomic(&path, data.as_bytes())?;
            written.push(path);
            Ok(())
        };
        if !self.idms.is_empty() {
            put(
                IDMS_FILE,
                documents(self.idms.iter().map(ImageDigestMirrorSet::to_yaml))?,
            )?;
        }
        if !self.itms.is_empty() {
            put(
                ITMS_FILE,
                documents(self.itms.iter().map(ImageTagMirrorSet::to_yaml))?,
            )?;
        }
        if let Some(g) = &self.graph {
            put(GRAPH_FILE, g.to_json_pretty())?;
        }
        Ok(written)
    }
}

/// YAML documents, each opened by `---` as oc-mirror writes them.
fn documents(docs: impl Iterator<Item = Result<String, Error>>) -> Result<String, Error> {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&d?);
    }
    Ok(out)
}

/// The source → mirror pair of one image, namespace-scoped when the destination path ends with
/// the source path; `None` for a destination a cluster cannot pull from (a layout).
fn scoped_pair(source: &ImageRef, destination: &ImageRef) -> Option<MirrorSet> {
    let (ImageRef::Registry(s), ImageRef::Registry(d)) = (source, destination) else {
        return None;
    };
    let namespace = |host: &str, path: &str| match path.rsplit_once('/') {
        Some((ns, _)) => format!("{host}/{ns}"),
        None => host.to_string(),
    };
    Some(if d.repository.ends_with(&s.repository) {
        MirrorSet::new(
            namespace(&s.registry, &s.repository),
            [namespace(&d.registry, &d.repository)],
        )
    } else {
        MirrorSet::new(
            format!("{}/{}", s.registry, s.repository),
            [format!("{}/{}", d.registry, d.repository)],
        )
    })
}

/// The mirrored releases as a graph: their nodes with payloads at the mirror (same digest), and
/// the edges between them that the source graphs hold.
fn mirrored_graph(plan: &MirrorPlan, set: &ImageSet, source_graphs: &[&Graph]) -> Graph {
    let mut graph = Graph::new();
    for r in &set.releases {
        let Some(node) = &r.node else { continue };
        let Some(image) = plan
            .images
            .iter()
            .find(|i| i.mapping.kind == ImageKind::Release && i.mapping.source == r.mirror.source)
        else {
            continue;
        };
        let payload = image.mapping.destination.with_digest(image.digest.clone());
        let payload = match payload {
            ImageRef::Registry(mut x) => {
                x.tag = None;
                ImageRef::Registry(x).to_string()
            }
            other => other.to_string(),
        };
        graph.upsert_node(Node {
            payload,
            ..node.clone()
        });
    }
    for g in source_graphs {
        for &(from, to) in &g.edges {
            let (a, b) = (&g.nodes[from].version, &g.nodes[to].version);
            if graph.index_of(a).is_some() && graph.index_of(b).is_some() {
                // Both ends are nodes of `graph`, so adding cannot fail.
                let _ = graph.add_edge(a, b);
            }
        }
    }
    graph
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_namespace_scoped_only_when_the_path_is_kept() {
        let r = |s: &str| s.parse::<ImageRef>().unwrap();
        let kept = scoped_pair(
            &r("quay.io/okd/tools:1"),
            &r("mirror.local/site/okd/tools:1"),
        )
        .unwrap();
        assert_eq!(
            kept,
            MirrorSet::new("quay.io/okd", ["mirror.local/site/okd"])
        );
        let moved = scoped_pair(
            &r("quay.io/okd/scos-content@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            &r("mirror.local/site/openshift/release:4.19.0-x86_64-cli"),
        )
        .unwrap();
        assert_eq!(
            moved,
            MirrorSet::new(
                "quay.io/okd/scos-content",
                ["mirror.local/site/openshift/release"]
            )
        );
        assert!(scoped_pair(&r("quay.io/a/b:1"), &r("oci:/srv/m:1")).is_none());
    }
}
