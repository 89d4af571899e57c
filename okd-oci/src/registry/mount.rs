//! Cross-repository blob mounts.
//!
//! `POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<source>` answers `201 Created` when the
//! registry mounted the blob, or `202 Accepted` with an upload session when it declined (the
//! source lacks the blob, or the registry does not mount). oci-client treats that 202 as an
//! error and leaves the session open; here it means "not mounted", and the session is
//! cancelled with `DELETE` so that no half-open upload is left behind. The token covers
//! `pull,push` on the target and `pull` on the source, which a one-repository token lacks.
//!
//! Any other 4xx answer to the mount (401 or 403 from a registry or token server that will not
//! grant `pull` on the source, 404 for an unknown source repository, 405 from a registry that
//! does not mount) also means "not mounted": the caller then uploads the blob as usual, and a
//! real lack of push rights shows up there, on the upload that needs them. 429 is not a
//! refusal but a request to wait, and stays with the retry policy. The same holds for the
//! mount from the repository itself that an upload opens with to skip a blob already there
//! ([`upload`](super::upload)): refused, the session is opened without it.

use reqwest::Method;

use super::RegistryStore;
use super::upload::Session;
use crate::store::StoreCounters;
use crate::{Digest, Error};

impl RegistryStore {
    pub(super) async fn mount(
        &self,
        repo: &str,
        from: &str,
        digest: &Digest,
    ) -> Result<bool, Error> {
        if repo == from {
            return Ok(self.head_blob(repo, digest).await?.is_some());
        }
        let op = format!("POST mount {repo}@{digest} from {from}");
        let session = self
            .retrying(&op, || async {
                let _slot = self.permit().await?;
                self.open_upload(repo, digest, Some(from)).await
            })
            .await;
        let session = match session {
            Err(e) if declined(&e) => {
                tracing::debug!(registry = %self.host, error = %e, "mount refused, uploading instead");
                return Ok(false);
            }
            other => other?,
        };
        match session {
            Session::Present => {
                StoreCounters::bump(&self.counters.blobs_mounted);
                Ok(true)
            }
            Session::Open(location) => {
                if let Some(location) = location {
                    self.cancel_upload(repo, location).await;
                }
                Ok(false)
            }
        }
    }

    /// Cancels an upload session. Best effort: the spec lets registries ignore it, and a
    /// failure here must not fail the copy that asked for the mount.
    async fn cancel_upload(&self, repo: &str, location: url::Url) {
        let Ok(request) = self.session_request(Method::DELETE, repo, location).await else {
            return;
        };
        match request.timeout(self.options.request_timeout).send().await {
            Ok(r) if r.status().is_success() || r.status().as_u16() == 404 => {}
            Ok(r) => {
                tracing::debug!(registry = %self.host, status = %r.status(), "upload session not cancelled")
            }
            Err(e) => {
                tracing::debug!(registry = %self.host, error = %e, "upload session not cancelled")
            }
        }
    }
}

/// True for an answer that refuses the mount itself rather than the registry failing.
pub(super) fn declined(e: &Error) -> bool {
    match e {
        Error::Auth { .. } => true,
        Error::Registry {
            status: Some(status),
            ..
        } => (400..500).contains(status) && *status != 429,
        _ => false,
    }
}
