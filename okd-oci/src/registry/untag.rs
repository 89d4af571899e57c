//! Deleting a tag, also on registries that delete manifests by digest only.
//!
//! `DELETE /v2/<repo>/manifests/<tag>` removes just the tag where the registry supports it. The
//! distribution 2.x registry (Debian's `docker-registry`, and many registries built on it)
//! answers `DIGEST_INVALID` instead: it deletes manifests by digest only, which removes every tag
//! that points at the manifest. There the tag is removed by deleting its manifest, but only when
//! no other tag of the repository points at the same digest; otherwise the refusal names those
//! tags, since deleting would take them too. Another repository's tags are never affected: a
//! manifest deleted from one repository stays in the others.
//!
//! A tag pushed onto the same digest between the check and the delete would go too; deleting
//! tags is a maintenance step (collecting removed releases), not one that races with pushes.

use futures::{StreamExt, TryStreamExt};

use super::RegistryStore;
use super::auth::Scope;
use super::response::Failure;
use crate::{Digest, Error, ManifestRef};

/// Tags checked at once for sharing the digest of the tag to delete.
const CHECK_WIDTH: usize = 8;

/// Other tags named in a refusal, at most.
const NAMED_TAGS: usize = 5;

/// What a `DELETE` of a manifest path did.
enum Deleted {
    Done,
    /// `DIGEST_INVALID`: the registry deletes manifests by digest only.
    ByDigestOnly,
}

impl RegistryStore {
    pub(super) async fn untag(&self, repo: &str, tag: &str) -> Result<(), Error> {
        let op = format!("DELETE tag {repo}:{tag}");
        match self.delete_manifest_path(repo, tag, &op, tag).await? {
            Deleted::Done => Ok(()),
            Deleted::ByDigestOnly => self.untag_by_digest(repo, tag).await,
        }
    }

    /// Removes `tag` by deleting its manifest, when no other tag points at it.
    async fn untag_by_digest(&self, repo: &str, tag: &str) -> Result<(), Error> {
        let digest = self
            .head_manifest(repo, &ManifestRef::Tag(tag.to_string()))
            .await?
            .ok_or_else(|| self.manifest_not_found(repo, &ManifestRef::Tag(tag.to_string())))?;
        let others: Vec<String> = self
            .tags(repo)
            .await?
            .into_iter()
            .filter(|t| t != tag)
            .collect();
        let target = &digest;
        let sharing: Vec<String> = futures::stream::iter(others)
            .map(|t| async move {
                let d = self
                    .head_manifest(repo, &ManifestRef::Tag(t.clone()))
                    .await?;
                Ok::<_, Error>((d.as_ref() == Some(target)).then_some(t))
            })
            .buffered(CHECK_WIDTH)
            .try_filter_map(|t| async move { Ok(t) })
            .try_collect()
            .await?;
        if !sharing.is_empty() {
            let mut named = sharing
                .iter()
                .take(NAMED_TAGS)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if sharing.len() > NAMED_TAGS {
                named.push_str(&format!(" and {} more", sharing.len() - NAMED_TAGS));
            }
            return Err(self.refused(
                repo,
                tag,
                Some(400),
                format!(
                    "this registry deletes manifests by digest only, and {digest} is also tagged \
                     {named}: deleting it would remove those tags too"
                ),
            ));
        }
        self.delete_digest(repo, tag, &digest).await
    }

    async fn delete_digest(&self, repo: &str, tag: &str, digest: &Digest) -> Result<(), Error> {
        let op = format!("DELETE manifest {repo}@{digest} (tag {tag})");
        match self
            .delete_manifest_path(repo, tag, &op, &digest.to_string())
            .await?
        {
            Deleted::Done => Ok(()),
            Deleted::ByDigestOnly => Err(self.refused(
                repo,
                tag,
                Some(400),
                "the registry refused to delete the manifest by digest".to_string(),
            )),
        }
    }

    /// `DELETE /v2/<repo>/manifests/<reference>` on behalf of `tag`, under the retry policy.
    async fn delete_manifest_path(
        &self,
        repo: &str,
        tag: &str,
        op: &str,
        reference: &str,
    ) -> Result<Deleted, Error> {
        let r = self
            .retrying(op, || async {
                let _slot = self.permit().await?;
                self.send(op, repo, &[Scope::delete(repo)], |http, base| {
                    http.delete(Self::url(base, repo, &format!("manifests/{reference}")))
                })
                .await
            })
            .await?;
        let status = r.status().as_u16();
        if matches!(status, 200 | 202 | 204) {
            return Ok(Deleted::Done);
        }
        let failure = Failure::read(r).await;
        match status {
            404 => Err(self.untag_not_found(repo, tag, failure)),
            401 | 403 => Err(failure.into_error(&self.host, op)),
            400 if failure.has_code("DIGEST_INVALID") => Ok(Deleted::ByDigestOnly),
            s => Err(self.refused(repo, tag, Some(s), failure.message())),
        }
    }

    fn untag_not_found(&self, repo: &str, tag: &str, failure: Failure) -> Error {
        if failure.has_code("MANIFEST_UNKNOWN") || failure.errors.is_empty() {
            self.manifest_not_found(repo, &ManifestRef::Tag(tag.to_string()))
        } else {
            self.refused(repo, tag, Some(404), failure.message())
        }
    }

    fn refused(&self, repo: &str, tag: &str, status: Option<u16>, message: String) -> Error {
        Error::TagDeleteRefused {
            registry: self.host.clone(),
            repo: repo.to_string(),
            tag: tag.to_string(),
            status,
            message,
        }
    }
}
