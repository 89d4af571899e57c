//! The lint of an image already built: the layers it adds on its base, each checked against
//! the tree below it (see [`lint`](crate::lint)). The whiteouts of a layer whose history says
//! it is okd-streams' layer of units and removals
//! ([`CHANGES_CREATED_BY`](crate::changes::CHANGES_CREATED_BY)) are accepted; any other
//! whiteout is refused.
//!
//! ```
//! # async fn demo(store: &okd_oci::MemoryStore) -> Result<(), okd_coreos::Error> {
//! use okd_coreos::image_lint::{BaseOf, lint_image};
//! use okd_coreos::tree_cache::TreeCache;
//! use okd_oci::ManifestRef;
//!
//! let found = lint_image(store, "okd/node", &ManifestRef::Tag("4.19".into()), None,
//!     BaseOf::Labels, &TreeCache::new()).await?;
//! for layer in &found {
//!     println!("{} {} findings", layer.digest, layer.report.findings.len());
//! }
//! # Ok(()) }
//! ```

use okd_oci::{Digest, ManifestRef, Store};

use crate::changes::CHANGES_CREATED_BY;
use crate::inspect::{LayerRole, inspect};
use crate::lint::{LintReport, lint_layer_with_removals};
use crate::tree_cache::{TreeCache, image_tree};
use crate::{Architecture, Error};

/// Which layers of an image are its base.
#[derive(Debug, Clone, Copy)]
pub enum BaseOf<'a> {
    /// Those the `ostree.final-diffid` label names (the base OS commit and its chunks).
    Labels,
    /// Those of this image (`repo`, `reference` in `store`), which must be a prefix.
    Image(&'a dyn Store, &'a str, &'a ManifestRef),
}

/// The lint of one added layer.
#[derive(Debug, Clone)]
pub struct LayerLint {
    /// Position of the layer in the image.
    pub index: usize,
    /// The layer's digest.
    pub digest: Digest,
    /// What the lint found.
    pub report: LintReport,
}

/// Lints every layer `reference` adds on its base. See the [module docs](self).
pub async fn lint_image(
    store: &dyn Store,
    repo: &str,
    reference: &ManifestRef,
    arch: Option<Architecture>,
    base: BaseOf<'_>,
    cache: &TreeCache,
) -> Result<Vec<LayerLint>, Error> {
    let info = inspect(store, repo, reference, arch).await?;
    let base_count = match base {
        BaseOf::Labels => {
            if info.layers.iter().any(|l| l.role == LayerRole::Unknown) {
                return Err(Error::InvalidLayering {
                    image: info.image.clone(),
                    reason: "no ostree.final-diffid label tells its base layers apart; name the \
                             base image"
                        .to_string(),
                });
            }
            info.layers
                .iter()
                .take_while(|l| l.role != LayerRole::Derived)
                .count()
        }
        BaseOf::Image(bstore, brepo, bref) => {
            let b = inspect(bstore, brepo, bref, arch).await?;
            let prefix = b.layers.len() <= info.layers.len()
                && b.layers
                    .iter()
                    .zip(&info.layers)
                    .all(|(x, y)| x.diff_id == y.diff_id);
            if !prefix {
                return Err(Error::InvalidLayering {
                    image: info.image.clone(),
                    reason: format!("not built on {}: its first layers differ", b.image),
                });
            }
            b.layers.len()
        }
    };
    let mut tree = image_tree(store, repo, &info, Some(base_count), cache).await?;
    let mut out = Vec::new();
    for layer in &info.layers[base_count..] {
        let listing = cache.listing(store, repo, &layer.digest).await?;
        let removals = if layer.created_by.as_deref() == Some(CHANGES_CREATED_BY) {
            listing
                .entries
                .iter()
                .filter(|e| {
                    e.path
                        .rsplit('/')
                        .next()
                        .is_some_and(|n| n.starts_with(".wh."))
                })
                .map(|e| e.path.clone())
                .collect()
        } else {
            Default::default()
        };
        let report = lint_layer_with_removals(&listing, &tree, &removals);
        tree.apply(&listing);
        out.push(LayerLint {
            index: layer.index,
            digest: layer.digest.clone(),
            report,
        });
    }
    Ok(out)
}
