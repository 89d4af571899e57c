//! Cincinnati upgrade-graph JSON (`application/vnd.redhat.cincinnati.graph+json`): the document
//! an update service serves and `oc adm upgrade` reads.
//!
//! ```
//! use okd_gating::cincinnati::{Graph, Node};
//! let g = Graph {
//!     nodes: vec![Node::new("4.19.0-okd-scos.1", "quay.io/okd/scos-release:4.19.0-okd-scos.1"),
//!                 Node::new("4.19.0-okd-scos.2", "quay.io/okd/scos-release:4.19.0-okd-scos.2")],
//!     edges: vec![(0, 1)],
//!     conditional_edges: vec![],
//! };
//! let json = serde_json::to_string(&g)?;
//! assert!(json.contains(r#""edges":[[0,1]]"#));
//! assert_eq!(serde_json::from_str::<Graph>(&json)?, g);
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The media type of the document.
pub const MEDIA_TYPE: &str = "application/vnd.redhat.cincinnati.graph+json; version=1.0";

/// An upgrade graph.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Graph {
    /// Releases.
    pub nodes: Vec<Node>,
    /// Recommended updates as `[from, to]` node indexes.
    pub edges: Vec<(usize, usize)>,
    /// Updates recommended only when no risk applies.
    #[serde(default, rename = "conditionalEdges")]
    pub conditional_edges: Vec<ConditionalEdges>,
}

/// A release in the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Release version.
    pub version: String,
    /// Release image pullspec.
    pub payload: String,
    /// Metadata, e.g. `io.openshift.upgrades.graph.release.channels`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl Node {
    /// A node without metadata.
    pub fn new(version: &str, payload: &str) -> Node {
        Node {
            version: version.to_string(),
            payload: payload.to_string(),
            metadata: BTreeMap::new(),
        }
    }
}

/// Edges sharing a set of risks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionalEdges {
    /// The edges, by version.
    pub edges: Vec<ConditionalEdge>,
    /// The risks that make them conditional.
    pub risks: Vec<Risk>,
}

/// An edge by version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionalEdge {
    /// Source version.
    pub from: String,
    /// Target version.
    pub to: String,
}

/// A known risk of an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    /// Where it is described.
    pub url: String,
    /// Short name.
    pub name: String,
    /// Description.
    pub message: String,
    /// When it applies.
    #[serde(rename = "matchingRules")]
    pub matching_rules: Vec<MatchingRule>,
}

/// A rule deciding whether a risk applies to a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchingRule {
    /// `PromQL` or `Always`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The query, for `PromQL` rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promql: Option<PromQl>,
}

/// A PromQL query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromQl {
    /// The query.
    pub promql: String,
}
