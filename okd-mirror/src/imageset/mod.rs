//! oc-mirror's ImageSetConfiguration (`v2alpha1`), mirrored by okd-streams: parse the file
//! ([`ImageSetConfiguration`]), fetch one upgrade graph per channel and architecture
//! ([`ImageSet::graph_keys`]), resolve the releases and destinations ([`ImageSet::resolve`]),
//! mirror them ([`ImageSetRun`]) and write the cluster resources oc-mirror writes
//! ([`ClusterResources`]: `idms-oc-mirror.yaml`, `itms-oc-mirror.yaml`, the graph) — or write
//! it into a transfer archive ([`ImageSetArchive`]) that `mirror archive` restores on the other
//! side with the same resources.
//!
//! Fetching graphs is left to the caller (a URL through any HTTP client, or a file), so that
//! this crate needs no HTTP client of its own.
//!
//! ```
//! use std::collections::BTreeMap;
//! use okd_mirror::imageset::{FetchedGraph, ImageSet, ImageSetConfiguration};
//! use okd_release::graph::{Graph, Node};
//!
//! let isc = ImageSetConfiguration::parse(br#"
//! apiVersion: mirror.openshift.io/v2alpha1
//! kind: ImageSetConfiguration
//! mirror:
//!   platform:
//!     channels:
//!     - {name: 4-scos-stable, type: okd}
//!   blockedImages:
//!   - name: tools
//! "#, "isc.yaml")?;
//! let mut graph = Graph::new();
//! let digest = format!("sha256:{}", "a".repeat(64));
//! graph.add_node(Node::new("4.19.0-okd-scos.1".parse()?, format!("quay.io/okd/scos-release@{digest}")))?;
//! let graphs: BTreeMap<_, _> = ImageSet::graph_keys(&isc)
//!     .into_iter()
//!     .map(|k| (k, FetchedGraph { graph: graph.clone(), origin: "graph.json".into() }))
//!     .collect();
//! let set = ImageSet::resolve(&isc, &graphs, "mirror.local:5000/site")?;
//! assert_eq!(set.releases.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive;
mod channels;
mod config;
mod resources;
mod restore;
mod run;
mod set;

pub use archive::ImageSetArchive;
pub use channels::select_releases;
pub use config::{
    API_VERSION, AdditionalImage, BlockedImage, DEFAULT_ARCHITECTURE, ImageSetConfiguration, KIND,
    Mirror, Platform, PlatformType, ReleaseChannel,
};
pub use resources::{ClusterResources, GRAPH_FILE, IDMS_FILE, ITMS_FILE};
pub(crate) use restore::restore_set;
pub use run::{ImageSetOutcome, ImageSetRun};
pub use set::{
    FetchedGraph, GraphKey, ImageSet, RELEASE_COMPONENTS_PATH, RELEASE_IMAGES_PATH,
    SelectedRelease, type_name,
};
