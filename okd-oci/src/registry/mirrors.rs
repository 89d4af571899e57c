//! Pulls through the mirrors of registries.conf: before this registry, each mirror that serves
//! the pull ([`RegistriesConf::pull_sources`](super::RegistriesConf::pull_sources)) is asked in
//! order, and the first that has the content answers. A mirror that lacks it or fails is passed
//! over (logged at debug level); when none answers, the primary location does, and its answer
//! (or error) is the result. The primary location is this registry, unless the entry's
//! `location` rewrites the prefix (`prefix = "quay.io/okd"`, `location = "mirror.local/okd"`):
//! then, as with the containers tools, pulls go there and this registry is not asked at all.
//! Blobs are pulls by digest.
//!
//! Only content reads (`read_manifest`, `read_blob`) go to mirrors: existence checks
//! (`blob_size`, `manifest_digest`) are what a copy asks its destination before it writes, and a
//! mirror holding a blob must not make a destination look as if it had it. Writes never go to
//! mirrors.

use std::sync::Arc;

use super::{RegistryOptions, RegistryStore};
use crate::store::Blob;
use crate::{Digest, Error, ManifestRef, RawManifest, RegistryRef};

/// What a pull names: a manifest reference, or a blob (by its digest).
#[derive(Debug, Clone, Copy)]
enum Pull<'a> {
    /// A manifest by tag or digest.
    Manifest(&'a ManifestRef),
    /// A blob.
    Blob(&'a Digest),
}

/// The places a pull goes to, in order.
struct PullPlan {
    /// Mirror stores and their repositories, tried first.
    mirrors: Vec<(Arc<RegistryStore>, String)>,
    /// The primary location when registries.conf rewrites it away from this registry.
    primary: Option<(Arc<RegistryStore>, String)>,
}

impl RegistryStore {
    /// A manifest, from the first mirror that has it, else from the primary location.
    pub(super) async fn pulled_manifest(
        &self,
        repo: &str,
        reference: &ManifestRef,
    ) -> Result<RawManifest, Error> {
        let plan = self.pull_plan(repo, Pull::Manifest(reference))?;
        for (mirror, mirror_repo) in plan.mirrors {
            match mirror.get_manifest(&mirror_repo, reference).await {
                Ok(manifest) => return Ok(manifest),
                Err(e) => self.mirror_missed(&mirror, &mirror_repo, &e),
            }
        }
        match plan.primary {
            Some((primary, primary_repo)) => primary.get_manifest(&primary_repo, reference).await,
            None => self.get_manifest(repo, reference).await,
        }
    }

    /// A blob, from the first mirror that has it, else from the primary location.
    pub(super) async fn pulled_blob(
        &self,
        repo: &str,
        digest: &Digest,
        verify: bool,
    ) -> Result<Blob, Error> {
        let plan = self.pull_plan(repo, Pull::Blob(digest))?;
        for (mirror, mirror_repo) in plan.mirrors {
            match mirror.open_blob(&mirror_repo, digest, verify).await {
                Ok(blob) => return Ok(blob),
                Err(e) => self.mirror_missed(&mirror, &mirror_repo, &e),
            }
        }
        match plan.primary {
            Some((primary, primary_repo)) => primary.open_blob(&primary_repo, digest, verify).await,
            None => self.open_blob(repo, digest, verify).await,
        }
    }

    /// Where a pull from `repo` goes: the mirrors to try in order, then the primary location.
    fn pull_plan(&self, repo: &str, pull: Pull<'_>) -> Result<PullPlan, Error> {
        let mut plan = PullPlan {
            mirrors: Vec::new(),
            primary: None,
        };
        let Some(conf) = self.options.registries_conf.as_deref() else {
            return Ok(plan);
        };
        if !self.options.follow_mirrors {
            return Ok(plan);
        }
        let (tag, digest) = match pull {
            Pull::Manifest(ManifestRef::Tag(t)) => (Some(t.clone()), None),
            Pull::Manifest(ManifestRef::Digest(d)) | Pull::Blob(d) => (None, Some(d.clone())),
        };
        let reference = RegistryRef {
            registry: self.host.clone(),
            repository: repo.to_string(),
            tag,
            digest,
            tag_written: true,
        };
        for source in conf.pull_sources(&reference)? {
            let to = &source.reference;
            if source.mirror {
                let store = self.mirror_store(&to.registry)?;
                plan.mirrors.push((store, to.repository.clone()));
            } else if to.registry != self.host || to.repository != repo {
                let store = self.mirror_store(&to.registry)?;
                plan.primary = Some((store, to.repository.clone()));
            }
        }
        Ok(plan)
    }

    /// The store of mirror (or rewritten primary location) `host`, opened once. It does not
    /// follow mirrors itself, as the containers tools do not.
    fn mirror_store(&self, host: &str) -> Result<Arc<RegistryStore>, Error> {
        // A poisoned lock only means a panic between a lookup and an insert; the map is whole.
        let mut stores = self.mirrors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = stores.get(host) {
            return Ok(store.clone());
        }
        let options = RegistryOptions {
            follow_mirrors: false,
            ..self.options.clone()
        };
        let store = Arc::new(RegistryStore::new(host, options)?);
        stores.insert(host.to_string(), store.clone());
        Ok(store)
    }

    /// Notes a mirror that did not serve a pull.
    fn mirror_missed(&self, mirror: &RegistryStore, repo: &str, why: &dyn std::fmt::Display) {
        tracing::debug!(registry = %self.host, mirror = %mirror.host, repo, %why,
            "mirror did not serve the pull");
    }
}
