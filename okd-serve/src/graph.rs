//! `GET /graph`: the release-controller's Cincinnati graph over every served stream.
//!
//! `?channel=` takes the controller's channels ([`okd_gating::Channel`]); any other name is a
//! promotion of a served stream or a 400 with the controller's message. A promotion name that
//! is also a controller channel (`next`, `stable`, `stable-scos-4`, …) is served by the
//! controller's rule, so a cluster pointed here sees what it would see on the controller; a
//! promotion name the controller does not know (`latest`, `okd-preview`) offers the successful
//! edges into that stream's Accepted releases (what the promotion publishes). The channel is
//! checked before any edge is looked at: an unknown channel is a 400 even when no upgrade is
//! recorded yet (the controller notices only inside its loop over edges).

use std::collections::{BTreeSet, HashMap};

use okd_gating::{Channel, Phase, UNSUPPORTED_CHANNEL};

use crate::snapshot::Snapshot;

/// Content type of the Cincinnati graph.
pub const CINCINNATI_TYPE: &str = "application/vnd.redhat.cincinnati.graph+json; version=1.0";
/// The release-controller's answer (HTTP 400) to a format it does not serve.
pub const UNSUPPORTED_FORMAT: &str = "Unsupported ?format, must be 'cincinnati' (default)";

/// What a `/graph` request is answered with.
#[derive(Debug, PartialEq, Eq)]
pub enum GraphAnswer {
    /// 200 with this content type and body.
    Ok(&'static str, bytes::Bytes),
    /// 200 with this content type and a gzip body (`Content-Encoding: gzip`).
    Gzip(&'static str, bytes::Bytes),
    /// 400 with this message.
    BadRequest(&'static str),
}

enum Rule {
    Controller(Channel),
    Promotion(BTreeSet<String>),
}

fn rule(snapshot: &Snapshot, channel: &str) -> Option<Rule> {
    if let Ok(c) = Channel::parse(channel) {
        return Some(Rule::Controller(c));
    }
    let mut into = BTreeSet::new();
    let mut found = false;
    for s in &snapshot.streams {
        if s.served.promotions().any(|p| p == channel) {
            found = true;
            into.extend(
                s.state
                    .releases
                    .iter()
                    .filter(|r| r.phase == Phase::Accepted)
                    .map(|r| r.name.clone()),
            );
        }
    }
    found.then_some(Rule::Promotion(into))
}

/// The Cincinnati graph of `channel` over the snapshot.
pub fn cincinnati(snapshot: &Snapshot, channel: &str) -> Option<okd_release::Graph> {
    let graph = match rule(snapshot, channel)? {
        Rule::Controller(c) => snapshot.graph.to_cincinnati(&snapshot.nodes, &c),
        Rule::Promotion(into) => {
            let stable = Channel::parse("stable").ok()?;
            let mut g = snapshot.graph.to_cincinnati(&snapshot.nodes, &stable);
            let names: Vec<String> = g.nodes.iter().map(|n| n.version.to_string()).collect();
            g.edges.retain(|(_, to)| into.contains(&names[*to]));
            g
        }
    };
    Some(graph)
}

/// The channel's graph drawn as the report pages draw it: its nodes with their phases (none
/// for upstream releases), its edges with their success and failure counts.
fn svg(snapshot: &Snapshot, g: &okd_release::Graph) -> String {
    let names: Vec<String> = g.nodes.iter().map(|n| n.version.to_string()).collect();
    let phase = |name: &str| {
        snapshot
            .streams
            .iter()
            .find_map(|s| s.state.release(name).map(|r| r.phase))
    };
    let releases: Vec<(&str, Option<Phase>)> =
        names.iter().map(|n| (n.as_str(), phase(n))).collect();
    let edges: Vec<okd_report::UpgradeEdge> = g
        .edges
        .iter()
        .map(|(a, b)| {
            let counts = snapshot
                .graph
                .edge(&names[*a], &names[*b])
                .unwrap_or_default();
            okd_report::UpgradeEdge {
                from: names[*a].clone(),
                to: names[*b].clone(),
                success: counts.success,
                failure: counts.failure,
            }
        })
        .collect();
    okd_report::graph_svg(&releases, &edges)
}

/// Answers `/graph` with the query parameters `query`, gzip-compressed when `gzip` (a client
/// that sent `Accept-Encoding: gzip`, as Go's HTTP client and so the CVO do). The compressed
/// body is made once per snapshot.
pub fn answer_encoded(
    snapshot: &Snapshot,
    query: &HashMap<String, String>,
    gzip: bool,
) -> GraphAnswer {
    let plain = answer(snapshot, query);
    let (GraphAnswer::Ok(ct, body), true) = (&plain, gzip) else {
        return plain;
    };
    let channel = query.get("channel").map(String::as_str).unwrap_or("");
    let format = query.get("format").map(String::as_str).unwrap_or("");
    let key = format!("graph.gz\n{format}\n{channel}");
    match snapshot.rendered(&key, || compress(body)) {
        Ok(gz) => GraphAnswer::Gzip(ct, gz),
        Err(_) => plain,
    }
}

fn compress(body: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body)?;
    enc.finish()
}

/// Answers `/graph` with the query parameters `query`.
pub fn answer(snapshot: &Snapshot, query: &HashMap<String, String>) -> GraphAnswer {
    let channel = query.get("channel").map(String::as_str).unwrap_or("");
    let format = query.get("format").map(String::as_str).unwrap_or("");
    if !matches!(format, "" | "cincinnati" | "dot" | "svg") {
        return GraphAnswer::BadRequest(UNSUPPORTED_FORMAT);
    }
    let key = format!("graph\n{format}\n{channel}");
    let body = snapshot.rendered(&key, || match format {
        "dot" => match rule(snapshot, channel) {
            Some(_) => Ok(snapshot.graph.to_dot(&snapshot.nodes).into_bytes()),
            None => Err(()),
        },
        "svg" => cincinnati(snapshot, channel)
            .map(|g| svg(snapshot, &g).into_bytes())
            .ok_or(()),
        _ => cincinnati(snapshot, channel)
            .map(|g| g.to_json().into_bytes())
            .ok_or(()),
    });
    match body {
        Ok(b) if format == "dot" => GraphAnswer::Ok("text/vnd.graphviz", b),
        Ok(b) if format == "svg" => GraphAnswer::Ok("image/svg+xml", b),
        Ok(b) => GraphAnswer::Ok(CINCINNATI_TYPE, b),
        Err(()) => GraphAnswer::BadRequest(UNSUPPORTED_CHANNEL),
    }
}
