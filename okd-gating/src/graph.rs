//! The upgrade graph: per-edge results of upgrade jobs, channel rules, Cincinnati JSON and DOT.
//!
//! Every finished upgrade run adds its result to the edge `from → to`, deduplicated by run
//! (the controller dedupes by job URL). An edge is offered in a channel only under the channel's
//! rule (`http_upgrade_graph.go`):
//!
//! * `""`, `stable`, `stable-scos`, `next`, `next-scos`: at least one success;
//! * `stable-X`, `next-X`, `stable-scos-X`, `next-scos-X`: at least one success, and the target
//!   version starts with `X.` (`stable-scos-4` offers edges into 4.y releases);
//! * `prerelease`, `nightly` (and `-X` forms): every edge, failing ones included.
//!
//! ```
//! use okd_gating::{Channel, RunState, UpgradeGraph};
//! use okd_release::graph::Node;
//! let mut g = UpgradeGraph::default();
//! g.record("4.19.0-okd-scos.1", "4.19.0-okd-scos.2", RunState::Succeeded, "run-1");
//! g.record("4.19.0-okd-scos.1", "4.19.0-okd-scos.3", RunState::Failed, "run-2");
//! let nodes = ["4.19.0-okd-scos.1", "4.19.0-okd-scos.2", "4.19.0-okd-scos.3"]
//!     .map(|v| Node::new(v.parse().unwrap(), format!("quay.io/okd/scos-release:{v}")));
//! let stable = g.to_cincinnati(&nodes, &Channel::parse("stable-scos-4")?);
//! assert_eq!(stable.edges, [(0, 1)]);
//! let nightly = g.to_cincinnati(&nodes, &Channel::parse("nightly")?);
//! assert_eq!(nightly.edges.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::record::{ReleaseRecord, RunKind, RunState};
use okd_release::graph::{Graph, Node};

/// Success and failure counts of one edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EdgeCounts {
    /// Successful upgrade runs.
    pub success: u32,
    /// Failed upgrade runs.
    pub failure: u32,
}

/// One recorded result (the controller's `UpgradeResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeResult {
    /// `Succeeded` or `Failed`.
    pub state: RunState,
    /// Identifies the run (job URL or run name).
    pub url: String,
}

/// One edge with its results (the controller's persisted `UpgradeRecord`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeRecord {
    /// Source release.
    pub from: String,
    /// Target release.
    pub to: String,
    /// Results.
    pub results: Vec<UpgradeResult>,
}

/// Upgrade edges with their results. Serialises as the controller's list of
/// `{from, to, results}` records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "Vec<UpgradeRecord>", into = "Vec<UpgradeRecord>")]
pub struct UpgradeGraph {
    edges: BTreeMap<(String, String), BTreeMap<String, RunState>>,
}

impl From<Vec<UpgradeRecord>> for UpgradeGraph {
    fn from(records: Vec<UpgradeRecord>) -> Self {
        let mut g = UpgradeGraph::default();
        for r in records {
            for res in r.results {
                g.record(&r.from, &r.to, res.state, &res.url);
            }
        }
        g
    }
}

impl From<UpgradeGraph> for Vec<UpgradeRecord> {
    fn from(g: UpgradeGraph) -> Self {
        g.edges
            .into_iter()
            .map(|((from, to), results)| UpgradeRecord {
                from,
                to,
                results: results
                    .into_iter()
                    .map(|(url, state)| UpgradeResult { state, url })
                    .collect(),
            })
            .collect()
    }
}

impl UpgradeGraph {
    /// Records a finished upgrade run; pending or skipped runs and repeats of the same `url`
    /// change nothing.
    pub fn record(&mut self, from: &str, to: &str, state: RunState, url: &str) {
        if matches!(state, RunState::Pending | RunState::Skipped) {
            return;
        }
        self.edges
            .entry((from.to_string(), to.to_string()))
            .or_default()
            .insert(url.to_string(), state);
    }

    /// Records every finished upgrade run of a release that decides its job: plain runs and
    /// aggregators, not analysis runs (which, as in the controller, carry no verify label) and
    /// not skipped jobs (which upgraded nothing).
    pub fn record_release(&mut self, release: &ReleaseRecord) {
        for run in &release.runs {
            let decides = !matches!(run.kind, RunKind::Analysis { .. }) && !run.skipped;
            if let (Some(from), true) = (&run.upgrade_from, decides) {
                let url = run
                    .log
                    .clone()
                    .unwrap_or_else(|| run.run_name(&release.name));
                self.record(&from.name, &release.name, run.state, &url);
            }
        }
    }

    /// Counts of the edge `from → to`.
    pub fn edge(&self, from: &str, to: &str) -> Option<EdgeCounts> {
        self.edges
            .get(&(from.to_string(), to.to_string()))
            .map(counts)
    }

