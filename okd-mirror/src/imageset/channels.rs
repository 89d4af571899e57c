//! Which releases of an upgrade graph a release channel of an image set selects, by oc-mirror's
//! rules:
//!
//! * `minVersion` and `maxVersion` both set: every release between them (inclusive);
//! * `maxVersion` not set: the channel's newest release; then, without `minVersion`, a channel
//!   that is not `full` selects only that head, and a `full` one starts at its first release;
//! * `minVersion` not set (with `maxVersion`): from the channel's first release;
//! * `shortestPath`: instead of the range, the releases on the shortest upgrade path from the
//!   minimum to the maximum (breadth first, each release's upgrades tried newest first).
//!
//! A graph file may hold several channels; a release whose metadata names its channels is kept
//! only when it is in this one (an update service filters by channel itself, so a graph fetched
//! with `?channel=` passes whole).
//!
//! ```
//! use okd_mirror::imageset::{ReleaseChannel, select_releases};
//! use okd_release::graph::{Graph, Node};
//!
//! let mut g = Graph::new();
//! for v in ["4.19.0-okd-scos.1", "4.19.0-okd-scos.2", "4.19.0-okd-scos.3"] {
//!     g.add_node(Node::new(v.parse()?, format!("quay.io/okd/scos-release@sha256:{}", "a".repeat(64))))?;
//! }
//! let head = ReleaseChannel { name: "4-scos-stable".into(), ..Default::default() };
//! let picked = select_releases(&head, &g, "graph.json")?;
//! assert_eq!(picked[0].version.to_string(), "4.19.0-okd-scos.3");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{HashMap, VecDeque};

use okd_release::ReleaseVersion;
use okd_release::graph::{Graph, Node};

use super::config::ReleaseChannel;
use crate::Error;

/// The releases `channel` selects from `graph` (read from `origin`, named in errors), lowest
/// version first.
pub fn select_releases(
    channel: &ReleaseChannel,
    graph: &Graph,
    origin: &str,
) -> Result<Vec<Node>, Error> {
    let fail = |reason: String| Error::Channel {
        channel: channel.name.clone(),
        graph: origin.to_string(),
        reason,
    };
    let members = channel_members(graph, &channel.name);
    let mut versions: Vec<&ReleaseVersion> =
        members.iter().map(|&i| &graph.nodes[i].version).collect();
    versions.sort();
    let (Some(first), Some(newest)) = (versions.first(), versions.last()) else {
        return Err(fail("the graph has no release in this channel".to_string()));
    };
    let parse = |v: &str| v.parse::<ReleaseVersion>().map_err(|e| fail(e.to_string()));
    let max = match channel.max_version.as_str() {
        "" => (*newest).clone(),
        v => parse(v)?,
    };
    let min = match channel.min_version.as_str() {
        "" if channel.max_version.is_empty() && !channel.full => max.clone(),
        "" => (*first).clone(),
        v => parse(v)?,
    };
    let picked: Vec<usize> = if channel.shortest_path {
        shortest_path(graph, &members, &min, &max).map_err(fail)?
    } else {
        members
            .iter()
            .copied()
            .filter(|&i| (&min..=&max).contains(&&graph.nodes[i].version))
            .collect()
    };
    if picked.is_empty() {
        return Err(fail(format!("no release between {min} and {max}")));
    }
    let mut nodes: Vec<Node> = picked.into_iter().map(|i| graph.nodes[i].clone()).collect();
    nodes.sort_by(|a, b| a.version.cmp(&b.version));
    nodes.dedup_by(|a, b| a.payload == b.payload);
    Ok(nodes)
}

/// Indices of the nodes in `channel`: those naming it, and those naming no channel at all.
fn channel_members(graph: &Graph, channel: &str) -> Vec<usize> {
    (0..graph.nodes.len())
        .filter(|&i| {
            let names = graph.nodes[i].channels();
            names.is_empty() || names.contains(&channel)
        })
        .collect()
}

