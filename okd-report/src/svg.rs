//! The upgrade graph as an SVG picture: releases in one column in version order, newest at the
//! top, coloured by phase; each upgrade edge an arc on the right from the release upgraded from
//! to the release upgraded to, coloured by outcome and labelled with its success and failure
//! counts. Arcs between distant releases reach further out, so they do not hide each other.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use okd_release::ReleaseVersion;

use super::model::{Phase, ReportModel, UpgradeEdge};

const PAD: f64 = 16.0;
const ROW: f64 = 40.0;
const BOX_H: f64 = 26.0;
const CHAR_W: f64 = 7.3;
const MAX_REACH: f64 = 520.0;

/// A node of the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphNode {
    /// Release name.
    pub name: String,
    /// Its phase; none for a release of another stream that appears only on an edge.
    pub phase: Option<Phase>,
    /// Its page.
    pub href: Option<String>,
}

/// A release known to the picture: name, creation time and phase (none for outside releases).
type Known<'a> = (&'a str, Option<DateTime<Utc>>, Option<Phase>);

/// Releases of the model and of its edges, newest first: by version where names are versions,
/// then creation time, then name.
pub(crate) fn nodes(model: &ReportModel, href: impl Fn(&str) -> Option<String>) -> Vec<GraphNode> {
    let names: Vec<Known<'_>> = model
        .releases
        .iter()
        .map(|r| (r.name.as_str(), Some(r.created), Some(r.phase)))
        .collect();
    ordered(names, &model.edges, href)
}

/// `names` plus the releases only `edges` name, newest first.
fn ordered<'a>(
    mut names: Vec<Known<'a>>,
    edges: &'a [UpgradeEdge],
    href: impl Fn(&str) -> Option<String>,
) -> Vec<GraphNode> {
    for e in edges {
        for n in [e.from.as_str(), e.to.as_str()] {
            if !names.iter().any(|(m, _, _)| *m == n) {
                names.push((n, None, None));
            }
        }
    }
    let mut keyed: Vec<_> = names
        .into_iter()
        .map(|(n, created, phase)| (n.parse::<ReleaseVersion>().ok(), created, n, phase))
        .collect();
    keyed.sort_by(|a, b| {
        let by_version = match (&a.0, &b.0) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        by_version
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(b.2))
            .reverse()
    });
    keyed
        .into_iter()
        .map(|(_, _, name, phase)| GraphNode {
            name: name.to_string(),
            phase,
            href: phase.and_then(|_| href(name)),
        })
        .collect()
}

/// Fill and text colours of a node.
fn node_colours(phase: Option<Phase>) -> (&'static str, &'static str, &'static str) {
    match phase {
        Some(Phase::Accepted) => ("#2e7d32", "#ffffff", "accepted"),
        Some(Phase::Rejected) => ("#c62828", "#ffffff", "rejected"),
        Some(Phase::Failed) => ("#6a1b1b", "#ffffff", "failed"),
        Some(Phase::Ready) => ("#1565c0", "#ffffff", "ready"),
        Some(Phase::Pending) => ("#f9a825", "#212121", "pending"),
        None => ("#eceff1", "#37474f", "external"),
    }
}

/// The outcome class of an edge and its colour.
pub(crate) fn edge_outcome(e: &UpgradeEdge) -> (&'static str, &'static str) {
    match (e.success, e.failure) {
        (_, 0) => ("success", "#2e7d32"),
        (0, _) => ("failure", "#c62828"),
        _ => ("mixed", "#ef6c00"),
    }
}

/// `✓2`, `✗1` or `✓2 ✗1`.
fn edge_label(e: &UpgradeEdge) -> String {
    match (e.success, e.failure) {
        (s, 0) => format!("✓{s}"),
        (0, f) => format!("✗{f}"),
        (s, f) => format!("✓{s} ✗{f}"),
    }
}

fn f(x: f64) -> String {
    format!("{x:.1}")
}

