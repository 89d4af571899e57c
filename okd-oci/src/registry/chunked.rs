//! Chunked blob uploads: the fallback for a registry behind a request-body limit.
//!
//! A monolithic `PUT <location>?digest=` carries the whole blob; a reverse proxy with a body-size
//! limit (nginx's `client_max_body_size`, a corporate gateway in front of an air-gapped mirror)
//! answers it `413 Payload Too Large`. The distribution spec's chunked upload sends the same
//! bytes in parts instead: `PATCH <location>` with `Content-Range: <first>-<last>` (inclusive,
//! no unit) and `Content-Type: application/octet-stream`, each answer's `Location` naming where
//! the next part goes, then a closing `PUT <location>?digest=` without a body.
//!
//! After a first 413 the store remembers it: every later blob to that registry goes in chunks
//! at once. The first chunk size is half the refused body, at most [`DEFAULT_CHUNK`]; a chunk
//! still refused is halved down to [`MIN_CHUNK`], and the size that worked is kept for the next
//! blob. Each chunk is held in memory until the registry took it, so a refused one can be sent
//! again smaller: memory stays bounded by the chunk size.
//!
//! Some proxies answer `413` from the request head and close the connection with the body
//! unread; the kernel then resets it, and a client still sending sees a broken connection
//! instead of the answer. A whole-body upload broken that way switches the store to chunks as
//! a `413` does ([`Error::UploadBroken`]), and a chunk whose request breaks before any answer
//! is taken as refused for its size: halved and sent again, down to [`MIN_CHUNK`], below which
//! the broken request is the error.

use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};

use super::RegistryStore;
use super::response::{Failure, transport_error};
use super::upload::UploadSource;
use crate::{Digest, Error};

/// The largest chunk: small enough for common proxy limits (nginx's default is 1 MiB, gateways
/// often allow 10 MiB), large enough that a multi-GiB layer is a few hundred requests.
pub(super) const DEFAULT_CHUNK: u64 = 8 * 1024 * 1024;

/// The smallest chunk tried before giving up: a limit below it is a misconfiguration to report,
/// not something to work around with thousands of requests per layer.
pub(super) const MIN_CHUNK: u64 = 256 * 1024;

/// What the registry did with one chunk.
enum Patched {
    /// Accepted; the next chunk goes to this location.
    Accepted(url::Url),
    /// Refused as too large.
    TooLarge,
    /// The request broke before any answer (perhaps a proxy that refuses large bodies and
    /// resets the connection); the transport error.
    Broken(Error),
}

impl RegistryStore {
    /// The chunk size for uploads to this registry, or `None` while monolithic uploads work.
    pub(super) fn chunk_size(&self) -> Option<u64> {
        match self.chunk_size.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// Notes that a monolithic upload of `refused` bytes was answered 413: uploads go in chunks
    /// from now on. A smaller chunk size found meanwhile is kept.
    pub(super) fn switch_to_chunks(&self, refused: u64) {
        let first = (refused / 2).clamp(MIN_CHUNK, DEFAULT_CHUNK);
        let _ = self
            .chunk_size
            .compare_exchange(0, first, Ordering::SeqCst, Ordering::SeqCst);
        tracing::info!(registry = %self.host, chunk = first, "a request body of {refused} bytes was refused or broken off; uploading in chunks");
    }

    /// Sends `source` to the open session at `location` in chunks and closes it with the
    /// digest; returns the answer to the closing `PUT`.
    pub(super) async fn send_chunked(
        &self,
        repo: &str,
        digest: &Digest,
        mut location: url::Url,
        source: &UploadSource,
    ) -> Result<reqwest::Response, Error> {
        let op = format!("PATCH blob {repo}@{digest}");
        let mut body = source.body();
        let mut pending = BytesMut::new();
        let mut offset = 0u64;
        let mut ended = false;
        loop {
            let chunk = self.chunk_size().unwrap_or(DEFAULT_CHUNK);
            while !ended && (pending.len() as u64) < chunk {
                match body.next().await {
                    Some(Ok(bytes)) => pending.extend_from_slice(&bytes),
                    Some(Err(e)) => {
                        return Err(source.failure().unwrap_or_else(|| Error::Transport {
                            registry: self.host.clone(),
                            operation: op.clone(),
                            message: format!("reading the source: {e}"),
                        }));
                    }
                    None => ended = true,
                }
            }
            if pending.is_empty() {
                break;
            }
            let take = pending.len().min(chunk as usize);
            let part = Bytes::copy_from_slice(&pending[..take]);
            match self.patch(repo, &op, &location, offset, part).await? {
                Patched::Accepted(next) => {
                    location = next;
                    offset += take as u64;
                    let _ = pending.split_to(take);
                }
                Patched::TooLarge => {
                    if !self.halve_chunks(take as u64, "refused as too large") {
                        return Err(self.limit_below_floor(take as u64, &op));
                    }
                }
                Patched::Broken(e) => {
                    if !self.halve_chunks(take as u64, "broken off before an answer") {
                        return Err(e);
                    }
                }
            }
        }
        location
            .query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let put = format!("PUT blob {repo}@{digest}");
        self.session_request(reqwest::Method::PUT, repo, location)
            .await?
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, 0)
            .timeout(self.options.request_timeout)
            .send()
            .await
            .map_err(|e| transport_error(&self.host, &put, &e.without_url()))
    }

    /// Halves the chunk size after a chunk of `refused` bytes was `why` (refused or broken off);
    /// false when half of it would be below the floor.
    fn halve_chunks(&self, refused: u64, why: &str) -> bool {
        let next = refused / 2;
        if next < MIN_CHUNK {
            return false;
        }
        self.chunk_size.fetch_min(next, Ordering::SeqCst);
        tracing::debug!(registry = %self.host, chunk = next, "chunk {why}; halving");
        true
    }

    /// The error for a chunk of `refused` bytes answered 413 at the smallest chunk size.
    fn limit_below_floor(&self, refused: u64, op: &str) -> Error {
        Error::Registry {
            registry: self.host.clone(),
            operation: op.to_string(),
            status: Some(413),
            message: format!(
                "413 Payload Too Large: the registry (or a proxy before it) refuses request \
                 bodies of {refused} bytes, and chunks smaller than {MIN_CHUNK} bytes are not \
                 tried; raise its body-size limit"
            ),
        }
    }

    /// Sends one chunk of the blob, `offset` bytes into it.
    async fn patch(
        &self,
        repo: &str,
        op: &str,
        location: &url::Url,
        offset: u64,
        part: Bytes,
    ) -> Result<Patched, Error> {
        let last = offset + part.len() as u64 - 1;
        let sent = self
            .session_request(reqwest::Method::PATCH, repo, location.clone())
            .await?
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_RANGE, format!("{offset}-{last}"))
            .header(CONTENT_LENGTH, part.len())
            .timeout(self.options.request_timeout)
            .body(part)
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            Err(e) => {
                return match transport_error(&self.host, op, &e.without_url()) {
                    e @ Error::Transport { .. } => Ok(Patched::Broken(e)),
                    e => Err(e),
                };
            }
        };
        match r.status().as_u16() {
            202 => {
                let next = r
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| location.join(l).ok());
                next.map(Patched::Accepted).ok_or_else(|| Error::Registry {
                    registry: self.host.clone(),
                    operation: op.to_string(),
                    status: Some(202),
                    message: "accepted a chunk without a usable Location".to_string(),
                })
            }
            413 => Ok(Patched::TooLarge),
            _ => Err(Failure::read(r).await.into_error(&self.host, op)),
        }
    }
}
