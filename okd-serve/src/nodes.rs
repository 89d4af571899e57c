//! Graph nodes as the release-controller builds them: every release of every served stream,
//! in any phase, plus the upstream releases the streams were built from, each with a pullspec.

use std::collections::BTreeSet;

use okd_gating::ReleaseRecord;
use okd_oci::ImageRef;
use okd_release::graph::Node;
use okd_release::version::ReleaseVersion;

use crate::snapshot::StreamView;

/// Node metadata key naming the served stream a release belongs to.
pub const META_STREAM: &str = "io.okd-streams.stream";
/// Node metadata key set on the upstream releases streams were built from.
pub const META_UPSTREAM: &str = "io.okd-streams.upstream";
/// Node metadata key explaining that no registry serves the node's payload.
pub const META_PAYLOAD_NOTE: &str = "io.okd-streams.payload-note";

const LAYOUT_NOTE: &str = "the payload is in an OCI layout that no registry serves; \
    set public_host in the stream file to the registry the layout is pushed to";

/// The pullspec of a stream release a cluster would pull, and a note when there is none.
pub fn release_payload(
    view: &StreamView,
    release: &ReleaseRecord,
) -> (String, Option<&'static str>) {
    let digest = view.ledger.candidates.get(&release.name).map(|c| &c.digest);
    if view.served.unpullable() {
        return (release.pullspec.clone(), Some(LAYOUT_NOTE));
    }
    match digest {
        Some(d) => (view.served.target.public_pullspec("release", d), None),
        None => (release.pullspec.clone(), None),
    }
}

/// Releases of a stream, oldest first.
pub fn releases_by_creation(view: &StreamView) -> Vec<&ReleaseRecord> {
    let mut releases: Vec<&ReleaseRecord> = view.state.releases.iter().collect();
    releases.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
    releases
}

pub(crate) fn graph_nodes(streams: &[StreamView]) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut seen = BTreeSet::new();
    for view in streams {
        for r in releases_by_creation(view) {
            let Ok(version) = ReleaseVersion::parse(&r.name) else {
                tracing::warn!(stream = %view.served.name, release = %r.name, "not a version: left out of the graph");
                continue;
            };
            if !seen.insert(r.name.clone()) {
                continue;
            }
            let (payload, note) = release_payload(view, r);
            let mut node = Node::new(version, payload);
            node.metadata
                .insert(META_STREAM.to_string(), view.served.name.clone());
            if let Some(n) = note {
                node.metadata
                    .insert(META_PAYLOAD_NOTE.to_string(), n.to_string());
            }
            nodes.push(node);
        }
    }
    for view in streams {
        for c in view.ledger.candidates.values() {
            // Named as upgrade runs from the upstream name it: its own version, else its tag.
            let Some(tag) = c
                .inputs
                .upstream_version
                .as_ref()
                .or(c.inputs.upstream_tag.as_ref())
            else {
                continue;
            };
            let Ok(version) = ReleaseVersion::parse(tag) else {
                continue;
            };
            if !seen.insert(tag.clone()) {
                continue;
            }
            let mut node = Node::new(version, c.inputs.upstream.to_string());
            node.metadata
                .insert(META_UPSTREAM.to_string(), "true".to_string());
            if matches!(c.inputs.upstream, ImageRef::Layout(_)) {
                node.metadata
                    .insert(META_PAYLOAD_NOTE.to_string(), LAYOUT_NOTE.to_string());
            }
            nodes.push(node);
        }
    }
    nodes
}
