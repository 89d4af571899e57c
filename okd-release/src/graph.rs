//! The Cincinnati upgrade graph JSON that update services serve and the cluster-version
//! operator reads:
//!
//! ```json
//! {"nodes":[{"version":"4.19.1","payload":"quay.io/…@sha256:…","metadata":{"…":"…"}}],
//!  "edges":[[0,1]],
//!  "conditionalEdges":[{"edges":[{"from":"4.19.0","to":"4.19.1"}],
//!                       "risks":[{"url":"…","name":"…","message":"…",
//!                                 "matchingRules":[{"type":"PromQL","promql":{"promql":"…"}}]}]}]}
//! ```
//!
//! Edges are pairs of node indices; conditional edges name versions. Cincinnati is written in
//! Rust with serde, so [`Graph::to_json`] (plain serde_json, compact) is its wire format.
//!
//! ```
//! use okd_release::graph::{Graph, Node};
//!
//! let mut g = Graph::new();
//! g.add_node(Node::new("4.19.0-okd-scos.1".parse()?, "quay.io/okd/scos-release@sha256:aa"))?;
//! g.add_node(Node::new("4.19.0-okd-scos.2".parse()?, "quay.io/okd/scos-release@sha256:bb"))?;
//! g.add_edge(&"4.19.0-okd-scos.1".parse()?, &"4.19.0-okd-scos.2".parse()?)?;
//! assert_eq!(
//!     g.to_json(),
//!     r#"{"nodes":[{"version":"4.19.0-okd-scos.1","payload":"quay.io/okd/scos-release@sha256:aa","metadata":{}},{"version":"4.19.0-okd-scos.2","payload":"quay.io/okd/scos-release@sha256:bb","metadata":{}}],"edges":[[0,1]],"conditionalEdges":[]}"#
//! );
//! # Ok::<(), okd_release::Error>(())
//! ```

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::metadata::split_channels;
use crate::{Error, ReleaseVersion, annotations};

/// An upgrade graph. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Graph {
    /// Releases.
    pub nodes: Vec<Node>,
    /// Unconditional upgrades, as `[from, to]` indices into `nodes`.
    pub edges: Vec<(usize, usize)>,
    /// Upgrades recommended only for clusters not exposed to a risk.
    #[serde(rename = "conditionalEdges", default)]
    pub conditional_edges: Vec<ConditionalEdges>,
}

/// A release in the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// The release version.
    pub version: ReleaseVersion,
    /// The release image pullspec, by digest.
    pub payload: String,
    /// Metadata: `io.openshift.upgrades.graph.release.channels`,
    /// `io.openshift.upgrades.graph.release.manifestref`, `url`, …
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Edges that share the same risks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConditionalEdges {
    /// The upgrades.
    #[serde(default)]
    pub edges: Vec<ConditionalEdge>,
    /// The risks that apply to all of them.
    #[serde(default)]
    pub risks: Vec<Risk>,
}

/// One conditional upgrade, by version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ConditionalEdge {
    /// From version.
    #[serde(default)]
    pub from: String,
    /// To version.
    #[serde(default)]
    pub to: String,
}

/// A known risk of an upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Risk {
    /// Where the risk is described.
    #[serde(default)]
    pub url: String,
    /// A CamelCase name.
    #[serde(default)]
    pub name: String,
    /// A human-readable explanation.
    #[serde(default)]
    pub message: String,
    /// Which clusters are exposed.
    #[serde(rename = "matchingRules", default)]
    pub matching_rules: Vec<ClusterCondition>,
}

/// A rule selecting exposed clusters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterCondition {
    /// `Always` or `PromQL`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// The query, for `PromQL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promql: Option<PromQlCondition>,
}

/// A PromQL query.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PromQlCondition {
    /// The query; exposed clusters return 1.
    #[serde(default)]
    pub promql: String,
}

impl Node {
    /// A node without metadata.
    pub fn new(version: ReleaseVersion, payload: impl Into<String>) -> Node {
        Node {
            version,
            payload: payload.into(),
            metadata: BTreeMap::new(),
        }
    }

    /// A node as Cincinnati's graph-builder makes it for a release image: the payload by digest
    /// and `io.openshift.upgrades.graph.release.manifestref` set to that digest.
    pub fn for_release(
        version: ReleaseVersion,
        repository_pullspec: &str,
        digest: &okd_oci::Digest,
    ) -> Node {
        let mut node = Node::new(version, format!("{repository_pullspec}@{digest}"));
        node.metadata.insert(
            annotations::GRAPH_MANIFESTREF.to_string(),
            digest.to_string(),
        );
        node
    }

    /// The channels in `io.openshift.upgrades.graph.release.channels`.
    pub fn channels(&self) -> Vec<&str> {
        self.metadata
            .get(annotations::METADATA_CHANNELS)
            .map(|s| split_channels(s))
            .unwrap_or_default()
    }
}