/// The picture alone, as an SVG document: `releases` (with their phase where known) and the
/// releases only `edges` name, drawn as the report draws its graph.
pub fn document(releases: &[(&str, Option<Phase>)], edges: &[UpgradeEdge]) -> String {
    let names: Vec<Known<'_>> = releases.iter().map(|(n, p)| (*n, None, *p)).collect();
    let nodes = ordered(names, edges, |_| None);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        graph(&nodes, edges).into_string()
    )
}

/// The picture. `nodes` come from [`nodes`]; edges touching no node are left out.
pub(crate) fn graph(nodes: &[GraphNode], edges: &[UpgradeEdge]) -> Markup {
    let box_w = nodes
        .iter()
        .map(|n| n.name.chars().count() as f64 * CHAR_W + 20.0)
        .fold(140.0, f64::max);
    let right = PAD + box_w;
    let row = |name: &str| nodes.iter().position(|n| n.name == name);
    let centre = |i: usize| PAD + i as f64 * ROW + BOX_H / 2.0;
    let drawn: Vec<(&UpgradeEdge, usize, usize)> = edges
        .iter()
        .filter_map(|e| Some((e, row(&e.from)?, row(&e.to)?)))
        .collect();
    let ports = ports(nodes.len(), &drawn);
    let reach = |a: usize, b: usize| (36.0 + 42.0 * a.abs_diff(b) as f64).min(MAX_REACH);
    let widest = drawn
        .iter()
        .map(|(_, a, b)| reach(*a, *b) * 0.75)
        .fold(0.0, f64::max);
    let width = right + widest + 70.0 + PAD;
    let height = PAD * 2.0 + nodes.len() as f64 * ROW - (ROW - BOX_H);
    html! {
        svg.graph xmlns="http://www.w3.org/2000/svg" role="img"
            width=(f(width)) height=(f(height))
            viewBox=(format!("0 0 {} {}", f(width), f(height))) {
            title { "Upgrade graph" }
            defs {
                @for (class, colour) in [("success", "#2e7d32"), ("failure", "#c62828"), ("mixed", "#ef6c00")] {
                    marker id=(format!("arrow-{class}")) viewBox="0 0 10 10" refX="9" refY="5"
                        markerWidth="7" markerHeight="7" orient="auto-start-reverse" {
                        path d="M 0 0 L 10 5 L 0 10 z" fill=(colour) {}
                    }
                }
            }
            @for (k, (e, a, b)) in drawn.iter().enumerate() {
                @let (class, colour) = edge_outcome(e);
                @let (ya, yb) = (centre(*a) + ports[k].0, centre(*b) + ports[k].1);
                @let w = reach(*a, *b);
                @let mid = (ya + yb) / 2.0;
                g class=(format!("edge edge-{class}")) data-from=(e.from) data-to=(e.to) {
                    title { (e.from) " → " (e.to) ": " (e.success) " succeeded, " (e.failure) " failed" }
                    path fill="none" stroke=(colour) stroke-width="1.8"
                        stroke-dasharray=[(class == "failure").then_some("5 3")]
                        marker-end=(format!("url(#arrow-{class})"))
                        d=(format!("M {} {} C {} {} {} {} {} {}",
                            f(right), f(ya), f(right + w), f(ya), f(right + w), f(yb), f(right + 2.0), f(yb))) {}
                    text x=(f(right + w * 0.75 + 5.0)) y=(f(mid + 4.0)) fill=(colour)
                        stroke="#ffffff" stroke-width="3" paint-order="stroke" {
                        (edge_label(e))
                    }
                }
            }
            @for (i, n) in nodes.iter().enumerate() {
                @let (fill, ink, class) = node_colours(n.phase);
                @let y = PAD + i as f64 * ROW;
                @let label = html! {
                    title { (n.name) " — " (n.phase.map_or("not in this stream", phase_label)) }
                    rect x=(f(PAD)) y=(f(y)) width=(f(box_w)) height=(f(BOX_H)) rx="5"
                        fill=(fill) stroke=(if n.phase.is_none() { "#90a4ae" } else { fill }) {}
                    text x=(f(PAD + 10.0)) y=(f(y + BOX_H / 2.0 + 4.0)) fill=(ink) { (n.name) }
                };
                g class=(format!("node node-{class}")) data-release=(n.name) {
                    @if let Some(href) = &n.href {
                        a href=(href) { (label) }
                    } @else {
                        (label)
                    }
                }
            }
        }
    }
}

