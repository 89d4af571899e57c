//! Promotion into a Stable stream: a Stable stream (`as: Stable`) creates nothing; releases are
//! tagged into it from other streams, as OKD moves a nightly into `4-scos-next` and then into
//! `4-scos-stable`. [`Stream::adopt`] is that tagging: the accepted release of one stream is
//! copied into this stream's release repository under its own name and recorded here as Ready,
//! so that this stream's own gate (its jobs, its upgrade sources) decides it and its promotions
//! publish it. The payload's `previous` versions are kept with the record: they are what the
//! Stable stream's sampled upgrades (the `upgrade` map) sample.
//!
//! ```no_run
//! # async fn demo(nightly: &okd_streams::stream::Stream, next: &okd_streams::stream::Stream)
//! #     -> Result<(), okd_streams::stream::StreamError> {
//! let adopted = next.adopt(nightly, "4.19.0-okd-scos.1").await?;
//! assert!(!adopted.already);
//! # Ok(()) }
//! ```

use chrono::Utc;
use okd_gating::{CreationState, Phase, ReleaseRecord, StreamMode};
use okd_oci::{ImageRef, ManifestRef};

use super::{Stream, StreamError};

/// What [`Stream::adopt`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    /// The release.
    pub release: String,
    /// Where it is now, in this stream's store, by digest.
    pub image: String,
    /// True when this stream had it already (nothing was copied or recorded).
    pub already: bool,
}

impl Stream {
    /// Tags the accepted release `release` of stream `from` into this Stable stream.
    pub async fn adopt(&self, from: &Stream, release: &str) -> Result<Adopted, StreamError> {
        if self.policy.mode != StreamMode::Stable {
            return Err(StreamError::invalid(
                self.name(),
                "as",
                "only a Stable stream takes releases from other streams",
            ));
        }
        let (source, _) = from.load_state().await?;
        let record = source
            .release(release)
            .ok_or_else(|| from.unknown(release))?;
        if record.phase != Phase::Accepted {
            return Err(StreamError::invalid(
                from.name(),
                format!("releases.{release}"),
                format!(
                    "is {:?}; only an accepted release is promoted",
                    record.phase
                ),
            ));
        }
        let (mut stream, _) = self.load_state().await?;
        if let Some(r) = stream.release(release) {
            return Ok(Adopted {
                release: release.to_string(),
                image: r.pullspec.clone(),
                already: true,
            });
        }
        let image: ImageRef = record.pullspec.parse()?;
        let digest = image.digest().cloned().ok_or_else(|| {
            StreamError::invalid(
                from.name(),
                format!("releases.{release}.pullspec"),
                "is not by digest",
            )
        })?;
        let repo = self.release_repository();
        okd_oci::copy::copy_image(
            from.store().as_ref(),
            image.repository(),
            &ManifestRef::Digest(digest.clone()),
            self.store().as_ref(),
            &repo,
            Some(release),
        )
        .await?;
        let pullspec = self
            .target
            .location
            .image(&repo, Some(release), Some(&digest))?
            .to_string();
        let mut adopted =
            ReleaseRecord::pending(release, &pullspec, &record.inputs_hash, Utc::now());
        adopted.creation = CreationState::Succeeded;
        adopted.phase = Phase::Ready;
        adopted.upstream = record.upstream.clone();
        // What a Stable stream's sampled upgrades sample: the payload's own `previous` list.
        let payload = okd_release::Release::load(
            self.store().as_ref(),
            &repo,
            &ManifestRef::Digest(digest.clone()),
        )
        .await?;
        adopted.previous = payload
            .metadata
            .as_ref()
            .map(|m| m.previous().to_vec())
            .unwrap_or_default();
        stream.releases.push(adopted);
        self.save(&stream).await?;
        Ok(Adopted {
            release: release.to_string(),
            image: pullspec,
            already: false,
        })
    }
}