impl ClusterCondition {
    /// The rule matching every cluster.
    pub fn always() -> ClusterCondition {
        ClusterCondition {
            type_: "Always".to_string(),
            promql: None,
        }
    }

    /// A PromQL rule.
    pub fn promql(query: impl Into<String>) -> ClusterCondition {
        ClusterCondition {
            type_: "PromQL".to_string(),
            promql: Some(PromQlCondition {
                promql: query.into(),
            }),
        }
    }
}

fn graph_err(reason: impl Into<String>) -> Error {
    Error::InvalidGraph {
        reason: reason.into(),
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Parses graph JSON and [validates](Self::validate) it.
    pub fn parse(data: &[u8]) -> Result<Graph, Error> {
        let g: Graph = serde_json::from_slice(data).map_err(|e| Error::document("graph", e))?;
        g.validate()?;
        Ok(g)
    }

    /// The compact JSON an update service serves.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("graph: {e}"))
    }

    /// Indented JSON, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| unreachable!("graph: {e}"))
    }

    /// Checks what Cincinnati checks when it reads a graph: versions are unique, edges point at
    /// existing nodes, there is no self-loop and no cycle; and that conditional edges name
    /// existing versions.
    pub fn validate(&self) -> Result<(), Error> {
        let mut seen = HashMap::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(j) = seen.insert(n.version.to_string(), i) {
                return Err(graph_err(format!(
                    "version {} appears twice (nodes {j} and {i})",
                    n.version
                )));
            }
        }
        let len = self.nodes.len();
        for &(a, b) in &self.edges {
            if a >= len || b >= len {
                return Err(graph_err(format!(
                    "edge [{a},{b}] points outside the {len} nodes"
                )));
            }
            if a == b {
                return Err(graph_err(format!(
                    "edge [{a},{b}] is a loop on {}",
                    self.nodes[a].version
                )));
            }
        }
        if let Some(v) = self.find_cycle() {
            return Err(graph_err(format!("the edges form a cycle through {v}")));
        }
        for c in &self.conditional_edges {
            for e in &c.edges {
                for v in [&e.from, &e.to] {
                    if !seen.contains_key(v.as_str()) {
                        return Err(graph_err(format!(
                            "conditional edge {} -> {} names unknown version {v}",
                            e.from, e.to
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn find_cycle(&self) -> Option<&ReleaseVersion> {
        // Kahn's algorithm: whatever cannot be removed lies on or behind a cycle.
        let n = self.nodes.len();
        let mut indegree = vec![0usize; n];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(a, b) in &self.edges {
            if a < n && b < n {
                indegree[b] += 1;
                out[a].push(b);
            }
        }
        let mut queue: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut removed = 0;
        while let Some(i) = queue.pop() {
            removed += 1;
            for &j in &out[i] {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    queue.push(j);
                }
            }
        }
        (removed < n)
            .then(|| (0..n).find(|&i| indegree[i] > 0))
            .flatten()
            .map(|i| &self.nodes[i].version)
    }

    /// The index of `version`.
    pub fn index_of(&self, version: &ReleaseVersion) -> Option<usize> {
        self.nodes.iter().position(|n| &n.version == version)
    }

    /// The node of `version`.
    pub fn node(&self, version: &ReleaseVersion) -> Option<&Node> {
        self.nodes.iter().find(|n| &n.version == version)
    }

    /// Adds a node, returning its index. A version already present is an error.
    pub fn add_node(&mut self, node: Node) -> Result<usize, Error> {
        if self.index_of(&node.version).is_some() {
            return Err(graph_err(format!(
                "version {} is already in the graph",
                node.version
            )));
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    /// Adds the node, or replaces the payload and metadata of the node with its version.
    pub fn upsert_node(&mut self, node: Node) -> usize {
        match self.index_of(&node.version) {
            Some(i) => {
                self.nodes[i] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn indices(&self, from: &ReleaseVersion, to: &ReleaseVersion) -> Result<(usize, usize), Error> {
        let a = self
            .index_of(from)
            .ok_or_else(|| graph_err(format!("no node for version {from}")))?;
        let b = self
            .index_of(to)
            .ok_or_else(|| graph_err(format!("no node for version {to}")))?;
        if a == b {
            return Err(graph_err(format!("an edge from {from} to itself")));
        }
        Ok((a, b))
    }

    /// Adds the upgrade edge `from → to`. Returns `false` when it was already there. Both nodes
    /// must exist; an edge that would close a cycle is refused.
    pub fn add_edge(&mut self, from: &ReleaseVersion, to: &ReleaseVersion) -> Result<bool, Error> {
        let edge = self.indices(from, to)?;
        if self.edges.contains(&edge) {
            return Ok(false);
        }
        self.edges.push(edge);
        if self.find_cycle().is_some() {
            self.edges.pop();
            return Err(graph_err(format!(
                "the edge {from} -> {to} would close a cycle"
            )));
        }
        Ok(true)
    }

    /// Adds a conditional edge `from → to` with `risks`, grouped with other edges that have
    /// exactly the same risks. Returns `false` when it was already there.
    pub fn add_conditional_edge(
        &mut self,
        from: &ReleaseVersion,
        to: &ReleaseVersion,
        risks: Vec<Risk>,
    ) -> Result<bool, Error> {
        self.indices(from, to)?;
        let edge = ConditionalEdge {
            from: from.to_string(),
            to: to.to_string(),
        };
        match self.conditional_edges.iter_mut().find(|c| c.risks == risks) {
            Some(group) if group.edges.contains(&edge) => Ok(false),
            Some(group) => {
                group.edges.push(edge);
                Ok(true)
            }
            None => {
                self.conditional_edges.push(ConditionalEdges {
                    edges: vec![edge],
                    risks,
                });
                Ok(true)
            }
        }
    }

    /// The versions `version` can upgrade to unconditionally.
    pub fn next_of(&self, version: &ReleaseVersion) -> Vec<&ReleaseVersion> {
        let Some(i) = self.index_of(version) else {
            return Vec::new();
        };
        self.edges
            .iter()
            .filter(|(a, _)| *a == i)
            .filter_map(|(_, b)| self.nodes.get(*b).map(|n| &n.version))
            .collect()
    }

    /// The versions that can upgrade to `version` unconditionally.
    pub fn previous_of(&self, version: &ReleaseVersion) -> Vec<&ReleaseVersion> {
        let Some(i) = self.index_of(version) else {
            return Vec::new();
        };
        self.edges
            .iter()
            .filter(|(_, b)| *b == i)
            .filter_map(|(a, _)| self.nodes.get(*a).map(|n| &n.version))
            .collect()
    }

    /// Keeps only the nodes for which `keep` returns true, renumbering edges and dropping the
    /// edges and conditional edges of removed nodes.
    pub fn retain_nodes(&mut self, mut keep: impl FnMut(&Node) -> bool) {
        let mut map = vec![None; self.nodes.len()];
        let mut kept = Vec::with_capacity(self.nodes.len());
        for (i, n) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if keep(&n) {
                map[i] = Some(kept.len());
                kept.push(n);
            }
        }
        self.nodes = kept;
        self.edges = self
            .edges
            .iter()
            .filter_map(|&(a, b)| Some((map.get(a).copied()??, map.get(b).copied()??)))
            .collect();
        let versions: std::collections::HashSet<String> =
            self.nodes.iter().map(|n| n.version.to_string()).collect();
        for group in &mut self.conditional_edges {
            group
                .edges
                .retain(|e| versions.contains(&e.from) && versions.contains(&e.to));
        }
        self.conditional_edges.retain(|g| !g.edges.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ReleaseVersion {
        s.parse().unwrap()
    }

    fn three() -> Graph {
        let mut g = Graph::new();
        for s in ["1.0.0", "2.0.0", "3.0.0"] {
            g.add_node(Node::new(v(s), format!("image/{s}"))).unwrap();
        }
        g.add_edge(&v("1.0.0"), &v("2.0.0")).unwrap();
        g.add_edge(&v("2.0.0"), &v("3.0.0")).unwrap();
        g.add_edge(&v("1.0.0"), &v("3.0.0")).unwrap();
        g
    }

    #[test]
    fn wire_format_with_conditional_edges() {
        let mut g = three();
        let risk = Risk {
            url: "https://bug.example.com/1".into(),
            name: "BrokenUpdates".into(),
            message: "Updates are broken for this provider".into(),
            matching_rules: vec![ClusterCondition::promql(
                r#"cluster_infrastructure_provider{type="Example"}"#,
            )],
        };
        assert!(
            g.add_conditional_edge(&v("1.0.0"), &v("2.0.0"), vec![risk.clone()])
                .unwrap()
        );
        assert!(
            !g.add_conditional_edge(&v("1.0.0"), &v("2.0.0"), vec![risk])
                .unwrap()
        );
        let always = Risk {
            name: "All".into(),
            matching_rules: vec![ClusterCondition::always()],
            ..Risk::default()
        };
        g.add_conditional_edge(&v("2.0.0"), &v("3.0.0"), vec![always])
            .unwrap();
        let json = g.to_json();
        assert_eq!(
            json,
            concat!(
                r#"{"nodes":[{"version":"1.0.0","payload":"image/1.0.0","metadata":{}},"#,
                r#"{"version":"2.0.0","payload":"image/2.0.0","metadata":{}},"#,
                r#"{"version":"3.0.0","payload":"image/3.0.0","metadata":{}}],"#,
                r#""edges":[[0,1],[1,2],[0,2]],"#,
                r#""conditionalEdges":[{"edges":[{"from":"1.0.0","to":"2.0.0"}],"#,
                r#""risks":[{"url":"https://bug.example.com/1","name":"BrokenUpdates","#,
                r#""message":"Updates are broken for this provider","#,
                r#""matchingRules":[{"type":"PromQL","promql":{"promql":"cluster_infrastructure_provider{type=\"Example\"}"}}]}]},"#,
                r#"{"edges":[{"from":"2.0.0","to":"3.0.0"}],"risks":[{"url":"","name":"All","message":"","matchingRules":[{"type":"Always"}]}]}]}"#
            )
        );
        assert_eq!(Graph::parse(json.as_bytes()).unwrap(), g);
    }

    #[test]
    fn parse_without_conditional_edges() {
        let g =
            Graph::parse(br#"{"nodes":[{"version":"4.2.14","payload":"p"}],"edges":[]}"#).unwrap();
        assert!(g.conditional_edges.is_empty());
        assert!(g.nodes[0].metadata.is_empty());
    }

    #[test]
    fn refuses_inconsistent_graphs() {
        let node = r#"{"version":"1.0.0","payload":"a","metadata":{}}"#;
        let node2 = r#"{"version":"2.0.0","payload":"b","metadata":{}}"#;
        for (doc, needle) in [
            (
                format!(r#"{{"nodes":[{node},{node}],"edges":[]}}"#),
                "twice",
            ),
            (
                format!(r#"{{"nodes":[{node}],"edges":[[0,1]]}}"#),
                "outside",
            ),
            (format!(r#"{{"nodes":[{node}],"edges":[[0,0]]}}"#), "loop"),
            (
                format!(r#"{{"nodes":[{node},{node2}],"edges":[[0,1],[1,0]]}}"#),
                "cycle",
            ),
            (
                format!(
                    r#"{{"nodes":[{node}],"edges":[],"conditionalEdges":[{{"edges":[{{"from":"1.0.0","to":"9.9.9"}}],"risks":[]}}]}}"#
                ),
                "9.9.9",
            ),
            (
                r#"{"nodes":[{"version":"x","payload":"a"}],"edges":[]}"#.to_string(),
                "\"x\"",
            ),
        ] {
            let err = Graph::parse(doc.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(needle), "{doc}: {err}");
        }
    }

    #[test]
    fn edges_and_cycles() {
        let mut g = three();
        assert!(!g.add_edge(&v("1.0.0"), &v("2.0.0")).unwrap());
        assert!(g.add_edge(&v("3.0.0"), &v("1.0.0")).is_err());
        assert_eq!(g.edges.len(), 3);
        assert!(g.add_edge(&v("1.0.0"), &v("9.0.0")).is_err());
        assert_eq!(g.next_of(&v("1.0.0")), [&v("2.0.0"), &v("3.0.0")]);
        assert_eq!(g.previous_of(&v("3.0.0")), [&v("2.0.0"), &v("1.0.0")]);
    }

    #[test]
    fn retain_renumbers() {
        let mut g = three();
        g.add_conditional_edge(&v("1.0.0"), &v("2.0.0"), vec![])
            .unwrap();
        g.retain_nodes(|n| n.version != v("2.0.0"));
        assert_eq!(g.edges, [(0, 1)]);
        assert!(g.conditional_edges.is_empty());
        g.validate().unwrap();
    }

    #[test]
    fn reads_real_nodes() {
        let nodes: Vec<Node> = serde_json::from_str(include_str!(
            "../tests/data/cincinnati-graph-nodes-4.2.excerpt.json"
        ))
        .unwrap();
        assert_eq!(nodes[0].version, v("4.2.16"));
        assert_eq!(
            nodes[0].channels(),
            ["candidate-4.2", "fast-4.2", "stable-4.2", "fast-4.3"]
        );
        let digest: okd_oci::Digest =
            "sha256:e5a6e348721c38a78d9299284fbb5c60fb340135a86b674b038500bf190ad514"
                .parse()
                .unwrap();
        let made = Node::for_release(
            v("4.2.16"),
            "quay.io/openshift-release-dev/ocp-release",
            &digest,
        );
        assert_eq!(made.payload, nodes[0].payload);
        assert_eq!(
            made.metadata[annotations::GRAPH_MANIFESTREF],
            nodes[0].metadata[annotations::GRAPH_MANIFESTREF]
        );
        let pretty = serde_json::to_string_pretty(&nodes).unwrap();
        assert_eq!(
            pretty,
            include_str!("../tests/data/cincinnati-graph-nodes-4.2.excerpt.json").trim_end()
        );
    }
}