    /// Every edge with its counts, sorted.
    pub fn edges(&self) -> impl Iterator<Item = (&str, &str, EdgeCounts)> + '_ {
        self.edges
            .iter()
            .map(|((f, t), r)| (f.as_str(), t.as_str(), counts(r)))
    }

    /// Removes edges touching a release for which `keep` is false (the controller's prune).
    pub fn retain_releases(&mut self, keep: impl Fn(&str) -> bool) {
        self.edges.retain(|(f, t), _| keep(f) && keep(t));
    }

    /// The Cincinnati graph of `channel` over `nodes`; edges touching releases not in `nodes`
    /// are left out.
    pub fn to_cincinnati(&self, nodes: &[Node], channel: &Channel) -> Graph {
        let index = node_index(nodes);
        let edges = self
            .edges()
            .filter(|(_, to, c)| channel.admits(to, *c))
            .filter_map(|(from, to, _)| Some((*index.get(from)?, *index.get(to)?)))
            .collect();
        Graph {
            nodes: nodes.to_vec(),
            edges,
            conditional_edges: Vec::new(),
        }
    }

    /// Graphviz DOT of every edge over `nodes`; edges with failures only are dashed red.
    pub fn to_dot(&self, nodes: &[Node]) -> String {
        let index = node_index(nodes);
        let mut out = String::from("digraph Upgrades {\n  rankdir=TB;\n");
        for (i, n) in nodes.iter().enumerate() {
            let _ = writeln!(
                out,
                "  tag{i} [label={:?} shape=record];",
                n.version.to_string()
            );
        }
        for (from, to, c) in self.edges() {
            let (Some(f), Some(t)) = (index.get(from), index.get(to)) else {
                continue;
            };
            let style = if c.success == 0 && c.failure > 0 {
                " [style=dashed color=red]"
            } else {
                ""
            };
            let _ = writeln!(out, "  tag{f} -> tag{t}{style};");
        }
        out.push_str("}\n");
        out
    }
}

fn node_index(nodes: &[Node]) -> BTreeMap<String, usize> {
    nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.version.to_string(), i))
        .collect()
}

fn counts(results: &BTreeMap<String, RunState>) -> EdgeCounts {
    let mut c = EdgeCounts::default();
    for s in results.values() {
        match s {
            RunState::Succeeded => c.success += 1,
            RunState::Failed => c.failure += 1,
            RunState::Pending | RunState::Skipped => {}
        }
    }
    c
}

/// An update channel, with the rule deciding which edges it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    name: String,
    include_failing: bool,
    version_prefix: Option<String>,
}

impl Channel {
    /// Parses a channel name the controller serves.
    pub fn parse(name: &str) -> Result<Channel, Error> {
        let make = |include_failing, prefix: Option<&str>| Channel {
            name: name.to_string(),
            include_failing,
            version_prefix: prefix.map(|p| format!("{p}.")),
        };
        match name {
            "" | "stable" | "stable-scos" | "next" | "next-scos" => return Ok(make(false, None)),
            "prerelease" | "nightly" => return Ok(make(true, None)),
            _ => {}
        }
        for (prefix, failing) in [
            ("stable-scos-", false),
            ("next-scos-", false),
            ("stable-", false),
            ("next-", false),
            ("prerelease-", true),
            ("nightly-", true),
        ] {
            if let Some(branch) = name.strip_prefix(prefix).filter(|b| !b.is_empty()) {
                return Ok(make(failing, Some(branch)));
            }
        }
        Err(Error::UnknownChannel {
            channel: name.to_string(),
        })
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the channel offers an edge into `to` with these counts.
    pub fn admits(&self, to: &str, counts: EdgeCounts) -> bool {
        if !self.include_failing && counts.success == 0 {
            return false;
        }
        self.version_prefix
            .as_deref()
            .is_none_or(|p| to.starts_with(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupes_by_run_and_counts() {
        let mut g = UpgradeGraph::default();
        g.record("a", "b", RunState::Failed, "r1");
        g.record("a", "b", RunState::Failed, "r1");
        g.record("a", "b", RunState::Succeeded, "r2");
        g.record("a", "b", RunState::Pending, "r3");
        assert_eq!(
            g.edge("a", "b"),
            Some(EdgeCounts {
                success: 1,
                failure: 1
            })
        );
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(
            json,
            r#"[{"from":"a","to":"b","results":[{"state":"Failed","url":"r1"},{"state":"Succeeded","url":"r2"}]}]"#
        );
        assert_eq!(serde_json::from_str::<UpgradeGraph>(&json).unwrap(), g);
    }

    #[test]
    fn channel_rules() {
        let ok = EdgeCounts {
            success: 1,
            failure: 0,
        };
        let bad = EdgeCounts {
            success: 0,
            failure: 2,
        };
        let c = |n: &str| Channel::parse(n).unwrap();
        assert!(c("stable-scos-4").admits("4.19.0-okd-scos.2", ok));
        assert!(!c("stable-scos-4").admits("4.19.0-okd-scos.2", bad));
        assert!(!c("stable-scos-4").admits("5.0.0-okd-scos.0", ok));
        assert!(c("next-scos-4").admits("4.20.0-okd-scos.ec.1", ok));
        assert!(!c("stable-4.19").admits("4.20.0", ok));
        assert!(c("stable-4.19").admits("4.19.3", ok));
        assert!(c("stable").admits("anything", ok));
        assert!(c("nightly").admits("x", bad));
        assert!(!c("nightly-4.19").admits("4.18.0", bad));
        assert!(Channel::parse("candidate-4.19").is_err());
        assert!(Channel::parse("stable-").is_err());
    }

    #[test]
    fn dot_marks_failing_edges() {
        let mut g = UpgradeGraph::default();
        g.record("1.0.0", "1.0.1", RunState::Succeeded, "r1");
        g.record("1.0.0", "1.0.2", RunState::Failed, "r2");
        g.record("1.0.0", "9.9.9", RunState::Succeeded, "r3");
        let nodes = ["1.0.0", "1.0.1", "1.0.2"].map(|v| Node::new(v.parse().unwrap(), v));
        let dot = g.to_dot(&nodes);
        assert!(dot.contains("tag0 -> tag1;\n"), "{dot}");
        assert!(
            dot.contains("tag0 -> tag2 [style=dashed color=red];"),
            "{dot}"
        );
        assert!(!dot.contains("9.9.9"));
    }
}