/// Where each edge leaves and reaches its nodes, as offsets from the nodes' centres: the edges
/// at one node are spread along its right side in the order of the nodes at their other ends,
/// so arrowheads do not pile up on one point.
fn ports(n: usize, drawn: &[(&UpgradeEdge, usize, usize)]) -> Vec<(f64, f64)> {
    // Per node: (row of the other end, edge, this end is the source).
    let mut at: Vec<Vec<(usize, usize, bool)>> = vec![Vec::new(); n];
    for (k, (_, a, b)) in drawn.iter().enumerate() {
        at[*a].push((*b, k, true));
        at[*b].push((*a, k, false));
    }
    let mut out = vec![(0.0, 0.0); drawn.len()];
    for ends in &mut at {
        ends.sort();
        let span = BOX_H - 10.0;
        let step = if ends.len() > 1 {
            span / (ends.len() - 1) as f64
        } else {
            0.0
        };
        for (i, (_, k, source)) in ends.iter().enumerate() {
            let offset = if ends.len() > 1 {
                -span / 2.0 + step * i as f64
            } else {
                0.0
            };
            if *source {
                out[*k].0 = offset;
            } else {
                out[*k].1 = offset;
            }
        }
    }
    out
}

/// The name of a phase.
pub(crate) fn phase_label(p: Phase) -> &'static str {
    match p {
        Phase::Pending => "Pending",
        Phase::Ready => "Ready",
        Phase::Failed => "Failed",
        Phase::Accepted => "Accepted",
        Phase::Rejected => "Rejected",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ReleaseEntry;

    fn model() -> ReportModel {
        let t = |d| Utc.with_ymd_and_hms(2025, 1, d, 0, 0, 0).unwrap();
        let mut m = ReportModel::new("s");
        for (n, d, p) in [
            ("4.19.0-okd-scos.9", 9, Phase::Accepted),
            ("4.19.0-okd-scos.10", 10, Phase::Rejected),
        ] {
            m.releases.push(ReleaseEntry::new(n, p, t(d), "q"));
        }
        m.edges.push(UpgradeEdge {
            from: "4.18.0-okd-scos.3".into(),
            to: "4.19.0-okd-scos.10".into(),
            success: 0,
            failure: 2,
        });
        m.edges.push(UpgradeEdge {
            from: "4.19.0-okd-scos.9".into(),
            to: "4.19.0-okd-scos.10".into(),
            success: 1,
            failure: 1,
        });
        m
    }

    #[test]
    fn nodes_in_version_order_with_outside_releases() {
        let m = model();
        let n = nodes(&m, |name| Some(format!("{name}.html")));
        let names: Vec<_> = n.iter().map(|n| n.name.as_str()).collect();
        // Version order, not string order: .10 is newer than .9.
        assert_eq!(
            names,
            [
                "4.19.0-okd-scos.10",
                "4.19.0-okd-scos.9",
                "4.18.0-okd-scos.3"
            ]
        );
        assert_eq!(n[2].phase, None);
        assert_eq!(n[2].href, None);
        assert_eq!(n[0].href.as_deref(), Some("4.19.0-okd-scos.10.html"));
    }

    #[test]
    fn draws_a_node_per_release_and_an_arc_per_edge() {
        let m = model();
        let svg = graph(&nodes(&m, |_| None), &m.edges).into_string();
        assert_eq!(svg.matches("<g class=\"node ").count(), 3);
        assert_eq!(svg.matches("<g class=\"edge ").count(), 2);
        assert!(svg.contains("class=\"edge edge-failure\""));
        assert!(svg.contains("class=\"edge edge-mixed\""));
        assert!(svg.contains("stroke-dasharray=\"5 3\""));
        assert!(svg.contains("✓1 ✗1"));
        assert!(svg.contains("class=\"node node-external\""));
    }
}
