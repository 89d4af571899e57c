//! Cross-repository blob mounts.
//!
//! `POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<source>` answers `201 Created` when the
//! registry mounted the blob, or `202 Accepted` with an upload session when it declined (the
//! source lacks the blob, or the registry does not mount). oci-client treats that 202 as an
//! error and leaves the session open; here it means "not mounted", and the session is
//! cancelled with `DELETE` so that no half-open upload is left behind. The token covers
//! `pull,push` on the target and `pull` on the source, which a one-repository token lacks.

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, LOCATION};

use super::RegistryStore;
use super::auth::Scope;
use super::response::Failure;
use crate::store::StoreCounters;
use crate::{Digest, Error};

enum Outcome {
    Mounted,
    Declined(Option<String>),
}

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
        let scopes = [Scope::push(repo), Scope::pull(from)];
        let outcome = self
            .retrying(&op, || async {
                let _slot = self.permit().await?;
                let r = self
                    .send(&op, repo, &scopes, |http, base| {
                        http.post(Self::url(base, repo, "blobs/uploads/"))
                            .query(&[("mount", digest.to_string()), ("from", from.to_string())])
                            .header(CONTENT_LENGTH, 0)
                    })
                    .await?;
                match r.status().as_u16() {
                    201 => Ok(Outcome::Mounted),
                    202 => Ok(Outcome::Declined(
                        r.headers()
                            .get(LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string),
                    )),
                    _ => Err(Failure::read(r).await.into_error(&self.host, &op)),
                }
            })
            .await?;
        match outcome {
            Outcome::Mounted => {
                StoreCounters::bump(&self.counters.blobs_mounted);
                Ok(true)
            }
            Outcome::Declined(location) => {
                if let Some(location) = location {
                    self.cancel_upload(repo, &location).await;
                }
                Ok(false)
            }
        }
    }

    /// Cancels an upload session. Best effort: the spec lets registries ignore it, and a
    /// failure here must not fail the copy that asked for the mount.
    async fn cancel_upload(&self, repo: &str, location: &str) {
        let Ok(conn) = self.connection().await else {
            return;
        };
        let Ok(base) = url::Url::parse(&conn.base) else {
            return;
        };
        let Ok(target) = base.join(location) else {
            return;
        };
        let mut request = conn.http.delete(target.clone());
        // Credentials go only to the registry itself, never to another host a Location names.
        if target.origin() == base.origin()
            && let Ok((grant, _)) = self.grant(repo, &[Scope::push(repo)]).await
            && let Some(h) = grant.header()
        {
            request = request.header(AUTHORIZATION, h);
        }
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
