//! Where a Stable stream's sampled upgrades start from when no stream of the state has the
//! version: the upstream repository's tag of that version, as the release-controller names the
//! official release of a version (`ocp-release:<version>-<arch>`).

use chrono::{DateTime, Utc};
use okd_gating::{AcceptedRelease, History, Phase, StreamState, UPSTREAM_STREAM, sampled_runs};
use okd_oci::ManifestRef;

use super::{Stream, StreamError};

impl Stream {
    /// The versions a Stable stream's sampled upgrades start from, where the history does not
    /// have them: the tag of that version in the upstream repository, as the controller names
    /// the official release of a version (`ocp-release:<version>-<arch>`). A version with no
    /// such tag stays unknown (the run is then not run: no upgrade source).
    pub(crate) async fn add_sampled_sources(
        &self,
        stream: &StreamState,
        history: &mut History,
    ) -> Result<(), StreamError> {
        let ready = stream.releases.iter().filter(|r| r.phase == Phase::Ready);
        let mut wanted: Vec<(String, DateTime<Utc>)> = Vec::new();
        for r in ready {
            for s in sampled_runs(&self.policy, r) {
                if history.find(&s.from).is_none() && !wanted.iter().any(|(v, _)| *v == s.from) {
                    wanted.push((s.from, r.created));
                }
            }
        }
        let repository = self.upstream.reference();
        for (version, created) in wanted {
            let image = repository.with_tag(&version);
            let tag = ManifestRef::Tag(version.clone());
            let found = self
                .upstream_store
                .manifest_digest(image.repository(), &tag)
                .await?;
            if let Some(digest) = found {
                history.push(AcceptedRelease::new(
                    UPSTREAM_STREAM,
                    true,
                    &version,
                    &image.with_digest(digest).to_string(),
                    created,
                ));
            }
        }
        Ok(())
    }
}