/// The nodes on the shortest path from `min` to `max` through the edges among `members`.
fn shortest_path(
    graph: &Graph,
    members: &[usize],
    min: &ReleaseVersion,
    max: &ReleaseVersion,
) -> Result<Vec<usize>, String> {
    let find = |v: &ReleaseVersion, what: &str| {
        members
            .iter()
            .copied()
            .find(|&i| graph.nodes[i].version == *v)
            .ok_or_else(|| format!("{what} version {v} is not in the channel"))
    };
    let (start, end) = (find(min, "minimum")?, find(max, "maximum")?);
    let mut next: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(from, to) in &graph.edges {
        if members.contains(&from) && members.contains(&to) {
            next.entry(from).or_default().push(to);
        }
    }
    for targets in next.values_mut() {
        targets.sort_by(|a, b| graph.nodes[*b].version.cmp(&graph.nodes[*a].version));
    }
    let mut previous: HashMap<usize, usize> = HashMap::from([(start, start)]);
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        if node == end {
            break;
        }
        for &n in next.get(&node).into_iter().flatten() {
            if let std::collections::hash_map::Entry::Vacant(e) = previous.entry(n) {
                e.insert(node);
                queue.push_back(n);
            }
        }
    }
    if !previous.contains_key(&end) {
        return Err(format!("no upgrade path from {min} to {max}"));
    }
    let mut path = vec![end];
    let mut at = end;
    while at != start {
        // Every node reached has its predecessor recorded, back to `start`.
        at = previous[&at];
        path.push(at);
    }
    path.reverse();
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    /// 1 → 2 → 3 → 4, and 1 → 3; release 5 is in another channel.
    fn graph() -> Graph {
        let mut g = Graph::new();
        for n in 1..=5 {
            let mut node = Node::new(
                format!("4.19.0-okd-scos.{n}").parse().unwrap(),
                format!("quay.io/okd/scos-release@{DIGEST}{n}"),
            );
            let channel = if n == 5 {
                "4-scos-next"
            } else {
                "4-scos-stable"
            };
            node.metadata.insert(
                "io.openshift.upgrades.graph.release.channels".into(),
                channel.into(),
            );
            g.add_node(node).unwrap();
        }
        let v = |n: u32| format!("4.19.0-okd-scos.{n}").parse().unwrap();
        for (a, b) in [(1, 2), (2, 3), (3, 4), (1, 3)] {
            g.add_edge(&v(a), &v(b)).unwrap();
        }
        g
    }

    fn versions(c: &ReleaseChannel) -> Vec<String> {
        select_releases(c, &graph(), "graph.json")
            .unwrap()
            .iter()
            .map(|n| {
                n.version
                    .to_string()
                    .rsplit('.')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn channel(min: &str, max: &str) -> ReleaseChannel {
        let v = |n: &str| {
            if n.is_empty() {
                String::new()
            } else {
                format!("4.19.0-okd-scos.{n}")
            }
        };
        ReleaseChannel {
            name: "4-scos-stable".into(),
            min_version: v(min),
            max_version: v(max),
            ..Default::default()
        }
    }

    #[test]
    fn heads_only_by_default_and_full_from_the_first() {
        assert_eq!(versions(&channel("", "")), ["4"]);
        let full = ReleaseChannel {
            full: true,
            ..channel("", "")
        };
        assert_eq!(versions(&full), ["1", "2", "3", "4"]);
        assert_eq!(versions(&channel("", "2")), ["1", "2"]);
        assert_eq!(versions(&channel("3", "")), ["3", "4"]);
    }

    #[test]
    fn a_range_is_inclusive_and_stays_in_the_channel() {
        assert_eq!(versions(&channel("2", "3")), ["2", "3"]);
        let next = ReleaseChannel {
            name: "4-scos-next".into(),
            ..Default::default()
        };
        assert_eq!(versions(&next), ["5"]);
    }

    #[test]
    fn shortest_path_skips_what_an_edge_jumps() {
        let c = ReleaseChannel {
            shortest_path: true,
            ..channel("1", "4")
        };
        assert_eq!(versions(&c), ["1", "3", "4"]);
    }

    #[test]
    fn an_unreachable_or_empty_selection_is_an_error() {
        let back = ReleaseChannel {
            shortest_path: true,
            ..channel("4", "1")
        };
        let err = select_releases(&back, &graph(), "graph.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no upgrade path") && err.contains("graph.json"),
            "{err}"
        );
        let none = ReleaseChannel {
            name: "stable-9".into(),
            ..Default::default()
        };
        assert!(select_releases(&none, &graph(), "g").is_err());
    }
}
