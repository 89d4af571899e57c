//! Blob existence, download and upload.

use std::future::Future;

use reqwest::header::CONTENT_LENGTH;

use super::RegistryStore;
use super::auth::Scope;
use super::response::{Failure, is_transient};
use super::resume::{Resumer, resuming};
use super::retry_after;
use super::upload::{Session, UploadSource};
use crate::store::{Blob, BlobWrite, ByteStream, StoreCounters};
use crate::{Digest, Error, verify_stream};

impl RegistryStore {
    pub(super) async fn head_blob(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<u64>, Error> {
        let op = format!("HEAD blob {repo}@{digest}");
        self.retrying(&op, || async {
            let _slot = self.permit().await?;
            let r = self
                .send(&op, repo, &[Scope::pull(repo)], |http, base| {
                    http.head(Self::url(base, repo, &format!("blobs/{digest}")))
                })
                .await?;
            match r.status().as_u16() {
                200 => {
                    // A HEAD body is empty, so the size is only in the header.
                    let size = r
                        .headers()
                        .get(CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    size.map(Some).ok_or_else(|| Error::Registry {
                        registry: self.host.clone(),
                        operation: op.clone(),
                        status: Some(200),
                        message: "answered without Content-Length".to_string(),
                    })
                }
                404 => Ok(None),
                _ => Err(Failure::read(r).await.into_error(&self.host, &op)),
            }
        })
        .await
    }

    /// Opens a blob with a plain `GET`. With `verify`, the stream is hashed and fails at its end
    /// unless the bytes match `digest`; without, only the length is checked (for copies into a
    /// store that verifies what it is given). A body that breaks is resumed with `Range`.
    pub(super) async fn open_blob(
        &self,
        repo: &str,
        digest: &Digest,
        verify: bool,
    ) -> Result<Blob, Error> {
        let op = format!("GET blob {repo}@{digest}");
        let response = self
            .retrying(&op, || async {
                let _slot = self.permit().await?;
                // No whole-request timeout: a large blob may stream for longer than any bound
                // that suits a small request; the read timeout still catches a stalled body.
                let r = self
                    .send_with(&op, repo, &[Scope::pull(repo)], None, |http, base| {
                        http.get(Self::url(base, repo, &format!("blobs/{digest}")))
                    })
                    .await?;
                match r.status().as_u16() {
                    200 => Ok(r),
                    404 => Err(Error::BlobNotFound {
                        location: self.host.clone(),
                        repo: repo.to_string(),
                        digest: digest.clone(),
                    }),
                    _ => Err(Failure::read(r).await.into_error(&self.host, &op)),
                }
            })
            .await?;
        let size = match response.content_length() {
            Some(n) => n,
            None => self
                .head_blob(repo, digest)
                .await?
                .ok_or_else(|| Error::BlobNotFound {
                    location: self.host.clone(),
                    repo: repo.to_string(),
                    digest: digest.clone(),
                })?,
        };
        StoreCounters::bump(&self.counters.blobs_read);
        let conn = self.connection().await?;
        let resumer = Resumer {
            http: conn.http.clone(),
            base: conn.base.clone(),
            // The registry's own URL, not where it redirected to: credentials go only to it,
            // and a redirect is followed again (a signed storage URL may have expired).
            url: Self::url(&conn.base, repo, &format!("blobs/{digest}")),
            repo: repo.to_string(),
            auth: self.authenticator(repo).await?,
            permits: self.permits.clone(),
            policy: self.options.retry,
            host: self.host.clone(),
            op,
            digest: digest.clone(),
            size,
        };
        // A body that breaks half-way continues from where it broke (see `resume`).
        let stream: ByteStream = resuming(resumer, response);
        let stream = if verify {
            let what = format!("blob {digest} from {}/{repo}", self.host);
            verify_stream(digest.clone(), size, what, stream)
        } else {
            stream
        };
        Ok(Blob { size, stream })
    }

    /// Uploads a blob. With `check_first`, the registry is asked to find it in `repo` as the
    /// upload session opens, and nothing is sent when it does.
    pub(super) async fn upload_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        data: ByteStream,
        check_first: bool,
    ) -> Result<BlobWrite, Error> {
        let what = format!("blob {digest} for {}/{repo}", self.host);
        let source = UploadSource::new(data, digest, size, what);
        let op = format!("PUT blob {repo}@{digest}");
        self.retry_loop(&op, &|| source.untouched(), || async {
            let _slot = self.permit().await?;
            self.upload_once(repo, digest, size, &source, check_first)
                .await
        })
        .await
    }

    /// Like [`write_blob`](crate::Store::write_blob), but opens the source with `open` for each
    /// attempt, so that a transfer broken half-way is retried from the start under the retry
    /// policy. Use it when the source can be re-read (a file, another store).
    pub async fn write_blob_reopening<F, Fut>(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        open: F,
    ) -> Result<BlobWrite, Error>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<ByteStream, Error>> + Send,
    {
        if self.head_blob(repo, digest).await?.is_some() {
            StoreCounters::bump(&self.counters.blobs_skipped);
            return Ok(BlobWrite::AlreadyPresent);
        }
        let op = format!("PUT blob {repo}@{digest}");
        self.retry_loop(&op, &|| true, || async {
            // Opened before taking a request slot: the source may be this same registry.
            let data = open().await?;
            let what = format!("blob {digest} for {}/{repo}", self.host);
            let source = UploadSource::new(data, digest, size, what);
            let _slot = self.permit().await?;
            self.upload_once(repo, digest, size, &source, false).await
        })
        .await
    }

    /// One attempt: open a session, then send the bytes to it.
    async fn upload_once(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        source: &UploadSource,
        check_first: bool,
    ) -> Result<BlobWrite, Error> {
        // A mount from the repository itself: `201` when it has the blob, else a session.
        let mount_from = check_first.then_some(repo);
        let op = format!("PUT blob {repo}@{digest}");
        let session = match self.open_upload(repo, digest, mount_from).await {
            // A registry (or proxy) refusing mounts altogether refuses this one too: open the
            // session the plain way, as after a refused cross-repository mount.
            Err(e) if mount_from.is_some() && super::mount::declined(&e) => {
                tracing::debug!(registry = %self.host, error = %e, "mount refused, opening a plain upload");
                self.open_upload(repo, digest, None).await?
            }
            other => other?,
        };
        let location = match session {
            Session::Present => {
                StoreCounters::bump(&self.counters.blobs_skipped);
                return Ok(BlobWrite::AlreadyPresent);
            }
            Session::Open(Some(location)) => location,
            Session::Open(None) => {
                return Err(Error::Registry {
                    registry: self.host.clone(),
                    operation: op,
                    status: Some(202),
                    message: "opened an upload session without a usable Location".to_string(),
                });
            }
        };
        let chunked = self.chunk_size().is_some();
        let sent = match chunked {
            true => self.send_chunked(repo, digest, location, source).await,
            false => self.send_upload(repo, digest, size, location, source).await,
        };
        let response = match sent {
            // Our own check of the bytes explains a failure better than the broken request.
            Err(e) => match source.failure() {
                Some(ours) => return Err(ours),
                None if !chunked => return Err(self.broken_upload(repo, digest, size, source, e)),
                None => return Err(e),
            },
            Ok(r) => r,
        };
        if let Some(ours) = source.failure() {
            return Err(ours);
        }
        if response.status().as_u16() == 413 && !chunked {
            // The bytes are spent; the next attempt, from a fresh source, goes in chunks.
            self.switch_to_chunks(size);
            let mut e = Failure::read(response).await.into_error(&self.host, &op);
            if let Error::Registry { message, .. } = &mut e {
                message.push_str(" (later uploads to this registry are sent in chunks)");
            }
            return Err(e);
        }
        if response.status().as_u16() != 201 {
            let e = Failure::read(response).await.into_error(&self.host, &op);
            return Err(self.explain_upload_refusal(e, repo, digest, size, source));
        }
        StoreCounters::bump(&self.counters.blobs_written);
        StoreCounters::add(&self.counters.bytes_written, size);
        Ok(BlobWrite::Written)
    }

    /// A whole-body upload broken before any answer, with the bytes sound on our side: a proxy
    /// that refuses large bodies without reading them resets the connection, and the client
    /// may never see its `413`. Such an upload switches the store to chunks, as a `413` does;
    /// on a network that merely broke, chunks cost a request per few MiB and still work. A
    /// blob no bigger than the smallest chunk gains nothing from chunks: its error stays.
    fn broken_upload(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        source: &UploadSource,
        e: Error,
    ) -> Error {
        let Error::Transport { message, .. } = &e else {
            return e;
        };
        if size <= super::chunked::MIN_CHUNK {
            return e;
        }
        self.switch_to_chunks(size);
        Error::UploadBroken {
            registry: self.host.clone(),
            repository: repo.to_string(),
            digest: digest.clone(),
            message: format!(
                "the connection broke after {} of {size} bytes, before the registry answered ({message})",
                source.sent()
            ),
        }
    }

    /// A registry's `DIGEST_INVALID` / `SIZE_INVALID` answer becomes a digest or size mismatch
    /// naming the blob.
    fn explain_upload_refusal(
        &self,
        e: Error,
        repo: &str,
        digest: &Digest,
        size: u64,
        source: &UploadSource,
    ) -> Error {
        let Error::Registry {
            status: Some(status),
            ref message,
            ..
        } = e
        else {
            return e;
        };
        let what = format!(
            "blob {digest} for {}/{repo} (registry: {message})",
            self.host
        );
        if (400..500).contains(&status) && message.contains("DIGEST_INVALID") {
            return Error::DigestRejected {
                what,
                expected: digest.clone(),
            };
        }
        if (400..500).contains(&status) && message.contains("SIZE_INVALID") {
            return Error::SizeMismatch {
                what,
                digest: digest.clone(),
                expected: size,
                actual: source.sent(),
            };
        }
        e
    }

    /// Runs `attempt` under the retry policy while `replayable` says the inputs can be sent
    /// again; counts retries; wraps the last transient error once the attempts are spent.
    pub(super) async fn retry_loop<T, F, Fut>(
        &self,
        operation: &str,
        replayable: &(dyn Fn() -> bool + Send + Sync),
        mut attempt: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let policy = self.options.retry;
        let mut n = 1;
        let mut resent = false;
        loop {
            let (outcome, retry_after) = retry_after::capture(attempt()).await;
            match outcome {
                // A body refused as too large (or broken off before an answer) switched this
                // store to chunked uploads; a source that can be replayed is sent again at
                // once, in chunks. Once only: a chunked upload refused at its smallest chunk
                // size fails for good.
                Err(e)
                    if e.calls_for_chunks()
                        && self.chunk_size().is_some()
                        && !resent
                        && replayable() =>
                {
                    tracing::debug!(registry = %self.host, operation, error = %e, "sending again in chunks");
                    resent = true;
                }
                Err(e) if is_transient(&e) && replayable() => {
                    if n >= policy.attempts {
                        if policy.attempts == 1 {
                            return Err(e);
                        }
                        return Err(Error::RetriesExhausted {
                            registry: self.host.clone(),
                            operation: operation.to_string(),
                            attempts: n,
                            last: Box::new(e),
                        });
                    }
                    tracing::debug!(registry = %self.host, operation, attempt = n, error = %e, "retrying");
                    StoreCounters::bump(&self.counters.retries);
                    // The registry's own Retry-After, when it gave one, beats the backoff.
                    tokio::time::sleep(policy.wait(n, retry_after)).await;
                    n += 1;
                }
                other => return other,
            }
        }
    }
}
